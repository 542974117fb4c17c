"""The send half's data path: SND.UNA, SND.NXT, SND.WND and what hangs on them (RFC 9293 3.3.1).

:class:`SendPath` owns the send sequence variables and everything that depends
on them while data flows: the send buffer and our FIN, the processing of the
ACK field (RFC 9293 3.10.7.4 "fifth", RFC 5961 5.2) and of the peer's window,
the RTT estimate (RFC 6298, RFC 7323 RTTM), congestion control and loss
recovery (:class:`~synack.tcp.recovery.Recovery`: SACK scoreboard, RACK-TLP,
PRR), segmentation, Nagle and sender-side SWS avoidance (3.7.4, 3.8.6.2.1),
pacing, retransmission, and the building of every segment we send.
:class:`~synack.tcp.sender.Sender` adds the SYN and the timeouts.

It takes what a segment acknowledges from the :class:`~synack.tcp.receiver.Receiver`
(RCV.NXT, the window to advertise, SACK blocks) when it builds one. It knows
nothing of states: the connection asks it to do what the current state allows.
Data octets are tracked by *unwrapped* offsets (``una_abs`` is SND.UNA's, 0 the
first octet after our SYN) for the scoreboard; sequence numbers are compared only
with :mod:`synack.wire.seq`.
"""

from __future__ import annotations

from typing import Final

from synack.cc import create as create_cc
from synack.cc.base import CongestionControl
from synack.cc.ecn import EcnSender
from synack.tcp.config import Config
from synack.tcp.events import Reporter, SendBufferSpace
from synack.tcp.negotiated import Negotiated
from synack.tcp.reasons import RetransmitReason, TcpDropReason
from synack.tcp.receiver import Receiver
from synack.tcp.recovery import Recovery
from synack.tcp.rtt import RttEstimator
from synack.tcp.sack import TxSeg
from synack.tcp.sendbuf import SendBuffer
from synack.tcp.timers import TimerSet
from synack.tcp.timestamps import TimestampState
from synack.wire.seq import MASK, add, gt, le, lt, sub
from synack.wire.tcp import (
    ACK,
    CWR,
    ECE,
    FIN,
    PSH,
    SYN,
    URG,
    NoOperation,
    Option,
    Segment,
)

__all__ = ["SendPath"]

# RFC 6298 5.7: RTO re-initialised to 3 s after a lost SYN.
RTO_AFTER_SYN_LOSS: Final = 3_000_000
# RFC 7323 3.2 / Appendix A: NOP, NOP, Timestamps: 12 octets on every segment.
TS_OPTION_LEN: Final = 12
# RFC 2018 3: a SACK option of n blocks takes 2 + 8n octets (plus NOP, NOP here).
SACK_BLOCK_LEN: Final = 8
SACK_OPTION_BASE: Final = 4
# RFC 9293 3.8.6.2.1 (MUST-38): the sender SWS override timeout, 0.1 to 1.0 s.
SWS_OVERRIDE: Final = 200_000
# Zero-window probes back off exponentially (RFC 9293 3.8.6.1) up to max_rto;
# the shift stops growing there.
MAX_PERSIST_BACKOFF: Final = 16

_NOP: Final = NoOperation()
_NO_BLOCKS: Final[list[tuple[int, int]]] = []
# The per-cause retransmission counters (the RTO and TLP ones count in Sender).
_RTX_COUNTERS: Final[dict[RetransmitReason | None, str]] = {
    "rack": "retransmit.rack",
    "rack_timer": "retransmit.rack",
    "dupthresh": "retransmit.dupthresh",
    "newreno": "retransmit.newreno",
    "rto_recovery": "retransmit.rto_recovery",
    "pmtu": "retransmit.pmtu",
}


class SendPath:
    """SND.UNA, SND.NXT, SND.WND, ISS and the data we send on one connection.

    The base of :class:`~synack.tcp.sender.Sender`, which a connection uses.

    ``rcv`` gives the acknowledgment fields of every segment built here;
    ``timers`` holds the deadlines the sender arms (RTO, persist, TLP, RACK's
    reordering timer, pacing, the user timeout); ``report`` counts, traces
    and delivers events; ``ts`` is the connection's Timestamps state.
    """

    # fmt: off
    __slots__ = (
        "cc", "config", "ecn_syn", "ecn_syn_sent", "ecn_tx", "fin_queued", "fin_seq", "iss",
        "last_data_at", "local_mss", "local_port", "max_snd_wnd", "mss", "mss_limit", "neg",
        "opt_len", "outbox",
        "outbox_ect", "pace_at", "persist_backoff", "probes_since", "probes_unanswered", "rcv",
        "rec", "remote_port", "report", "retries", "rtt", "rtt_seq", "rtt_time",
        "send_space_wanted", "sendbuf", "snd_max", "snd_nxt", "snd_una", "snd_up", "snd_wl1",
        "snd_wl2", "snd_wnd", "sws_override", "syn_acked", "syn_lost", "timers", "ts", "una_abs",
    )
    # fmt: on

    def __init__(
        self,
        config: Config,
        *,
        iss: int,
        ports: tuple[int, int],
        local_mss: int,
        neg: Negotiated,
        rcv: Receiver,
        timers: TimerSet,
        ts: TimestampState,
        report: Reporter,
    ) -> None:
        self.config = config
        self.neg = neg
        self.rcv = rcv
        self.timers = timers
        self.ts = ts
        self.report = report
        self.local_port, self.remote_port = ports
        # -- send sequence variables (RFC 9293 3.3.1) --------------------------
        self.iss = iss
        self.snd_una = self.snd_nxt = iss
        self.snd_max = iss  # highest sequence number sent (SND.NXT before go-back)
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.max_snd_wnd = 0
        self.snd_up: int | None = None  # SND.UP, while urgent data is unacknowledged
        self.una_abs = 0  # unwrapped offset of SND.UNA (0 = first octet after the SYN)
        # -- segment sizes ---------------------------------------------------------
        self.local_mss = local_mss  # what our SYN advertises
        self.mss_limit = min(local_mss, neg.peer_mss)  # data + options per segment
        self.opt_len = 0  # option octets on every segment (timestamps)
        self.mss = self.mss_limit  # effective send MSS: data octets per segment
        # -- data ------------------------------------------------------------------
        self.sendbuf = SendBuffer(config.send_buffer)
        self.fin_queued = False  # close() was called: a FIN follows the queued data
        self.fin_seq = 0  # sequence number of our FIN once queued
        self.send_space_wanted = False
        self.outbox: list[Segment] = []
        self.outbox_ect: list[bool] = []  # per outbox segment: send it ECT(0) (RFC 3168 6.1.2)
        self.ecn_syn = False  # every SYN we sent was an ECN-setup SYN (RFC 3168 6.1.1)
        self.ecn_syn_sent = False  # at least one was (it commits us to echo CE)
        self.ecn_tx = EcnSender()
        # -- RTT, congestion control, recovery -------------------------------------
        self.rtt = RttEstimator(config.initial_rto, config.min_rto, config.max_rto)
        self.rtt_seq: int | None = None  # Karn: the one segment being timed ...
        self.rtt_time = 0  # ... and when it was sent
        self.cc = create_cc(
            config.congestion_control, mss=self.mss, initial_window=self.initial_window(), now=0
        )
        self.rec = self._new_recovery()
        self.retries = 0
        self.syn_lost = False
        self.syn_acked = False
        self.persist_backoff = 0
        self.probes_unanswered = 0  # zero-window probes sent since the peer last ACKed
        self.probes_since = 0  # when the first of them went out
        self.sws_override = False
        self.pace_at: int | None = None  # pacing: earliest departure of the next segment
        self.last_data_at = -1  # when data was last sent (RFC 5681 4.1 idle restart)

    # ------------------------------------------------------------------ sizes
    @property
    def in_flight(self) -> int:
        """Octets sent and not acknowledged (FlightSize of RFC 5681)."""
        return sub(self.snd_max, self.snd_una)

    def set_path_mss(self, limit: int) -> None:
        """The path allows ``limit`` octets of TCP data and options (RFC 1191 style)."""
        self.mss_limit = max(1, limit)
        self.mss = max(1, limit - self.opt_len)
        self.rec.mss = self.mss
        self.cc.set_mss(self.mss)

    def initial_window(self) -> int:
        """The initial cwnd: ``Config.initial_window`` segments, or RFC 6928's."""
        iw = self.config.initial_window
        if iw is not None:
            return max(1, iw) * self.mss
        # RFC 6928 2: IW = min (10*MSS, max (2*MSS, 14600)).
        return min(10 * self.mss, max(2 * self.mss, 14600))

    def _new_recovery(self) -> Recovery:
        cfg = self.config
        rec = Recovery(
            self.cc,
            mss=self.mss,
            sack=self.neg.sack,
            rack=cfg.rack,
            prr=cfg.prr,
            limited_transmit=cfg.limited_transmit,
            counters=self.report.counters,
            ts=self.ts if self.ts.enabled else None,
        )
        rec.sb.una = rec.sb.nxt = rec.sb.high_sacked = self.una_abs
        return rec

    def reconfigure(self, old: Config, new: Config, now: int, *, synchronized: bool) -> None:
        """The sender's part of ``Connection.reconfigure``: buffer, RTO bounds, user timeout, algorithm."""
        self.config = new
        if new.send_buffer != old.send_buffer:
            grew = new.send_buffer > self.sendbuf.capacity
            self.sendbuf.capacity = new.send_buffer
            if grew and self.send_space_wanted:
                self.send_space_wanted = False
                self.report.event(SendBufferSpace(self.sendbuf.free))
        if (new.min_rto, new.max_rto) != (old.min_rto, old.max_rto):
            rtt = self.rtt
            rtt.min_rto, rtt.max_rto = new.min_rto, new.max_rto
            rtt.rto = min(max(rtt.rto, new.min_rto), new.max_rto)
        if new.user_timeout != old.user_timeout:
            outstanding = self.timers.user is not None or self.in_flight > 0
            self.timers.user = (
                now + new.user_timeout if new.user_timeout is not None and outstanding else None
            )
        if new.congestion_control != old.congestion_control:
            # Swap the algorithm; an established connection keeps cwnd and ssthresh.
            cc = create_cc(
                new.congestion_control, mss=self.mss, initial_window=self.initial_window(), now=now
            )
            if synchronized:
                cc.cwnd, cc.ssthresh = self.cc.cwnd, self.cc.ssthresh
            self.cc = self.rec.cc = cc
            self.rec.cc_paces = type(cc).pacing_rate is not CongestionControl.pacing_rate
            self.trace_cc(now, "reconfigure")

    # -------------------------------------------------------------- the user
    def write(self, data: bytes | bytearray | memoryview, urgent: bool) -> int:
        """Queue as much of ``data`` as the buffer takes; return how much (SEND, RFC 9293 3.10.2)."""
        n = self.sendbuf.write(data)
        if urgent and n:
            # SND.UP: the sequence number of the first octet after the urgent data.
            start = self.snd_una if self.syn_acked else add(self.iss, 1)
            self.snd_up = add(start, len(self.sendbuf))
        if n < len(data):
            self.send_space_wanted = True
        return n

    def queue_fin(self) -> None:
        """CLOSE (RFC 9293 3.10.4): our FIN follows the data queued now."""
        self.fin_queued = True
        # Before our SYN is acknowledged, data starts after it.
        start = self.snd_una if self.syn_acked else add(self.iss, 1)
        self.fin_seq = add(start, len(self.sendbuf))

    def fin_acked(self) -> bool:
        """The peer acknowledged our FIN."""
        return self.fin_queued and self.snd_una == add(self.fin_seq, 1)

    # ------------------------------------------------------------------- ACKs
    def on_ack_segment(self, seg: Segment, now: int, sending: bool) -> TcpDropReason | None:
        """RFC 9293 3.10.7.4 fifth, ESTABLISHED STATE: the ACK field and the window.

        Returns a reason if the segment must be dropped here: ``ack_too_new``
        (the caller owes an ACK) or ``ack_too_old`` (a challenge ACK). ``sending``
        says the state still sends data (a closed peer window then arms the
        persist timer).
        """
        ack = seg.ack
        snd_una = self.snd_una
        if ack == snd_una:
            # SND.UNA = SEG.ACK =< SND.NXT (and MAX.SND.WND < 2**31): acceptable,
            # acknowledging nothing new. Every segment of a peer that sends data
            # while we do not comes this way.
            advanced = False
        else:
            if gt(ack, self.snd_max):
                # "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then
                # send an ACK, drop the segment, and return."
                return "ack_too_new"
            if lt(ack, (snd_una - self.max_snd_wnd) & MASK) and self.config.rfc5961:
                # RFC 5961 5.2: "(SND.UNA - MAX.SND.WND) =< SEG.ACK" or it is dropped
                # with a challenge ACK. (Config.rfc5961 off: RFC 793 ignores an old ACK.)
                return "ack_too_old"
            advanced = gt(ack, snd_una)
        wnd = seg.window << self.neg.snd_wscale
        # The peer answered: zero-window probes so far were not in vain.
        self.probes_unanswered = 0
        # RFC 5681 2: the five conditions of a DUPLICATE ACKNOWLEDGMENT.
        dupack = (
            not advanced
            and ack == snd_una
            and self.snd_max != snd_una
            and not seg.payload
            and not seg.flags & (SYN | FIN)
            and wnd == self.snd_wnd
            and wnd > 0  # answers to zero-window probes say nothing about loss
        )
        blocks = seg.sack_blocks if self.neg.sack else ()
        prior_una = self.una_abs
        if advanced or dupack or blocks:
            self._on_ack(seg, ack, advanced, dupack, blocks, now)
        if self.neg.ecn:
            newly = self.una_abs - prior_una
            if newly and self.fin_acked():
                newly -= 1  # our FIN's octet is sequence space, not data that could be marked
            self._on_ecn_echo(bool(seg.flags & ECE), newly, now)
        # RFC 9293 3.10.7.4: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should
        # be updated. If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))".
        # An ACK behind SND.UNA (acceptable up to MAX.SND.WND back, RFC 5961 5.2)
        # updates nothing: "SND.WND is an offset from SND.UNA", and its window is
        # an offset from an older point.
        seq = seg.seq
        wl1 = self.snd_wl1
        if (advanced or ack == snd_una) and (le(self.snd_wl2, ack) if wl1 == seq else lt(wl1, seq)):
            if wnd != self.snd_wnd:
                self._window_update(wnd, now)
            self.snd_wl1 = seq
            self.snd_wl2 = ack
        timers = self.timers
        if self.snd_wnd == 0 and timers.rtx is not None and sending:
            # RFC 9293 3.8.6.1 (MUST-36): the peer answers but its window is closed;
            # probe it with the persist timer rather than count retransmissions.
            timers.rtx = None
            self.retries = 0
            if timers.persist is None:
                self.arm_persist(now)
        return None

    def _on_ecn_echo(self, ece: bool, newly_acked: int, now: int) -> None:
        """RFC 3168 6.1.2: an ACK's ECN-Echo, and the congestion controller's reaction.

        ``newly_acked``: the data octets this ACK acknowledged for the first time.
        """
        cc = self.cc
        delivered = self.una_abs
        sent = delivered + sub(self.snd_max, self.snd_una)
        if newly_acked and cc.needs_ecn_feedback:
            cc.on_ecn_feedback(
                now=now, bytes_acked=newly_acked, ece=ece, delivered=delivered, sent=sent
            )
        if ece:
            counters = self.report.counters
            counters["ecn.ece_received"] += 1
            counters["ecn.ece_bytes"] += newly_acked
        rec = self.rec
        if self.ecn_tx.on_ack(ece=ece, delivered=delivered, sent=sent, in_recovery=rec.in_recovery):
            # At most once per window of data; never on top of a loss response.
            cc.on_ecn(now=now, in_flight=rec.flight_size)
            self.report.counters["ecn.reductions"] += 1
            self.trace_cc(now, "ecn")

    def _window_update(self, wnd: int, now: int) -> None:
        old = self.snd_wnd
        self.snd_wnd = wnd
        if wnd > self.max_snd_wnd:
            self.max_snd_wnd = wnd
        if self.report.tracer:
            self.report.trace(now, "rwnd", snd_wnd=wnd, rcv_wnd=self.rcv.rcv_wnd)
        if wnd > 0 and old == 0 and self.timers.persist is not None:
            # The window reopened: stop probing and resend from SND.UNA
            # whatever the closed window may have dropped.
            self.timers.persist = None
            if wnd >= min(self.mss, max(len(self.sendbuf), 1)):
                # As Linux's tcp_ack_probe: the backoff ends once the window takes
                # the head segment. A window of a few octets between probes keeps
                # it growing, or a peer could trickle an abandoned connection's
                # data out for days (Config.orphan_retries counts the backoff).
                self.persist_backoff = 0
            self.rec.window_reopened()

    def _on_ack(
        self,
        seg: Segment,
        ack: int,
        advanced: bool,
        dupack: bool,
        blocks: tuple[tuple[int, int], ...],
        now: int,
    ) -> None:
        """An ACK that acknowledges new data, is a duplicate, or carries SACK blocks."""
        rec = self.rec
        timers = self.timers
        snd_una, una_abs = self.snd_una, self.una_abs
        prior_flight = rec.flight_size
        abs_blocks = (
            [
                (una_abs + sub(left, snd_una), una_abs + sub(right, snd_una))
                for left, right in blocks
            ]
            if blocks
            else _NO_BLOCKS
        )
        tso = seg.timestamps if self.ts.enabled else None
        tsecr = tso.tsecr if tso is not None else None
        ack_abs = una_abs + sub(ack, snd_una)
        if advanced:
            self.sendbuf.consume(ack_abs - una_abs)  # consume() caps at what it holds
            self.snd_una = ack
            self.una_abs = ack_abs
            if lt(self.snd_nxt, ack):
                self.snd_nxt = ack
            self.retries = 0
        rec.on_ack(
            now,
            ack_abs,
            abs_blocks,
            dupack=dupack,
            tsecr=tsecr,
            srtt=self.rtt.srtt,
            max_wnd=self.max_snd_wnd,
        )
        if advanced:
            if tso is not None:
                # RFC 7323 4.1 RTTM: a sample from every ACK that advances the
                # window (the send time of the newest segment it covers, or TSecr
                # when that was retransmitted), weighted per RFC 7323 Appendix G.
                r = rec.rtt_sample
                if r is None and tsecr:
                    r = self.ts.rtt(tsecr, now)
                if r is not None:
                    self.rtt_sample(r, now, max(1, -(-prior_flight // (2 * self.mss))))
                self.rtt_seq = None
            elif self.rtt_seq is not None and le(self.rtt_seq, ack):
                # RFC 6298 3 with Karn's algorithm: one timed segment at a time.
                self.rtt_seq = None
                self.rtt_sample(now - self.rtt_time, now)
            # RFC 6298 (5.2): all data acknowledged -> stop the timer; (5.3) else restart it.
            if self.snd_una == self.snd_max:
                timers.rtx = None
                timers.user = None
            else:
                timers.rtx = now + self.rtt.rto
                # RFC 9293 3.8.3: the user timeout counts from the last progress.
                if self.config.user_timeout is not None:
                    timers.user = now + self.config.user_timeout
            sendbuf = self.sendbuf
            if self.send_space_wanted and sendbuf.free >= sendbuf.capacity // 4:
                self.send_space_wanted = False
                self.report.event(SendBufferSpace(sendbuf.free))
        # RFC 8985 6.3: arm the reordering timer for what RACK could not yet call lost.
        delay = rec.reo_delay
        timers.reorder = now + delay if delay else None
        # RFC 8985 7.2: restart the probe timeout on an ACK of new data.
        if advanced or rec.in_recovery:
            self.arm_tlp(now)
        if self.report.tracer:
            self.trace_cc(now, "recovery" if rec.in_recovery else "ack")

    def rtt_sample(self, r: int, now: int, expected_samples: int = 1) -> None:
        """Feed one RTT measurement to the estimator (RFC 6298 2, RFC 7323 Appendix G)."""
        rtt = self.rtt
        rtt.sample(r, expected_samples)
        if self.report.tracer:
            self.report.trace(
                now, "rtt", sample_us=r, srtt_us=rtt.srtt, rttvar_us=rtt.rttvar, rto_us=rtt.rto
            )

    # --------------------------------------------------------------- sending
    def send_data(self, now: int, tso_max: int = 0, *, probe: bool = False) -> None:
        """Send retransmissions, then new data (and our FIN), as the windows allow.

        Retransmissions come first (RFC 6675 NextSeg rule 1), limited by cwnd
        against ``pipe``; new data also by the peer's window, with Nagle and SWS
        rules. With a pacing rate, segments leave no faster than it allows.
        ``tso_max`` (from the driver: what its link cuts) lets one segment carry
        several MSS of new data. ``probe`` sends one new segment whatever cwnd
        says (a TLP, RFC 8985 7.3).
        """
        rec = self.rec
        timers = self.timers
        cfg = self.config
        rate = self.cc.pacing_rate() if rec.cc_paces and cfg.pacing and not probe else None
        if rate and self.pace_at is not None and self.pace_at - self._pace_lead(rate) > now:
            timers.pacing = self.pace_at
            return
        timers.pacing = None
        mss = self.mss
        if not probe:
            while rec.sb.lost_queue and (s := rec.next_retransmission()) is not None:
                size = s.end - s.start
                if size - s.fin > mss:
                    rec.sb.split(s, mss)
                    size = mss
                if not rec.may_retransmit(size):
                    break
                self.retransmit(s, now)
                if rate and self._paced(now, size, rate):
                    return
        buf = self.sendbuf
        nodelay = cfg.nodelay
        # Segmentation offload: the most payload in one segment (whole MSS pieces);
        # with pacing, about a millisecond's worth, as Linux sizes TSO.
        tso = tso_max if not probe else 0
        if rate and tso > mss:
            tso = min(tso, max(2 * mss, rate >> 10))
        sent_new = 0
        if (
            self.snd_una == self.snd_max
            and self.last_data_at >= 0
            and now - self.last_data_at > self.rtt.rto
            and self.cc.restart_after_idle
            and buf.size
        ):
            # RFC 5681 4.1: "if the TCP has not sent data in an interval exceeding
            # the retransmission timeout", cwnd is set to no more than
            # RW = min(IW, cwnd) before transmission begins.
            rw = min(self.initial_window(), self.cc.cwnd)
            if self.cc.cwnd > rw:
                self.cc.cwnd = rw
                self.report.counters["restart_after_idle"] += 1
            self.last_data_at = now
        # Computed once; each segment sent below takes its size off.
        off = sub(self.snd_nxt, self.snd_una)
        buffered = buf.size
        cwnd_room = rec.send_room() if not probe else 1 << 62
        fin_queued = self.fin_queued
        while True:
            snd_nxt = self.snd_nxt
            avail = buffered - off
            if avail < 0:
                break  # our FIN is already sent
            in_flight = off
            room = self.snd_wnd - off
            if cwnd_room < room:
                room = cwnd_room
            n = min(avail, mss, room) if room > 0 else 0
            fin = fin_queued and n == avail
            if n <= 0 and not fin:
                if (
                    avail > 0
                    and self.snd_wnd == 0
                    and timers.persist is None
                    and self.snd_una == self.snd_max
                ):
                    # RFC 9293 3.8.6.1: zero window with nothing in flight: persist.
                    timers.rtx = None
                    timers.tlp = None
                    self.arm_persist(now)
                elif avail == 0 and rec.rate is not None:
                    rec.mark_app_limited()
                break
            # RFC 9293 3.8.6.2.1 (sender SWS avoidance) and 3.7.4 (Nagle): send a short
            # segment only if it is all we have and nothing is in flight (or Nagle is
            # off), or it is at least half the largest window seen.
            if (
                0 < n < mss
                and not fin
                and not probe
                and not (
                    (n == avail and (nodelay or in_flight == 0))
                    or n >= self.max_snd_wnd // 2
                    or self.sws_override
                )
            ):
                if in_flight == 0 and timers.persist is None:
                    # Nothing in flight will bring an ACK: the override timeout of
                    # RFC 9293 3.8.6.2.1 ("in the range 0.1 - 1.0 seconds") sends it.
                    timers.persist = now + SWS_OVERRIDE
                break
            self.sws_override = False
            if fin and n == 0 and room <= 0 and in_flight > 0:
                break  # wait for room before sending a lone FIN
            if n == mss and tso > mss and (self.snd_up is None or le(self.snd_up, snd_nxt)):
                # One segment for what this loop would send as several full ones:
                # whole MSS pieces within both windows, and the short last piece
                # only where it would go as well (the end of the data, with a FIN
                # or Nagle off). Urgent data goes segment by segment.
                big = min(avail, room, tso)
                if big == avail and (fin_queued or nodelay):
                    n = big
                    fin = fin_queued
                else:
                    n = big - big % mss
                    fin = fin_queued and n == avail
            payload = buf.peek(off, n) if n else b""
            flags = ACK
            if n and n == avail:
                flags |= PSH
            if fin:
                flags |= FIN
            # RFC 3168 6.1.2: after a window reduction (for ECE, or a loss), CWR goes
            # on the next new data segment; new data (a tail loss probe's too) goes out
            # ECT(0), retransmissions (6.1.5) and zero-window probes (6.1.6) do not.
            ect = self.neg.ecn and n > 0
            if ect and self.ecn_tx.take_cwr(self.rec.reductions):
                flags |= CWR
            self.emit(self.make(flags, snd_nxt, now, payload), now, ect=ect)
            end = n + (1 if fin else 0)
            start = self.una_abs + off
            data_end = start + n
            first = end  # the first piece, for RTT timing
            if n > mss:
                # The recovery layer keeps MSS granularity: SACK, RACK and
                # retransmissions see the pieces the link puts on the wire.
                first = mss
                while start + mss < data_end:
                    rec.on_send(start, start + mss, False, now)
                    start += mss
                    sent_new += 1
                    if rec.cc_on_sent:
                        self.cc.on_packet_sent(now=now, bytes_sent=mss, in_flight=rec.pipe)
                self.report.counters["segments_sent.tso"] += 1
            rec.on_send(start, data_end + end - n, fin, now)
            sent_new += 1
            if rec.cc_on_sent:
                self.cc.on_packet_sent(now=now, bytes_sent=data_end - start, in_flight=rec.pipe)
            self.last_data_at = now
            off += end
            cwnd_room -= end
            self.snd_nxt = self.snd_max = (snd_nxt + end) & MASK
            if self.rtt_seq is None:
                self.rtt_seq = (snd_nxt + first) & MASK
                self.rtt_time = now
            if timers.rtx is None:
                # RFC 6298 (5.1): start the timer when data is sent and it is off.
                timers.rtx = now + self.rtt.rto
                if cfg.user_timeout is not None and timers.user is None:
                    timers.user = now + cfg.user_timeout
            if fin or probe or (rate and self._paced(now, end, rate)):
                break
        if sent_new:
            self.report.counters["segments_sent.data"] += sent_new
            if not probe:
                self.arm_tlp(now)

    def retransmit(self, s: TxSeg, now: int, why: RetransmitReason | None = None) -> None:
        """Send the segment ``s`` of the scoreboard again.

        ``why`` is the cause the trace reports; by default what marked ``s`` lost.
        """
        if why is None:
            why = s.why
        rec = self.rec
        off = s.start - self.una_abs
        n = s.end - s.start - s.fin
        buf = self.sendbuf
        flags = ACK | FIN if s.fin else ACK
        if n and off + n == len(buf):
            flags |= PSH
        payload = buf.peek(off, n) if n else b""
        self.rtt_seq = None  # Karn's algorithm: never time a retransmission
        rec.on_retransmit(s, now)
        counters = self.report.counters
        counters["retransmit.segments"] += 1
        if rec.in_recovery:
            counters["retransmit.fast"] += 1
        key = _RTX_COUNTERS.get(why)
        if key is not None:
            counters[key] += 1
        self.emit(self.make(flags, add(self.snd_una, off), now, payload), now, rtx=True, why=why)
        if self.timers.rtx is None:
            self.timers.rtx = now + self.rtt.rto
        if rec.cc_on_sent:
            self.cc.on_packet_sent(now=now, bytes_sent=n, in_flight=rec.pipe)

    def _paced(self, now: int, size: int, rate: int) -> bool:
        """Pacing: the next segment may leave ``size / rate`` after this one; True to stop.

        The schedule may run ahead of the clock by the congestion controller's
        pacing quantum (less one MSS): a wake-up sends a burst of about that
        size, then the sender sleeps until the clock has caught up with the
        schedule. One segment per wake-up would tie the rate to how promptly the
        driver's timers fire (a millisecond in an event loop), not to the rate
        asked for.
        """
        at = self.pace_at
        base = at if at is not None and at > now else now
        at = base + size * 1_000_000 // rate
        self.pace_at = at
        lead = self._pace_lead(rate)
        if at - lead > now:
            self.timers.pacing = at
            return True
        return False

    def _pace_lead(self, rate: int) -> int:
        """Microseconds the paced schedule may be ahead of the clock (0: segment by segment)."""
        extra = self.cc.pacing_quantum() - self.mss
        return extra * 1_000_000 // rate if extra > 0 else 0

    def send_ack(self, now: int) -> None:
        """An ACK of RCV.NXT, at SND.NXT."""
        self.emit(self.make(ACK, self.snd_nxt, now), now)

    def make(self, flags: int, seq: int, now: int, payload: bytes = b"") -> Segment:
        """A segment from us with the current ACK, window, urgent pointer and options."""
        urgent = 0
        snd_up = self.snd_up
        if snd_up is not None:
            if gt(snd_up, seq):
                # RFC 9293 3.8.5: URG with SEG.UP = SND.UP - SEG.SEQ; a longer urgent
                # run than 16 bits can point to is sent as the furthest it can
                # (MUST-31, RFC 6093 4).
                flags |= URG
                urgent = min(sub(snd_up, seq), 0xFFFF)
            elif le(snd_up, self.snd_una):
                self.snd_up = None
        opts: tuple[Option, ...] = ()
        ts = self.ts
        if ts.enabled:
            # RFC 7323 3.2: TSopt on every non-RST segment, TSecr = TS.Recent (4.3).
            opts = ts.option(now)
        rcv = self.rcv
        ecn = rcv.ecn
        if ecn is not None and ecn.ece and flags & ACK:
            # RFC 3168 6.1.3 (RFC 8257 3.2 for DCTCP): echo the congestion mark.
            flags |= ECE
        # RFC 2018 3-4: SACK blocks while data is held out of order or a duplicate
        # is to be reported (the receiver's sack_option() says which), as many as
        # fit (a data segment has less room for options: RFC 6691).
        if self.neg.sack and (
            rcv.reasm is not None or rcv.sack.dsack is not None or rcv.peer_fin_abs is not None
        ):
            room = min(self.mss_limit - len(payload), 40) if payload else 40
            sack = rcv.sack_option((room - self.opt_len - SACK_OPTION_BASE) // SACK_BLOCK_LEN)
            if sack is not None:
                opts = (*opts, _NOP, _NOP, sack)
        window = rcv.advertise()
        return Segment(
            self.local_port,
            self.remote_port,
            seq,
            rcv.rcv_nxt,
            flags,
            window,
            urgent,
            opts,
            payload,
        )

    def emit(
        self,
        seg: Segment,
        now: int,
        *,
        rtx: bool = False,
        ect: bool = False,
        why: RetransmitReason | None = None,
    ) -> None:
        """Queue ``seg`` in :attr:`outbox` (and trace it); ``ect``: send it ECT(0).

        A retransmission (``rtx``) says ``why`` in its trace record.

        RFC 3168 6.1.4-6.1.6: only new data is ECN-capable; SYNs, pure ACKs,
        retransmissions and window probes are not.
        """
        self.outbox.append(seg)
        self.outbox_ect.append(ect)
        if self.report.tracer:
            self.report.trace_segment(now, "seg_out", seg, rtx, why)

    # ------------------------------------------------- arming and tracing
    def arm_tlp(self, now: int) -> None:
        """RFC 8985 7.2: (re)schedule the probe timeout, no later than the RTO."""
        rec = self.rec
        timers = self.timers
        if not rec.tlp_allowed():
            timers.tlp = None
            return
        at = now + rec.pto(self.rtt.srtt)
        rtx_at = timers.rtx
        timers.tlp = at if rtx_at is None or at < rtx_at else rtx_at

    def arm_persist(self, now: int) -> None:
        """Arm the persist timer: the RTO (at least ``min_rto``), backed off, capped at ``max_rto``."""
        cfg = self.config
        rto = max(self.rtt.rto, cfg.min_rto)
        self.timers.persist = now + min(rto << self.persist_backoff, cfg.max_rto)

    def trace_cc(self, now: int, reason: str) -> None:
        """A ``cwnd`` trace record (with ``pipe``, and the pacing rate when there is one)."""
        if self.report.tracer:
            rec, cc = self.rec, self.cc
            pacing = cc.pacing_rate() if rec.cc_paces and self.config.pacing else None
            self.report.trace(
                now,
                "cwnd",
                cwnd=cc.cwnd,
                ssthresh=cc.ssthresh,
                reason=reason,
                pipe=rec.pipe,
                pacing=pacing,
            )

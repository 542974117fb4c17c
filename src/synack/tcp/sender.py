"""The send half of a connection (RFC 9293 3.3.1): the data path, the SYN and the timeouts.

:class:`Sender` is :class:`~synack.tcp.sendpath.SendPath` (SND.*, the send
buffer, ACK processing, RTT, congestion control and loss recovery,
segmentation, pacing, segment building) plus what starts a connection and what
time does to one: the SYN and SYN-ACK with their options (RFC 9293 3.10.1,
3.10.7.2), what the handshake settles for the send side, and the answers to
the retransmission timer (RFC 6298 5, RFC 9293 3.8.3's R1 and R2), RACK's
reordering timer and the tail loss probe (RFC 8985 6.3, 7.3), the zero-window
probe (RFC 9293 3.8.6.1) and the keep-alive (3.8.4).
"""

from __future__ import annotations

from typing import Final

from synack.cc import create as create_cc
from synack.tcp.events import SoftError
from synack.tcp.negotiated import syn_options
from synack.tcp.reasons import RetransmitReason, TimeoutReason
from synack.tcp.sendpath import MAX_PERSIST_BACKOFF, TS_OPTION_LEN, SendPath
from synack.wire.seq import add, gt, lt, sub
from synack.wire.tcp import (
    ACK,
    CWR,
    ECE,
    SYN,
    NoOperation,
    Segment,
)

__all__ = ["TS_OPTION_LEN", "SendPath", "Sender"]

# RFC 6298 5.7: RTO re-initialised to 3 s after a lost SYN.
RTO_AFTER_SYN_LOSS: Final = 3_000_000

_NOP: Final = NoOperation()
_NO_BLOCKS: Final[list[tuple[int, int]]] = []


class Sender(SendPath):
    """The send half of a connection: :class:`SendPath` with the handshake and the timeouts.

    The :class:`~synack.tcp.sendpath.SendPath` sends and acknowledges data; a
    :class:`Sender` also sends the SYN (RFC 9293 3.10.1, 3.10.7.2) and answers the
    timers that end in a segment: retransmission (RFC 6298 5), RACK's reordering
    timer and the tail loss probe (RFC 8985 6.3, 7.3), the zero-window probe
    (RFC 9293 3.8.6.1) and the keep-alive (3.8.4).
    """

    __slots__ = ()

    # -------------------------------------------------------------- handshake
    def send_syn(
        self, now: int, *, ack: bool, rtx: bool = False, why: RetransmitReason = "syn"
    ) -> None:
        """Our SYN (or SYN-ACK with ``ack``), with the options RFC 9293 3.7.1, RFC 2018 and RFC 7323 allow.

        ``rtx``: sent again, for ``why``.
        """
        cfg = self.config
        ts = self.ts
        opts = syn_options(
            cfg,
            self.neg,
            local_mss=self.local_mss,
            ack=ack,
            tsval=ts.tsval(now),
            tsecr=ts.ts_recent,
        )
        rcv = self.rcv
        flags = SYN | ACK if ack else SYN
        if not ack:
            # RFC 3168 6.1.1: an ECN-setup SYN has ECE and CWR set. 6.1.1.1: "A host
            # that receives no reply to an ECN-setup SYN within the normal SYN
            # retransmission timeout interval MAY resend the SYN and any subsequent
            # SYN retransmissions with CWR and ECE cleared" (a middlebox may drop
            # ECN-setup SYNs). Like Linux (tcp_ecn_fallback), from the first
            # retransmission on, unless Config.ecn_fallback is off.
            if rtx and cfg.ecn_fallback:
                self.ecn_syn = False
            elif not rtx:
                self.ecn_syn = cfg.ecn
            if self.ecn_syn:
                flags |= ECE | CWR
                self.ecn_syn_sent = True
        elif self.neg.ecn:
            flags |= ECE  # RFC 3168 6.1.1: the ECN-setup SYN-ACK: ECE set, CWR clear
        seg = Segment(
            self.local_port,
            self.remote_port,
            self.iss,
            rcv.rcv_nxt if ack else 0,
            flags,
            rcv.advertise(syn=True) if ack else rcv.syn_window(),
            0,
            opts,
        )
        self.snd_nxt = add(self.iss, 1)
        if gt(self.snd_nxt, self.snd_max):
            self.snd_max = self.snd_nxt
        if not rtx:
            self.rtt_seq = self.snd_nxt
            self.rtt_time = now
            if cfg.user_timeout is not None and self.timers.user is None:
                # RFC 9293 3.10.8: the user timeout covers the handshake too.
                self.timers.user = now + cfg.user_timeout
        self.emit(seg, now, rtx=rtx, why=why if rtx else None)
        self.timers.rtx = now + self.rtt.rto

    def syn_ack_sent_as_cookie(self) -> None:
        """Our SYN-ACK went out statelessly as a SYN cookie (ISS = the cookie).

        SND.NXT moves past our SYN as :meth:`send_syn` would have moved it, but
        nothing was timed: the ACK gives no RTT sample (Linux takes none either).
        """
        self.snd_nxt = self.snd_max = add(self.iss, 1)
        self.rtt_seq = None

    def window_from_syn(self, seg: Segment) -> None:
        """The peer's window from its SYN (RFC 7323 2.2: a SYN's window is never scaled)."""
        self.snd_wnd = self.max_snd_wnd = seg.window
        self.snd_wl1 = seg.seq

    def on_ack_of_syn(self, seg: Segment, now: int) -> None:
        """``seg`` acknowledges our SYN (RFC 9293 3.10.7.3, 3.10.7.4 SYN-RECEIVED)."""
        self.syn_acked = True
        self.snd_una = seg.ack
        if lt(self.snd_nxt, self.snd_una):
            self.snd_nxt = self.snd_una
        self.timers.rtx = None
        self.timers.user = None
        self.retries = 0
        if self.rtt_seq is not None and not self.syn_lost:
            self.rtt_sample(now - self.rtt_time, now)
        self.rtt_seq = None
        # RFC 7323 2.2: the window of a SYN segment is not scaled; later ones are.
        self.snd_wnd = seg.window << self.neg.snd_wscale if not seg.flags & SYN else seg.window
        self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
        self.snd_wl1 = seg.seq
        self.snd_wl2 = seg.ack

    def established(self, now: int) -> None:
        """The handshake completed: the congestion controller and recovery start afresh."""
        self.cc = create_cc(
            self.config.congestion_control,
            mss=self.mss,
            initial_window=self.initial_window(),
            now=now,
        )
        rtt = self.rtt
        if self.syn_lost:
            # RFC 6298 5.7 and RFC 5681 3.1: after a lost SYN, RTO restarts at 3 s
            # and the initial window is one segment.
            if rtt.srtt is None:
                rtt.rto = min(max(RTO_AFTER_SYN_LOSS, rtt.min_rto), rtt.max_rto)
                rtt.backoff = 0
            self.cc.cwnd = self.mss
            # RFC 3168 6.1.2: the window was reduced (a retransmit timeout of the
            # SYN or SYN-ACK): the first new data segment says CWR, as on Linux.
            self.ecn_tx.queue_cwr()
        self.una_abs = sub(self.snd_una, add(self.iss, 1))
        self.rec = self._new_recovery()
        self.trace_cc(now, "init")

    # ----------------------------------------------------- timers and probes
    def on_syn_rto(self, now: int, *, ack: bool) -> TimeoutReason | None:
        """The retransmission timer fired in SYN-SENT or SYN-RECEIVED (``ack``): resend the SYN.

        Returns ``syn_retries`` when the connection must give up.
        """
        cfg = self.config
        # The passive side's SYN-ACK gives up sooner (Config.synack_retries).
        if not self._retry(cfg.synack_retries if ack else cfg.syn_retries, now):
            return "syn_retries"
        self.syn_lost = True
        self.report.counters["retransmit.syn"] += 1
        self.send_syn(now, ack=ack, rtx=True)
        return None

    def on_rto(self, now: int, *, orphan: bool = False) -> TimeoutReason | None:
        """The retransmission timer fired with data in flight (RFC 6298 5).

        Returns ``retransmissions`` when the connection must give up (R2), or
        ``orphan_retries`` when an ``orphan`` (the user has gone) reaches
        ``Config.orphan_retries`` first.
        """
        cfg = self.config
        # RFC 9293 3.8.3: "When the number of transmissions of the same segment
        # reaches a threshold R2 ... close the connection". Nobody waits on an
        # orphan: Linux's tcp_orphan_retries bounds it sooner.
        if orphan and cfg.orphan_retries < cfg.data_retries_r2:
            if not self._retry(cfg.orphan_retries, now):
                return "orphan_retries"
        elif not self._retry(cfg.data_retries_r2, now):
            return "retransmissions"
        self.report.counters["retransmit.rto"] += 1
        # RFC 5681 3.1 / RFC 6582 3.2 (4): the loss window, and recover = highest
        # sent; every un-SACKed segment is lost (RFC 6675 5.1).
        self.rec.on_rto(now)
        self.trace_cc(now, "rto")
        timers = self.timers
        timers.tlp = timers.reorder = None
        self.pace_at = timers.pacing = None
        # RFC 6298 (5.4): retransmit the earliest unacknowledged segment, then the
        # rest in order as the window allows.
        self.send_data(now)
        # RFC 6298 (5.6): start the timer with the backed-off RTO.
        timers.rtx = now + self.rtt.rto
        return None

    def _retry(self, limit: int, now: int) -> bool:
        """One more retransmission timeout of the same segment, or False after ``limit``.

        RFC 9293 3.8.3 (SHLD-10, and MUST-22 for SYNs): at R1 the IP layer (here
        the user) gets negative advice. RFC 6298 (5.5): the RTO backs off;
        Karn's algorithm: no RTT sample from what is resent.
        """
        if self.retries >= limit:
            return False
        self.retries += 1
        if self.retries == self.config.data_retries_r1:
            self.report.event(SoftError("r1_reached"))
        self.rtt_seq = None
        self.rtt.back_off()
        if self.report.tracer:
            self.report.trace(now, "rto", rto_us=self.rtt.rto, backoff=self.rtt.backoff)
        return True

    def on_reorder_timeout(self, now: int) -> None:
        """RFC 8985 6.3: the reordering window passed: mark what is now overdue."""
        rec = self.rec
        delay = rec.rack_timeout(now, self.rtt.srtt)
        self.timers.reorder = now + delay if delay else None
        if rec.in_recovery:
            self.timers.tlp = None

    def on_pto(self, now: int) -> None:
        """RFC 8985 7.3: send a probe: new data if the receive window allows,
        otherwise the highest segment sent again; then re-arm the RTO, not the PTO."""
        rec = self.rec
        if not rec.tlp_allowed():
            return
        sent = len(self.outbox)
        self.send_data(now, probe=True)
        if len(self.outbox) > sent:
            rec.on_tlp(retransmission=False)
        else:
            last = rec.sb.last()
            if last is None:
                return
            if last.end - last.start - last.fin > self.mss:
                last = rec.sb.split(last, last.end - last.start - last.fin - self.mss)
            self.retransmit(last, now, "tlp")
            self.report.counters["retransmit.tlp"] += 1
            rec.on_tlp(retransmission=True)
        self.timers.rtx = now + self.rtt.rto

    def on_persist(self, now: int, *, orphan: bool = False) -> TimeoutReason | None:
        """RFC 9293 3.8.6.1: probe a zero window with one octet, backing off
        exponentially; MUST-37: never give up while the peer answers.

        Returns a reason to give up when probes go unanswered: R2 of them
        (``retransmissions``), or for the user timeout (``user_timeout``); for
        an ``orphan`` (the user has gone), ``orphan_retries`` once
        ``Config.orphan_retries`` probes found the window still closed.
        """
        if self.snd_wnd > 0:
            # The SWS override timer: send the short segment that was held back.
            self.report.counters["sws_override"] += 1
            self.sws_override = True
            self.send_data(now)
            return None
        cfg = self.config
        if orphan and self.persist_backoff >= min(cfg.orphan_retries, MAX_PERSIST_BACKOFF):
            # RFC 9293 3.8.6.1: MUST-37 "is subject to the implementation's
            # resource management concerns, as noted in [RFC 6429]". An orphan's
            # peer that answers every probe and never opens its window would hold
            # the connection for ever (Linux: tcp_orphan_retries in tcp_probe_timer).
            return "orphan_retries"
        if self.probes_unanswered == 0:
            self.probes_since = now
        elif self.probes_unanswered >= cfg.data_retries_r2:
            # The window may stay closed for ever while the receiver answers
            # (MUST-37); a probe it never answers is a retransmission that went
            # unacknowledged, and R2 of them end the connection (RFC 9293 3.8.3).
            return "retransmissions"
        elif cfg.user_timeout is not None and now - self.probes_since >= cfg.user_timeout:
            return "user_timeout"  # RFC 9293 3.8.3, USER TIMEOUT
        self.probes_unanswered += 1
        self.report.counters["window_probe"] += 1
        off = sub(self.snd_nxt, self.snd_una)
        if self.snd_una != self.snd_nxt:
            payload, seq = self.sendbuf.peek(0, 1), self.snd_una
        elif off < len(self.sendbuf):
            payload, seq = self.sendbuf.peek(off, 1), self.snd_nxt
            self.snd_nxt = add(self.snd_nxt, 1)
            if gt(self.snd_nxt, self.snd_max):
                self.snd_max = self.snd_nxt
            start = self.una_abs + off
            self.rec.on_send(start, start + 1, False, now)
        else:
            payload, seq = b"", self.snd_una  # only a FIN is waiting: an empty probe
        rtx = seq != self.snd_nxt
        self.emit(
            self.make(ACK, seq, now, payload), now, rtx=rtx, why="window_probe" if rtx else None
        )
        self.persist_backoff = min(self.persist_backoff + 1, MAX_PERSIST_BACKOFF)
        self.arm_persist(now)
        return None

    def send_keepalive(self, now: int) -> None:
        """RFC 9293 3.8.4: a keep-alive carries SEG.SEQ = SND.NXT-1 so the peer ACKs it."""
        self.emit(self.make(ACK, add(self.snd_nxt, -1), now), now)

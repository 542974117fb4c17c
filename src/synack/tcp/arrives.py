"""The TCB of one connection and what a segment does to it: RFC 9293 3.10.7, sans-I/O.

:class:`SegmentArrives` holds the TCB (RFC 9293 3.3.1: the state, the
:class:`~synack.tcp.receiver.Receiver` and :class:`~synack.tcp.sender.Sender`
halves, one :class:`~synack.tcp.timers.TimerSet`, the
:class:`~synack.tcp.negotiated.Negotiated` options) and processes each arriving
segment: dispatch on the state, the acceptability test, RST, SYN, ACK, URG, text
and FIN, with the transitions and events that follow. Bad or unexpected segments
never raise: each is dropped with a reason that is counted and traced, answered
with an ACK or a RST as RFC 9293 and RFC 5961 say.

:class:`~synack.tcp.connection.Connection` is the class to use: it adds the
user calls (3.10.1-6), the timeouts (3.10.8) and the output.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from synack.cc.ecn import EcnReceiver
from synack.tcp.config import Config
from synack.tcp.entropy import random_bytes
from synack.tcp.events import (
    Closed,
    Connected,
    EventQueue,
    EventSink,
    Reporter,
    Reset,
    StateChanged,
    Tracer,
)
from synack.tcp.listen import listen_verdict, reset_for
from synack.tcp.negotiated import Negotiated
from synack.tcp.reasons import DropReason
from synack.tcp.receiver import TEXT_ACK, TEXT_FIN, ChallengeBudget, Receiver
from synack.tcp.sender import TS_OPTION_LEN, Sender
from synack.tcp.state import (
    RECEIVING,
    SENDING,
    SYNCHRONIZED,
    USER_SEND,
    State,
    Trigger,
    next_state,
)
from synack.tcp.tcb import TcbNames
from synack.tcp.timers import TimerSet
from synack.tcp.timestamps import TICK as TS_TICK
from synack.tcp.timestamps import TimestampState
from synack.wire.ip import addr_to_str, str_to_addr
from synack.wire.seq import MASK, add, gt, le, sub
from synack.wire.tcp import ACK, CWR, ECE, FIN, RST, SYN, URG, Segment

if TYPE_CHECKING:
    pass

__all__ = ["SegmentArrives"]

S = State
T = Trigger

# State groups are tuples, not sets: membership then tests identity, whereas a
# set would call Enum.__hash__ (Python code) on every segment.
_SYNCHRONIZED: Final = SYNCHRONIZED
_SENDING: Final = SENDING
_RECEIVING: Final = RECEIVING
_USER_SEND: Final = USER_SEND


def _packed(addr: bytes | str) -> bytes:
    return addr if isinstance(addr, bytes) else str_to_addr(addr)


class SegmentArrives(TcbNames):
    """The TCB of RFC 9293 3.3.1 and its SEGMENT ARRIVES processing (3.10.7).

    The base of :class:`~synack.tcp.connection.Connection`, which adds the user calls
    (3.10.1-6), the timeouts (3.10.8) and the output; RFC 9293 3.10 divides the
    event processing the same way. Everything a segment does to a connection is here:
    dispatch on the state, the acceptability test, RST, SYN, ACK, URG, text and FIN,
    and the transitions and events that follow.
    """

    # fmt: off
    __slots__ = (
        "_ce_in", "_closed_reported", "_keepalive_probes", "_report", "abandoned", "config",
        "local", "neg", "out_ect", "passive", "rcv", "remote", "snd", "state", "timers", "ts",
    )
    # fmt: on

    def __init__(
        self,
        local: tuple[bytes | str, int],
        remote: tuple[bytes | str, int],
        *,
        iss: int,
        config: Config | None = None,
        tracer: Tracer | None = None,
        name: str = "",
        shared_counters: Counter[str] | None = None,
        sink: EventSink[Any] | None = None,
        ts_offset: int | None = None,
        challenge: ChallengeBudget | None = None,
    ) -> None:
        self.config = cfg = config or Config()
        self.local: tuple[bytes, int] = (_packed(local[0]), local[1])
        self.remote: tuple[bytes, int] = (_packed(remote[0]), remote[1])
        laddr, raddr = self.local[0], self.remote[0]
        label = (
            f"{addr_to_str(laddr)}:{self.local[1]}-{addr_to_str(raddr)}:{self.remote[1]}"
            if tracer
            else ""
        )
        self._report = report = Reporter(
            self,
            sink if sink is not None else EventQueue(),
            name=name,
            label=label,
            tracer=tracer,
            shared_counters=shared_counters,
        )
        self.state = S.CLOSED
        self.passive = False
        self.abandoned = False
        """The user has gone (``close(now, abandon=True)``): FIN-WAIT-2 is bounded."""
        self._ce_in = False  # the segment being processed arrived marked CE (RFC 3168)
        self.out_ect: list[bool] = []
        """Per segment of the last :meth:`segments_to_send`: send it ECT(0) (RFC 3168 6.1.2)."""
        iss &= MASK
        ipv4 = len(laddr) == 4
        self.neg = neg = Negotiated.before_syn(ipv4)
        self.timers = timers = TimerSet()
        # RFC 7323 7.1: a per-connection offset of the timestamp clock, from the
        # endpoint (a keyed hash of the 4-tuple); on its own, a random one.
        if ts_offset is None:
            ts_offset = int.from_bytes(random_bytes(4), "big")
        self.ts = ts = TimestampState(ts_offset)
        self.rcv = rcv = Receiver(cfg, neg, timers, ts, report, challenge)
        self.snd = Sender(
            cfg,
            iss=iss,
            ports=(self.local[1], self.remote[1]),
            local_mss=cfg.mss if ipv4 else cfg.mss - 20,  # IPv6's header is 20 longer
            neg=neg,
            rcv=rcv,
            timers=timers,
            ts=ts,
            report=report,
        )
        rcv.configure(cfg, self.snd.mss)
        self._keepalive_probes = 0
        self._closed_reported = False

    # ------------------------------------------------------------------ info
    def __repr__(self) -> str:
        return (
            f"<Connection {addr_to_str(self.local[0])}:{self.local[1]} -> "
            f"{addr_to_str(self.remote[0])}:{self.remote[1]} {self.state}>"
        )

    @property
    def name(self) -> str:
        """The host name in trace records."""
        return self._report.name

    @property
    def counters(self) -> Counter[str]:
        """Everything counted on this connection: drops (``drop.<reason>``), retransmissions, ..."""
        return self._report.counters

    # ------------------------------------------------------------- arrivals
    def receive_segment(self, seg: Segment, now: int, *, ecn: int = 0) -> None:
        """SEGMENT ARRIVES (RFC 9293 3.10.7) for this connection's 4-tuple.

        ``ecn`` is the ECN field of the IP header it came in (RFC 3168 5; 3 is CE).
        """
        self._ce_in = ecn == 0b11
        report = self._report
        if report.tracer:
            report.trace_segment(now, "seg_in", seg, False)
        st = self.state
        if st is S.CLOSED:
            report.drop(now, "closed")
        elif st is S.LISTEN:
            self._on_listen(seg, now)
        elif st is S.SYN_SENT:
            self._on_syn_sent(seg, now)
        else:
            self._on_other(seg, now)

    def _on_listen(self, seg: Segment, now: int) -> None:
        # RFC 9293 3.10.7.2 LISTEN STATE (the same rules as the endpoint's listeners)
        reason = listen_verdict(seg)
        if reason is not None:
            rst = reset_for(seg) if reason == "ack_in_listen" else None
            if rst is not None:
                self.snd.emit(rst, now)
            self._report.drop(now, reason)
            return
        # "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS should be selected
        # and a SYN segment sent of the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>".
        self._accept_syn(seg, now)
        self.snd.window_from_syn(seg)
        self._transition(T.RCV_SYN, "rcv SYN", now)
        self.snd.send_syn(now, ack=True)
        self._queue_text(seg, add(seg.seq, 1), now)

    def _on_syn_sent(self, seg: Segment, now: int) -> None:
        # RFC 9293 3.10.7.3 SYN-SENT STATE
        fl = seg.flags
        snd = self.snd
        if fl & ACK and (le(seg.ack, snd.iss) or gt(seg.ack, snd.snd_max)):
            # "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit
            # is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
            if not fl & RST:
                self._send_rst(seg.ack, now)
            self._report.drop(now, "bad_ack_in_syn_sent")
            return
        if fl & RST:
            if fl & ACK:
                # "If the ACK was acceptable, then signal to the user 'error:
                # connection reset', drop the segment, enter CLOSED state".
                self.counters["reset.refused"] += 1
                self._report.event(Reset(refused=True))
                self._transition(T.RCV_RST, "connection refused", now)
                self._finish(now)
            else:
                self._report.drop(now, "rst_without_ack_in_syn_sent")
            return
        if not fl & SYN:
            self._report.drop(now, "no_syn_in_syn_sent")
            return
        self._accept_syn(seg, now)
        if fl & ACK:
            snd.on_ack_of_syn(seg, now)
            # "If SND.UNA > ISS (our SYN has been ACKed), change the connection state
            # to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
            self._transition(T.RCV_SYN_ACK, "rcv SYN,ACK", now)
            self._established(now)
            self.rcv.ack_now = True
            self._queue_text(seg, add(seg.seq, 1), now)
        else:
            # Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment
            # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it".
            snd.window_from_syn(seg)
            self._transition(T.RCV_SYN, "simultaneous open", now)
            snd.send_syn(now, ack=True)
            if seg.payload or fl & FIN:
                # RFC 9293 3.10.7.3: text and FIN in this SYN wait until ESTABLISHED.
                # Nothing proves yet that the SYN came from the peer (it acks
                # nothing of ours): like Linux, ignore them unacknowledged, so the
                # peer sends them again once synchronized, instead of handing a
                # blind attacker's bytes to the application.
                self.counters["syn_text_ignored"] += 1

    def _accept_syn(self, seg: Segment, now: int) -> None:
        """The peer's SYN settles what both sides use (see :class:`Negotiated`)."""
        snd = self.snd
        neg = Negotiated.from_syn(
            seg,
            self.config,
            len(self.local[0]) == 4,
            ecn_requested=snd.ecn_syn,
            ecn_offered=snd.ecn_syn_sent,
        )
        self._agree(neg)
        self.ts.enabled = neg.timestamps
        self.rcv.accept_syn(seg, neg, now)
        snd.opt_len = TS_OPTION_LEN if neg.timestamps else 0
        self._set_path_mss(max(1, min(snd.local_mss, neg.peer_mss)))

    def _agree(self, neg: Negotiated) -> None:
        """What the handshake settled, for the connection and its two halves."""
        self.neg = self.snd.neg = self.rcv.neg = neg
        ecn = self.rcv.ecn
        if not neg.ecn_echo:
            self.rcv.ecn = None
        elif ecn is None:
            self.rcv.ecn = EcnReceiver(echo_every_ce=self.snd.cc.echo_every_ce)

    def _set_path_mss(self, limit: int) -> None:
        self.snd.set_path_mss(limit)
        self.rcv.configure(self.config, self.snd.mss)

    def _established(self, now: int) -> None:
        """Common work on entering ESTABLISHED from either side."""
        self.snd.established(now)
        self._report.event(Connected())
        if self.config.keepalive:
            self.timers.keepalive = now + self.config.keepalive_idle

    def _on_other(self, seg: Segment, now: int) -> None:
        """RFC 9293 3.10.7.4: SYN-RECEIVED and the synchronized states."""
        st = self.state
        fl = seg.flags
        cfg = self.config
        rcv, snd = self.rcv, self.snd
        if st is S.SYN_RECEIVED:
            if fl & SYN and not fl & ACK and seg.seq == rcv.irs:
                # A retransmitted SYN: our SYN-ACK was lost, so send it again now.
                self._report.drop(now, "duplicate_syn")
                if self.neg.ecn and fl & (ECE | CWR) != ECE | CWR:
                    # RFC 3168 6.1.1.1: the peer fell back to a non-ECN-setup SYN;
                    # so do we: our SYN-ACK goes again without ECE, and having
                    # received a non-ECN-setup SYN we "SHOULD NOT set ECT" (6.1.1;
                    # after our non-ECN-setup SYN-ACK, MUST NOT). We still echo
                    # CE: our first SYN-ACK offered ECN, and a peer that got it
                    # (Linux does, and then sends ECT) hears of its congestion.
                    self._agree(replace(self.neg, ecn=False))
                snd.send_syn(now, ack=True, rtx=True, why="dup_syn")
                return
            if (
                not self.passive
                and fl & (SYN | ACK) == SYN | ACK
                and seg.seq == rcv.irs
                and not snd.syn_acked
            ):
                # Simultaneous open (RFC 9293 Figure 8): the peer's SYN,ACK repeats the
                # SYN we already hold; its ACK acknowledges ours. Take it as that ACK,
                # so the connection is ESTABLISHED now rather than one round trip later.
                seg = replace(seg, seq=add(seg.seq, 1), flags=fl & ~SYN)
                fl = seg.flags
        # first: PAWS and the sequence number (the receiver's rules)
        dropped = rcv.screen(seg, now)
        if dropped == "paws" and self._disordered_ack(seg):
            dropped = rcv.screen(seg, now, paws=False)
        if dropped is not None:
            self._report.drop(now, dropped)
            if dropped == "out_of_window":
                self._on_unacceptable(seg, now)
            elif dropped == "paws":
                # RFC 7323 5.3 R1: "Send an acknowledgment in reply" (rate-limited).
                self._ack_unacceptable(seg, now)
            return
        if cfg.keepalive:
            self._peer_heard(now)
        ecn = rcv.ecn
        if ecn is not None:
            ce, has_data = self._ce_in, bool(seg.payload)
            if ce:
                self.counters["ecn.ce_received"] += 1
                self.counters["ecn.ce_bytes"] += len(seg.payload)
            if rcv.ack_owed and ecn.changes_state(ce=ce, has_data=has_data):
                # RFC 8257 3.2: the CE state changes. The ACK held back (delayed,
                # or owed and not yet flushed) covers data of the prior state:
                # it goes now, RCV.NXT and ECE still as they were, so that no
                # ACK mixes marked and unmarked octets (Linux's
                # dctcp_ece_ack_update does the same).
                snd.send_ack(now)
            if ecn.on_segment(ce=ce, cwr=bool(fl & CWR), has_data=has_data):
                rcv.ack_now = True  # the echo changed: tell the sender at once
        # second: check the RST bit (RFC 5961 3.2)
        if fl & RST:
            if seg.seq != rcv.rcv_nxt and cfg.rfc5961:
                # "If the RST bit is set and the sequence number does not exactly match
                # the next expected sequence value, yet is within the current receive
                # window, TCP endpoints MUST send an acknowledgment (challenge ACK)".
                self._report.drop(now, "rst_not_exact")
                self._challenge_ack(now)
                return
            self._on_reset(now)
            return
        # fourth: check the SYN bit (RFC 5961 4.2)
        if fl & SYN:
            if st is S.SYN_RECEIVED and self.passive:
                # RFC 9293 3.10.7.4: "If the connection was initiated with a passive
                # OPEN, then return this connection to the LISTEN state".
                self._report.drop(now, "syn_in_syn_received")
                self._transition(T.RCV_RST_TO_LISTEN, "SYN in SYN-RECEIVED", now)
                self._finish(now)
                return
            self._report.drop(now, "syn_in_window")
            if not cfg.rfc5961:
                # RFC 793 3.9: "If the SYN is in the window it is an error, send a
                # reset, ... enter the CLOSED state, delete the TCB, and return."
                self._send_rst(snd.snd_nxt, now)
                self._on_reset(now)
                return
            # "TCP implementations MUST send a 'challenge ACK'" (RFC 5961 4.2).
            self._challenge_ack(now)
            return
        # fifth: check the ACK field
        if not fl & ACK:
            self._report.drop(now, "no_ack")
            return
        if not snd.syn_acked:
            # SYN-RECEIVED (or CLOSE-WAIT after a FIN that came with the SYN).
            if le(seg.ack, snd.snd_una) or gt(seg.ack, snd.snd_max):
                # "If the segment acknowledgment is not acceptable, form a reset segment
                # <SEQ=SEG.ACK><CTL=RST> and send it."
                self._send_rst(seg.ack, now)
                self._report.drop(now, "bad_ack_in_syn_received")
                return
            snd.on_ack_of_syn(seg, now)
            if st is S.SYN_RECEIVED:
                self._transition(T.RCV_ACK_OF_SYN, "rcv ACK of SYN", now)
            self._established(now)
            if snd.fin_queued:
                self._transition(T.CLOSE, "close queued in SYN-RECEIVED", now)
        dropped = snd.on_ack_segment(seg, now, self.state in _SENDING)
        if dropped is not None:
            self._ack_dropped(dropped, now)
            return
        st = self.state
        if st is S.FIN_WAIT_1 and snd.fin_acked():
            self._transition(T.RCV_ACK_OF_FIN, "rcv ACK of FIN", now)
            if self.abandoned:
                self._arm_fin_wait_2(now)
        elif st is S.CLOSING and snd.fin_acked():
            self._enter_time_wait(T.RCV_ACK_OF_FIN, now)
            return
        elif st is S.LAST_ACK and snd.fin_acked():
            self._transition(T.RCV_ACK_OF_FIN, "rcv ACK of FIN", now)
            self._finish(now)
            return
        elif st is S.TIME_WAIT and fl & FIN:
            self.timers.timewait = now + 2 * cfg.msl
            rcv.ack_now = True
            return
        # sixth: check the URG bit
        if fl & URG:
            self._on_urgent(seg)
        # seventh and eighth: segment text and FIN
        self._queue_text(seg, seg.seq, now)

    def _peer_heard(self, now: int) -> None:
        """An acceptable segment arrived: the keep-alive's idle interval starts again.

        RFC 9293 3.8.4 (MUST-26): probe only when "no data or acknowledgment
        packets have been received for the connection within an interval". Only
        a segment that passed PAWS and the sequence check counts: one that failed
        them proves nothing of the peer, and a spoofer sending one now and then
        would otherwise keep a connection to a vanished peer open for ever.
        """
        st = self.state
        if st is S.ESTABLISHED or st is S.CLOSE_WAIT:
            self._keepalive_probes = 0
            self.timers.keepalive = now + self.config.keepalive_idle

    def _on_unacceptable(self, seg: Segment, now: int) -> None:
        """What an unacceptable segment still gets (RFC 9293 3.10.7.4 first), then an ACK."""
        fl = seg.flags
        st = self.state
        rcv = self.rcv
        if (
            rcv.rcv_wnd == 0
            and seg.seq == rcv.rcv_nxt
            and fl & ACK
            and not fl & SYN
            and st is not S.SYN_RECEIVED
        ):
            # "special allowance should be made to accept valid ACKs, URGs, and RSTs"
            # when RCV.WND is zero.
            if self.config.keepalive:
                self._peer_heard(now)  # the peer's zero-window probe
            self._process_ack(seg, now)
            if fl & URG:
                self._on_urgent(seg)  # MUST-66: URG is processed at zero window too
        elif st is S.TIME_WAIT and fl & FIN:
            # A retransmitted FIN: re-ACK it and restart the 2 MSL timeout.
            self.timers.timewait = now + 2 * self.config.msl
        # "If an incoming segment is not acceptable, an acknowledgment should be
        # sent in reply (unless the RST bit is set ...)" <SEQ=SND.NXT><ACK=RCV.NXT>.
        if fl & SYN:
            # RFC 5961 4.2: "If the SYN bit is set, irrespective of the sequence
            # number, TCP MUST send an ACK (also referred to as challenge ACK)".
            self._challenge_ack(now)
        else:
            self._ack_unacceptable(seg, now)

    def _ack_unacceptable(self, seg: Segment, now: int) -> None:
        """The ACK for an unacceptable (or PAWS-failed) segment, rate-limited unless it carries data.

        RFC 9293 3.10.7.4 answers every unacceptable segment, which lets a blind
        attacker (or two confused stacks) make us send an ACK per packet. As in
        Linux (tcp_invalid_ratelimit), segments without data or FIN get at most
        one answer per :data:`~synack.tcp.receiver.INVALID_ACK_INTERVAL`; one with
        data or a FIN may be a retransmission whose sender lost our ACK, so it
        always gets it.
        """
        rcv = self.rcv
        if seg.payload or seg.flags & FIN or rcv.invalid_ack_allowed(now):
            rcv.ack_now = True
        else:
            self.counters["ack_suppressed"] += 1

    def _disordered_ack(self, seg: Segment) -> bool:
        """A pure duplicate ACK that only lost a race with a newer one: exempt from PAWS.

        PAWS (RFC 7323 5) protects the sequence space from old duplicates; an ACK
        that carries no data, acknowledges exactly SND.UNA, would not update the
        window and is older than TS.Recent by less than an RTO was reordered in
        the network, not replayed from an old connection. Dropping it loses its
        SACK blocks (and a reply to it is an ACK too many). Linux's
        tcp_disordered_ack makes the same exemption.
        """
        fl = seg.flags
        rcv, snd = self.rcv, self.snd
        if not fl & ACK or fl & (SYN | FIN | RST) or seg.payload or seg.seq != rcv.rcv_nxt:
            return False
        if seg.ack != snd.snd_una:
            return False
        # RFC 9293 3.10.7.4's window update test, as Linux's tcp_may_update_window.
        wnd = seg.window << self.neg.snd_wscale
        if gt(seg.seq, snd.snd_wl1) or (seg.seq == snd.snd_wl1 and (wnd > snd.snd_wnd or wnd == 0)):
            return False
        tso = seg.timestamps
        if tso is None:
            return False
        # In ticks of the timestamp clock (RFC 7323 5.4: one per millisecond here).
        return (rcv.ts.ts_recent - tso.tsval) & MASK <= snd.rtt.rto // TS_TICK

    def _process_ack(self, seg: Segment, now: int) -> bool:
        """RFC 9293 3.10.7.4 fifth, in the sender; False when the segment was dropped there."""
        dropped = self.snd.on_ack_segment(seg, now, self.state in _SENDING)
        if dropped is None:
            return True
        self._ack_dropped(dropped, now)
        return False

    def _ack_dropped(self, dropped: DropReason, now: int) -> None:
        """The sender dropped the segment for its ACK field: the reply RFC 9293 / 5961 ask."""
        self._report.drop(now, dropped)
        if dropped == "ack_too_new":
            self.rcv.ack_now = True
        else:
            self._challenge_ack(now)

    def _on_urgent(self, seg: Segment) -> None:
        if self.state not in _RECEIVING:
            self.counters["urg_ignored"] += 1  # "This should not occur ... Ignore the URG."
            return
        self.rcv.on_urgent(seg)

    def _queue_text(self, seg: Segment, seq: int, now: int) -> None:
        """RFC 9293 3.10.7.4 seventh (segment text) and eighth (FIN)."""
        st = self.state
        rcv = self.rcv
        if st not in _RECEIVING and st is not S.SYN_RECEIVED:
            # "This should not occur, since a FIN has been received from the remote
            # side. Ignore the segment text."
            if seg.payload:
                self._report.drop(now, "data_after_fin")
            if seg.flags & FIN and st in (S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK):
                rcv.ack_now = True  # a retransmitted FIN: ACK it again
            return
        if not seg.payload and not seg.flags & FIN and rcv.peer_fin_abs is None:
            return  # a pure ACK: no text, and no early FIN waiting for it
        if (
            self.abandoned
            and seg.payload
            and (st is S.FIN_WAIT_1 or st is S.FIN_WAIT_2)
            and sub(add(seq, len(seg.payload)), rcv.rcv_nxt) > 0
        ):
            # RFC 9293 3.6.1 (SHLD-3, RFC 1122 4.2.2.13): "if new data is received
            # after CLOSE is called, its TCP implementation SHOULD send a RST to show
            # that data was lost." That CLOSE is the half-duplex one (MAY-1): only
            # once the user has gone, as a half-closed connection still reads. Linux
            # does the same for a closed socket. <SEQ=SND.NXT><CTL=RST>.
            self._send_rst(self.snd.snd_nxt, now)
            self.counters["reset.data_after_close"] += 1
            self._transition(T.ABORT, "data after close: reset", now)
            self._finish(now)
            return
        result = rcv.on_text(seg, seq, now)
        if result & TEXT_FIN:
            self._on_fin(now)
        if result & TEXT_ACK:
            # One ACK per arriving segment that needs one, emitted at once (a flagged
            # ACK, by contrast, waits for the flush and may ride on data).
            self.snd.send_ack(now)

    def _on_fin(self, now: int) -> None:
        # RFC 9293 3.10.7.4 eighth: the receiver has taken the FIN; now the state.
        st = self.state
        if st is S.SYN_RECEIVED or st is S.ESTABLISHED:
            self._transition(T.RCV_FIN, "rcv FIN", now)
        elif st is S.FIN_WAIT_1:
            # Our FIN is not acknowledged: had this segment acknowledged it, the
            # fifth step would have moved us to FIN-WAIT-2 already.
            self._transition(T.RCV_FIN, "simultaneous close", now)
        elif st is S.FIN_WAIT_2:
            self._enter_time_wait(T.RCV_FIN, now)

    def _on_reset(self, now: int) -> None:
        st = self.state
        self.counters["reset.received"] += 1
        if st is S.SYN_RECEIVED and self.passive:
            # RFC 9293 3.10.7.4: "If this connection was initiated with a passive OPEN
            # (i.e., came from the LISTEN state), then return this connection to
            # LISTEN state and return." The listener stays; this TCB goes.
            self._transition(T.RCV_RST_TO_LISTEN, "rcv RST", now)
        elif st in (S.CLOSING, S.LAST_ACK, S.TIME_WAIT):
            self._transition(T.RCV_RST, "rcv RST", now)
        else:
            # "any outstanding RECEIVEs and SEND should receive 'reset' responses"
            self._report.event(Reset(refused=st is S.SYN_RECEIVED))
            self._transition(T.RCV_RST, "connection reset", now)
        self._finish(now)

    def _challenge_ack(self, now: int) -> None:
        # RFC 5961 7: limit the rate of challenge ACKs.
        if not self.rcv.challenge_allowed(now):
            self.counters["challenge_ack.suppressed"] += 1
            return
        self.counters["challenge_ack"] += 1
        self.snd.send_ack(now)

    def _enter_time_wait(self, trigger: Trigger, now: int) -> None:
        self._transition(trigger, trigger.value, now)
        # RFC 9293 3.10.7.4: "Start the time-wait timer, turn off the other timers."
        t = self.timers
        t.rtx = t.persist = t.keepalive = t.user = t.reorder = t.tlp = t.pacing = None
        t.finwait2 = None
        t.timewait = now + 2 * self.config.msl
        self._report_closed()

    def _arm_fin_wait_2(self, now: int) -> None:
        """An abandoned connection in FIN-WAIT-2 waits at most ``Config.fin_wait_2_timeout``.

        RFC 9293 3.6 lets FIN-WAIT-2 last as long as the peer keeps its half
        open, which is right while the user may still read (a half-close). Once
        the user has gone, Linux waits tcp_fin_timeout (TCP_LINGER2) from the
        later of close() and the ACK of the FIN, and no segment restarts it.
        """
        timeout = self.config.fin_wait_2_timeout
        if timeout is not None and self.timers.finwait2 is None:
            self.timers.finwait2 = now + timeout

    # ----------------------------------------------------------- bookkeeping
    def _transition(self, trigger: Trigger, reason: str, now: int) -> None:
        old = self.state
        new = next_state(old, trigger)
        self.state = new
        report = self._report
        report.event(StateChanged(old, new, reason))
        if report.tracer:
            report.trace(now, "state", old=old.value, new=new.value, reason=reason)

    def _send_rst(self, seq: int, now: int) -> None:
        """A bare RST ``<SEQ=seq><CTL=RST>`` to the peer (RFC 9293 3.10.7, 3.10.5)."""
        self.snd.emit(Segment(self.local[1], self.remote[1], seq, 0, RST), now)

    def _finish(self, now: int) -> None:
        """The TCB is deleted: cancel timers, report Closed once."""
        self.timers.cancel_all()
        self.rcv.ack_now = False
        self._report_closed()

    def _report_closed(self) -> None:
        if not self._closed_reported:
            self._closed_reported = True
            self._report.event(Closed())

    def _wake(self) -> None:
        self._report.sink.connection_wakeup(self)

    def _drop(self, now: int, reason: DropReason) -> None:
        self._report.drop(now, reason)

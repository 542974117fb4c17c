"""One TCP connection: RFC 9293 section 3.10 event processing, sans-I/O.

A :class:`Connection` is driven by exactly three sources, each taking the current
time ``now`` in integer microseconds:

* user calls: :meth:`connect`, :meth:`send`, :meth:`recv`, :meth:`close`, :meth:`abort`;
* arriving segments: :meth:`receive_segment`;
* timer expiry: :meth:`handle_timer` once ``now >= next_deadline()``.

It never does I/O and never reads a clock. What it wants sent is pulled with
:meth:`segments_to_send`; what the user should hear goes to its
:class:`EventSink` (an endpoint), or waits for :meth:`next_event`. Bad or
unexpected segments never raise: each is dropped with a reason that is counted
in :attr:`counters` (and traced), answered with an ACK or a RST, exactly as RFC
9293 and RFC 5961 say. Misuse by the local user raises
:class:`~synack.tcp.errors.InvalidStateError`.

The connection is the orchestrator of RFC 9293 3.3.1's two halves: the
:class:`~synack.tcp.receiver.Receiver` (RCV.*) and the
:class:`~synack.tcp.sender.Sender` (SND.*), with their deadlines in one
:class:`~synack.tcp.timers.TimerSet` and what the handshake settled in one
:class:`~synack.tcp.negotiated.Negotiated`. It keeps the state, dispatches each
segment and timer on it, makes the transitions of
:data:`~synack.tcp.state.TRANSITIONS`, and reports events.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from synack.tcp.arrives import SegmentArrives
from synack.tcp.errors import ConnectionClosedError, InvalidStateError
from synack.tcp.events import (
    Event,
    EventQueue,
    Reset,
    SoftError,
    TimedOut,
)
from synack.tcp.info import TcpInfo
from synack.tcp.reasons import TimeoutReason
from synack.tcp.state import (
    RECEIVING,
    SENDING,
    SYNCHRONIZED,
    USER_SEND,
    State,
    Trigger,
)
from synack.tcp.timers import FIRING_ORDER, Timer, deadlines_in_firing_order
from synack.wire.gso import MAX_TSO
from synack.wire.seq import le
from synack.wire.tcp import Segment

if TYPE_CHECKING:
    from synack.wire.icmp import IcmpKind

__all__ = ["MIN_PMTU_V4", "MIN_PMTU_V6", "Connection"]

S = State
T = Trigger

# The lowest path MTU an ICMP message may set. IPv4: Linux's min_pmtu, 552
# (RFC 1191 3 lets a host keep a floor; 68 is only what IP must pass). IPv6:
# RFC 8201 4: "A node MUST NOT reduce its estimate of the Path MTU below the
# IPv6 minimum link MTU" (1280, RFC 8200 5).
MIN_PMTU_V4: Final = 552
MIN_PMTU_V6: Final = 1280

# Config fields the SYN exchange uses: fixed once the SYN is sent.
_NEGOTIATED: Final = ("mss", "window_scaling", "timestamps", "sack", "initial_window", "fixed_iss")

# State groups are tuples, not sets: membership then tests identity, whereas a
# set would call Enum.__hash__ (Python code) on every segment.
_SYNCHRONIZED: Final = SYNCHRONIZED
_SENDING: Final = SENDING
_RECEIVING: Final = RECEIVING
_USER_SEND: Final = USER_SEND


class Connection(SegmentArrives):
    """The TCB of RFC 9293 3.3.1 and the processing of 3.10 for one connection.

    Usually created by :class:`~synack.tcp.endpoint.Endpoint`, which is then its
    ``sink``; it can also be used on its own (tests, teaching), wiring two
    connections together by hand. ``rcv`` and ``snd`` are its two halves; the
    RFC's names of their variables (``snd_una``, ``rcv_nxt``, ...) read through
    to them (:class:`~synack.tcp.tcb.TcbNames`).
    """

    __slots__ = ()

    # ------------------------------------------------------------------ info
    @property
    def send_buffer_free(self) -> int:
        """Octets :meth:`send` would accept now."""
        snd = self.snd
        return snd.sendbuf.free if not snd.fin_queued else 0

    @property
    def send_buffer_used(self) -> int:
        """Octets queued and not yet acknowledged."""
        return len(self.snd.sendbuf)

    def info(self) -> TcpInfo:
        """A snapshot of this connection's state and variables (Linux's TCP_INFO)."""
        snd, rcv, neg = self.snd, self.rcv, self.neg
        counters = self.counters
        return TcpInfo(
            state=self.state,
            srtt=snd.rtt.srtt,
            rttvar=snd.rtt.rttvar,
            rto=snd.rtt.rto,
            cwnd=snd.cc.cwnd,
            ssthresh=snd.cc.ssthresh,
            mss=snd.mss,
            peer_mss=neg.peer_mss,
            snd_una=snd.snd_una,
            snd_nxt=snd.snd_nxt,
            rcv_nxt=rcv.rcv_nxt,
            snd_wnd=snd.snd_wnd,
            rcv_wnd=rcv.rcv_wnd,
            in_flight=snd.in_flight,
            retransmits=counters["retransmit.segments"] + counters["retransmit.syn"],
            bytes_acked=snd.una_abs,
            bytes_received=rcv.rcv_abs,
            sack=neg.sack,
            timestamps=neg.timestamps,
            snd_wscale=neg.snd_wscale,
            rcv_wscale=neg.rcv_wscale,
            congestion_control=snd.cc.name,
        )

    def reconfigure(self, now: int, **changes: Any) -> None:
        """Change this connection's :class:`Config` fields at run time (setsockopt).

        Settings that the SYN negotiates (``mss``, ``window_scaling``,
        ``timestamps``, ``sack``, ``initial_window``, ``fixed_iss``) can only change
        before the SYN is sent: afterwards they raise :class:`InvalidStateError`.
        Everything else takes effect at once: ``nodelay`` on the next send,
        keep-alive settings re-arm the keep-alive timer, ``user_timeout`` restarts
        the user timer if data is outstanding, buffer sizes resize the buffers,
        ``min_rto``/``max_rto`` bound the RTO from now on, and
        ``congestion_control`` swaps the algorithm keeping cwnd and ssthresh.
        Unknown field names raise :class:`TypeError`, invalid values
        :class:`ValueError` (from :class:`Config`).
        """
        old = self.config
        new = replace(old, **changes)
        late = self.state not in (S.CLOSED, S.LISTEN)
        for name in _NEGOTIATED:
            if late and getattr(new, name) != getattr(old, name):
                raise InvalidStateError(f"{name} can only be set before the SYN is sent")
        snd, rcv = self.snd, self.rcv
        synchronized = self.state in _SYNCHRONIZED
        self.config = new
        snd.reconfigure(old, new, now, synchronized=synchronized)
        rcv.configure(new, snd.mss)
        if new.mss != old.mss:
            snd.local_mss = new.mss if len(self.local[0]) == 4 else new.mss - 20
            self._set_path_mss(min(snd.local_mss, self.neg.peer_mss))
        if new.recv_buffer > old.recv_buffer and synchronized:
            rcv.ack_now = True  # RFC 9293 3.8.6.2.2: tell the peer the window opened
        keepalive = (new.keepalive, new.keepalive_idle, new.keepalive_interval)
        if (
            keepalive != (old.keepalive, old.keepalive_idle, old.keepalive_interval)
            and synchronized
        ):
            self._keepalive_probes = 0
            self.timers.keepalive = now + new.keepalive_idle if new.keepalive else None
        # Timers may have moved and Nagle may have held a small segment back: the
        # driver (the endpoint) re-reads next_deadline() and segments_to_send().
        self._wake()

    # ------------------------------------------------------------ user calls
    def connect(self, now: int) -> None:
        """Active OPEN (RFC 9293 3.10.1): send a SYN and enter SYN-SENT."""
        if self.state is not S.CLOSED:
            raise InvalidStateError(f"connect() in {self.state}: connection already exists")
        self._transition(T.ACTIVE_OPEN, "active open", now)
        self.snd.send_syn(now, ack=False)

    def listen(self, now: int) -> None:
        """Passive OPEN: wait in LISTEN for a SYN (the endpoint's listeners use this)."""
        if self.state is not S.CLOSED:
            raise InvalidStateError(f"listen() in {self.state}")
        self.passive = True
        self._transition(T.PASSIVE_OPEN, "passive open", now)

    def open_from_cookie(self, syn: Segment, ack: Segment, now: int) -> None:
        """Complete a passive open whose SYN-ACK was a SYN cookie (RFC 4987 3.6).

        ``syn`` is the peer's SYN as the cookie restores it
        (:func:`~synack.tcp.syncookies.restored_syn`), ``ack`` the segment that
        returned the cookie. The connection goes through LISTEN and SYN-RECEIVED
        as if it had sent its SYN-ACK (its ISS is the cookie), then processes
        ``ack`` like any segment in SYN-RECEIVED. The endpoint uses this.
        """
        if self.state is not S.CLOSED:
            raise InvalidStateError(f"open_from_cookie() in {self.state}")
        self.listen(now)
        self._accept_syn(syn, now)
        self.snd.window_from_syn(syn)
        self._transition(T.RCV_SYN, "rcv SYN (cookie)", now)
        self.snd.syn_ack_sent_as_cookie()
        self.rcv.advertise(syn=True)  # the SYN-ACK (the cookie) acknowledged the SYN
        self.receive_segment(ack, now)

    def send(self, data: bytes | bytearray | memoryview, *, urgent: bool = False) -> int:
        """SEND (RFC 9293 3.10.2): queue as much of ``data`` as the buffer takes.

        Returns the number of octets accepted (possibly 0 when the buffer is
        full; wait for :class:`SendBufferSpace`). Raises
        :class:`ConnectionClosedError` after :meth:`close` or once closed.
        ``urgent=True`` marks the octets accepted as urgent (RFC 9293 3.8.5): the
        segments carrying them have URG set and point past them.
        """
        st = self.state
        if st not in _USER_SEND:
            raise ConnectionClosedError(f"send() in {st}: connection closing or does not exist")
        if self.snd.fin_queued:
            raise ConnectionClosedError("send() after close(): connection closing")
        n = self.snd.write(data, urgent)
        if n:
            self._wake()
        return n

    def recv(self, max_bytes: int = -1) -> bytes:
        """RECEIVE (RFC 9293 3.10.3): take up to ``max_bytes`` in-order octets.

        Returns ``b""`` when nothing is waiting (check :attr:`peer_closed` for
        end of stream). Reading opens the receive window; a window update is
        sent when it grew enough to matter (RFC 9293 3.8.6.2.2).
        """
        rcv = self.rcv
        st = self.state
        open_ = st in _SYNCHRONIZED and st is not S.TIME_WAIT and not rcv.peer_closed
        data = rcv.read(max_bytes, open_)
        if data and open_ and rcv.ack_now:
            self._wake()
        return data

    def close(self, now: int, *, abandon: bool = False) -> None:
        """CLOSE (RFC 9293 3.10.4): send FIN after the queued data (half-close).

        ``abandon=True`` also says the user has gone: nothing will read what the
        peer still sends (a socket's close(), as opposed to shutdown(SHUT_WR)).
        It may come after a plain ``close`` (shutdown first, close later). Such
        a connection waits in FIN-WAIT-2 for the peer's FIN at most
        ``Config.fin_wait_2_timeout``, counted from the later of this call and
        the ACK of our FIN, then is deleted silently, as Linux does with
        orphaned sockets (tcp_fin_timeout, TCP_LINGER2); with a timeout of 0 a
        connection already in FIN-WAIT-2 is reset at once, as Linux's close()
        does with TCP_LINGER2 = -1. The other states are unchanged: they are
        bounded by retransmissions (R2) and TIME-WAIT by 2 MSL.
        """
        st = self.state
        if abandon and st is not S.CLOSED:
            self.abandoned = True
            self._wake()  # the endpoint counts its orphans (Endpoint.max_orphans)
            if st is S.FIN_WAIT_2:
                if self.config.fin_wait_2_timeout == 0:
                    self.counters["fin_wait_2.reset"] += 1
                    self.abort(now)
                    return
                self._arm_fin_wait_2(now)
        if st is S.SYN_SENT or st is S.LISTEN:
            # RFC 9293 3.10.4 SYN-SENT: "Delete the TCB and return 'error: closing'
            # responses to any queued SENDs".
            self._transition(T.CLOSE_NO_FIN, "close", now)
            self._finish(now)
            self._wake()
            return
        if st is S.CLOSED:
            raise ConnectionClosedError("close(): connection does not exist")
        if self.snd.fin_queued:
            return  # RFC 9293 3.10.4: "an 'ok' response would be acceptable, too"
        self.snd.queue_fin()
        if st is S.SYN_RECEIVED:
            # RFC 9293 3.10.4 SYN-RECEIVED: the FIN is queued "for processing after
            # entering ESTABLISHED state".
            return
        if st is S.ESTABLISHED or st is S.CLOSE_WAIT:
            self._transition(T.CLOSE, "close", now)
        self._wake()

    def abort(self, now: int, *, reset_peer: bool = False) -> None:
        """ABORT (RFC 9293 3.10.5): send RST where the peer holds state, then CLOSED.

        ``reset_peer`` also sends the RST in CLOSING and LAST-ACK, where 3.10.5
        only deletes the TCB: the stack reclaiming an abandoned connection whose
        data the peer still waits for (Linux's tcp_close() past
        tcp_max_orphans resets in every state).
        """
        st = self.state
        if st is S.CLOSED:
            return
        if st in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT) or (
            reset_peer and (st is S.CLOSING or st is S.LAST_ACK)
        ):
            # "Send a reset segment: <SEQ=SND.NXT><CTL=RST>"
            self._send_rst(self.snd.snd_nxt, now)
        self._transition(T.ABORT, "abort", now)
        self._finish(now)
        self._wake()

    def icmp_error(self, now: int, *, kind: IcmpKind, seq: int, mtu: int | None = None) -> None:
        """An ICMP error about one of our segments (RFC 9293 3.9.2.2, RFC 5927, RFC 5461).

        ``seq`` is the sequence number in the quoted TCP header: an error quoting
        a sequence number outside SND.UNA..SND.NXT is forged or stale and is
        ignored (RFC 5927 4.1; SND.NXT itself is accepted, as Linux does: the
        RFC's bound is SND.UNA =< SEG.SEQ < SND.NXT). Then:

        * Source Quench is discarded silently (MUST-55, RFC 6633);
        * "fragmentation needed" / "packet too big" lower the MSS (RFC 1191/8201);
        * protocol or port unreachable abort a connection still opening, as a
          refusal (SHLD-26); in a synchronized state they are soft (RFC 5461);
        * everything else is a soft error (MUST-56): a ``SoftError`` event only.
        """
        snd = self.snd
        counters = self.counters
        if not (le(snd.snd_una, seq) and le(seq, snd.snd_max)):
            counters["icmp.out_of_window"] += 1
            return
        if kind == "source_quench":
            counters["icmp.source_quench_ignored"] += 1
            return
        if kind == "frag_needed" or kind == "packet_too_big":
            if mtu:
                v4 = len(self.local[0]) == 4
                # A forged or misguided "MTU 68" must not cut every segment to a
                # few octets: never below the floor of the path MTU.
                floor = MIN_PMTU_V4 if v4 else MIN_PMTU_V6
                new_mss = max(floor, mtu) - (40 if v4 else 60)
                if new_mss < snd.mss_limit:
                    self._set_path_mss(new_mss)  # less this connection's option overhead
                    counters["pmtu_reduced"] += 1
                    # What is in flight and now too big is resent at once, cut to
                    # the new size, with no congestion response (Recovery.mtu_reduced).
                    if resend := snd.rec.mtu_reduced():
                        counters["pmtu_retransmit"] += resend
                        self._wake()
            return
        if (kind == "port_unreachable" or kind == "proto_unreachable") and self.state in (
            S.SYN_SENT,
            S.SYN_RECEIVED,
        ):
            self._report.event(Reset(refused=True))
            self._transition(T.RCV_RST, f"ICMP {kind}", now)
            self._finish(now)
            self._wake()
            return
        self._report.event(SoftError(kind))

    # ---------------------------------------------------------------- output
    def segments_to_send(self, now: int, *, tso_max: int = 0) -> list[Segment]:
        """Every segment the connection wants sent now, in order.

        ``tso_max`` is the driver's segmentation offload: new data may leave as
        segments of up to that many payload octets (whole MSS pieces) that the
        link cuts into MSS-sized ones. 0 (the default) sends MSS-sized segments.
        """
        if tso_max and not 0 < tso_max <= MAX_TSO:
            raise ValueError(f"tso_max must be 0..{MAX_TSO} octets, not {tso_max}")
        st = self.state
        snd = self.snd
        if st in _SENDING and (snd.sendbuf.size or snd.fin_queued):
            snd.send_data(now, tso_max)
        if self.rcv.ack_now and (st in _SYNCHRONIZED or st is S.SYN_RECEIVED):
            snd.send_ack(now)
        out = snd.outbox
        snd.outbox = []
        self.out_ect = snd.outbox_ect
        snd.outbox_ect = []
        report = self._report
        if report.tracer:
            for timer, deadline in self.timers.changes():
                action = "cancel" if deadline is None else "arm"
                report.trace(now, "timer", which=timer.value, action=action, deadline=deadline)
        return out

    def next_event(self) -> Event | None:
        """The oldest undelivered event of a connection used on its own (None with an endpoint)."""
        sink = self._report.sink
        if isinstance(sink, EventQueue) and sink.events:
            return sink.events.popleft()
        return None

    def next_deadline(self) -> int | None:
        """The earliest pending timer (absolute microseconds), or ``None``."""
        return self.timers.poll_at()

    # ---------------------------------------------------------------- timers
    def handle_timer(self, now: int) -> None:
        """Fire every timer whose deadline is at or before ``now`` (in :data:`FIRING_ORDER`).

        A timer fired first may move or cancel a later one, which is then
        looked at again; none arms a deadline that is already due.
        """
        timers = self.timers
        for timer, deadline in zip(FIRING_ORDER, deadlines_in_firing_order(timers), strict=True):
            if deadline is None or deadline > now:
                continue
            if getattr(timers, timer) == deadline:
                setattr(timers, timer, None)  # due, as it was at the start: take it
            elif not timers.take_due(timer, now):
                continue  # moved or cancelled by a timer that fired before it
            self._fire(timer, now)
            if self.state is S.CLOSED:
                return

    def _fire(self, timer: Timer, now: int) -> None:
        st = self.state
        snd = self.snd
        if timer is Timer.PACING:
            pass  # the flush after this call sends what pacing held back
        elif timer is Timer.TIMEWAIT:
            # RFC 9293 3.10.8: "If the time-wait timeout expires ... delete the TCB".
            self._trace_fired(now, timer)
            self._transition(T.TIMEOUT_2MSL, "2MSL timeout", now)
            self._finish(now)
        elif timer is Timer.FINWAIT2:
            if st is S.FIN_WAIT_2:
                # Config.fin_wait_2_timeout: the user has gone and the peer never
                # sent its FIN. Linux deletes such a socket without a segment.
                self._trace_fired(now, timer)
                self.counters["timeout.fin_wait_2"] += 1
                self._report.event(TimedOut("fin_wait_2"))
                self._transition(T.TIMEOUT_FIN_WAIT_2, "FIN-WAIT-2 timeout", now)
                self._finish(now)
        elif timer is Timer.USER:
            self._time_out(now, "user_timeout")
        elif timer is Timer.REORDER:
            if st in _SENDING:
                snd.on_reorder_timeout(now)
        elif timer is Timer.TLP:
            if st in _SENDING:
                snd.on_pto(now)
        elif timer is Timer.RTX:
            self._trace_fired(now, timer)
            reason: TimeoutReason | None = None
            if st is S.SYN_SENT or st is S.SYN_RECEIVED:
                reason = snd.on_syn_rto(now, ack=st is S.SYN_RECEIVED)
            elif st in _SENDING and snd.in_flight:
                reason = snd.on_rto(now, orphan=self.abandoned)
            if reason is not None:
                self._time_out(now, reason)
        elif timer is Timer.PERSIST:
            if (
                st in _SENDING
                and (gave_up := snd.on_persist(now, orphan=self.abandoned)) is not None
            ):
                self._time_out(now, gave_up)
        elif timer is Timer.DELACK:
            self.rcv.on_delack_timeout()
        elif timer is Timer.KEEPALIVE:
            self._on_keepalive(now)

    def _on_keepalive(self, now: int) -> None:
        cfg = self.config
        if not cfg.keepalive or self.state not in (S.ESTABLISHED, S.CLOSE_WAIT):
            return
        snd = self.snd
        if snd.snd_una != snd.snd_max:
            # MUST-26: "Keep-alive packets MUST only be sent when no sent data is
            # outstanding": the retransmission timer is watching the peer already.
            self.timers.keepalive = now + cfg.keepalive_idle
            return
        if self._keepalive_probes >= cfg.keepalive_probes:
            self._time_out(now, "keepalive")
            return
        self._keepalive_probes += 1
        self.counters["keepalive_probe"] += 1
        snd.send_keepalive(now)
        self.timers.keepalive = now + cfg.keepalive_interval

    def _time_out(self, now: int, reason: TimeoutReason) -> None:
        self.counters["timeout." + reason] += 1
        self._report.event(TimedOut(reason))
        self._transition(T.TIMEOUT, reason, now)
        self._finish(now)

    def _trace_fired(self, now: int, timer: Timer) -> None:
        if self._report.tracer:
            self._report.trace(now, "timer", which=timer.value, action="fired", deadline=None)

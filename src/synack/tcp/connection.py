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

from collections import Counter, deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, Protocol

from synack.cc.base import CongestionControl
from synack.cc.ecn import EcnReceiver
from synack.tcp.config import Config
from synack.tcp.entropy import random_bytes
from synack.tcp.errors import ConnectionClosedError, InvalidStateError
from synack.tcp.events import (
    Closed,
    Connected,
    Event,
    Reporter,
    Reset,
    SoftError,
    StateChanged,
    TimedOut,
    Tracer,
)
from synack.tcp.info import TcpInfo
from synack.tcp.listen import listen_verdict, reset_for
from synack.tcp.negotiated import Negotiated
from synack.tcp.reasons import DropReason, TimeoutReason
from synack.tcp.receiver import TEXT_ACK, TEXT_FIN, ChallengeBudget, Receiver
from synack.tcp.rtt import RttEstimator
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
from synack.tcp.timers import FIRING_ORDER, Timer, TimerSet
from synack.tcp.timestamps import TICK as TS_TICK
from synack.tcp.timestamps import TimestampState
from synack.wire.gso import MAX_TSO
from synack.wire.ip import addr_to_str, str_to_addr
from synack.wire.seq import MASK, add, gt, le
from synack.wire.tcp import ACK, CWR, ECE, FIN, RST, SYN, URG, Segment

if TYPE_CHECKING:
    from synack.wire.icmp import IcmpKind

__all__ = ["MIN_PMTU_V4", "MIN_PMTU_V6", "Connection", "EventQueue", "EventSink"]

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


class EventSink(Protocol):
    """Where a connection reports: its events, and that it has something to send.

    An :class:`~synack.tcp.endpoint.Endpoint` is the sink of its connections;
    a connection used on its own keeps its events in an :class:`EventQueue`.
    Both methods are called synchronously and must not call back into the core.
    """

    def connection_event(self, conn: Connection, event: Event) -> None:
        """``event`` happened on ``conn``."""

    def connection_wakeup(self, conn: Connection) -> None:
        """A user call gave ``conn`` something to send: flush it soon."""


class EventQueue:
    """The sink of a connection used on its own: events wait for :meth:`Connection.next_event`."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: deque[Event] = deque()

    def connection_event(self, conn: Connection, event: Event) -> None:
        self.events.append(event)

    def connection_wakeup(self, conn: Connection) -> None:
        pass


class _Report(Reporter):
    """The connection's :class:`Reporter`: events go to its sink, paired with it."""

    __slots__ = ("conn", "sink")

    def __init__(self, conn: Connection, sink: EventSink, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn = conn
        self.sink = sink

    def event(self, event: Event) -> None:
        self.sink.connection_event(self.conn, event)


def _packed(addr: bytes | str) -> bytes:
    return addr if isinstance(addr, bytes) else str_to_addr(addr)


class Connection:
    """The TCB of RFC 9293 3.3.1 and the processing of 3.10 for one connection.

    Usually created by :class:`~synack.tcp.endpoint.Endpoint`, which is then its
    ``sink``; it can also be used on its own (tests, teaching), wiring two
    connections together by hand. ``rcv`` and ``snd`` are its two halves.
    """

    __slots__ = (
        "_ce_in",
        "_closed_reported",
        "_keepalive_probes",
        "_report",
        "config",
        "local",
        "neg",
        "out_ect",
        "passive",
        "rcv",
        "remote",
        "snd",
        "state",
        "timers",
        "ts",
    )

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
        sink: EventSink | None = None,
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
        self._report = report = _Report(
            self,
            sink if sink is not None else EventQueue(),
            name=name,
            label=label,
            tracer=tracer,
            shared_counters=shared_counters,
        )
        self.state = S.CLOSED
        self.passive = False
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

    # The TCB's variables under their RFC 9293 names, read-only (the halves own them).
    @property
    def iss(self) -> int:
        return self.snd.iss

    @property
    def snd_una(self) -> int:
        return self.snd.snd_una

    @property
    def snd_nxt(self) -> int:
        return self.snd.snd_nxt

    @property
    def snd_max(self) -> int:
        """The highest sequence number sent (SND.NXT before any go-back)."""
        return self.snd.snd_max

    @property
    def snd_wnd(self) -> int:
        return self.snd.snd_wnd

    @property
    def snd_wl1(self) -> int:
        return self.snd.snd_wl1

    @property
    def snd_wl2(self) -> int:
        return self.snd.snd_wl2

    @property
    def max_snd_wnd(self) -> int:
        """The largest window the peer has offered (RFC 5961 5.2 MAX.SND.WND)."""
        return self.snd.max_snd_wnd

    @property
    def irs(self) -> int:
        return self.rcv.irs

    @property
    def rcv_nxt(self) -> int:
        return self.rcv.rcv_nxt

    @property
    def rcv_wnd(self) -> int:
        return self.rcv.rcv_wnd

    @property
    def snd_wscale(self) -> int:
        return self.neg.snd_wscale

    @property
    def rcv_wscale(self) -> int:
        return self.neg.rcv_wscale

    @property
    def peer_mss(self) -> int:
        return self.neg.peer_mss

    @property
    def sack_ok(self) -> bool:
        """Both SYNs carried SACK-permitted (RFC 2018 2)."""
        return self.neg.sack

    @property
    def timestamps_ok(self) -> bool:
        """Both SYNs carried the Timestamps option (RFC 7323 3.2)."""
        return self.neg.timestamps

    @property
    def peer_closed(self) -> bool:
        """The peer's FIN arrived: no more data will come."""
        return self.rcv.peer_closed

    @property
    def mss(self) -> int:
        """The effective send MSS: data octets per segment (RFC 6691: options subtracted)."""
        return self.snd.mss

    @property
    def cc(self) -> CongestionControl:
        return self.snd.cc

    @property
    def rtt(self) -> RttEstimator:
        """The RTT estimator (RFC 6298): ``srtt``, ``rttvar``, ``rto``, ``backoff``."""
        return self.snd.rtt

    @property
    def srtt(self) -> int | None:
        return self.snd.rtt.srtt

    @property
    def rto(self) -> int:
        return self.snd.rtt.rto

    @property
    def cwnd(self) -> int:
        return self.snd.cc.cwnd

    @property
    def ssthresh(self) -> int:
        return self.snd.cc.ssthresh

    @property
    def send_buffer_free(self) -> int:
        """Octets :meth:`send` would accept now."""
        snd = self.snd
        return snd.sendbuf.free if not snd.fin_queued else 0

    @property
    def send_buffer_used(self) -> int:
        """Octets queued and not yet acknowledged."""
        return len(self.snd.sendbuf)

    @property
    def recv_available(self) -> int:
        """Octets :meth:`recv` would return now."""
        return self.rcv.available

    @property
    def urgent_pending(self) -> int:
        """Octets of urgent data not yet read by :meth:`recv` (MUST-33); 0 if none.

        Urgent data is delivered inline, in order, like any other data; this says
        how far into the stream the urgent part reaches from the next octet read.
        """
        return self.rcv.urgent_pending

    @property
    def in_flight(self) -> int:
        """Octets sent and not acknowledged (FlightSize of RFC 5681)."""
        return self.snd.in_flight

    @property
    def bytes_acked(self) -> int:
        """Octets of data (and our FIN) the peer has acknowledged so far (RFC 4898 HCThruOctetsAcked)."""
        return self.snd.una_abs

    @property
    def pipe(self) -> int:
        """Octets believed in the network (RFC 6675 SetPipe): FlightSize less SACKed and lost."""
        return self.snd.rec.pipe

    @property
    def in_recovery(self) -> bool:
        """In fast recovery (RFC 6582 / RFC 6675)."""
        return self.snd.rec.in_recovery

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
        snd, rcv, timers = self.snd, self.rcv, self.timers
        self.config = snd.config = new
        rcv.configure(new, snd.mss)
        synchronized = self.state in _SYNCHRONIZED
        if new.mss != old.mss:
            snd.local_mss = new.mss if len(self.local[0]) == 4 else new.mss - 20
            self._set_path_mss(min(snd.local_mss, self.neg.peer_mss))
        if new.send_buffer != old.send_buffer:
            snd.resize_buffer(new.send_buffer)
        if new.recv_buffer > old.recv_buffer and synchronized:
            rcv.ack_now = True  # RFC 9293 3.8.6.2.2: tell the peer the window opened
            self._wake()
        if (new.min_rto, new.max_rto) != (old.min_rto, old.max_rto):
            rtt = snd.rtt
            rtt.min_rto, rtt.max_rto = new.min_rto, new.max_rto
            rtt.rto = min(max(rtt.rto, new.min_rto), new.max_rto)
        keepalive = (new.keepalive, new.keepalive_idle, new.keepalive_interval)
        if (
            keepalive != (old.keepalive, old.keepalive_idle, old.keepalive_interval)
            and synchronized
        ):
            self._keepalive_probes = 0
            timers.keepalive = now + new.keepalive_idle if new.keepalive else None
        if new.user_timeout != old.user_timeout:
            outstanding = timers.user is not None or snd.in_flight > 0
            timers.user = (
                now + new.user_timeout if new.user_timeout is not None and outstanding else None
            )
        if new.congestion_control != old.congestion_control:
            snd.set_congestion_control(new.congestion_control, now, keep_window=synchronized)
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
        self.rcv.ack_sent()  # the SYN-ACK acknowledged the SYN
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

    def close(self, now: int) -> None:
        """CLOSE (RFC 9293 3.10.4): send FIN after the queued data (half-close)."""
        st = self.state
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

    def abort(self, now: int) -> None:
        """ABORT (RFC 9293 3.10.5): send RST where the peer holds state, then CLOSED."""
        st = self.state
        if st is S.CLOSED:
            return
        if st in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
            # "Send a reset segment: <SEQ=SND.NXT><CTL=RST>"
            snd = self.snd
            snd.emit(Segment(self.local[1], self.remote[1], snd.snd_nxt, 0, RST), now)
        self._transition(T.ABORT, "abort", now)
        self._finish(now)
        self._wake()

    def icmp_error(self, now: int, *, kind: IcmpKind, seq: int, mtu: int | None = None) -> None:
        """An ICMP error about one of our segments (RFC 9293 3.9.2.2, RFC 5927, RFC 5461).

        ``seq`` is the sequence number in the quoted TCP header: an error quoting
        a sequence number we have no data outstanding for is forged or stale and
        is ignored (RFC 5927 4.1). Then:

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
        """Fire every timer whose deadline is at or before ``now`` (in :data:`FIRING_ORDER`)."""
        timers = self.timers
        for timer in FIRING_ORDER:
            if timers.take_due(timer, now):
                self._fire(timer, now)
                if self.state is S.CLOSED:
                    return

    def _fire(self, timer: Timer, now: int) -> None:
        st = self.state
        snd = self.snd
        if timer is Timer.TIMEWAIT:
            # RFC 9293 3.10.8: "If the time-wait timeout expires ... delete the TCB".
            self._trace_fired(now, timer)
            self._transition(T.TIMEOUT_2MSL, "2MSL timeout", now)
            self._finish(now)
        elif timer is Timer.USER:
            self._time_out(now, "user_timeout")
        elif timer is Timer.PACING:
            pass  # the flush after this call sends what pacing held back
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
                reason = snd.on_rto(now)
            if reason is not None:
                self._time_out(now, reason)
        elif timer is Timer.PERSIST:
            if st in _SENDING and (gave_up := snd.on_persist(now)) is not None:
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
                snd.emit(Segment(self.local[1], self.remote[1], seg.ack, 0, RST), now)
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
            seg, self.config, len(self.local[0]) == 4, ecn_requested=snd.ecn_syn
        )
        self._agree(neg)
        self.ts.enabled = neg.timestamps
        self.rcv.accept_syn(seg, neg, now)
        snd.opt_len = TS_OPTION_LEN if neg.timestamps else 0
        self._set_path_mss(max(1, min(snd.local_mss, neg.peer_mss)))

    def _agree(self, neg: Negotiated) -> None:
        """What the handshake settled, for the connection and its two halves."""
        self.neg = self.snd.neg = self.rcv.neg = neg
        self.rcv.ecn = EcnReceiver(echo_every_ce=self.snd.cc.echo_every_ce) if neg.ecn else None

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
        if cfg.keepalive and (st is S.ESTABLISHED or st is S.CLOSE_WAIT):
            self._keepalive_probes = 0
            self.timers.keepalive = now + cfg.keepalive_idle
        if st is S.SYN_RECEIVED:
            if fl & SYN and not fl & ACK and seg.seq == rcv.irs:
                # A retransmitted SYN: our SYN-ACK was lost, so send it again now.
                self._report.drop(now, "duplicate_syn")
                if self.neg.ecn and fl & (ECE | CWR) != ECE | CWR:
                    # RFC 3168 6.1.1.1: the peer fell back to a non-ECN-setup SYN;
                    # so do we (our SYN-ACK goes again without ECE).
                    self._agree(replace(self.neg, ecn=False))
                snd.send_syn(now, ack=True, rtx=True)
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
        ecn = rcv.ecn
        if ecn is not None:
            if self._ce_in:
                self.counters["ecn.ce_received"] += 1
            if ecn.on_segment(ce=self._ce_in, cwr=bool(fl & CWR), has_data=bool(seg.payload)):
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
                snd.emit(Segment(self.local[1], self.remote[1], snd.snd_nxt, 0, RST), now)
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
                snd.emit(Segment(self.local[1], self.remote[1], seg.ack, 0, RST), now)
                self._report.drop(now, "bad_ack_in_syn_received")
                return
            snd.on_ack_of_syn(seg, now)
            if st is S.SYN_RECEIVED:
                self._transition(T.RCV_ACK_OF_SYN, "rcv ACK of SYN", now)
            self._established(now)
            if snd.fin_queued:
                self._transition(T.CLOSE, "close queued in SYN-RECEIVED", now)
        if not self._process_ack(seg, now):
            return
        st = self.state
        if st is S.FIN_WAIT_1 and snd.fin_acked():
            self._transition(T.RCV_ACK_OF_FIN, "rcv ACK of FIN", now)
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
        self._report.drop(now, dropped)
        if dropped == "ack_too_new":
            self.rcv.ack_now = True
        else:
            self._challenge_ack(now)
        return False

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
            if self.snd.fin_acked():
                self._enter_time_wait(T.RCV_FIN_ACK_OF_FIN, now)
            else:
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
        t.timewait = now + 2 * self.config.msl
        self._report_closed()

    # ----------------------------------------------------------- bookkeeping
    def _transition(self, trigger: Trigger, reason: str, now: int) -> None:
        old = self.state
        new = next_state(old, trigger)
        self.state = new
        report = self._report
        report.event(StateChanged(old, new, reason))
        if report.tracer:
            report.trace(now, "state", old=old.value, new=new.value, reason=reason)

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

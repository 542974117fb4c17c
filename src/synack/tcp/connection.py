"""One TCP connection: RFC 9293 section 3.10 event processing, sans-I/O.

A :class:`Connection` is driven by exactly three sources, each taking the current
time ``now`` in integer microseconds:

* user calls: :meth:`connect`, :meth:`send`, :meth:`recv`, :meth:`close`, :meth:`abort`;
* arriving segments: :meth:`receive_segment`;
* timer expiry: :meth:`handle_timer` once ``now >= next_deadline()``.

It never does I/O and never reads a clock. What it wants sent is pulled with
:meth:`segments_to_send`, what the user should hear with :meth:`next_event`.
Bad or unexpected segments never raise: each is dropped with a reason that is
counted in :attr:`counters` (and traced), answered with an ACK or a RST, exactly
as RFC 9293 and RFC 5961 say. Misuse by the local user raises
:class:`~synack.tcp.errors.InvalidStateError`.

Sequence numbers are compared only with :mod:`synack.wire.seq`. Received data is
tracked by *unwrapped* stream offsets for the reassembly queue.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

from synack.cc import create as create_cc
from synack.cc.base import CongestionControl
from synack.tcp import timers
from synack.tcp.config import Config
from synack.tcp.errors import ConnectionClosedError, InvalidStateError
from synack.tcp.events import (
    Closed,
    Connected,
    DataReceived,
    Event,
    PeerClosed,
    Reset,
    SendBufferSpace,
    SoftError,
    StateChanged,
    TimedOut,
    Tracer,
    UrgentData,
)
from synack.tcp.info import TcpInfo
from synack.tcp.reassembly import REFUSED, Reassembler
from synack.tcp.recovery import Recovery
from synack.tcp.rtt import RttEstimator
from synack.tcp.sack import SackReceiver, TxSeg
from synack.tcp.sendbuf import SendBuffer
from synack.tcp.state import (
    RECEIVING,
    SENDING,
    SYNCHRONIZED,
    USER_SEND,
    State,
    Trigger,
    next_state,
)
from synack.tcp.timestamps import TICK as TS_TICK
from synack.tcp.timestamps import TimestampState
from synack.wire.ip import addr_to_str, str_to_addr
from synack.wire.render import format_options
from synack.wire.seq import MASK, add, between, gt, le, lt, sub
from synack.wire.tcp import (
    ACK,
    FIN,
    PSH,
    RST,
    SYN,
    URG,
    MaxSegmentSize,
    NoOperation,
    Option,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    WindowScale,
    flag_names,
)

__all__ = ["Connection"]

S = State
T = Trigger

# RFC 9293 3.7.1: "the default MSS is 536 for IPv4 or 1220 for IPv6" when none is sent.
DEFAULT_MSS_V4: Final = 536
DEFAULT_MSS_V6: Final = 1220
# The lowest path MTU an ICMP message may set. IPv4: Linux's min_pmtu, 552
# (RFC 1191 3 lets a host keep a floor; 68 is only what IP must pass). IPv6:
# RFC 8201 4: "A node MUST NOT reduce its estimate of the Path MTU below the
# IPv6 minimum link MTU" (1280, RFC 8200 5).
MIN_PMTU_V4: Final = 552
MIN_PMTU_V6: Final = 1280
# The smallest MSS option we honour; smaller ones are raised to it. FreeBSD's
# net.inet.tcp.minmss (Linux's tcp_min_snd_mss is 48): every real link carries
# 256-octet datagrams, and it bounds the segments per octet of data a hostile
# peer can make us send to 1/216 of what an MSS of 1 would.
MIN_PEER_MSS: Final = 216
# At most one ACK per this interval answers invalid segments without data
# (out of window, failing PAWS): Linux's net.ipv4.tcp_invalid_ratelimit.
INVALID_ACK_INTERVAL: Final = 500_000
# RFC 7323 2.3: "the shift.cnt value ... MUST be limited to 14".
MAX_WSCALE: Final = 14
# RFC 6298 5.7: RTO re-initialised to 3 s after a lost SYN.
RTO_AFTER_SYN_LOSS: Final = 3_000_000
ONE_SECOND: Final = 1_000_000
# RFC 7323 3.2 / Appendix A: NOP, NOP, Timestamps: 12 octets on every segment.
TS_OPTION_LEN: Final = 12
# RFC 2018 3: a SACK option of n blocks takes 2 + 8n octets (plus NOP, NOP here).
SACK_BLOCK_LEN: Final = 8
SACK_OPTION_BASE: Final = 4
# RFC 9293 3.8.6.2.1 (MUST-38): the sender SWS override timeout, 0.1 to 1.0 s.
SWS_OVERRIDE: Final = 200_000

_NOP: Final = NoOperation()
_HALF: Final = 1 << 31  # sequence and timestamp comparisons are modulo 2**32
_SACK_PERMITTED: Final = SackPermitted()
_NO_BLOCKS: Final[list[tuple[int, int]]] = []
# Config fields the SYN exchange uses: fixed once the SYN is sent.
_NEGOTIATED: Final = ("mss", "window_scaling", "timestamps", "sack", "initial_window", "fixed_iss")


# State groups are tuples, not sets: membership then tests identity, whereas a
# set would call Enum.__hash__ (Python code) on every segment.
_SYNCHRONIZED: Final = SYNCHRONIZED
_SENDING: Final = SENDING
_RECEIVING: Final = RECEIVING
_USER_SEND: Final = USER_SEND


def _timestamps_of(seg: Segment) -> Timestamps | None:
    """The segment's Timestamps option; quick for the usual NOP, NOP, TS."""
    opts = seg.options
    if len(opts) == 3:
        o = opts[2]
        if type(o) is Timestamps:
            return o
    return seg.timestamps


def _sack_blocks_of(seg: Segment) -> tuple[tuple[int, int], ...]:
    """The segment's SACK blocks; quick for segments with no room for any."""
    opts = seg.options
    if len(opts) <= 3 and not (opts and type(opts[-1]) is Sack):
        return ()
    return seg.sack_blocks


def _packed(addr: bytes | str) -> bytes:
    return addr if isinstance(addr, bytes) else str_to_addr(addr)


class Connection:
    """The TCB of RFC 9293 3.3.1 and the processing of 3.10 for one connection.

    Usually created by :class:`~synack.tcp.endpoint.Endpoint`; it can also be
    used on its own (tests, teaching), wiring two connections together by hand.
    """

    # Every attribute of the TCB (slots: an idle connection stays small).
    # fmt: off
    __slots__ = (
        "_ack_now",
        "_ack_pending",
        "_challenge_count",
        "_challenge_start",
        "_closed_reported",
        "_delack_at",
        "_event_queue",
        "_event_sink",
        "_events",
        "_fin_queued",
        "_fin_seq",
        "_keepalive_at",
        "_keepalive_probes",
        "_label",
        "_last_ack_sent",
        "_last_data_at",
        "_local_mss",
        "_mss",
        "_mss_limit",
        "_on_wake",
        "_oow_ack_at",
        "_opt_len",
        "_outbox",
        "_pace_at",
        "_pace_wait",
        "_peer_fin_abs",
        "_persist_at",
        "_persist_backoff",
        "_probes_since",
        "_probes_unanswered",
        "_rcv_abs",
        "_rcv_adv",
        "_rcv_up",
        "_ready",
        "_reasm",
        "_rec",
        "_reo_at",
        "_retries",
        "_rtt_seq",
        "_rtt_time",
        "_rtx_at",
        "_sack_rx",
        "_send_space_wanted",
        "_sendbuf",
        "_shared_counters",
        "_snd_up",
        "_sws_override",
        "_syn_acked",
        "_syn_lost",
        "_timewait_at",
        "_tlp_at",
        "_traced_timers",
        "_tracer",
        "_ts",
        "_una_abs",
        "_user_at",
        "cc",
        "config",
        "counters",
        "irs",
        "iss",
        "local",
        "max_snd_wnd",
        "name",
        "passive",
        "peer_closed",
        "peer_mss",
        "rcv_nxt",
        "rcv_wscale",
        "remote",
        "rtt",
        "sack_ok",
        "snd_max",
        "snd_nxt",
        "snd_una",
        "snd_wl1",
        "snd_wl2",
        "snd_wnd",
        "snd_wscale",
        "state",
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
        ts_offset: int | None = None,
    ) -> None:
        self.config = cfg = config or Config()
        self.local: tuple[bytes, int] = (_packed(local[0]), local[1])
        self.remote: tuple[bytes, int] = (_packed(remote[0]), remote[1])
        local, remote = self.local, self.remote
        self.name = name
        self.state = S.CLOSED
        self.passive = False
        self.counters: Counter[str] = Counter()
        self._shared_counters = shared_counters
        self._tracer = tracer
        self._label = (
            f"{addr_to_str(local[0])}:{local[1]}-{addr_to_str(remote[0])}:{remote[1]}"
            if tracer
            else ""
        )

        # -- send sequence variables (RFC 9293 3.3.1) -----------------------
        self.iss = iss & MASK
        self.snd_una = self.iss
        self.snd_nxt = self.iss
        self.snd_max = self.iss  # highest sequence number sent (SND.NXT before go-back)
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.max_snd_wnd = 0
        self.snd_wscale = 0  # shift applied to the peer's window field
        # -- receive sequence variables -------------------------------------
        self.irs = 0
        self.rcv_nxt = 0
        self.rcv_wscale = 0  # shift the peer applies to our window field
        self._rcv_adv = 0  # right edge of the window we last advertised
        self._rcv_abs = 0  # unwrapped stream offset of RCV.NXT

        v4 = len(self.local[0]) == 4
        self.peer_mss = DEFAULT_MSS_V4 if v4 else DEFAULT_MSS_V6
        self._local_mss = cfg.mss if v4 else cfg.mss - 20  # IPv6's header is 20 longer
        self._mss_limit = min(self._local_mss, self.peer_mss)  # data + options per segment
        self._opt_len = 0  # option octets on every segment (timestamps)
        self._mss = self._mss_limit  # effective send MSS: data octets per segment
        self._sendbuf = SendBuffer(cfg.send_buffer)
        self._fin_queued = False  # user called close(): a FIN follows the queued data
        self._fin_seq = 0  # sequence number of our FIN once queued
        self._ready = bytearray()  # in-order data waiting for recv()
        self._reasm = Reassembler()
        self._peer_fin_abs: int | None = None  # offset of an out-of-order FIN
        self._rcv_up = 0  # RCV.UP: first octet after the peer's urgent data
        self._snd_up: int | None = None  # SND.UP, while urgent data is unacknowledged
        self.peer_closed = False

        self.rtt = RttEstimator(cfg.initial_rto, cfg.min_rto, cfg.max_rto)
        self._rtt_seq: int | None = None  # Karn: the one segment being timed ...
        self._rtt_time = 0  # ... and when it was sent
        self.cc = create_cc(
            cfg.congestion_control, mss=self.mss, initial_window=self._initial_window(), now=0
        )
        # -- options: SACK (RFC 2018) and Timestamps (RFC 7323) -------------
        self.sack_ok = False  # both SYNs carried SACK-permitted
        # RFC 7323 7.1: a per-connection offset of the timestamp clock, from the
        # endpoint (a keyed hash of the 4-tuple); on its own, a random one.
        self._ts = TimestampState(
            ts_offset if ts_offset is not None else int.from_bytes(os.urandom(4), "big")
        )
        self._last_ack_sent = 0  # RFC 7323 4.3 Last.ACK.sent
        self._sack_rx = SackReceiver()
        self._una_abs = 0  # unwrapped offset of SND.UNA (0 = first octet after the SYN)
        self._rec = self._new_recovery()
        self._retries = 0
        self._syn_lost = False
        self._syn_acked = False

        # -- timers: absolute deadlines or None -----------------------------
        self._rtx_at: int | None = None
        self._persist_at: int | None = None
        self._persist_backoff = 0
        self._probes_unanswered = 0  # zero-window probes sent since the peer last ACKed
        self._probes_since = 0  # when the first of them went out
        self._delack_at: int | None = None
        self._keepalive_at: int | None = None
        self._keepalive_probes = 0
        self._timewait_at: int | None = None
        self._user_at: int | None = None
        self._reo_at: int | None = None  # RFC 8985 6.3 reordering timer
        self._tlp_at: int | None = None  # RFC 8985 7.2 probe timeout
        self._pace_at: int | None = None  # pacing: earliest departure of the next segment
        self._pace_wait: int | None = None  # set while pacing holds data back

        self._ack_now = False
        self._ack_pending = 0  # full segments received since our last ACK
        self._oow_ack_at = -INVALID_ACK_INTERVAL  # when we last answered an invalid segment
        self._challenge_start = -ONE_SECOND
        self._challenge_count = 0
        self._send_space_wanted = False
        self._sws_override = False
        self._last_data_at = -1  # when data was last sent (RFC 5681 4.1 idle restart)

        self._outbox: list[Segment] = []
        self._events: deque[Event] | None = None  # only for a connection used on its own
        self._event_sink: Callable[[Connection, Event], None] | None = None
        # Set by an endpoint once every event of this connection goes straight to
        # its queue (the common case): one append instead of a call to the sink.
        self._event_queue: deque[tuple[Connection, Event]] | None = None
        self._on_wake: Callable[[Connection], None] | None = None
        self._closed_reported = False
        self._traced_timers = timers.NO_TIMERS

    # ------------------------------------------------------------------ info
    def __repr__(self) -> str:
        return (
            f"<Connection {addr_to_str(self.local[0])}:{self.local[1]} -> "
            f"{addr_to_str(self.remote[0])}:{self.remote[1]} {self.state}>"
        )

    @property
    def rcv_wnd(self) -> int:
        """RCV.WND: buffer space not taken by data waiting for :meth:`recv`.

        Never less than what was advertised: with window scaling the advertised
        right edge is rounded up (so it never moves left, RFC 7323 2.4), which
        can promise up to 2**shift - 1 octets beyond the buffer; they are taken.
        """
        return max(self.config.recv_buffer - len(self._ready), sub(self._rcv_adv, self.rcv_nxt), 0)

    @property
    def srtt(self) -> int | None:
        return self.rtt.srtt

    @property
    def rto(self) -> int:
        return self.rtt.rto

    @property
    def cwnd(self) -> int:
        return self.cc.cwnd

    @property
    def ssthresh(self) -> int:
        return self.cc.ssthresh

    @property
    def send_buffer_free(self) -> int:
        """Octets :meth:`send` would accept now."""
        return self._sendbuf.free if not self._fin_queued else 0

    @property
    def send_buffer_used(self) -> int:
        """Octets queued and not yet acknowledged."""
        return len(self._sendbuf)

    @property
    def recv_available(self) -> int:
        """Octets :meth:`recv` would return now."""
        return len(self._ready)

    @property
    def in_flight(self) -> int:
        """Octets sent and not acknowledged (FlightSize of RFC 5681)."""
        return sub(self.snd_max, self.snd_una)

    @property
    def bytes_acked(self) -> int:
        """Octets of data (and our FIN) the peer has acknowledged so far (RFC 4898 HCThruOctetsAcked)."""
        return self._una_abs

    @property
    def pipe(self) -> int:
        """Octets believed in the network (RFC 6675 SetPipe): FlightSize less SACKed and lost."""
        return self._rec.pipe

    @property
    def timestamps_ok(self) -> bool:
        """Both SYNs carried the Timestamps option (RFC 7323 3.2)."""
        return self._ts.enabled

    @property
    def in_recovery(self) -> bool:
        """In fast recovery (RFC 6582 / RFC 6675)."""
        return self._rec.in_recovery

    @property
    def mss(self) -> int:
        """The effective send MSS: data octets per segment (RFC 6691: options subtracted).

        Assigning sets the path's limit on data plus options (from the peer's MSS
        option or the path MTU); the connection subtracts its own option overhead.
        """
        return self._mss

    @mss.setter
    def mss(self, limit: int) -> None:
        self.set_path_mss(limit)

    @property
    def mss_limit(self) -> int:
        """Octets of TCP data plus options a segment may carry on this path."""
        return self._mss_limit

    def set_path_mss(self, limit: int) -> None:
        """The path allows ``limit`` octets of TCP data and options (RFC 1191 style)."""
        self._mss_limit = max(1, limit)
        self._mss = max(1, limit - self._opt_len)
        if hasattr(self, "_rec"):
            self._rec.mss = self._mss
            self.cc.set_mss(self._mss)

    def info(self) -> TcpInfo:
        """A snapshot of this connection's state and variables (Linux's TCP_INFO)."""
        retransmits = self.counters["retransmit.segments"] + self.counters["retransmit.syn"]
        return TcpInfo(
            state=self.state,
            srtt=self.rtt.srtt,
            rttvar=self.rtt.rttvar,
            rto=self.rtt.rto,
            cwnd=self.cc.cwnd,
            ssthresh=self.cc.ssthresh,
            mss=self._mss,
            peer_mss=self.peer_mss,
            snd_una=self.snd_una,
            snd_nxt=self.snd_nxt,
            rcv_nxt=self.rcv_nxt,
            snd_wnd=self.snd_wnd,
            rcv_wnd=self.rcv_wnd,
            in_flight=self.in_flight,
            retransmits=retransmits,
            bytes_acked=self._una_abs,
            bytes_received=self._rcv_abs,
            sack=self.sack_ok,
            timestamps=self._ts.enabled,
            snd_wscale=self.snd_wscale,
            rcv_wscale=self.rcv_wscale,
            congestion_control=self.cc.name,
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
        self.config = new
        synchronized = self.state in _SYNCHRONIZED
        if new.mss != old.mss:
            self._local_mss = new.mss if len(self.local[0]) == 4 else new.mss - 20
            self.set_path_mss(min(self._local_mss, self.peer_mss))
        if new.send_buffer != old.send_buffer:
            self._sendbuf.capacity = new.send_buffer
            if new.send_buffer > old.send_buffer and self._send_space_wanted:
                self._send_space_wanted = False
                self._event(SendBufferSpace(self._sendbuf.free))
        if new.recv_buffer > old.recv_buffer and synchronized:
            self._ack_now = True  # RFC 9293 3.8.6.2.2: tell the peer the window opened
            self._wake()
        if (new.min_rto, new.max_rto) != (old.min_rto, old.max_rto):
            self.rtt.min_rto, self.rtt.max_rto = new.min_rto, new.max_rto
            self.rtt.rto = min(max(self.rtt.rto, new.min_rto), new.max_rto)
        keepalive = (new.keepalive, new.keepalive_idle, new.keepalive_interval)
        if (
            keepalive != (old.keepalive, old.keepalive_idle, old.keepalive_interval)
            and synchronized
        ):
            self._keepalive_probes = 0
            self._keepalive_at = now + new.keepalive_idle if new.keepalive else None
        if new.user_timeout != old.user_timeout:
            outstanding = self._user_at is not None or self.in_flight > 0
            self._user_at = (
                now + new.user_timeout if new.user_timeout is not None and outstanding else None
            )
        if new.congestion_control != old.congestion_control:
            cc = create_cc(
                new.congestion_control, mss=self.mss, initial_window=self._initial_window(), now=now
            )
            if synchronized:
                cc.cwnd, cc.ssthresh = self.cc.cwnd, self.cc.ssthresh
            self.cc = cc
            self._rec.cc = cc
            self._rec.cc_paces = type(cc).pacing_rate is not CongestionControl.pacing_rate
            self._trace_cc(now, "reconfigure")
        # Timers may have moved and Nagle may have held a small segment back: the
        # driver (the endpoint) re-reads next_deadline() and segments_to_send().
        self._wake()

    # ------------------------------------------------------------ user calls
    def connect(self, now: int) -> None:
        """Active OPEN (RFC 9293 3.10.1): send a SYN and enter SYN-SENT."""
        if self.state is not S.CLOSED:
            raise InvalidStateError(f"connect() in {self.state}: connection already exists")
        self._transition(T.ACTIVE_OPEN, "active open", now)
        self._send_syn(now, ack=False)

    def listen(self, now: int) -> None:
        """Passive OPEN: wait in LISTEN for a SYN (the endpoint's listeners use this)."""
        if self.state is not S.CLOSED:
            raise InvalidStateError(f"listen() in {self.state}")
        self.passive = True
        self._transition(T.PASSIVE_OPEN, "passive open", now)

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
        if self._fin_queued:
            raise ConnectionClosedError("send() after close(): connection closing")
        n = self._sendbuf.write(data)
        if urgent and n:
            # SND.UP: the sequence number of the first octet after the urgent data.
            start = self.snd_una if self._syn_acked else add(self.iss, 1)
            self._snd_up = add(start, len(self._sendbuf))
        if n < len(data):
            self._send_space_wanted = True
        if n:
            self._wake()
        return n

    def recv(self, max_bytes: int = -1) -> bytes:
        """RECEIVE (RFC 9293 3.10.3): take up to ``max_bytes`` in-order octets.

        Returns ``b""`` when nothing is waiting (check :attr:`peer_closed` for
        end of stream). Reading opens the receive window; a window update is
        sent when it grew enough to matter (RFC 9293 3.8.6.2.2).
        """
        ready = self._ready
        if not ready:
            return b""
        cur = sub(self._rcv_adv, self.rcv_nxt)
        # How far the right edge could move now, before and after the read.
        before = self.config.recv_buffer - len(ready) - (cur if cur > 0 else 0)
        if max_bytes < 0 or max_bytes >= len(ready):
            data = bytes(ready)
            ready.clear()
        else:
            data = bytes(ready[:max_bytes])
            del ready[:max_bytes]
        if self.state in _SYNCHRONIZED and self.state is not S.TIME_WAIT and not self.peer_closed:
            gain = before + len(data)
            threshold = min(self.config.recv_buffer // 2, self._mss)
            if gain >= threshold > before and (cur < threshold or gain >= cur):
                self._ack_now = True
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
        if self._fin_queued:
            return  # RFC 9293 3.10.4: "an 'ok' response would be acceptable, too"
        self._fin_queued = True
        if st is S.SYN_RECEIVED:
            # RFC 9293 3.10.4 SYN-RECEIVED: the FIN is queued "for processing after
            # entering ESTABLISHED state"; data starts after our SYN.
            self._fin_seq = add(self.iss, 1 + len(self._sendbuf))
            return
        self._fin_seq = add(self.snd_una, len(self._sendbuf))
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
            self._emit(Segment(self.local[1], self.remote[1], self.snd_nxt, 0, RST), now)
        self._transition(T.ABORT, "abort", now)
        self._finish(now)
        self._wake()

    def icmp_error(self, now: int, *, kind: str, seq: int, mtu: int | None = None) -> None:
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
        if not (le(self.snd_una, seq) and le(seq, self.snd_max)):
            self.counters["icmp.out_of_window"] += 1
            return
        if kind == "source_quench":
            self.counters["icmp.source_quench_ignored"] += 1
            return
        if kind in ("frag_needed", "packet_too_big"):
            if mtu:
                v4 = len(self.local[0]) == 4
                # A forged or misguided "MTU 68" must not cut every segment to a
                # few octets: never below the floor of the path MTU.
                floor = MIN_PMTU_V4 if v4 else MIN_PMTU_V6
                new_mss = max(floor, mtu) - (40 if v4 else 60)
                if new_mss < self._mss_limit:
                    self.set_path_mss(new_mss)  # less this connection's option overhead
                    self.counters["pmtu_reduced"] += 1
            return
        if kind in ("port_unreachable", "proto_unreachable") and self.state in (
            S.SYN_SENT,
            S.SYN_RECEIVED,
        ):
            self._event(Reset(refused=True))
            self._transition(T.RCV_RST, f"ICMP {kind}", now)
            self._finish(now)
            self._wake()
            return
        self._event(SoftError(kind))

    # ---------------------------------------------------------------- output
    def segments_to_send(self, now: int) -> list[Segment]:
        """Every segment the connection wants sent now, in order."""
        if self.state in _SENDING and (self._sendbuf.size or self._fin_queued):
            self._send_data(now)
        if self._ack_now and (self.state in _SYNCHRONIZED or self.state is S.SYN_RECEIVED):
            self._send_ack(now)
        out = self._outbox
        self._outbox = []
        if self._tracer:
            timers.trace_changes(self, now)
        return out

    def next_event(self) -> Event | None:
        """The oldest undelivered event (only when not attached to an endpoint)."""
        return self._events.popleft() if self._events else None

    def next_deadline(self) -> int | None:
        """The earliest pending timer (absolute microseconds), or ``None``."""
        return timers.next_deadline(self)

    # ---------------------------------------------------------------- timers
    def handle_timer(self, now: int) -> None:
        """Fire every timer whose deadline is at or before ``now`` (see :mod:`synack.tcp.timers`)."""
        timers.fire(self, now)

    def _time_out(self, now: int, reason: str) -> None:
        self.counters["timeout." + reason] += 1
        self._event(TimedOut(reason))
        self._transition(T.TIMEOUT, reason, now)
        self._finish(now)

    # ------------------------------------------------------------- arrivals
    def receive_segment(self, seg: Segment, now: int) -> None:
        """SEGMENT ARRIVES (RFC 9293 3.10.7) for this connection's 4-tuple."""
        if self._tracer:
            self._trace_seg(now, "seg_in", seg, False)
        st = self.state
        if st is S.CLOSED:
            self._drop(now, "closed")
        elif st is S.LISTEN:
            self._on_listen(seg, now)
        elif st is S.SYN_SENT:
            self._on_syn_sent(seg, now)
        else:
            self._on_other(seg, now)
        wake = self._on_wake
        if wake is not None:
            wake(self)

    def _on_listen(self, seg: Segment, now: int) -> None:
        # RFC 9293 3.10.7.2 LISTEN STATE
        if seg.flags & RST:
            self._drop(now, "rst_in_listen")  # "An incoming RST segment could not be valid"
            return
        if seg.flags & ACK:
            # "Any acknowledgment is bad if it arrives on a connection still in the
            # LISTEN state. An acceptable reset segment should be formed".
            self._emit(Segment(self.local[1], self.remote[1], seg.ack, 0, RST), now)
            self._drop(now, "ack_in_listen")
            return
        if not seg.flags & SYN:
            self._drop(now, "no_syn_in_listen")
            return
        # "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS should be selected
        # and a SYN segment sent of the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>".
        self._accept_syn(seg, now)
        self.snd_wnd = seg.window  # RFC 7323 2.2: a SYN's window is never scaled
        self.max_snd_wnd = self.snd_wnd
        self.snd_wl1 = seg.seq
        self._transition(T.RCV_SYN, "rcv SYN", now)
        self._send_syn(now, ack=True)
        self._queue_text(seg, add(seg.seq, 1), now)

    def _on_syn_sent(self, seg: Segment, now: int) -> None:
        # RFC 9293 3.10.7.3 SYN-SENT STATE
        fl = seg.flags
        if fl & ACK and (le(seg.ack, self.iss) or gt(seg.ack, self.snd_max)):
            # "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit
            # is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
            if not fl & RST:
                self._emit(Segment(self.local[1], self.remote[1], seg.ack, 0, RST), now)
            self._drop(now, "bad_ack_in_syn_sent")
            return
        if fl & RST:
            if fl & ACK:
                # "If the ACK was acceptable, then signal to the user 'error:
                # connection reset', drop the segment, enter CLOSED state".
                self.counters["reset.refused"] += 1
                self._event(Reset(refused=True))
                self._transition(T.RCV_RST, "connection refused", now)
                self._finish(now)
            else:
                self._drop(now, "rst_without_ack_in_syn_sent")
            return
        if not fl & SYN:
            self._drop(now, "no_syn_in_syn_sent")
            return
        self._accept_syn(seg, now)
        if fl & ACK:
            self._on_ack_of_syn(seg, now)
            # "If SND.UNA > ISS (our SYN has been ACKed), change the connection state
            # to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
            self._transition(T.RCV_SYN_ACK, "rcv SYN,ACK", now)
            self._established(now)
            self._ack_now = True
            self._queue_text(seg, add(seg.seq, 1), now)
        else:
            # Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment
            # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it".
            self.snd_wnd = seg.window
            self.max_snd_wnd = self.snd_wnd
            self.snd_wl1 = seg.seq
            self._transition(T.RCV_SYN, "simultaneous open", now)
            self._send_syn(now, ack=True)
            if seg.payload or fl & FIN:
                # RFC 9293 3.10.7.3: text and FIN in this SYN wait until ESTABLISHED.
                # Nothing proves yet that the SYN came from the peer (it acks
                # nothing of ours): like Linux, ignore them unacknowledged, so the
                # peer sends them again once synchronized, instead of handing a
                # blind attacker's bytes to the application.
                self.counters["syn_text_ignored"] += 1

    def _accept_syn(self, seg: Segment, now: int) -> None:
        cfg = self.config
        self.irs = seg.seq
        self.rcv_nxt = add(seg.seq, 1)
        self._rcv_up = self.rcv_nxt
        # The window our SYN or SYN-ACK offers (unscaled, RFC 7323 2.2): its right edge.
        self._rcv_adv = add(self.rcv_nxt, min(cfg.recv_buffer, 0xFFFF))
        # RFC 2018 2: SACK is used only if both SYNs carry SACK-permitted.
        self.sack_ok = cfg.sack and seg.sack_permitted
        # RFC 7323 3.2: timestamps are used only if both SYNs carry the option;
        # TS.Recent starts from the SYN's TSval.
        tso = seg.timestamps
        ts = self._ts
        ts.enabled = cfg.timestamps and tso is not None
        if ts.enabled and tso is not None:
            ts.set_recent(tso.tsval, now)
        self._opt_len = TS_OPTION_LEN if ts.enabled else 0
        # RFC 9293 3.7.1 (MUST-15): honour the peer's MSS; default when absent.
        peer_mss = seg.mss
        if peer_mss is not None and peer_mss > 0:
            if peer_mss < MIN_PEER_MSS:
                # A tiny MSS makes us cut data into tiny segments: an MSS of 1
                # costs 40 octets of headers and a segment's CPU per octet of
                # data (CVE-2019-11479). Clamped, as Linux and FreeBSD do.
                self.counters["peer_mss_clamped"] += 1
                peer_mss = MIN_PEER_MSS
            self.peer_mss = peer_mss
        self.set_path_mss(max(1, min(self._local_mss, self.peer_mss)))
        # RFC 7323 2.2: scaling is in effect only if both SYNs carry the option.
        shift = seg.wscale
        if shift is not None and self.config.window_scaling:
            self.snd_wscale = min(shift, MAX_WSCALE)
            self.rcv_wscale = self.config.recv_wscale
        else:
            self.snd_wscale = self.rcv_wscale = 0

    def _on_ack_of_syn(self, seg: Segment, now: int) -> None:
        self._syn_acked = True
        self.snd_una = seg.ack
        if lt(self.snd_nxt, self.snd_una):
            self.snd_nxt = self.snd_una
        self._rtx_at = None
        self._user_at = None
        self._retries = 0
        if self._rtt_seq is not None and not self._syn_lost:
            self._rtt_sample(now - self._rtt_time, now)
        self._rtt_seq = None
        # RFC 7323 2.2: the window of a SYN segment is not scaled; later ones are.
        self.snd_wnd = seg.window << self.snd_wscale if not seg.flags & SYN else seg.window
        self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
        self.snd_wl1 = seg.seq
        self.snd_wl2 = seg.ack

    def _established(self, now: int) -> None:
        """Common work on entering ESTABLISHED from either side."""
        self.cc = create_cc(
            self.config.congestion_control,
            mss=self.mss,
            initial_window=self._initial_window(),
            now=now,
        )
        if self._syn_lost:
            # RFC 6298 5.7 and RFC 5681 3.1: after a lost SYN, RTO restarts at 3 s
            # and the initial window is one segment.
            if self.rtt.srtt is None:
                self.rtt.rto = min(max(RTO_AFTER_SYN_LOSS, self.rtt.min_rto), self.rtt.max_rto)
                self.rtt.backoff = 0
            self.cc.cwnd = self.mss
        self._una_abs = sub(self.snd_una, add(self.iss, 1))
        self._rec = self._new_recovery()
        self._trace_cc(now, "init")
        self._event(Connected())
        if self.config.keepalive:
            self._keepalive_at = now + self.config.keepalive_idle

    def _new_recovery(self) -> Recovery:
        cfg = self.config
        rec = Recovery(
            self.cc,
            mss=self.mss,
            sack=self.sack_ok,
            rack=cfg.rack,
            prr=cfg.prr,
            limited_transmit=cfg.limited_transmit,
            counters=self.counters,
            ts=self._ts if self._ts.enabled else None,
        )
        rec.sb.una = rec.sb.nxt = rec.sb.high_sacked = self._una_abs
        return rec

    def _initial_window(self) -> int:
        iw = self.config.initial_window
        if iw is not None:
            return max(1, iw) * self.mss
        # RFC 6928 2: IW = min (10*MSS, max (2*MSS, 14600)).
        return min(10 * self.mss, max(2 * self.mss, 14600))

    def _advertised_window(self) -> int:
        """RCV.WND as the peer knows it: from RCV.NXT to the right edge we last advertised."""
        adv = (self._rcv_adv - self.rcv_nxt) & MASK
        return adv if adv < _HALF else 0

    def _acceptable(self, seg: Segment) -> bool:
        """RFC 9293 3.10.7.4, first: the four cases of segment acceptability."""
        seq = seg.seq
        seg_len = seg.seg_len
        rcv_nxt = self.rcv_nxt
        if seq == rcv_nxt and (seg_len == 0 or self.config.recv_buffer > len(self._ready)):
            return True  # the in-order case, decided without the window arithmetic
        # RCV.WND is the window we advertised (its right edge never moves left),
        # not the buffer space behind it: an attacker's guess must fall inside
        # what the peer was told, nothing more (RFC 9293 3.10.7.4, RFC 5961 3).
        wnd = self._advertised_window()
        if seg_len == 0:
            if wnd == 0:
                return seq == rcv_nxt
            return between(rcv_nxt, seq, add(rcv_nxt, wnd))
        if wnd == 0:
            return False
        end = add(rcv_nxt, wnd)
        return between(rcv_nxt, seq, end) or between(rcv_nxt, add(seq, seg_len - 1), end)

    def _on_other(self, seg: Segment, now: int) -> None:
        """RFC 9293 3.10.7.4: SYN-RECEIVED and the synchronized states."""
        # This runs for every segment of an established connection: helpers
        # such as _timestamps_of, seg_len and _acceptable are inlined for the
        # usual case (NOP, NOP, TS; in-order), with the general code kept below.
        st = self.state
        fl = seg.flags
        cfg = self.config
        if cfg.keepalive and (st is S.ESTABLISHED or st is S.CLOSE_WAIT):
            self._keepalive_probes = 0
            self._keepalive_at = now + cfg.keepalive_idle
        if st is S.SYN_RECEIVED:
            if fl & SYN and not fl & ACK and seg.seq == self.irs:
                # A retransmitted SYN: our SYN-ACK was lost, so send it again now.
                self._drop(now, "duplicate_syn")
                self._send_syn(now, ack=True, rtx=True)
                return
            if (
                not self.passive
                and fl & (SYN | ACK) == SYN | ACK
                and seg.seq == self.irs
                and not self._syn_acked
            ):
                # Simultaneous open (RFC 9293 Figure 8): the peer's SYN,ACK repeats the
                # SYN we already hold; its ACK acknowledges ours. Take it as that ACK,
                # so the connection is ESTABLISHED now rather than one round trip later.
                seg = replace(seg, seq=add(seg.seq, 1), flags=fl & ~SYN)
                fl = seg.flags
        tso = None
        ts = self._ts
        if ts.enabled and not fl & RST:
            # RFC 7323 3.2: "If a non-<RST> segment is received without a TSopt, a
            # TCP SHOULD silently drop the segment."
            opts = seg.options
            if len(opts) == 3 and type(opts[2]) is Timestamps:
                tso = opts[2]
            else:
                tso = seg.timestamps
            if tso is None:
                self._drop(now, "missing_timestamp")
                return
            # RFC 7323 5.3 R1 (PAWS): "If ... SEG.TSval < TS.Recent and if TS.Recent
            # is valid ..., then treat the arriving segment as not acceptable: Send
            # an acknowledgment in reply ... and drop the segment."
            if (
                (tso.tsval - ts.ts_recent) & MASK >= _HALF
                and ts.paws_rejects(tso.tsval, now)
                and not self._disordered_ack(seg, tso.tsval)
            ):
                self._drop(now, "paws")
                self._ack_unacceptable(seg, now)
                return
        # first: check sequence number (the in-order case of _acceptable inline)
        if not (
            seg.seq == self.rcv_nxt
            and ((not seg.payload and not fl & (SYN | FIN)) or cfg.recv_buffer > len(self._ready))
        ) and not self._acceptable(seg):
            if fl & RST:
                self._drop(now, "rst_out_of_window")
                return
            if (
                self.rcv_wnd == 0
                and seg.seq == self.rcv_nxt
                and fl & ACK
                and not fl & SYN
                and st is not S.SYN_RECEIVED
            ):
                # RFC 9293 3.10.7.4: "special allowance should be made to accept valid
                # ACKs, URGs, and RSTs" when RCV.WND is zero.
                self._drop(now, "out_of_window")
                self._process_ack(seg, now)
                if fl & URG:
                    self._on_urgent(seg)  # MUST-66: URG is processed at zero window too
                self._ack_now = True
                return
            if st is S.TIME_WAIT and fl & FIN:
                # A retransmitted FIN: re-ACK it and restart the 2 MSL timeout.
                self._timewait_at = now + 2 * self.config.msl
            if seg.payload and self.sack_ok and self.config.dsack:
                off = sub(seg.seq, self.rcv_nxt)
                if off < 0:
                    # RFC 2883 4 (1): report the duplicate in a D-SACK block.
                    end = min(off + len(seg.payload), 0)
                    self._sack_rx.note_duplicate(self._rcv_abs + off, self._rcv_abs + end)
            # "If an incoming segment is not acceptable, an acknowledgment should be
            # sent in reply (unless the RST bit is set ...)" <SEQ=SND.NXT><ACK=RCV.NXT>.
            self._drop(now, "out_of_window")
            if fl & SYN:
                # RFC 5961 4.2: "If the SYN bit is set, irrespective of the sequence
                # number, TCP MUST send an ACK (also referred to as challenge ACK)".
                self._challenge_ack(now)
            else:
                self._ack_unacceptable(seg, now)
            return
        if tso is not None:
            # RFC 7323 4.3 (1) and 5.3 R3: "If SEG.TSval >= TS.Recent and SEG.SEQ =<
            # Last.ACK.sent", remember the peer's TSval for our TSecr.
            tsval = tso.tsval
            if (tsval - ts.ts_recent) & MASK < _HALF and (
                self._last_ack_sent - seg.seq
            ) & MASK < _HALF:
                ts.ts_recent = tsval
                ts.ts_recent_age = now
        # second: check the RST bit (RFC 5961 3.2)
        if fl & RST:
            if seg.seq != self.rcv_nxt:
                # "If the RST bit is set and the sequence number does not exactly match
                # the next expected sequence value, yet is within the current receive
                # window, TCP endpoints MUST send an acknowledgment (challenge ACK)".
                self._drop(now, "rst_not_exact")
                self._challenge_ack(now)
                return
            self._on_reset(now)
            return
        # fourth: check the SYN bit (RFC 5961 4.2)
        if fl & SYN:
            if st is S.SYN_RECEIVED and self.passive:
                # RFC 9293 3.10.7.4: "If the connection was initiated with a passive
                # OPEN, then return this connection to the LISTEN state".
                self._drop(now, "syn_in_syn_received")
                self._transition(T.RCV_RST_TO_LISTEN, "SYN in SYN-RECEIVED", now)
                self._finish(now)
                return
            # "TCP implementations MUST send a 'challenge ACK'" (RFC 5961 4.2).
            self._drop(now, "syn_in_window")
            self._challenge_ack(now)
            return
        # fifth: check the ACK field
        if not fl & ACK:
            self._drop(now, "no_ack")
            return
        if not self._syn_acked:
            # SYN-RECEIVED (or CLOSE-WAIT after a FIN that came with the SYN).
            if le(seg.ack, self.snd_una) or gt(seg.ack, self.snd_max):
                # "If the segment acknowledgment is not acceptable, form a reset segment
                # <SEQ=SEG.ACK><CTL=RST> and send it."
                self._emit(Segment(self.local[1], self.remote[1], seg.ack, 0, RST), now)
                self._drop(now, "bad_ack_in_syn_received")
                return
            self._on_ack_of_syn(seg, now)
            if st is S.SYN_RECEIVED:
                self._transition(T.RCV_ACK_OF_SYN, "rcv ACK of SYN", now)
            self._established(now)
            if self._fin_queued:
                self._transition(T.CLOSE, "close queued in SYN-RECEIVED", now)
            st = self.state
        if not self._process_ack(seg, now):
            return
        st = self.state
        if st is S.FIN_WAIT_1 and self._fin_acked():
            self._transition(T.RCV_ACK_OF_FIN, "rcv ACK of FIN", now)
        elif st is S.CLOSING and self._fin_acked():
            self._enter_time_wait(T.RCV_ACK_OF_FIN, now)
            return
        elif st is S.LAST_ACK and self._fin_acked():
            self._transition(T.RCV_ACK_OF_FIN, "rcv ACK of FIN", now)
            self._finish(now)
            return
        elif st is S.TIME_WAIT and fl & FIN:
            self._timewait_at = now + 2 * self.config.msl
            self._ack_now = True
            return
        # sixth: check the URG bit
        if fl & URG:
            self._on_urgent(seg)
        # seventh and eighth: segment text and FIN
        self._queue_text(seg, seg.seq, now)

    def _on_urgent(self, seg: Segment) -> None:
        """RFC 9293 3.10.7.4 sixth and 3.8.5: track RCV.UP and tell the user."""
        if self.state not in _RECEIVING:
            self.counters["urg_ignored"] += 1  # "This should not occur ... Ignore the URG."
            return
        # MUST-62: the urgent pointer points to the first non-urgent octet.
        up = add(seg.seq, seg.urgent)
        if gt(up, self._rcv_up):
            # "If the URG bit is set, RCV.UP <- max(RCV.UP,SEG.UP), and signal the user
            # that the remote side has urgent data if the urgent pointer (RCV.UP) is in
            # advance of the data consumed" (MUST-32).
            self._rcv_up = up
            self.counters["urgent"] += 1
            self._event(UrgentData(self.urgent_pending))

    @property
    def urgent_pending(self) -> int:
        """Octets of urgent data not yet read by :meth:`recv` (MUST-33); 0 if none.

        Urgent data is delivered inline, in order, like any other data; this says
        how far into the stream the urgent part reaches from the next octet read.
        """
        read_point = add(self.rcv_nxt, -len(self._ready))
        return max(0, sub(self._rcv_up, read_point))

    def _fin_acked(self) -> bool:
        return self._fin_queued and self.snd_una == add(self._fin_seq, 1)

    def _on_reset(self, now: int) -> None:
        st = self.state
        if st is S.SYN_RECEIVED and self.passive:
            # RFC 9293 3.10.7.4: "If this connection was initiated with a passive OPEN
            # (i.e., came from the LISTEN state), then return this connection to
            # LISTEN state and return." The listener stays; this TCB goes.
            self.counters["reset.received"] += 1
            self._transition(T.RCV_RST_TO_LISTEN, "rcv RST", now)
            self._finish(now)
            return
        self.counters["reset.received"] += 1
        if st in (S.CLOSING, S.LAST_ACK, S.TIME_WAIT):
            self._transition(T.RCV_RST, "rcv RST", now)
        else:
            # "any outstanding RECEIVEs and SEND should receive 'reset' responses"
            self._event(Reset(refused=st is S.SYN_RECEIVED))
            self._transition(T.RCV_RST, "connection reset", now)
        self._finish(now)

    def _ack_unacceptable(self, seg: Segment, now: int) -> None:
        """The ACK for an unacceptable (or PAWS-failed) segment, rate-limited unless it carries data.

        RFC 9293 3.10.7.4 answers every unacceptable segment, which lets a blind
        attacker (or two confused stacks) make us send an ACK per packet. As in
        Linux (tcp_invalid_ratelimit), segments without data or FIN get at most
        one answer per :data:`INVALID_ACK_INTERVAL`; one with data or a FIN is a
        retransmission whose sender needs our ACK (lost ACKs), so it always gets it.
        """
        if seg.payload or seg.flags & FIN:
            self._ack_now = True
        elif now - self._oow_ack_at >= INVALID_ACK_INTERVAL:
            self._oow_ack_at = now
            self._ack_now = True
        else:
            self.counters["ack_suppressed"] += 1

    def _disordered_ack(self, seg: Segment, tsval: int) -> bool:
        """A pure duplicate ACK that only lost a race with a newer one: exempt from PAWS.

        PAWS (RFC 7323 5) protects the sequence space from old duplicates; an ACK
        that carries no data, acknowledges exactly SND.UNA, would not update the
        window and is older than TS.Recent by less than an RTO was reordered in
        the network, not replayed from an old connection. Dropping it loses its
        SACK blocks (and a reply to it is an ACK too many). Linux's
        tcp_disordered_ack makes the same exemption.
        """
        fl = seg.flags
        if not fl & ACK or fl & (SYN | FIN | RST) or seg.payload or seg.seq != self.rcv_nxt:
            return False
        ack = seg.ack
        if ack != self.snd_una:
            return False
        # RFC 9293 3.10.7.4 window update test, as Linux's tcp_may_update_window.
        wnd = seg.window << self.snd_wscale
        if gt(seg.seq, self.snd_wl1) or (
            seg.seq == self.snd_wl1 and (wnd > self.snd_wnd or wnd == 0)
        ):
            return False
        # In ticks of the timestamp clock (RFC 7323 5.4: one per millisecond here).
        return (self._ts.ts_recent - tsval) & MASK <= self.rtt.rto // TS_TICK

    def _challenge_ack(self, now: int) -> None:
        # RFC 5961 7: limit the rate of challenge ACKs.
        if now - self._challenge_start >= ONE_SECOND:
            self._challenge_start = now
            self._challenge_count = 0
        if self._challenge_count >= self.config.challenge_ack_limit:
            self.counters["challenge_ack.suppressed"] += 1
            return
        self._challenge_count += 1
        self.counters["challenge_ack"] += 1
        self._send_ack(now)

    def _process_ack(self, seg: Segment, now: int) -> bool:
        """RFC 9293 3.10.7.4 fifth, ESTABLISHED STATE; returns False to stop."""
        # Sequence comparisons are written out (as in synack.wire.seq) on this
        # per-segment path: a function call costs more than the arithmetic.
        ack = seg.ack
        snd_una = self.snd_una
        if 0 < ((ack - self.snd_max) & MASK) < _HALF:  # gt(ack, snd_max)
            # "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send
            # an ACK, drop the segment, and return."
            self._drop(now, "ack_too_new")
            self._ack_now = True
            return False
        if 0 < ((snd_una - self.max_snd_wnd - ack) & MASK) < _HALF:
            # lt(ack, SND.UNA - MAX.SND.WND)
            # RFC 5961 5.2: "(SND.UNA - MAX.SND.WND) =< SEG.ACK" or it is dropped with an ACK.
            self._drop(now, "ack_too_old")
            self._challenge_ack(now)
            return False
        wnd = seg.window << self.snd_wscale
        # The peer answered: zero-window probes so far were not in vain.
        self._probes_unanswered = 0
        advanced = 0 < ((ack - snd_una) & MASK) < _HALF
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
        blocks: tuple[tuple[int, int], ...] = ()
        if self.sack_ok:
            opts = seg.options
            if len(opts) > 3 or (opts and type(opts[-1]) is Sack):
                blocks = seg.sack_blocks
        if advanced or dupack or blocks:
            self._on_ack(seg, ack, advanced, dupack, blocks, now)
        # RFC 9293 3.10.7.4: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should
        # be updated. If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))".
        seq = seg.seq
        wl1 = self.snd_wl1
        if 0 < ((seq - wl1) & MASK) < _HALF or (
            wl1 == seq and ((ack - self.snd_wl2) & MASK) < _HALF
        ):
            if wnd != self.snd_wnd:
                old = self.snd_wnd
                self.snd_wnd = wnd
                if wnd > self.max_snd_wnd:
                    self.max_snd_wnd = wnd
                if self._tracer:
                    self._trace(now, "rwnd", snd_wnd=wnd, rcv_wnd=self.rcv_wnd)
                if wnd > 0 and old == 0 and self._persist_at is not None:
                    # The window reopened: stop probing and resend from SND.UNA
                    # whatever the closed window may have dropped.
                    self._persist_at = None
                    self._persist_backoff = 0
                    self._rec.window_reopened()
            self.snd_wl1 = seq
            self.snd_wl2 = ack
        if self.snd_wnd == 0 and self._rtx_at is not None and self.state in _SENDING:
            # RFC 9293 3.8.6.1 (MUST-36): the peer answers but its window is closed;
            # probe it with the persist timer rather than count retransmissions.
            self._rtx_at = None
            self._retries = 0
            if self._persist_at is None:
                timers.arm_persist(self, now)
        return True

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
        rec = self._rec
        snd_una, una_abs = self.snd_una, self._una_abs
        prior_flight = rec.flight_size
        abs_blocks = (
            [
                (una_abs + sub(left, snd_una), una_abs + sub(right, snd_una))
                for left, right in blocks
            ]
            if blocks
            else _NO_BLOCKS
        )
        tso = _timestamps_of(seg) if self._ts.enabled else None
        tsecr = tso.tsecr if tso is not None else None
        d = (ack - snd_una) & MASK  # sub(ack, snd_una), inline
        ack_abs = una_abs + (d - (1 << 32) if d >= _HALF else d)
        if advanced:
            self._sendbuf.consume(ack_abs - una_abs)  # consume() caps at what it holds
            self.snd_una = ack
            self._una_abs = ack_abs
            if 0 < ((ack - self.snd_nxt) & MASK) < _HALF:  # lt(snd_nxt, ack)
                self.snd_nxt = ack
            self._retries = 0
        rec.on_ack(now, ack_abs, abs_blocks, dupack=dupack, tsecr=tsecr, srtt=self.rtt.srtt)
        if advanced:
            if tso is not None:
                # RFC 7323 4.1 RTTM: a sample from every ACK that advances the
                # window (the send time of the newest segment it covers, or TSecr
                # when that was retransmitted), weighted per RFC 7323 Appendix G.
                r = rec.rtt_sample
                if r is None and tsecr:
                    r = self._ts.rtt(tsecr, now)
                if r is not None:
                    self._rtt_sample(r, now, max(1, -(-prior_flight // (2 * self.mss))))
                self._rtt_seq = None
            elif self._rtt_seq is not None and le(self._rtt_seq, ack):
                # RFC 6298 3 with Karn's algorithm: one timed segment at a time.
                self._rtt_seq = None
                self._rtt_sample(now - self._rtt_time, now)
            # RFC 6298 (5.2): all data acknowledged -> stop the timer; (5.3) else restart it.
            if self.snd_una == self.snd_max:
                self._rtx_at = None
                self._user_at = None
            else:
                self._rtx_at = now + self.rtt.rto
                if self.config.user_timeout is not None:
                    self._user_at = now + self.config.user_timeout
            if self._send_space_wanted and self._sendbuf.free >= self._sendbuf.capacity // 4:
                self._send_space_wanted = False
                self._event(SendBufferSpace(self._sendbuf.free))
        # RFC 8985 6.3: arm the reordering timer for what RACK could not yet call lost.
        delay = rec.reo_delay
        self._reo_at = now + delay if delay else None
        # RFC 8985 7.2: restart the probe timeout on an ACK of new data.
        if advanced or rec.in_recovery:
            timers.arm_tlp(self, now)
        if self._tracer:
            self._trace_cc(now, "recovery" if rec.in_recovery else "ack")

    def _rtt_sample(self, r: int, now: int, expected_samples: int = 1) -> None:
        self.rtt.sample(r, expected_samples)
        if self._tracer:
            self._trace(
                now,
                "rtt",
                sample_us=r,
                srtt_us=self.rtt.srtt,
                rttvar_us=self.rtt.rttvar,
                rto_us=self.rtt.rto,
            )

    def _queue_text(self, seg: Segment, seq: int, now: int) -> None:
        """RFC 9293 3.10.7.4 seventh (segment text) and eighth (FIN).

        ``seq`` is the sequence number of the first payload octet (after a SYN).
        """
        payload = seg.payload
        fin = bool(seg.flags & FIN)
        st = self.state
        if st not in _RECEIVING and st is not S.SYN_RECEIVED:
            # "This should not occur, since a FIN has been received from the remote
            # side. Ignore the segment text."
            if payload:
                self._drop(now, "data_after_fin")
            if fin and st in (S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK):
                self._ack_now = True  # a retransmitted FIN: ACK it again
            return
        ack = False
        off = (seq - self.rcv_nxt) & MASK  # sub(seq, rcv_nxt), inline
        if off >= _HALF:
            off -= 1 << 32
        sack = self.sack_ok
        if off < 0:
            if sack and payload and self.config.dsack:
                # RFC 2883 4 (1): the old part is a duplicate: report it (D-SACK).
                end = min(off + len(payload), 0)
                self._sack_rx.note_duplicate(self._rcv_abs + off, self._rcv_abs + end)
                ack = True
            # Trim octets we already have ("trimmed to the window" and duplicates).
            cut = -off
            if cut > len(payload):
                fin = False  # even the FIN is old
            payload = payload[cut:]
            off = 0
        ready = self._ready
        adv = (self._rcv_adv - self.rcv_nxt) & MASK
        if adv >= _HALF:
            adv = 0
        if off:
            # RFC 9293 3.10.7.4: out-of-order data is kept only inside the window
            # we advertised, whatever the buffer could take: the queue stays
            # within what the peer may send, and nothing beyond it is SACKed.
            wnd = adv
        else:
            # In order: rcv_wnd, inline (see the property).
            wnd = self.config.recv_buffer - len(ready)
            if adv > wnd:
                wnd = adv
            if wnd < 0:
                wnd = 0
        if off + len(payload) > wnd:
            # Data beyond the window is not stored; a FIN after it is dropped too.
            self.counters["trimmed_beyond_window"] += 1
            payload = payload[: max(0, wnd - off)]
            fin = False
        if fin:
            self._peer_fin_abs = self._rcv_abs + off + len(payload)
        if payload:
            if off == 0:
                filled_hole = self._reasm.size > 0  # octets held <=> ranges held
                self._deliver(payload)
                if filled_hole:
                    self._pull_reassembled()
                    # RFC 5681 4.2: ACK immediately when a segment fills a hole.
                    ack = True
                else:
                    self._ack_pending += 1
                    if self._ack_pending >= 2 or self.config.delayed_ack == 0:
                        # RFC 9293 3.8.6.3 (SHLD-19): ACK at least every second full
                        # segment; sent now, so a driver that hands us a burst of
                        # segments at once still gets one ACK per two (no stretch ACKs).
                        ack = True
                    elif self._delack_at is None:
                        # RFC 9293 3.8.6.3 (MUST-40): the delay is under 0.5 s.
                        self._delack_at = now + self.config.delayed_ack
            else:
                start = self._rcv_abs + off
                added = self._reasm.insert(start, payload)
                self.counters["out_of_order"] += 1
                if added == REFUSED:
                    # The out-of-order queue holds as many ranges as it may: the
                    # segment is not kept (nor SACKed); the sender will resend it.
                    self._drop(now, "ooo_queue_full")
                elif sack:
                    # RFC 2018 4: the first block reports the one holding this segment;
                    # RFC 2883 4: a D-SACK block before it if all of it was held already.
                    r = self._reasm.containing(start)
                    if r is not None:
                        self._sack_rx.note_received(r)
                    if not added and self.config.dsack:
                        self._sack_rx.note_duplicate(start, start + len(payload))
                # RFC 5681 4.2: each out-of-order segment triggers an immediate
                # duplicate ACK (the sender counts them for fast retransmit).
                ack = True
        elif off and (fin or seg.seg_len):
            ack = True
        if self._peer_fin_abs is not None:
            if self._peer_fin_abs == self._rcv_abs:
                self._on_fin(now)
            else:
                ack = True  # an out-of-order FIN: duplicate ACK
        if ack:
            # One ACK per arriving segment that needs one, emitted at once (a flagged
            # ACK, by contrast, waits for the flush and may ride on data).
            self._send_ack(now)

    def _deliver(self, data: bytes) -> None:
        ready = self._ready
        ready += data
        n = len(data)
        self.rcv_nxt = (self.rcv_nxt + n) & MASK
        self._rcv_abs += n
        self._event(DataReceived(len(ready)))

    def _pull_reassembled(self) -> None:
        self._reasm.discard_before(self._rcv_abs)
        while True:
            chunk = self._reasm.pop_ready(self._rcv_abs)
            if not chunk:
                break
            self._ready += chunk
            self.rcv_nxt = add(self.rcv_nxt, len(chunk))
            self._rcv_abs += len(chunk)
        self._event(DataReceived(len(self._ready)))

    def _on_fin(self, now: int) -> None:
        # RFC 9293 3.10.7.4 eighth: "advance RCV.NXT over the FIN, and send an
        # acknowledgment for the FIN ... signal the user 'connection closing'".
        self._peer_fin_abs = None
        self.rcv_nxt = add(self.rcv_nxt, 1)
        self._rcv_adv = add(self._rcv_adv, 1)  # the FIN takes sequence space, not buffer
        self._rcv_abs += 1
        self._ack_now = True
        self.peer_closed = True
        self._event(PeerClosed())
        st = self.state
        if st is S.SYN_RECEIVED or st is S.ESTABLISHED:
            self._transition(T.RCV_FIN, "rcv FIN", now)
        elif st is S.FIN_WAIT_1:
            if self._fin_acked():
                self._enter_time_wait(T.RCV_FIN_ACK_OF_FIN, now)
            else:
                self._transition(T.RCV_FIN, "simultaneous close", now)
        elif st is S.FIN_WAIT_2:
            self._enter_time_wait(T.RCV_FIN, now)

    def _enter_time_wait(self, trigger: Trigger, now: int) -> None:
        self._transition(trigger, trigger.value, now)
        # RFC 9293 3.10.7.4: "Start the time-wait timer, turn off the other timers."
        self._rtx_at = self._persist_at = self._keepalive_at = self._user_at = None
        self._reo_at = self._tlp_at = self._pace_wait = None
        self._timewait_at = now + 2 * self.config.msl
        self._report_closed()

    # ---------------------------------------------------------------- sending
    def _send_syn(self, now: int, *, ack: bool, rtx: bool = False) -> None:
        cfg = self.config
        # RFC 9293 3.7.1 (MUST-67): MSS = MTU minus the fixed IP and TCP headers.
        opts: list[Option] = [MaxSegmentSize(self._local_mss)]
        # RFC 2018 2 / RFC 7323 3.2: a SYN-ACK carries SACK-permitted and
        # Timestamps only if the SYN did.
        if cfg.sack and (not ack or self.sack_ok):
            opts.append(_SACK_PERMITTED)
        if cfg.timestamps and (not ack or self._ts.enabled):
            ts = self._ts
            opts.append(Timestamps(ts.tsval(now), ts.ts_recent if ack else 0))
        # RFC 7323 2.2: a SYN-ACK carries Window Scale only if the SYN did.
        if cfg.window_scaling and (not ack or self.rcv_wscale or self.snd_wscale):
            if len(opts) > 1:
                opts.append(_NOP)
            opts.append(WindowScale(cfg.recv_wscale))
        flags = SYN | ACK if ack else SYN
        win = min(self.rcv_wnd, 0xFFFF)  # RFC 7323 2.2: never scaled in a SYN
        seg = Segment(
            self.local[1],
            self.remote[1],
            self.iss,
            self.rcv_nxt if ack else 0,
            flags,
            win,
            0,
            tuple(opts),
        )
        self.snd_nxt = add(self.iss, 1)
        if gt(self.snd_nxt, self.snd_max):
            self.snd_max = self.snd_nxt
        if not rtx:
            self._rtt_seq = self.snd_nxt
            self._rtt_time = now
            if cfg.user_timeout is not None and self._user_at is None:
                # RFC 9293 3.10.8: the user timeout covers the handshake too.
                self._user_at = now + cfg.user_timeout
        self._emit(seg, now, rtx=rtx)
        self._rtx_at = now + self.rtt.rto

    def _send_ack(self, now: int) -> None:
        self._emit(self._make(ACK, self.snd_nxt, now), now)

    def _send_data(self, now: int, *, probe: bool = False) -> None:
        """Send retransmissions, then new data (and our FIN), as the windows allow.

        Retransmissions come first (RFC 6675 NextSeg rule 1), limited by cwnd
        against ``pipe``; new data also by the peer's window, with Nagle and SWS
        rules. With a pacing rate, segments leave no faster than it allows.
        ``probe`` sends one new segment whatever cwnd says (a TLP, RFC 8985 7.3).
        """
        rec = self._rec
        rate = self.cc.pacing_rate() if rec.cc_paces and self.config.pacing and not probe else None
        if rate and self._pace_at is not None and self._pace_at > now:
            self._pace_wait = self._pace_at
            return
        self._pace_wait = None
        mss = self.mss
        if not probe:
            while rec.sb.lost_queue and (s := rec.next_retransmission()) is not None:
                size = s.end - s.start
                if size - s.fin > mss:
                    rec.sb.split(s, mss)
                    size = mss
                if not rec.may_retransmit(size):
                    break
                self._retransmit(s, now)
                if rate and self._paced(now, size, rate):
                    return
        buf = self._sendbuf
        cfg = self.config
        nodelay = cfg.nodelay
        # TCP segmentation offload: the most payload in one segment (whole MSS
        # pieces); with pacing, about a millisecond's worth, as Linux sizes TSO.
        tso = cfg.tso_max if not probe else 0
        if rate and tso > mss:
            tso = min(tso, max(2 * mss, rate >> 10))
        sent_new = 0
        if (
            self.snd_una == self.snd_max
            and self._last_data_at >= 0
            and now - self._last_data_at > self.rtt.rto
            and self.cc.restart_after_idle
            and buf.size
        ):
            # RFC 5681 4.1: "if the TCP has not sent data in an interval exceeding
            # the retransmission timeout", cwnd is set to no more than
            # RW = min(IW, cwnd) before transmission begins.
            rw = min(self._initial_window(), self.cc.cwnd)
            if self.cc.cwnd > rw:
                self.cc.cwnd = rw
                self.counters["restart_after_idle"] += 1
            self._last_data_at = now
        # Computed once; each segment sent below takes its size off.
        off = sub(self.snd_nxt, self.snd_una)
        buffered = buf.size
        cwnd_room = rec.send_room() if not probe else 1 << 62
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
            fin = self._fin_queued and n == avail
            if n <= 0 and not fin:
                if (
                    avail > 0
                    and self.snd_wnd == 0
                    and self._persist_at is None
                    and self.snd_una == self.snd_max
                ):
                    # RFC 9293 3.8.6.1: zero window with nothing in flight: persist.
                    self._rtx_at = None
                    self._tlp_at = None
                    timers.arm_persist(self, now)
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
                    or self._sws_override
                )
            ):
                if in_flight == 0 and self._persist_at is None:
                    # Nothing in flight will bring an ACK: the override timeout of
                    # RFC 9293 3.8.6.2.1 ("in the range 0.1 - 1.0 seconds") sends it.
                    self._persist_at = now + SWS_OVERRIDE
                break
            self._sws_override = False
            if fin and n == 0 and room <= 0 and in_flight > 0:
                break  # wait for room before sending a lone FIN
            if n == mss and tso > mss and (self._snd_up is None or le(self._snd_up, snd_nxt)):
                # One segment for what this loop would send as several full ones:
                # whole MSS pieces within both windows, and the short last piece
                # only where it would go as well (the end of the data, with a FIN
                # or Nagle off). Urgent data goes segment by segment.
                big = min(avail, room, tso)
                if big == avail and (self._fin_queued or nodelay):
                    n = big
                    fin = self._fin_queued
                else:
                    n = big - big % mss
                    fin = self._fin_queued and n == avail
            payload = buf.peek(off, n) if n else b""
            flags = ACK
            if n and n == avail:
                flags |= PSH
            if fin:
                flags |= FIN
            self._emit(self._make(flags, snd_nxt, now, payload), now)
            end = n + (1 if fin else 0)
            start = self._una_abs + off
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
                self.counters["segments_sent.tso"] += 1
            rec.on_send(start, data_end + end - n, fin, now)
            sent_new += 1
            if rec.cc_on_sent:
                self.cc.on_packet_sent(now=now, bytes_sent=data_end - start, in_flight=rec.pipe)
            self._last_data_at = now
            off += end
            cwnd_room -= end
            new_nxt = (snd_nxt + end) & MASK
            self.snd_nxt = self.snd_max = new_nxt
            if self._rtt_seq is None:
                self._rtt_seq = (snd_nxt + first) & MASK
                self._rtt_time = now
            if self._rtx_at is None:
                # RFC 6298 (5.1): start the timer when data is sent and it is off.
                self._rtx_at = now + self.rtt.rto
                if cfg.user_timeout is not None and self._user_at is None:
                    self._user_at = now + cfg.user_timeout
            if fin or probe or (rate and self._paced(now, end, rate)):
                break
        if sent_new:
            self.counters["segments_sent.data"] += sent_new
            if not probe:
                timers.arm_tlp(self, now)

    def _retransmit(self, s: TxSeg, now: int) -> None:
        """Send the segment ``s`` of the scoreboard again."""
        rec = self._rec
        off = s.start - self._una_abs
        n = s.end - s.start - s.fin
        buf = self._sendbuf
        flags = ACK | FIN if s.fin else ACK
        if n and off + n == len(buf):
            flags |= PSH
        payload = buf.peek(off, n) if n else b""
        self._rtt_seq = None  # Karn's algorithm: never time a retransmission
        rec.on_retransmit(s, now)
        self.counters["retransmit.segments"] += 1
        if rec.in_recovery:
            self.counters["retransmit.fast"] += 1
        self._emit(self._make(flags, add(self.snd_una, off), now, payload), now, rtx=True)
        if self._rtx_at is None:
            self._rtx_at = now + self.rtt.rto
        if rec.cc_on_sent:
            self.cc.on_packet_sent(now=now, bytes_sent=n, in_flight=rec.pipe)

    def _paced(self, now: int, size: int, rate: int) -> bool:
        """Pacing: the next segment may leave ``size / rate`` after this one; True to stop."""
        at = self._pace_at
        base = at if at is not None and at > now else now
        at = base + size * 1_000_000 // rate
        self._pace_at = at
        if at > now:
            self._pace_wait = at
            return True
        return False

    def _window_field(self) -> int:
        """The window to advertise, with receiver SWS avoidance (RFC 9293 3.8.6.2.2)."""
        cfg = self.config
        rcv_nxt = self.rcv_nxt
        space = cfg.recv_buffer - len(self._ready)
        cur = (self._rcv_adv - rcv_nxt) & MASK  # sub(), inline; negative -> 0
        if cur >= _HALF:
            cur = 0
        shift = self.rcv_wscale
        # The right edge never moves left (RFC 9293 3.8.6.2.2 SHLD-14, RFC 7323
        # 2.4): keep at least the old edge, rounded up to the scale's unit.
        keep = (cur + (1 << shift) - 1) >> shift
        # "The suggested SWS avoidance algorithm for the receiver is to keep
        # RCV.NXT+RCV.WND fixed until the reduction satisfies RCV.BUFF - RCV.USER -
        # RCV.WND >= min(Fr * RCV.BUFF, Eff.snd.MSS)" with Fr = 1/2.
        half = cfg.recv_buffer // 2
        mss = self._mss
        if space - cur >= (half if half < mss else mss):
            field = space >> shift
            if field < keep:
                field = keep
        else:
            field = keep
        if field > 0xFFFF:
            field = 0xFFFF
        self._rcv_adv = (rcv_nxt + (field << shift)) & MASK
        return field

    def _make(self, flags: int, seq: int, now: int, payload: bytes = b"") -> Segment:
        """A segment from us with the current ACK, window, urgent pointer and options."""
        urgent = 0
        snd_up = self._snd_up
        if snd_up is not None:
            if gt(snd_up, seq):
                # RFC 9293 3.8.5: URG with SEG.UP = SND.UP - SEG.SEQ; a longer urgent
                # run than 16 bits can point to is sent as the furthest it can
                # (MUST-31, RFC 6093 4).
                flags |= URG
                urgent = min(sub(snd_up, seq), 0xFFFF)
            elif le(snd_up, self.snd_una):
                self._snd_up = None
        opts: tuple[Option, ...] = ()
        ts = self._ts
        if ts.enabled:
            # RFC 7323 3.2: TSopt on every non-RST segment, TSecr = TS.Recent (4.3).
            opts = ts.option(now)
        # (Reassembler.size: octets held out of order, > 0 exactly when ranges are.)
        if self.sack_ok and (self._reasm.size or self._sack_rx.pending_dsack):
            opts = self._with_sack(opts, len(payload))
        return Segment(
            self.local[1],
            self.remote[1],
            seq,
            self.rcv_nxt,
            flags,
            self._window_field(),
            urgent,
            opts,
            payload,
        )

    def _with_sack(self, opts: tuple[Option, ...], payload_len: int) -> tuple[Option, ...]:
        # RFC 2018 3-4: SACK blocks while data is queued out of order, as many as
        # fit (a data segment has less room for options: RFC 6691).
        room = min(self._mss_limit - payload_len, 40) if payload_len else 40
        n = (room - self._opt_len - SACK_OPTION_BASE) // SACK_BLOCK_LEN
        if n <= 0:
            return opts
        sack = self._sack_rx.option(self.rcv_nxt, self._rcv_abs, self._reasm, n)
        return (*opts, _NOP, _NOP, sack) if sack is not None else opts

    def _emit(self, seg: Segment, now: int, *, rtx: bool = False) -> None:
        if seg.flags & ACK:
            self._last_ack_sent = seg.ack
            self._ack_now = False
            self._ack_pending = 0
            self._delack_at = None
        self._outbox.append(seg)
        if self._tracer:
            self._trace_seg(now, "seg_out", seg, rtx)

    # ----------------------------------------------------------- bookkeeping
    def _transition(self, trigger: Trigger, reason: str, now: int) -> None:
        old = self.state
        new = next_state(old, trigger)
        self.state = new
        self._event(StateChanged(old, new, reason))
        if self._tracer:
            self._trace(now, "state", old=old.value, new=new.value, reason=reason)

    def _finish(self, now: int) -> None:
        """The TCB is deleted: cancel timers, report Closed once."""
        self._rtx_at = self._persist_at = self._delack_at = None
        self._keepalive_at = self._timewait_at = self._user_at = None
        self._reo_at = self._tlp_at = self._pace_wait = None
        self._ack_now = False
        self._report_closed()

    def _report_closed(self) -> None:
        if not self._closed_reported:
            self._closed_reported = True
            self._event(Closed())

    def _event(self, ev: Event) -> None:
        queue = self._event_queue
        if queue is not None:
            queue.append((self, ev))
        elif self._event_sink is not None:
            self._event_sink(self, ev)
        else:
            if self._events is None:
                self._events = deque()
            self._events.append(ev)

    def _wake(self) -> None:
        if self._on_wake is not None:
            self._on_wake(self)

    def _drop(self, now: int, reason: str) -> None:
        key = "drop." + reason
        self.counters[key] += 1
        if self._shared_counters is not None:
            self._shared_counters[key] += 1
        if self._tracer:
            self._trace(now, "drop", reason=reason)

    # ----------------------------------------------------------------- trace
    def _trace(self, now: int, ev: str, **fields: object) -> None:
        if self._tracer:
            rec: dict[str, object] = {"t": now, "ev": ev, "host": self.name, "conn": self._label}
            rec.update(fields)
            self._tracer(rec)

    def _trace_seg(self, now: int, ev: str, seg: Segment, rtx: bool) -> None:
        fields: dict[str, object] = {
            "flags": flag_names(seg.flags),
            "seq": seg.seq,
            "ack": seg.ack,
            "win": seg.window,
            "len": len(seg.payload),
        }
        if seg.options:
            fields["opts"] = format_options(seg.options)
        if ev == "seg_out":
            fields["rtx"] = rtx
        self._trace(now, ev, **fields)

    def _trace_cc(self, now: int, reason: str) -> None:
        if self._tracer:
            rec = self._rec
            pacing = self.cc.pacing_rate() if rec.cc_paces and self.config.pacing else None
            self._trace(
                now,
                "cwnd",
                cwnd=self.cc.cwnd,
                ssthresh=self.cc.ssthresh,
                reason=reason,
                pipe=rec.pipe,
                pacing=pacing,
            )

    def _trace_timer(self, now: int, which: str, deadline: int | None) -> None:
        if self._tracer:
            self._trace(now, "timer", which=which, action="fired", deadline=deadline)

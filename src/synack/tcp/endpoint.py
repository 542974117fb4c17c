"""A host's TCP: demultiplexing, listeners, ephemeral ports, RSTs and IP wrapping, sans-I/O.

An :class:`Endpoint` owns every connection of one host. It is driven like a
connection (IP packets in, timer expiry, user calls) and produces IP packets,
events and one next deadline. The simulator and the TAP link drive it; neither
knows anything about TCP beyond these methods.
"""

from __future__ import annotations

import hashlib
import heapq
import ipaddress
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Final, Literal, overload

from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.entropy import random_bytes
from synack.tcp.errors import PortInUseError
from synack.tcp.events import Connected, Event, StateChanged, Tracer
from synack.tcp.isn import IsnGenerator, IsnSource
from synack.tcp.listen import listen_verdict, reset_for
from synack.tcp.reasons import DropReason
from synack.tcp.receiver import ChallengeBudget
from synack.tcp.state import State
from synack.tcp.syncookies import PERIOD, SynCookies, cookie_syn_ack, restored_syn
from synack.tcp.timestamps import TimestampOffsets
from synack.wire.ecn import packet_ecn
from synack.wire.errors import MalformedPacket
from synack.wire.gso import GsoPacket, emit_gso_packet
from synack.wire.icmp import IcmpKind, parse_quoted_tcp
from synack.wire.ip import (
    PROTO_TCP,
    addr_to_str,
    emit_tcp_packet,
    emit_tcp_packets,
    parse_ip_addresses,
)
from synack.wire.seq import add, gt, lt
from synack.wire.tcp import ACK, RST, SYN, Segment, flag_names, parse_segment

__all__ = ["EPHEMERAL_PORTS", "Endpoint", "Listener"]

# RFC 6335 6: the dynamic and/or private port range.
EPHEMERAL_PORTS = range(49152, 65536)

Key = tuple[bytes, int, bytes, int]
Addr = str | bytes | ipaddress.IPv4Address | ipaddress.IPv6Address


def _packed(addr: Addr) -> bytes:
    if isinstance(addr, bytes):
        if len(addr) not in (4, 16):
            raise ValueError(f"packed address must be 4 or 16 bytes, got {len(addr)}")
        return addr
    if isinstance(addr, str):
        return ipaddress.ip_address(addr).packed
    return addr.packed


class Listener:
    """A passive OPEN on one port (any of the endpoint's addresses).

    Completed connections wait in the accept queue; :meth:`accept` takes them.
    ``backlog`` bounds half-open plus not-yet-accepted connections (the SYN
    queue). A SYN beyond it is answered with a SYN cookie (RFC 4987 3.6)
    unless the listener's ``Config.syn_cookies`` is ``never``, and dropped
    (``drop.backlog_full``) then, or when the accept queue alone is full (a
    cookie's ACK would find no room either), as Linux does.
    """

    def __init__(self, endpoint: Endpoint, port: int, backlog: int, config: Config) -> None:
        self.endpoint = endpoint
        self.port = port
        self.backlog = backlog
        self.config = config
        self.pending: set[Connection] = set()
        self.ready: deque[Connection] = deque()
        self.closed = False
        self.cookies_at: int | None = None  # when this listener last sent a SYN cookie

    def accept(self) -> Connection | None:
        """The oldest established connection not yet accepted, or ``None``."""
        while self.ready:
            conn = self.ready.popleft()
            if conn.state is not State.CLOSED:
                return conn
        return None

    def close(self) -> None:
        """Stop listening; connections already accepted are not affected."""
        self.closed = True
        self.endpoint._listeners.pop(self.port, None)

    def __len__(self) -> int:
        return len(self.pending) + len(self.ready)


class Endpoint:
    """The TCP of one host: many connections behind three inputs and three outputs.

    Inputs: :meth:`receive_packet`, :meth:`handle_timer`, and user calls
    (:meth:`listen`, :meth:`connect`, and the methods of each
    :class:`~synack.tcp.connection.Connection`). Outputs:
    :meth:`packets_to_send`, :meth:`next_event`, :meth:`next_deadline`.
    """

    def __init__(
        self,
        addresses: Iterable[Addr],
        *,
        config: Config | None = None,
        isn_secret: bytes | None = None,
        isn: IsnSource | None = None,
        port_seed: int | None = None,
        tracer: Tracer | None = None,
        name: str = "",
        max_half_open: int = 1024,
        max_time_wait: int = 4096,
        max_orphans: int = 1024,
    ) -> None:
        self.addresses = [_packed(a) for a in addresses]
        if max_half_open < 1 or max_time_wait < 0 or max_orphans < 0:
            raise ValueError("max_half_open must be >= 1, max_time_wait and max_orphans >= 0")
        self.max_half_open = max_half_open
        """Half-open (SYN-RECEIVED) connections of all listeners together, at most: beyond,
        SYNs get cookies (or are dropped), as when a listener's own SYN queue is full."""
        self.max_time_wait = max_time_wait
        """TIME-WAIT connections at most; when one more enters TIME-WAIT the oldest goes
        (counted as ``time_wait.evicted``): it has the least of its 2*MSL left."""
        self.max_orphans = max_orphans
        """Abandoned connections still sending (``Connection.close(now, abandon=True)``
        with data or a FIN unacknowledged: FIN-WAIT-1, CLOSING, LAST-ACK) at most;
        one more is reset at once (a RST in every state), counted as
        ``orphans.reset`` (Linux's tcp_max_orphans, "too many orphaned sockets").
        Each may hold a send buffer of data nobody will read again, for up to
        ``Config.orphan_retries`` timeouts or probes. Once the FIN is acknowledged
        an orphan no longer counts: FIN-WAIT-2 holds no data and ends after
        ``Config.fin_wait_2_timeout`` (unless that is None)."""
        if not self.addresses:
            raise ValueError("an endpoint needs at least one address")
        self._addr_set = frozenset(self.addresses)
        self.config = config or Config()
        self.name = name
        self.tracer = tracer
        self.counters: Counter[str] = Counter()
        # RFC 6528 unless the driver supplies another generator (the attack lab does).
        self._isn: IsnSource = isn if isn is not None else IsnGenerator(isn_secret)
        # RFC 7323 7.1: the timestamp clock's offsets have their own secret (one
        # derived from an injected ISN secret keeps simulated runs reproducible).
        # The challenge-ACK budget of connections with Config.challenge_ack_per_host.
        self._challenge = ChallengeBudget()
        self._ts_offsets = TimestampOffsets(
            hashlib.blake2b(isn_secret, person=b"synack-tsval").digest()
            if isn_secret is not None
            else None
        )
        self._port_secret = (
            hashlib.blake2b(repr(port_seed).encode(), digest_size=16).digest()
            if port_seed is not None
            else random_bytes(16)
        )
        # RFC 4987 3.6: the SYN cookies' MAC key, its own secret too.
        self._cookies = SynCookies(
            hashlib.blake2b(isn_secret, person=b"synack-cookie").digest()
            if isn_secret is not None
            else None
        )
        self._time_wait: dict[Connection, None] = {}  # oldest first
        self._orphans: dict[Connection, None] = {}
        self._port_counter = 0
        self._conns: dict[Key, Connection] = {}
        self._listeners: dict[int, Listener] = {}
        self._owner: dict[Connection, Listener] = {}
        self._dirty: dict[Connection, None] = {}
        self._raw_out: list[bytes | GsoPacket] = []
        self._events: deque[tuple[Connection, Event]] = deque()
        self._sink = _Sink(
            self._events,
            self._owner,
            self._dirty,
            self._entered_time_wait,
            self._entered_fin_wait_2,
        )
        self._timers: list[tuple[int, int, Connection]] = []
        self._armed: dict[Connection, int] = {}
        self._seq = 0

    # ------------------------------------------------------------ user calls
    def listen(self, port: int, *, backlog: int = 128, config: Config | None = None) -> Listener:
        """Passive OPEN on ``port`` for every address of this endpoint."""
        if not 0 < port < 65536:
            raise ValueError(f"port {port} out of range")
        if backlog < 1:
            raise ValueError("backlog must be at least 1")
        if port in self._listeners:
            raise PortInUseError(f"port {port} already has a listener")
        lst = Listener(self, port, backlog, config or self.config)
        self._listeners[port] = lst
        return lst

    def connect(
        self,
        remote_addr: Addr,
        remote_port: int,
        now: int,
        *,
        local_port: int | None = None,
        local_addr: Addr | None = None,
        config: Config | None = None,
    ) -> Connection:
        """Active OPEN: a new connection in SYN-SENT, its SYN ready to send."""
        raddr = _packed(remote_addr)
        if not _unicast(raddr):
            # RFC 9293 3.9.1 (MUST-46): "an OPEN call ... with a broadcast or multicast
            # foreign address MUST be rejected".
            raise ValueError(f"{addr_to_str(raddr)} is not a unicast address")
        if not 0 < remote_port < 65536:
            raise ValueError(f"port {remote_port} out of range")
        laddr = _packed(local_addr) if local_addr is not None else self._source_for(raddr)
        if laddr not in self._addr_set:
            raise ValueError(f"{addr_to_str(laddr)} is not an address of this endpoint")
        if len(laddr) != len(raddr):
            raise ValueError("local and remote addresses are of different IP versions")
        if local_port is None:
            lport = self._ephemeral_port(laddr, raddr, remote_port)
        else:
            lport = local_port
            if (laddr, lport, raddr, remote_port) in self._conns:
                raise PortInUseError(f"4-tuple with local port {lport} already in use")
        cfg = config or self.config
        conn = self._new_connection(laddr, lport, raddr, remote_port, cfg, now)
        conn.connect(now)
        self._wake(conn)
        return conn

    def connections(self) -> list[Connection]:
        """Every connection this endpoint currently holds (including TIME-WAIT)."""
        return list(self._conns.values())

    # ----------------------------------------------------------------- input
    def receive_packet(self, packet: bytes | bytearray | memoryview, now: int) -> None:
        """One IPv4 or IPv6 packet from the network. Never raises for bad input."""
        self.counters["packets_in"] += 1
        try:
            _, proto, src, dst, start, end = parse_ip_addresses(packet)
            if proto != PROTO_TCP:
                raise MalformedPacket("not_tcp", f"protocol {proto}")
            if dst not in self._addr_set:
                self._drop(now, "not_for_us")
                return
            # The pseudo-header sum (RFC 9293 3.1) unfolded: parse_segment's
            # ones_sum takes any non-negative start value.
            pseudo = int.from_bytes(src + dst, "big") + PROTO_TCP + end - start
            seg = parse_segment(packet[start:end], pseudo)
        except MalformedPacket as exc:
            self._drop(now, exc.reason)
            return
        self.receive_segment(src, dst, seg, now, ecn=packet_ecn(packet))

    def receive_segment(
        self, src: bytes, dst: bytes, seg: Segment, now: int, *, ecn: int = 0
    ) -> None:
        """A parsed, checksum-verified segment (for drivers that parse themselves).

        ``ecn`` is the ECN field of its IP header (RFC 3168 5).
        """
        key = (dst, seg.dst_port, src, seg.src_port)
        conn = self._conns.get(key)
        if conn is None and _martian(src, self._addr_set):
            # RFC 1122 3.2.1.3 / 4.2.3.10: a segment from a loopback, broadcast,
            # multicast or unspecified address, or from one of our own, did not
            # come from a host on the network: discard it before it costs a TCB
            # or an answer. (A connection's own 4-tuple can never be one.)
            self._drop(now, "bad_source_address")
            return
        if conn is not None:
            if (
                conn.state is State.TIME_WAIT
                and (lst := self._listeners.get(seg.dst_port)) is not None
                and seg.flags & (SYN | ACK | RST) == SYN
                and _reopens_time_wait(conn, seg, lst.config)
            ):
                # RFC 9293 3.6.1 (MAY-2), RFC 6191: a new SYN that cannot be an old
                # duplicate reopens the connection from TIME-WAIT, with an ISS
                # above every sequence number the old one used. Only a SYN the
                # listener takes replaces the TIME-WAIT TCB: one it would drop (or
                # answer with a cookie, whose ISS could not respect that floor)
                # leaves it, so the old incarnation's last segments are still met.
                if self._syn_queue_full(lst) or lst.config.syn_cookies == "always":
                    self._drop(now, "backlog_full")
                    return
                self.counters["time_wait_reuse"] += 1
                floor = add(conn.snd_max, 1 << 16)
                self._forget(conn)
                self._on_syn(lst, key, seg, now, iss_floor=floor)
                return
            conn.receive_segment(seg, now, ecn=ecn)
            self._dirty[conn] = None  # self._wake(conn), inline
            return
        lst = self._listeners.get(seg.dst_port)
        if lst is not None:
            # RFC 9293 3.10.7.2 LISTEN (the rules of synack.tcp.listen).
            reason = listen_verdict(seg)
            if reason is None:
                self._on_syn(lst, key, seg, now)
                return
            if reason == "ack_in_listen" and self._cookie_ack(lst, key, seg, now):
                return
            self._drop(now, reason)
            if reason == "ack_in_listen":
                self._send_rst_for(dst, src, seg, now)
            return
        # RFC 9293 3.10.7.1 CLOSED: "An incoming segment not containing a RST causes
        # a RST to be sent in response."
        self._drop(now, "no_connection")
        self._send_rst_for(dst, src, seg, now)

    def handle_icmp_error(
        self, now: int, *, kind: IcmpKind, original: bytes, mtu: int | None = None
    ) -> None:
        """An ICMP error quoting one of our packets (RFC 9293 3.9.2.2).

        ``original`` is the quoted IP header and at least 8 octets of TCP; the
        connection decides what the error means (see ``Connection.icmp_error``).
        """
        try:
            quoted = parse_quoted_tcp(original)
        except MalformedPacket:
            self.counters["icmp.malformed"] += 1
            return
        conn = self._conns.get((quoted.src, quoted.src_port, quoted.dst, quoted.dst_port))
        if conn is None:
            self.counters["icmp.no_connection"] += 1
            return
        self.counters["icmp." + kind] += 1
        conn.icmp_error(now, kind=kind, seq=quoted.seq, mtu=mtu)
        self._wake(conn)

    def handle_timer(self, now: int) -> None:
        """Fire every connection timer that is due at ``now``."""
        timers = self._timers
        while timers and timers[0][0] <= now:
            deadline, _, conn = heapq.heappop(timers)
            if self._armed.get(conn) != deadline:
                continue  # stale entry
            del self._armed[conn]
            conn.handle_timer(now)
            self._wake(conn)

    # ---------------------------------------------------------------- output
    @overload
    def packets_to_send(self, now: int) -> list[bytes]: ...

    @overload
    def packets_to_send(self, now: int, *, tso_max: Literal[0]) -> list[bytes]: ...

    @overload
    def packets_to_send(self, now: int, *, tso_max: int) -> list[bytes | GsoPacket]: ...

    def packets_to_send(
        self, now: int, *, tso_max: int = 0
    ) -> list[bytes] | list[bytes | GsoPacket]:
        """IP packets to transmit, each addressed by its own destination.

        ``tso_max`` is the link's segmentation offload: the most TCP payload one
        packet may carry (0, the default: none). With it, a burst of new data of a
        connection may leave as one :class:`~synack.wire.gso.GsoPacket` that the
        link must cut into segments of its ``gso_size`` (the connection's MSS);
        without it, every packet is ``bytes`` of at most one MSS of payload.
        """
        out = self._raw_out
        self._raw_out = []
        if self._dirty:
            dirty = list(self._dirty)
            self._dirty.clear()
            for conn in dirty:
                if conn.abandoned and conn not in self._orphans:
                    self._new_orphan(conn, now)
                segs = conn.segments_to_send(now, tso_max=tso_max)
                if segs:
                    cfg = conn.config
                    if conn.neg.ecn and any(conn.out_ect):
                        self._emit_ecn(conn, segs, out, tso_max)
                    elif tso_max:
                        self._emit_offloaded(conn, segs, out)
                    else:
                        emit_tcp_packets(
                            conn.local[0], conn.remote[0], segs, out, cfg.ttl, 0, cfg.tos
                        )
                self._rearm(conn)
                if conn.state is State.CLOSED or conn.state is State.LISTEN:
                    # CLOSED, or a half-open connection sent back to LISTEN (its
                    # listener goes on): the TCB is deleted.
                    self._forget(conn)
        self.counters["packets_out"] += len(out)
        return out

    def next_deadline(self) -> int | None:
        """The earliest timer of any connection (absolute microseconds)."""
        for conn in self._dirty:
            self._rearm(conn)
        timers = self._timers
        while timers and self._armed.get(timers[0][2]) != timers[0][0]:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def next_event(self) -> tuple[Connection, Event] | None:
        """The oldest undelivered ``(connection, event)`` pair, or ``None``."""
        return self._events.popleft() if self._events else None

    def _emit_ecn(
        self, conn: Connection, segs: list[Segment], out: list[bytes | GsoPacket], tso_max: int
    ) -> None:
        """RFC 3168 6.1.2: new data ECT(0) (the ECN field 0b10), everything else Not-ECT."""
        cfg = conn.config
        src, dst, mss = conn.local[0], conn.remote[0], conn.mss
        for seg, ect in zip(segs, conn.out_ect, strict=True):
            tos = cfg.tos | 0b10 if ect else cfg.tos
            if tso_max and len(seg.payload) > mss:
                out.append(emit_gso_packet(src, dst, seg, mss, cfg.ttl, 0, tos))
            else:
                out.append(emit_tcp_packet(src, dst, seg, cfg.ttl, 0, tos))

    def _emit_offloaded(
        self, conn: Connection, segs: list[Segment], out: list[bytes | GsoPacket]
    ) -> None:
        """Packets for ``segs``, those above the MSS as super-segments cut at the MSS."""
        cfg = conn.config
        src, dst, mss = conn.local[0], conn.remote[0], conn.mss
        plain: list[Segment] = []
        for seg in segs:
            if len(seg.payload) > mss:
                if plain:
                    emit_tcp_packets(src, dst, plain, out, cfg.ttl, 0, cfg.tos)
                    plain = []
                out.append(emit_gso_packet(src, dst, seg, mss, cfg.ttl, 0, cfg.tos))
            else:
                plain.append(seg)
        if plain:
            emit_tcp_packets(src, dst, plain, out, cfg.ttl, 0, cfg.tos)

    @property
    def event_queue(self) -> deque[tuple[Connection, Event]]:
        """The queue :meth:`next_event` pops from, for drivers that drain it in a loop.

        Taking ``popleft()`` from it while it is non-empty is the same as calling
        :meth:`next_event`, without a method call per event.
        """
        return self._events

    # -------------------------------------------------------------- internal
    def _new_connection(
        self,
        laddr: bytes,
        lport: int,
        raddr: bytes,
        rport: int,
        cfg: Config,
        now: int,
        *,
        iss_floor: int | None = None,
        iss: int | None = None,
    ) -> Connection:
        if iss is None:
            iss = cfg.fixed_iss
        if iss is None:
            iss = self._isn.isn(now, laddr, lport, raddr, rport)
        if iss_floor is not None and lt(iss, iss_floor):
            iss = iss_floor
        conn = Connection(
            (laddr, lport),
            (raddr, rport),
            iss=iss,
            config=cfg,
            tracer=self.tracer,
            name=self.name,
            shared_counters=self.counters,
            sink=self._sink,
            ts_offset=self._ts_offsets.offset(laddr, lport, raddr, rport),
            challenge=self._challenge if cfg.challenge_ack_per_host else None,
        )
        self._conns[(laddr, lport, raddr, rport)] = conn
        return conn

    def _on_syn(
        self, lst: Listener, key: Key, seg: Segment, now: int, iss_floor: int | None = None
    ) -> None:
        # RFC 9293 3.9.1 (MUST-63): a SYN from a broadcast or multicast source never
        # gets here: receive_segment dropped it with the other martian sources.
        if len(lst.ready) >= lst.backlog:
            self._drop(now, "backlog_full")  # the accept queue is full: no room at all
            return
        mode = lst.config.syn_cookies
        if mode == "always" or (mode == "auto" and self._syn_queue_full(lst)):
            self._send_cookie(lst, key, seg, now)
            return
        if self._syn_queue_full(lst):
            self._drop(now, "backlog_full")
            return
        laddr, lport, raddr, rport = key
        conn = self._new_connection(
            laddr, lport, raddr, rport, lst.config, now, iss_floor=iss_floor
        )
        self._owner[conn] = lst
        lst.pending.add(conn)
        conn.listen(now)
        conn.receive_segment(seg, now)
        self._wake(conn)

    def _syn_queue_full(self, lst: Listener) -> bool:
        """No room for one more half-open connection: the listener's, or the endpoint's."""
        if len(lst) >= lst.backlog:
            return True
        return sum(len(x.pending) for x in self._listeners.values()) >= self.max_half_open

    def _send_cookie(self, lst: Listener, key: Key, seg: Segment, now: int) -> None:
        """RFC 4987 3.6: answer ``seg`` with a SYN-ACK whose ISS is a SYN cookie; keep nothing."""
        laddr, lport, raddr, rport = key
        cfg = lst.config
        synack = cookie_syn_ack(
            self._cookies, seg, now, key, cfg, self._ts_offsets.offset(laddr, lport, raddr, rport)
        )
        lst.cookies_at = now
        self.counters["syncookies.sent"] += 1
        if self.tracer:
            self._trace_out(now, laddr, raddr, synack)
        self._raw_out.append(emit_tcp_packet(laddr, raddr, synack, cfg.ttl, 0, cfg.tos))

    def _cookie_ack(self, lst: Listener, key: Key, seg: Segment, now: int) -> bool:
        """An ACK at a listener: if it returns a valid cookie, the connection is made; True then.

        Cookies are only checked while the listener sends them (``always``, or
        ``auto`` within two cookie lifetimes of the last one sent), so that
        outside a flood a guessed cookie cannot even be tried (Linux checks the
        same way).
        """
        cfg = lst.config
        if cfg.syn_cookies == "never" or (
            cfg.syn_cookies == "auto"
            and (lst.cookies_at is None or now - lst.cookies_at > 2 * PERIOD)
        ):
            return False
        laddr, lport, raddr, rport = key
        tso = seg.timestamps
        opts = self._cookies.check(
            now,
            laddr,
            lport,
            raddr,
            rport,
            seq=seg.seq,
            ack=seg.ack,
            tsecr=tso.tsecr if tso is not None else None,
        )
        if opts is None:
            self.counters["syncookies.failed"] += 1
            return False
        self.counters["syncookies.validated"] += 1
        if len(lst.ready) >= lst.backlog:
            self._drop(now, "backlog_full")  # the accept queue filled up meanwhile
            return True
        conn = self._new_connection(
            laddr, lport, raddr, rport, cfg, now, iss=(seg.ack - 1) & 0xFFFFFFFF
        )
        self._owner[conn] = lst
        lst.pending.add(conn)
        conn.open_from_cookie(restored_syn(opts, seg), seg, now)
        self._wake(conn)
        return True

    def _new_orphan(self, conn: Connection, now: int) -> None:
        """``conn`` was abandoned by its user: keep at most ``max_orphans`` such."""
        if conn.state in _NOT_ORPHANS or _bounded_in_fin_wait_2(conn):
            return
        if len(self._orphans) >= self.max_orphans:
            # Linux's tcp_close() with too many orphans: a RST now, and the data
            # queued behind it is lost (TCPAbortOnMemory).
            self.counters["orphans.reset"] += 1
            if self.tracer:
                self.tracer(
                    {"t": now, "ev": "orphans_full", "host": self.name, "max": self.max_orphans}
                )
            conn.abort(now, reset_peer=True)
            return
        self._orphans[conn] = None

    def _entered_fin_wait_2(self, conn: Connection) -> None:
        """Our FIN is acknowledged: an orphan bounded by ``fin_wait_2_timeout`` no longer counts.

        It sends nothing more and holds no data (Linux moves such a socket to
        its timewait structures, out of the orphan count); only a FIN-WAIT-2
        without a timeout stays an orphan.
        """
        if _bounded_in_fin_wait_2(conn):
            self._orphans.pop(conn, None)

    def _entered_time_wait(self, conn: Connection) -> None:
        """A connection entered TIME-WAIT: keep at most ``max_time_wait`` of them."""
        self._orphans.pop(conn, None)
        tw = self._time_wait
        tw[conn] = None
        while len(tw) > self.max_time_wait:
            oldest = next(iter(tw))
            del tw[oldest]
            if oldest.state is State.TIME_WAIT:
                self.counters["time_wait.evicted"] += 1
                self._forget(oldest)

    def _wake(self, conn: Connection) -> None:
        self._dirty[conn] = None

    def _rearm(self, conn: Connection) -> None:
        deadline = conn.next_deadline()
        if deadline is None:
            self._armed.pop(conn, None)
            return
        if self._armed.get(conn) == deadline:
            return
        self._armed[conn] = deadline
        self._seq += 1
        heapq.heappush(self._timers, (deadline, self._seq, conn))

    def _forget(self, conn: Connection) -> None:
        key = (conn.local[0], conn.local[1], conn.remote[0], conn.remote[1])
        if self._conns.get(key) is conn:
            del self._conns[key]
        self._armed.pop(conn, None)
        self._dirty.pop(conn, None)
        self._time_wait.pop(conn, None)
        self._orphans.pop(conn, None)
        lst = self._owner.pop(conn, None)
        if lst is not None:
            lst.pending.discard(conn)

    def _source_for(self, raddr: bytes) -> bytes:
        for a in self.addresses:
            if len(a) == len(raddr):
                return a
        raise ValueError(f"no local address of the family of {addr_to_str(raddr)}")

    def _ephemeral_port(self, laddr: bytes, raddr: bytes, rport: int) -> int:
        # RFC 6056 3.3.3 (Algorithm 3): offset = F(addresses, remote port, secret),
        # then probe sequentially from offset + counter.
        f = hashlib.blake2b(
            laddr + raddr + rport.to_bytes(2, "big"), key=self._port_secret, digest_size=4
        ).digest()
        offset = int.from_bytes(f, "big")
        n = len(EPHEMERAL_PORTS)
        for _ in range(n):
            port = EPHEMERAL_PORTS[(offset + self._port_counter) % n]
            self._port_counter += 1
            if (laddr, port, raddr, rport) not in self._conns and port not in self._listeners:
                return port
        raise PortInUseError("no free ephemeral port")

    def _send_rst_for(self, src: bytes, dst: bytes, seg: Segment, now: int) -> None:
        """RFC 9293 3.10.7.1: the reset for a segment that matches no connection (none for a RST)."""
        rst = reset_for(seg)
        if rst is None:
            return
        self.counters["rst_sent"] += 1
        if self.tracer:
            self._trace_out(now, src, dst, rst)
        self._raw_out.append(emit_tcp_packet(src, dst, rst, self.config.ttl, 0, self.config.tos))

    def _trace_out(self, now: int, src: bytes, dst: bytes, seg: Segment) -> None:
        """A ``seg_out`` record for a segment the endpoint sends itself (no connection)."""
        if self.tracer:
            self.tracer(
                {
                    "t": now,
                    "ev": "seg_out",
                    "host": self.name,
                    "conn": f"{addr_to_str(src)}:{seg.src_port}-{addr_to_str(dst)}:{seg.dst_port}",
                    "flags": flag_names(seg.flags),
                    "seq": seg.seq,
                    "ack": seg.ack,
                    "win": seg.window,
                    "len": 0,
                    "rtx": False,
                }
            )

    def _drop(self, now: int, reason: DropReason) -> None:
        self.counters["drop." + reason] += 1
        if self.tracer:
            self.tracer({"t": now, "ev": "drop", "host": self.name, "reason": reason})

    def __repr__(self) -> str:
        addrs = ", ".join(addr_to_str(a) for a in self.addresses)
        return f"<Endpoint {self.name or addrs} conns={len(self._conns)}>"


# States in which an abandoned connection is not an orphan: deleted, or in
# TIME-WAIT (bounded by max_time_wait instead).
_NOT_ORPHANS: Final = frozenset({State.CLOSED, State.TIME_WAIT, State.LISTEN})


def _bounded_in_fin_wait_2(conn: Connection) -> bool:
    """In FIN-WAIT-2 with a timeout: done sending, deleted within ``fin_wait_2_timeout``."""
    return conn.state is State.FIN_WAIT_2 and conn.config.fin_wait_2_timeout is not None


def _reopens_time_wait(conn: Connection, syn: Segment, config: Config) -> bool:
    """RFC 6191 2: may ``syn`` start a new incarnation of ``conn``, which is in TIME-WAIT?

    "If the previous incarnation of the connection used Timestamps, then: if TCP
    Timestamps would be enabled for the new incarnation of the connection, and
    the timestamp contained in the incoming SYN segment is greater than the last
    timestamp seen on the previous incarnation ..., honor the connection
    request"; an equal timestamp needs a greater sequence number. Without
    timestamps on both, the sequence number must be greater than the last one
    seen (RFC 9293 3.6.1, MAY-2). "Otherwise, silently drop the incoming SYN".
    """
    tso = syn.timestamps
    if conn.neg.timestamps and tso is not None and config.timestamps:
        recent = conn.ts.ts_recent
        if tso.tsval != recent:
            return gt(tso.tsval, recent)
    return gt(syn.seq, conn.rcv_nxt)


_V4_BROADCAST = b"\xff\xff\xff\xff"
_V6_LOOPBACK = bytes(15) + b"\x01"
_V6_V4MAPPED = bytes(10) + b"\xff\xff"


def _martian(src: bytes, ours: frozenset[bytes]) -> bool:
    """A source no segment from the network may carry (RFC 1122 3.2.1.3, RFC 4291 2.5)."""
    if src in ours:
        return True  # our own address from outside: the "land" attack
    b0 = src[0]
    if len(src) == 4:
        # 0/8 "this network", 127/8 loopback, 224/4 multicast, limited broadcast.
        return b0 == 0 or b0 == 127 or 224 <= b0 <= 239 or src == _V4_BROADCAST
    # ff00::/8 multicast, ::1 loopback, :: unspecified, ::ffff:0:0/96 IPv4-mapped.
    return b0 == 0xFF or src == _V6_LOOPBACK or src == bytes(16) or src[:12] == _V6_V4MAPPED


def _unicast(addr: bytes) -> bool:
    """Neither unspecified, multicast nor the limited broadcast address."""
    if addr == _V4_BROADCAST or addr == bytes(len(addr)):
        return False
    return not ipaddress.ip_address(addr).is_multicast


class _Sink:
    """The endpoint as its connections' :class:`~synack.tcp.events.EventSink`.

    A half-open connection is its listener's business until it is established:
    its events are not the user's, and ``Connected`` moves it to the accept
    queue. Every other event goes to the endpoint's queue as it is.
    """

    __slots__ = ("dirty", "events", "on_fin_wait_2", "on_time_wait", "owner")

    def __init__(
        self,
        events: deque[tuple[Connection, Event]],
        owner: dict[Connection, Listener],
        dirty: dict[Connection, None],
        on_time_wait: Callable[[Connection], None],
        on_fin_wait_2: Callable[[Connection], None],
    ) -> None:
        self.events = events
        self.owner = owner
        self.dirty = dirty
        self.on_time_wait = on_time_wait
        self.on_fin_wait_2 = on_fin_wait_2

    def connection_event(self, conn: Connection, event: Event) -> None:
        if type(event) is StateChanged:
            if event.new is State.TIME_WAIT:
                self.on_time_wait(conn)
            elif event.new is State.FIN_WAIT_2 and conn.abandoned:
                self.on_fin_wait_2(conn)
        lst = self.owner.get(conn)
        if lst is None:
            self.events.append((conn, event))
        elif type(event) is Connected:
            lst.pending.discard(conn)
            del self.owner[conn]
            lst.ready.append(conn)
            self.events.append((conn, event))

    def connection_wakeup(self, conn: Connection) -> None:
        self.dirty[conn] = None

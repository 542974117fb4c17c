"""A small lab for adversarial tests: two endpoints on an in-process wire, an attacker's view of it.

:class:`Lab` joins a client and a server :class:`~synack.tcp.Endpoint` with a
zero-delay wire that the test pumps by hand, in virtual time. It keeps, per
connection, what an on-path observer would learn from the server's packets
(its last SEQ, ACK, window and TSval), so that attacks are crafted from the
wire only, never from the core's internals. Applications on both sides are
plain: the client writes a seeded byte stream, the server reads it and checks
that what it read is a prefix of what was written.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from synack.tcp import Config, Connection, Endpoint, State
from synack.wire.errors import MalformedPacket
from synack.wire.ip import emit_tcp_packet, parse_tcp_packet, str_to_addr
from synack.wire.tcp import Segment

CLIENT_V4 = str_to_addr("192.0.2.10")
SERVER_V4 = str_to_addr("192.0.2.80")
CLIENT_V6 = str_to_addr("2001:db8::10")
SERVER_V6 = str_to_addr("2001:db8::80")
PORT = 80

Key = tuple[bytes, int, bytes, int]  # (src, sport, dst, dport) as seen on the wire


@dataclass
class Seen:
    """The last values an observer saw in one direction of a connection."""

    seq: int = 0
    ack: int = 0
    window: int = 0
    tsval: int | None = None


@dataclass
class Stream:
    """One direction's application data: everything written, everything read."""

    written: bytearray = field(default_factory=bytearray)
    read: bytearray = field(default_factory=bytearray)

    def read_is_prefix(self) -> bool:
        return self.written[: len(self.read)] == self.read


class Lab:
    """Client and server endpoints joined by a wire the test drives (virtual time).

    ``tap`` (optional) sees every packet on the wire before it is delivered and
    may return ``None`` to drop it or other bytes to replace it.
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        client_config: Config | None = None,
        server_config: Config | None = None,
        backlog: int = 128,
        tracer: Callable[[dict[str, object]], None] | None = None,
        check_streams: bool = True,
    ) -> None:
        self.rng = random.Random(seed)
        self.now = 0
        self.client = Endpoint(
            [CLIENT_V4, CLIENT_V6],
            config=client_config,
            isn_secret=bytes([seed & 0xFF]) * 32,
            port_seed=seed,
            name="client",
        )
        self.server = Endpoint(
            [SERVER_V4, SERVER_V6],
            config=server_config,
            isn_secret=bytes([(seed + 1) & 0xFF]) * 32,
            port_seed=seed + 1,
            name="server",
            tracer=tracer,
        )
        self.listener = self.server.listen(PORT, backlog=backlog)
        self.tap: Callable[[bytes], bytes | None] | None = None
        self.seen: dict[Key, Seen] = {}
        # Client connection -> its stream (client writes, server reads).
        self.streams: dict[Connection, Stream] = {}
        # Server connection -> the stream its peer writes (by 4-tuple).
        self.accepted: dict[Connection, Stream] = {}
        self.server_out = 0
        # An on-path attacker can inject data that the server then reads: tests
        # with one turn this off.
        self.check_streams = check_streams

    # ------------------------------------------------------------- the wire
    def _observe(self, packet: bytes) -> None:
        try:
            ip, seg = parse_tcp_packet(packet)
        except MalformedPacket:
            return
        key = (ip.src, seg.src_port, ip.dst, seg.dst_port)
        s = self.seen.get(key)
        if s is None:
            s = self.seen[key] = Seen()
        s.seq, s.ack, s.window = seg.seq, seg.ack, seg.window
        ts = seg.timestamps
        if ts is not None:
            s.tsval = ts.tsval

    def pump(self, rounds: int = 50) -> int:
        """Carry packets both ways until the wire is quiet; return how many moved."""
        moved = 0
        for _ in range(rounds):
            self.apps()
            out_c = self.client.packets_to_send(self.now)
            out_s = self.server.packets_to_send(self.now)
            if not out_c and not out_s:
                break
            moved += len(out_c) + len(out_s)
            self.server_out += len(out_s)
            for p in out_s:
                self._observe(p)
                q = self.tap(p) if self.tap else p
                if q is not None:
                    self.client.receive_packet(q, self.now)
            for p in out_c:
                self._observe(p)
                q = self.tap(p) if self.tap else p
                if q is not None:
                    self.server.receive_packet(q, self.now)
        return moved

    def advance(self, dt: int) -> None:
        """Let ``dt`` microseconds pass: fire due timers on both sides, then pump."""
        end = self.now + dt
        while True:
            due = [d for d in (self.client.next_deadline(), self.server.next_deadline()) if d]
            step = min([d for d in due if d <= end], default=None)
            if step is None:
                break
            self.now = max(self.now, step)
            self.client.handle_timer(self.now)
            self.server.handle_timer(self.now)
            self.pump()
        self.now = end
        self.pump()

    def inject(self, packet: bytes, *, deliver: bool = True) -> list[bytes]:
        """Deliver an attacker's packet to the server; return the server's immediate answers.

        The answers go on to the client unless ``deliver`` is false (then they are lost).
        """
        self.server.receive_packet(packet, self.now)
        out = self.server.packets_to_send(self.now)
        self.server_out += len(out)
        if deliver:
            for p in out:
                self._observe(p)
                self.client.receive_packet(p, self.now)
        return out

    # ---------------------------------------------------------- applications
    def apps(self) -> None:
        """Drain events; the server accepts and reads, checking each stream."""
        while self.client.next_event() is not None:
            pass
        while self.server.next_event() is not None:
            pass
        while (conn := self.listener.accept()) is not None:
            self.accepted[conn] = self._stream_of(conn)
        for conn, stream in self.accepted.items():
            data = conn.recv()
            if data:
                stream.read += data
                if self.check_streams and not stream.read_is_prefix():
                    raise AssertionError(f"{conn}: the application read bytes the peer never wrote")
        for conn in self.client.connections():
            conn.recv()

    def _stream_of(self, server_conn: Connection) -> Stream:
        for conn, stream in self.streams.items():
            if conn.local == server_conn.remote and conn.remote == server_conn.local:
                return stream
        return Stream()

    def open(self, *, v6: bool = False) -> Connection:
        """A new client connection to the server (handshake pumped)."""
        conn = self.client.connect(SERVER_V6 if v6 else SERVER_V4, PORT, self.now)
        self.streams[conn] = Stream()
        self.pump()
        return conn

    def write(self, conn: Connection, n: int) -> int:
        """The client writes up to ``n`` seeded bytes on ``conn``; return how many were taken."""
        if conn.state not in (State.ESTABLISHED, State.CLOSE_WAIT, State.SYN_SENT):
            return 0
        stream = self.streams[conn]
        data = self.rng.randbytes(n)
        taken = conn.send(data)
        stream.written += data[:taken]
        return taken

    def server_conn(self, client_conn: Connection) -> Connection | None:
        """The server's side of ``client_conn``, if it has one."""
        for conn in self.server.connections():
            if conn.remote == client_conn.local and conn.local == client_conn.remote:
                return conn
        return None

    def seen_from_server(self, client_conn: Connection) -> Seen:
        """What an observer last saw the server send on ``client_conn``'s 4-tuple."""
        (caddr, cport), (saddr, sport) = client_conn.local, client_conn.remote
        return self.seen.setdefault((saddr, sport, caddr, cport), Seen())

    def seen_from_client(self, client_conn: Connection) -> Seen:
        """What an observer last saw the client send on ``client_conn``'s 4-tuple."""
        (caddr, cport), (saddr, sport) = client_conn.local, client_conn.remote
        return self.seen.setdefault((caddr, cport, saddr, sport), Seen())

    def tidy(self) -> None:
        """Forget client connections that are closed, or whose server side is gone (abort them)."""
        server_side = {(c.remote, c.local) for c in self.server.connections()}
        for conn in list(self.streams):
            if conn.state is State.CLOSED:
                del self.streams[conn]
            elif conn.state is not State.SYN_SENT and (conn.local, conn.remote) not in server_side:
                conn.abort(self.now)
                del self.streams[conn]
        for conn in [c for c in self.accepted if c.state is State.CLOSED]:
            del self.accepted[conn]


def spoofed(
    client_conn: Connection,
    *,
    seq: int,
    ack: int,
    flags: int,
    window: int = 65535,
    payload: bytes = b"",
    options: tuple[object, ...] = (),
) -> bytes:
    """A packet that claims to come from ``client_conn``'s end, to the server."""
    seg = Segment(
        client_conn.local[1],
        client_conn.remote[1],
        seq & 0xFFFFFFFF,
        ack & 0xFFFFFFFF,
        flags,
        window,
        0,
        options,  # type: ignore[arg-type]
        payload,
    )
    return emit_tcp_packet(client_conn.local[0], client_conn.remote[0], seg)

"""The victims' applications: a toy rsh that trusts addresses, and steady TCP sessions.

Nothing here executes anything: :class:`RshService` only records the command
lines it *would* have run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from synack.sim.apps import EndpointApp
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import Closed, Connected, DataReceived, Event, PeerClosed, Reset, TimedOut
from synack.wire.ip import addr_to_str

__all__ = ["RSH_PORT", "RshRequest", "RshService", "StreamReceiver", "StreamSender", "stream_bytes"]

RSH_PORT = 514
"""rsh ("shell", RFC 1282's sibling of rlogin on 513)."""


@dataclass(frozen=True)
class RshRequest:
    """One request the service accepted: who, as whom, and the command it would run."""

    t: int
    peer: str
    remote_user: str
    local_user: str
    command: str


class RshService(EndpointApp):
    """A toy rshd on port 514 that trusts source addresses, as 1980s ``.rhosts`` did.

    The request is four NUL-terminated fields (BSD rshd): the stderr port,
    the client's user name, the server user name, the command. It is accepted
    when the source address is in ``trusted`` and the source port is
    privileged (below 1024); then the command is recorded in
    :attr:`executed` (never run), the reply is a zero byte, and the
    connection is closed. Otherwise the reply is ``\\1Permission denied.``.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        trusted: set[str],
        *,
        note: Callable[[int, str], None] | None = None,
        on_command: Callable[[RshRequest], None] | None = None,
    ) -> None:
        super().__init__(endpoint)
        self.listener = endpoint.listen(RSH_PORT)
        self.trusted = trusted
        self.note = note
        self.on_command = on_command
        self.executed: list[RshRequest] = []
        self.denied: list[str] = []
        self._buf: dict[Connection, bytearray] = {}

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if isinstance(event, Connected):
            while self.listener.accept() is not None:
                pass
            self._buf[conn] = bytearray()
        elif isinstance(event, DataReceived):
            buf = self._buf.setdefault(conn, bytearray())
            buf += conn.recv()
            if buf.count(0) >= 4:
                self._request(conn, bytes(buf), now)
        elif isinstance(event, PeerClosed):
            conn.close(now)
        elif isinstance(event, Closed | Reset | TimedOut):
            self._buf.pop(conn, None)

    def _request(self, conn: Connection, data: bytes, now: int) -> None:
        _, remote_user, local_user, command = (
            f.decode(errors="replace") for f in data.split(b"\0")[:4]
        )
        peer_addr, peer_port = addr_to_str(conn.remote[0]), conn.remote[1]
        peer = f"{peer_addr}:{peer_port}"
        if peer_addr in self.trusted and peer_port < 1024:
            req = RshRequest(now, peer, remote_user, local_user, command)
            self.executed.append(req)
            if self.note is not None:
                self.note(
                    now, f"server: rshd trusts {peer_addr}; would run as {local_user}: {command}"
                )
            conn.send(b"\0")
            if self.on_command is not None:
                self.on_command(req)
        else:
            self.denied.append(peer)
            conn.send(b"\1Permission denied.\n")
        conn.close(now)


LINE = 32


def stream_bytes(start: int, count: int) -> bytes:
    """``count`` bytes of the text stream at offset ``start``: numbered 32-byte lines."""
    first, skip = divmod(start, LINE)
    lines = -(-(skip + count) // LINE)
    text = "".join(f"line {n:08d}: all is well.....\n" for n in range(first, first + lines))
    return text.encode()[skip : skip + count]


class StreamSender(EndpointApp):
    """A client that opens one connection and sends a steady text stream.

    ``chunk`` bytes every ``interval`` microseconds from ``start`` (a BGP
    speaker's updates, a log shipper): enough traffic that data injected ahead
    of RCV.NXT is soon reached.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        server: str,
        port: int,
        *,
        chunk: int,
        interval: int,
        schedule: Callable[[int, Callable[[int], None]], None],
    ) -> None:
        super().__init__(endpoint)
        self.server, self.port = server, port
        self.chunk, self.interval = chunk, interval
        self.schedule = schedule
        self.conn: Connection | None = None
        self.sent = 0
        self.connected_at: int | None = None
        self.error: str | None = None

    def start(self, now: int) -> None:
        self.conn = self.endpoint.connect(self.server, self.port, now)

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if isinstance(event, Connected):
            self.connected_at = now
            self.tick(now)
        elif isinstance(event, Reset | TimedOut):
            self.error = type(event).__name__

    def tick(self, now: int) -> None:
        """Send the next chunk and schedule the one after (stops once the connection ends)."""
        conn = self.conn
        if conn is None or self.error is not None:
            return
        if self.chunk and conn.send_buffer_free >= self.chunk:  # else: try again next tick
            self.sent += conn.send(stream_bytes(self.sent, self.chunk))
        self.schedule(now + self.interval, self.tick)


class StreamReceiver(EndpointApp):
    """The server side of :class:`StreamSender`: accepts and keeps every byte it reads."""

    def __init__(self, endpoint: Endpoint, port: int) -> None:
        super().__init__(endpoint)
        self.listener = endpoint.listen(port)
        self.conn: Connection | None = None
        self.received = bytearray()
        self.reset_at: int | None = None
        self.on_data: Callable[[int], None] | None = None
        self.on_reset: Callable[[int], None] | None = None
        self.on_input: Callable[[int], None] | None = None
        """Called after every input to the endpoint (the referee looks at the victim here)."""

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if isinstance(event, Connected):
            accepted = self.listener.accept()
            if accepted is not None:
                self.conn = accepted
        elif isinstance(event, DataReceived):
            self.received += conn.recv()
            if self.on_data is not None:
                self.on_data(now)
        elif isinstance(event, Reset | TimedOut) and self.reset_at is None:
            self.reset_at = now
            if self.on_reset is not None:
                self.on_reset(now)

    def on_step(self, now: int) -> None:
        if self.on_input is not None:
            self.on_input(now)

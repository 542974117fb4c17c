"""Applications that run on simulated hosts: a bulk sender and a sink that verifies.

An application is called as ``app(now)`` after every input to its host's
endpoint (see :class:`~synack.sim.node.HostNode`). :class:`EndpointApp` drains
the endpoint's events and hands each to :meth:`EndpointApp.on_event`; the
sender and the sink build on it. The bytes sent are a seeded pseudo-random
stream, produced in chunks as the send buffer frees, so a transfer of any size
needs little memory and both ends can compare SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import random

from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint, Listener
from synack.tcp.events import (
    Closed,
    Connected,
    DataReceived,
    Event,
    PeerClosed,
    Reset,
    SendBufferSpace,
    TimedOut,
)
from synack.tcp.state import State

__all__ = ["AppGroup", "BulkSender", "EndpointApp", "PatternSource", "Sink"]

# 32 KB: Random.randbytes is about 15% faster per byte than at 64 KB (cache
# size); any multiple of 4 gives the same byte stream (it draws 32-bit words).
_CHUNK = 32 * 1024


class EndpointApp:
    """Drains ``endpoint.next_event()`` after every input; subclasses react."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        # Drained directly (the same as next_event() until it returns None): this
        # runs after every packet, and a call per event is a measurable share.
        self._queue = endpoint.event_queue
        self._has_step = type(self).on_step is not EndpointApp.on_step

    def __call__(self, now: int) -> None:
        queue = self._queue
        while queue:
            conn, ev = queue.popleft()
            self.on_event(conn, ev, now)
        if self._has_step:
            self.on_step(now)

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        """One event of one connection."""

    def on_step(self, now: int) -> None:
        """After the events of this input have been handled."""


class AppGroup(EndpointApp):
    """Several applications on one endpoint: every event goes to each of them."""

    def __init__(self, endpoint: Endpoint, apps: list[EndpointApp]) -> None:
        super().__init__(endpoint)
        self.apps = apps

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        for app in self.apps:
            app.on_event(conn, event, now)

    def on_step(self, now: int) -> None:
        for app in self.apps:
            app.on_step(now)


class PatternSource:
    """``total`` pseudo-random bytes from ``seed``, handed out in chunks, hashed."""

    def __init__(self, total: int, seed: int | str = 0) -> None:
        self.total = total
        self.produced = 0
        self.sha256 = hashlib.sha256()
        self._rng = random.Random(f"synack-data/{seed}")
        self._chunk = memoryview(b"")
        self._off = 0

    @property
    def remaining(self) -> int:
        """Bytes not yet accepted by the connection."""
        return self.total - self.produced + (len(self._chunk) - self._off)

    def feed(self, conn: Connection) -> int:
        """Give ``conn`` as much as its send buffer takes; return the count."""
        sent = 0
        while True:
            if self._off >= len(self._chunk):
                n = min(_CHUNK, self.total - self.produced)
                if n <= 0:
                    return sent
                data = self._rng.randbytes(n)
                self.sha256.update(data)
                self.produced += n
                self._chunk = memoryview(data)
                self._off = 0
            k = conn.send(self._chunk[self._off :])
            if k == 0:
                return sent
            self._off += k
            sent += k


class BulkSender(EndpointApp):
    """Connects to ``(addr, port)``, sends ``total`` bytes, then closes.

    ``start(now)`` opens the connection. ``connected_at``, ``closed_at``
    and ``error`` record how it went.
    """

    def __init__(
        self, endpoint: Endpoint, addr: str | bytes, port: int, total: int, *, seed: int = 0
    ) -> None:
        super().__init__(endpoint)
        self.addr = addr
        self.port = port
        self.source = PatternSource(total, seed)
        self.conn: Connection | None = None
        self.connected_at: int | None = None
        self.closed_at: int | None = None
        self.error: str | None = None
        self._closing = False

    def start(self, now: int) -> None:
        self.conn = self.endpoint.connect(self.addr, self.port, now)

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if conn is not self.conn:
            return
        if isinstance(event, Connected):
            self.connected_at = now
            self._pump(now)
        elif isinstance(event, SendBufferSpace):
            self._pump(now)
        elif isinstance(event, PeerClosed):
            pass
        elif isinstance(event, Closed):
            self.closed_at = now
        elif isinstance(event, Reset | TimedOut):
            self.error = repr(event)

    def _pump(self, now: int) -> None:
        conn = self.conn
        if conn is None or self._closing:
            return
        self.source.feed(conn)
        if self.source.remaining == 0:
            self._closing = True
            conn.close(now)


class Sink(EndpointApp):
    """Listens on ``port``, reads every connection to its end, hashes what arrives.

    Each connection is closed when the peer closes (a graceful four-way close).
    ``received[conn]`` counts bytes, ``digests[conn]`` is the running SHA-256,
    ``finished[conn]`` is when the peer's FIN arrived with all data read.
    """

    def __init__(self, endpoint: Endpoint, port: int, *, backlog: int = 128) -> None:
        super().__init__(endpoint)
        self.listener: Listener = endpoint.listen(port, backlog=backlog)
        self.received: dict[Connection, int] = {}
        self.digests: dict[Connection, hashlib._Hash] = {}
        self.finished: dict[Connection, int] = {}
        self.closed: dict[Connection, int] = {}
        self.errors: dict[Connection, str] = {}
        self.total_received = 0

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if type(event) is DataReceived:  # nearly every event: tested first
            self._read(conn)
        elif isinstance(event, Connected):
            while self.listener.accept() is not None:
                pass
            self.received.setdefault(conn, 0)
            self.digests.setdefault(conn, hashlib.sha256())
            self._read(conn)
        elif isinstance(event, PeerClosed):
            self._read(conn)
            self.finished[conn] = now
            if conn.state is State.CLOSE_WAIT:
                conn.close(now)
        elif isinstance(event, Closed):
            self.closed[conn] = now
        elif isinstance(event, Reset | TimedOut):
            self.errors[conn] = repr(event)

    def _read(self, conn: Connection) -> None:
        data = conn.recv()
        if data:
            n = len(data)
            self.received[conn] = self.received.get(conn, 0) + n
            self.total_received += n
            digest = self.digests.get(conn)
            if digest is None:
                digest = self.digests[conn] = hashlib.sha256()
            digest.update(data)

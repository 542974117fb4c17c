"""The real-time asyncio driver of a sans-I/O :class:`~synack.tcp.endpoint.Endpoint`.

A :class:`Runtime` connects one endpoint to one :class:`Link` and to asyncio. It is
driven by the same three sources as the core: packets the link reads (the link
calls :meth:`Runtime.receive_packet` from its ``loop.add_reader`` callback), one
``loop.call_at`` timer re-armed from the earliest deadline after every step, and
user calls (streams and sockets ask for a :meth:`Runtime.kick`). After each step
the runtime drains the endpoint's packets into the link, dispatches its events
to the per-connection handlers, and re-arms the timer. Time is ``loop.time()`` in
integer microseconds. No polling, no sleeps.

:class:`DeviceLink` is the link for a TUN/TAP device with synack's
:class:`~synack.link.netif.NetInterface` in front (ARP, NDP, ICMP);
:func:`open_tap_runtime` builds the whole stack from ``--tap``/``--addr`` options.
:class:`PairLink` joins two runtimes in one process, for tests and demos.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol

from synack.link.device import DEFAULT_OFFLOADS, TunTapDevice
from synack.link.gso import coalesce
from synack.link.impair import ImpairedPath, Impairment
from synack.link.netif import NetInterface
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import EPHEMERAL_PORTS, Endpoint
from synack.tcp.events import Connected, Event, Tracer
from synack.tcp.state import State
from synack.wire.ecn import mark_ce
from synack.wire.gso import MAX_TSO, GsoPacket

__all__ = [
    "DEFAULT_LINGER",
    "Closable",
    "ConnectionHandler",
    "DeviceLink",
    "Link",
    "LoopAlarm",
    "PairLink",
    "Runtime",
    "open_tap_runtime",
    "tap_config",
]

_US = 1_000_000

DEFAULT_LINGER: Final = 10.0
"""Seconds :meth:`Runtime.close` (and ``Stack.close``) wait at most for closed
connections to deliver their data and FIN before resetting what is left."""

# RFC 9293 3.6: the peer has acknowledged our FIN (or the TCB is gone).
_DELIVERED: Final = frozenset({State.FIN_WAIT_2, State.TIME_WAIT, State.CLOSED})
# Our FIN is queued or sent, not yet acknowledged.
_FIN_SENT: Final = frozenset({State.FIN_WAIT_1, State.CLOSING, State.LAST_ACK})


class Link(Protocol):
    """Where a runtime's IP packets go and come from.

    ``tso_max`` is the link's segmentation offload: the most TCP payload a
    packet handed to :meth:`send_packets` may carry (the link cuts such a
    :class:`~synack.wire.gso.GsoPacket` at its ``gso_size``); 0 for none.
    """

    tso_max: int

    def attach(self, runtime: Runtime) -> None:
        """Start delivering received packets to ``runtime.receive_packet``."""

    def send_packets(self, packets: Sequence[bytes | GsoPacket], now: int) -> None:
        """Transmit IP packets produced by the endpoint."""

    def next_deadline(self) -> int | None:
        """The link's own next timer (neighbour resolution), if any."""

    def handle_timer(self, now: int) -> None:
        """Fire the link's due timers."""

    def close(self) -> None:
        """Stop reading and release the device."""


class ConnectionHandler(Protocol):
    """Receives the endpoint's events for one connection (a stream transport, a socket).

    A handler that also has a ``close()`` method is closed that way (gracefully)
    by :meth:`Runtime.close`. A handler's ``close_linger`` (seconds, or None; a
    socket's SO_LINGER when on) replaces the runtime's linger for its connection:
    0 resets it at once, N gives it N seconds to deliver before it is reset.
    """

    def on_event(self, event: Event) -> None: ...


class Closable(Protocol):
    """Something :meth:`Runtime.close` closes first (a server's listener)."""

    def close(self) -> None: ...


class LoopAlarm:
    """One loop timer at a deadline in integer microseconds of the loop's clock.

    :meth:`set` moves it only when the deadline changes; at the deadline the
    loop calls ``fire(deadline)``. The runtime (the endpoint's and the link's
    next deadline) and :class:`~synack.api.simnet.SimNetwork` (the simulator's
    next event) each keep one.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fire: Callable[[int], None]) -> None:
        self.loop = loop
        self._fire = fire
        self._handle: asyncio.TimerHandle | None = None
        self.at: int | None = None

    def set(self, deadline: int | None) -> None:
        """Fire at ``deadline`` (None: never), instead of whatever was set before."""
        if deadline == self.at:
            return
        self.cancel()
        self.at = deadline
        if deadline is not None:
            self._handle = self.loop.call_at(deadline / _US, self._run, deadline)

    def cancel(self) -> None:
        """Fire at no time."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.at = None

    def _run(self, deadline: int) -> None:
        self._handle = None
        self.at = None
        self._fire(deadline)


class Runtime:
    """One endpoint, one link, one asyncio loop; see the module docstring."""

    def __init__(
        self,
        endpoint: Endpoint,
        link: Link,
        loop: asyncio.AbstractEventLoop,
        *,
        linger: float = DEFAULT_LINGER,
    ) -> None:
        self.endpoint = endpoint
        self.link = link
        self.loop = loop
        self.handlers: dict[Connection, ConnectionHandler] = {}
        # Port -> callback taking each newly established, not yet accepted connection.
        self.acceptors: dict[int, Callable[[], None]] = {}
        self._alarm = LoopAlarm(loop, self._on_timer)
        self._kick_pending = False
        self.linger = linger
        self._closing = False
        self._closed = False
        self._closed_future: asyncio.Future[None] = loop.create_future()
        self._linger_task: asyncio.Task[None] | None = None
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[bool]]] = []
        # What else closes with the runtime (servers: their listeners).
        self.closables: set[Closable] = set()
        # Local ports that bound sockets hold before they listen or connect.
        self.reserved_ports: Counter[int] = Counter()
        self._port_cursor = int.from_bytes(os.urandom(2), "big")
        self.counters: dict[str, int] = {"pumps": 0, "timer_fired": 0}
        link.attach(self)

    # ------------------------------------------------------------------ time

    def now(self) -> int:
        """The loop's monotonic time in integer microseconds."""
        return round(self.loop.time() * _US)

    # ----------------------------------------------------------------- ports

    def port_in_use(self, port: int, *, reuse: bool = False) -> bool:
        """Whether a bind to ``port`` must fail with EADDRINUSE.

        A listener always holds its port; a bound socket, or any connection
        (TIME-WAIT included), holds it unless ``reuse`` (SO_REUSEADDR).
        """
        if port in self.acceptors:
            return True
        if reuse:
            return False
        if self.reserved_ports[port]:
            return True
        return any(c.local[1] == port for c in self.endpoint.connections())

    def reserve_port(self, port: int, *, reuse: bool = False) -> int:
        """Claim ``port`` for a bound socket (0: a free one from the dynamic range).

        Raises ``OSError(EADDRINUSE)``; :meth:`release_port` gives it back.
        """
        if port == 0:
            port = self.free_port()
        elif not 0 < port < 65536:
            raise OverflowError("bind(): port must be 0-65535.")
        elif self.port_in_use(port, reuse=reuse):
            raise OSError(errno.EADDRINUSE, f"Address already in use (port {port})")
        self.reserved_ports[port] += 1
        return port

    def release_port(self, port: int) -> None:
        """Give back a port from :meth:`reserve_port`."""
        self.reserved_ports[port] -= 1
        if self.reserved_ports[port] <= 0:
            del self.reserved_ports[port]

    def free_port(self) -> int:
        """A port of the dynamic range (RFC 6335 6: 49152-65535) that nothing holds."""
        span = EPHEMERAL_PORTS.stop - EPHEMERAL_PORTS.start
        used = {c.local[1] for c in self.endpoint.connections()}
        for _ in range(span):
            self._port_cursor = (self._port_cursor + 1) % span
            port = EPHEMERAL_PORTS.start + self._port_cursor
            if port not in used and port not in self.acceptors and not self.reserved_ports[port]:
                return port
        raise OSError(errno.EADDRINUSE, "no free port")

    # ---------------------------------------------------------------- inputs

    def receive_packet(self, packet: bytes, now: int) -> None:
        """An IP packet for the endpoint (links call this; then :meth:`pump`)."""
        self.endpoint.receive_packet(packet, now)

    def kick(self) -> None:
        """A user call changed a connection: pump once, soon, in the loop's thread."""
        if not self._kick_pending and not self._closed:
            self._kick_pending = True
            self.loop.call_soon(self._on_kick)

    def abort(self, conn: Connection) -> None:
        """Reset ``conn`` (RST) and pump soon."""
        conn.abort(self.now())
        self.kick()

    def close_connection(self, conn: Connection, *, abandon: bool = False) -> None:
        """CLOSE ``conn`` (FIN after queued data, or delete it in SYN-SENT) and pump soon.

        ``abandon`` when the user has gone (a socket's or transport's close(), not
        a half-close): FIN-WAIT-2 is then bounded by ``Config.fin_wait_2_timeout``
        (see :meth:`Connection.close <synack.tcp.connection.Connection.close>`).
        """
        conn.close(self.now(), abandon=abandon)
        self.kick()

    def _on_kick(self) -> None:
        self._kick_pending = False
        self.pump(self.now())

    def _on_timer(self, deadline: int) -> None:
        # call_at may run a hair before the deadline once rounded to microseconds:
        # the deadline is what fired, so time is at least that.
        now = max(self.now(), deadline)
        self.counters["timer_fired"] += 1
        ep_deadline = self.endpoint.next_deadline()
        if ep_deadline is not None and ep_deadline <= now:
            self.endpoint.handle_timer(now)
        link_deadline = self.link.next_deadline()
        if link_deadline is not None and link_deadline <= now:
            self.link.handle_timer(now)
        self.pump(now)

    # ---------------------------------------------------------------- output

    def pump(self, now: int) -> None:
        """Drain packets to the link and events to handlers, then re-arm the timer."""
        if self._closed:
            return
        self.counters["pumps"] += 1
        endpoint = self.endpoint
        tso_max = self.link.tso_max
        for _ in range(64):
            packets = endpoint.packets_to_send(now, tso_max=tso_max)
            if packets:
                self.link.send_packets(packets, now)
            item = endpoint.next_event()
            if item is None and not packets:
                break
            while item is not None:
                self._dispatch(*item)
                item = endpoint.next_event()
        if self._waiters:
            self._check_waiters()
        self._arm()

    def _check_waiters(self) -> None:
        still: list[tuple[Callable[[], bool], asyncio.Future[bool]]] = []
        for predicate, waiter in self._waiters:
            if waiter.done():
                continue
            if predicate():
                waiter.set_result(True)
            else:
                still.append((predicate, waiter))
        self._waiters = still

    def delivered(self, conn: Connection) -> bool:
        """True once ``conn`` has nothing left to deliver: the peer acknowledged our FIN.

        That is FIN-WAIT-2, TIME-WAIT or CLOSED (RFC 9293 3.6): every octet we
        sent and our FIN are acknowledged. A connection the user has not closed
        is not delivered.
        """
        return conn.state in _DELIVERED

    def all_delivered(self) -> bool:
        """True when every connection of the endpoint is :meth:`delivered`."""
        return all(c.state in _DELIVERED for c in self.endpoint.connections())

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until ``predicate()`` holds after a step of the stack, at most ``timeout`` s.

        Returns False if the time ran out (or the runtime closed) first.
        """
        if predicate():
            return True
        if self._closed:
            return False
        waiter: asyncio.Future[bool] = self.loop.create_future()
        self._waiters.append((predicate, waiter))
        timer = None
        if timeout is not None:
            timer = self.loop.call_later(max(0.0, timeout), _resolve_false, waiter)
        try:
            return await asyncio.shield(waiter)
        finally:
            if timer is not None:
                timer.cancel()
            if not waiter.done():
                waiter.set_result(False)

    async def settle(self, timeout: float | None = None) -> bool:
        """Wait (at most ``timeout`` seconds) until every connection has delivered its data.

        Every connection must reach FIN-WAIT-2, TIME-WAIT or CLOSED, so a
        connection still open keeps it waiting: call this after closing
        connections, to be sure the peer has everything before the program goes
        on. Returns False if the time ran out first. :meth:`close` does this
        itself (bounded by :attr:`linger`).
        """
        return await self.wait_until(self.all_delivered, timeout)

    def _dispatch(self, conn: Connection, event: Event) -> None:
        handler = self.handlers.get(conn)
        if handler is not None:
            handler.on_event(event)
            return
        if isinstance(event, Connected):
            acceptor = self.acceptors.get(conn.local[1])
            if acceptor is not None:
                acceptor()
                return
            # A listener the user closed: nobody will ever read this connection.
            self.abort(conn)

    def _arm(self) -> None:
        deadline = self.endpoint.next_deadline()
        link_deadline = self.link.next_deadline()
        if link_deadline is not None and (deadline is None or link_deadline < deadline):
            deadline = link_deadline
        self._alarm.set(deadline)

    # ------------------------------------------------------------- lifetime

    def close(self, linger: float | None = None) -> None:
        """Close the stack as a process exit closes its sockets on Linux, without losing data.

        Servers stop listening (connections not yet accepted are reset). Every
        open connection is closed: gracefully (FIN after the data already
        written) when its handler can close it and no received data is left
        unread, otherwise with a RST (RFC 1122 4.2.2.13: a CLOSE with received
        data pending SHOULD send a RST). The runtime then lingers until every
        connection has delivered its data and FIN (:meth:`all_delivered`), each
        for at most ``linger`` seconds (default :attr:`linger`,
        :data:`DEFAULT_LINGER`) or its own time when its socket has SO_LINGER on
        (the handler's ``close_linger``: 0 resets that connection at once); a
        connection whose time is up is reset, and when none is left waiting the
        link closes. ``linger=0`` resets everything at once, SO_LINGER or not.

        This returns at once; the lingering runs in the loop. ``await``
        :meth:`wait_closed` (or use :meth:`aclose`) to wait for it. When
        ``asyncio.run()`` ends right after this call, it still waits for the
        lingering to finish: the linger task completes its bounded wait even when
        cancelled at loop shutdown.
        """
        if self._closing:
            return
        self._closing = True
        wait = self.linger if linger is None else linger
        now = self.now()
        start = self.loop.time()
        # Each connection still delivering, and when its time is up.
        deadlines: dict[Connection, float] = {}
        for closable in list(self.closables):
            closable.close()
        for conn in self.endpoint.connections():
            state = conn.state
            if state in _DELIVERED and state is not State.FIN_WAIT_2:
                continue
            handler = self.handlers.get(conn)
            own = getattr(handler, "close_linger", None)  # SO_LINGER, when on
            bound = wait if own is None or wait <= 0 else own
            if bound > 0 and state in _FIN_SENT:
                deadlines[conn] = start + bound  # closed by the user: its FIN is on its way
                continue
            close = getattr(handler, "close", None)
            if (
                bound > 0
                and state in (State.ESTABLISHED, State.CLOSE_WAIT)
                and close is not None
                and not conn.recv_available
            ):
                close()
                deadlines[conn] = start + bound
            elif state is not State.FIN_WAIT_2 or bound <= 0:
                conn.abort(now)
        self.pump(now)
        if _delivered(deadlines):
            self._finish_close()
            return
        self._linger_task = self.loop.create_task(self._linger(deadlines))

    async def _linger(self, deadlines: dict[Connection, float]) -> None:
        """Wait until each connection of ``deadlines`` delivered; reset each one whose time is up."""
        try:
            while not self._closed:
                waiting = {c: d for c, d in deadlines.items() if c.state not in _DELIVERED}
                if not waiting:
                    break
                left = min(waiting.values()) - self.loop.time()
                if left <= 0:
                    now = self.now()
                    for conn, deadline in waiting.items():
                        if deadline - self.loop.time() <= 0:
                            conn.abort(now)
                            del deadlines[conn]
                    self.pump(now)
                    continue
                try:
                    await self.wait_until(functools.partial(_delivered, tuple(waiting)), left)
                except asyncio.CancelledError:
                    # asyncio.run() cancels every task once the program's main
                    # coroutine returns: finish the bounded wait first, as the
                    # kernel goes on sending after a process exits.
                    continue
        finally:
            self._finish_close()

    def _finish_close(self) -> None:
        if self._closed:
            return
        now = self.now()
        for conn in self.endpoint.connections():
            conn.abort(now)
        # Send the RSTs and tell every transport/socket its connection is gone.
        self.pump(now)
        self._closed = True
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(False)
        self._waiters = []
        self._alarm.cancel()
        self.link.close()
        if not self._closed_future.done():
            self._closed_future.set_result(None)

    async def wait_closed(self) -> None:
        """Wait until :meth:`close` has finished lingering and closed the link."""
        await asyncio.shield(self._closed_future)

    async def aclose(self, linger: float | None = None) -> None:
        """:meth:`close`, then :meth:`wait_closed`."""
        self.close(linger)
        await self.wait_closed()

    @property
    def closing(self) -> bool:
        """True once :meth:`close` was called (no new connections or listeners)."""
        return self._closing

    @property
    def closed(self) -> bool:
        """True once the link is closed (after any lingering)."""
        return self._closed


def _delivered(conns: Iterable[Connection]) -> bool:
    """Whether each of ``conns`` has delivered its data and FIN (see :meth:`Runtime.delivered`)."""
    return all(c.state in _DELIVERED for c in conns)


def _resolve_false(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class DeviceLink:
    """A TUN/TAP device plus synack's network interface, read with ``loop.add_reader``.

    ``impair_in`` / ``impair_out`` apply seeded loss, delay and reordering (see
    :mod:`synack.link.impair`) to received frames and to the endpoint's packets;
    delayed ones are released by the runtime's one timer. ``capture`` is called
    with every frame read and written, ``(now, direction, frame)``, for pcap writing.
    """

    def __init__(
        self,
        device: TunTapDevice,
        netif: NetInterface,
        *,
        impair_in: Impairment | None = None,
        impair_out: Impairment | None = None,
        seed: int = 0,
        capture: Callable[[int, str, bytes], None] | None = None,
        batch: int = 128,
    ) -> None:
        self.device = device
        self.netif = netif
        ip_at = 14 if device.kind == "tap" else 0  # where the IP header starts in a frame

        def mark_frame(item: tuple[bytes, bool]) -> tuple[bytes, bool] | None:
            frame, trusted = item
            marked = mark_ce(frame[ip_at:])
            return None if marked is None else (frame[:ip_at] + marked, trusted)

        self.rx_path: ImpairedPath[tuple[bytes, bool]] | None = (
            ImpairedPath(impair_in, seed, mark_frame)
            if impair_in is not None and impair_in.active
            else None
        )
        self.tx_path: ImpairedPath[bytes] | None = (
            ImpairedPath(impair_out, seed + 1, mark_ce)
            if impair_out is not None and impair_out.active
            else None
        )
        self.capture = capture
        self.batch = batch
        # Merge bursts of segments into super-segments when the device does TSO.
        self.gso = device.tso
        # ... and let the core build them itself (an impairment must see
        # wire-sized packets, so then it may not).
        self.tso_max = MAX_TSO if device.tso and self.tx_path is None else 0
        self._runtime: Runtime | None = None
        self._ethernet = device.kind == "tap"

    def attach(self, runtime: Runtime) -> None:
        self._runtime = runtime
        runtime.loop.add_reader(self.device.fd, self._on_readable)

    def _on_readable(self) -> None:
        runtime = self._runtime
        if runtime is None:
            return
        now = runtime.now()
        read = self.device.read_trusted
        capture = self.capture
        rx_path = self.rx_path
        for _ in range(self.batch):
            got = read()
            if got is None:
                break
            frame, trusted = got
            if capture is not None:
                capture(now, "in", frame)
            if rx_path is None:
                self._receive(frame, now, trusted)
            else:
                for f in rx_path.offer(got, now):
                    self._receive(f[0], now, f[1])
        self._flush()
        runtime.pump(now)

    def _receive(self, frame: bytes, now: int, trusted: bool = False) -> None:
        if self._ethernet:
            self.netif.receive_frame(frame, now, checksum_trusted=trusted)
        else:
            self.netif.receive_ip(frame, now, checksum_trusted=trusted)

    def send_packets(self, packets: Sequence[bytes | GsoPacket], now: int) -> None:
        send_ip = self.netif.send_ip
        tx_path = self.tx_path
        for packet in packets:
            if tx_path is None:
                send_ip(packet, now)
                continue
            if isinstance(packet, GsoPacket):
                raise ValueError("an impaired link takes wire-sized packets (its tso_max is 0)")
            for p in tx_path.offer(packet, now):
                send_ip(p, now)
        self._flush()

    def _flush(self) -> None:
        frames = self.netif.frames_to_send()
        if not frames:
            return
        write = self.device.write
        capture = self.capture
        now = self._runtime.now() if capture is not None and self._runtime is not None else 0
        if self.gso:
            for header, data, gso_size in coalesce(frames):
                if capture is not None:
                    capture(now, "out", header + data)
                write(header, data, gso_size)
            return
        for header, packet in frames:
            # Without TSO the device takes wire-sized packets only (tso_max is 0,
            # so the endpoint made none larger; cut one that came anyway).
            pieces = packet.segments() if isinstance(packet, GsoPacket) else (packet,)
            for piece in pieces:
                if capture is not None:
                    capture(now, "out", header + piece)
                write(header, piece)

    def next_deadline(self) -> int | None:
        deadlines = [
            d for d in (self.netif.next_deadline(), *self._path_deadlines()) if d is not None
        ]
        return min(deadlines) if deadlines else None

    def _path_deadlines(self) -> list[int | None]:
        return [p.next_deadline() for p in (self.rx_path, self.tx_path) if p is not None]

    def handle_timer(self, now: int) -> None:
        if self.rx_path is not None:
            for frame, trusted in self.rx_path.due(now):
                self._receive(frame, now, trusted)
        if self.tx_path is not None:
            for packet in self.tx_path.due(now):
                self.netif.send_ip(packet, now)
        deadline = self.netif.next_deadline()
        if deadline is not None and deadline <= now:
            self.netif.handle_timer(now)
        self._flush()

    def close(self) -> None:
        if self._runtime is not None and not self.device.closed:
            self._runtime.loop.remove_reader(self.device.fd)
        self.device.close()


class PairLink:
    """One end of an in-process wire between two runtimes on the same loop.

    Packets are delivered with ``loop.call_soon`` (no delay, no loss unless
    ``drop`` says so); useful to exercise the APIs without a TAP device.
    """

    tso_max = 0  # wire-sized packets only

    def __init__(self, drop: Callable[[bytes], bool] | None = None) -> None:
        self.peer: PairLink | None = None
        self.drop = drop
        self._runtime: Runtime | None = None

    @staticmethod
    def pair() -> tuple[PairLink, PairLink]:
        a, b = PairLink(), PairLink()
        a.peer, b.peer = b, a
        return a, b

    def attach(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def send_packets(self, packets: Sequence[bytes | GsoPacket], now: int) -> None:
        peer = self.peer
        if peer is None or peer._runtime is None:
            return
        target = peer._runtime
        for packet in packets:
            if isinstance(packet, GsoPacket):
                raise ValueError("a PairLink takes wire-sized packets (its tso_max is 0)")
            if self.drop is not None and self.drop(packet):
                continue
            target.loop.call_soon(peer._deliver, packet)

    def _deliver(self, packet: bytes) -> None:
        runtime = self._runtime
        if runtime is None or runtime.closed:
            return
        now = runtime.now()
        runtime.receive_packet(packet, now)
        runtime.pump(now)

    def next_deadline(self) -> int | None:
        return None

    def handle_timer(self, now: int) -> None:
        return None

    def close(self) -> None:
        self._runtime = None


def tap_config(mtu: int = 1500, buffer: int = 4 << 20, **changes: Any) -> Config:
    """The :class:`Config` :func:`open_tap_runtime` uses unless given one.

    The MSS follows the link's ``mtu``; both buffers are ``buffer`` octets.
    ``changes`` are further settings, e.g. ``ecn=True`` (what the CLI's
    ``--ecn`` passes).
    """
    return Config(mss=mtu - 40, send_buffer=buffer, recv_buffer=buffer, **changes)


def open_tap_runtime(
    *,
    tap: str,
    addrs: Sequence[str],
    loop: asyncio.AbstractEventLoop,
    netns: str | None = None,
    gateways: Sequence[str] = (),
    offloads: bool = DEFAULT_OFFLOADS,
    mtu: int = 1500,
    kind: str = "tap",
    config: Config | None = None,
    tracer: Tracer | None = None,
    impair_in: Impairment | None = None,
    impair_out: Impairment | None = None,
    seed: int = 0,
    capture: Callable[[int, str, bytes], None] | None = None,
    isn_secret: bytes | None = None,
    name: str = "synack",
    buffer: int = 4 << 20,
) -> Runtime:
    """Open (or create) a TAP/TUN device and run an endpoint with ``addrs`` behind it.

    ``addrs`` are interface addresses such as ``"10.0.0.5/24"``. ``offloads``
    (default :data:`~synack.link.device.DEFAULT_OFFLOADS`, shared with the CLI)
    opens the device with virtio-net headers and sets its offloads to what synack
    handles; ``offloads=False`` turns them off on the device. Unless ``config``
    is given, the endpoint's MSS comes from ``mtu``, both buffers are ``buffer``
    octets (4 MB: a TAP link's bandwidth-delay product at a few hundred MB/s and
    a millisecond, near what Linux's buffer autotuning reaches). When the device
    accepted TSO, the link asks the core for segments of up to 64 KB
    (``DeviceLink.tso_max``) that the kernel cuts at the MSS.
    """
    ifaces = [ipaddress.ip_interface(a) for a in addrs]
    # Impairing received packets one by one only makes sense for wire-sized packets:
    # keep checksum offload but not the kernel's 64 KB super-segments.
    tso = impair_in is None or not impair_in.active
    device = TunTapDevice(
        tap,
        kind="tun" if kind == "tun" else "tap",
        offloads=offloads,
        tso=tso,
        mtu=mtu,
        netns=netns,
    )
    try:
        if config is None:
            config = tap_config(mtu, buffer)
        endpoint = Endpoint(
            [str(i.ip) for i in ifaces],
            config=config,
            tracer=tracer,
            isn_secret=isn_secret,
            name=name,
        )
        netif = NetInterface(
            endpoint,
            ifaces,
            gateways=gateways,
            ethernet=device.kind == "tap",
            mtu=mtu,
            tracer=tracer,
            name=name,
        )
        link = DeviceLink(
            device, netif, impair_in=impair_in, impair_out=impair_out, seed=seed, capture=capture
        )
        return Runtime(endpoint, link, loop)
    except BaseException:
        device.close()
        raise

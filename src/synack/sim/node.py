"""Nodes of the simulated network: a host driving one sans-I/O endpoint, and a router.

A :class:`HostNode` drives anything with the endpoint interface
(``receive_packet`` / ``packets_to_send`` / ``next_deadline`` / ``handle_timer``)
exactly as ENDPOINT_API prescribes: after every input it lets the application
act, drains the packets to send onto its links, and re-arms its timer from
``next_deadline()``. Timers are armed lazily: a later deadline does not push a
new heap entry until the earlier one fires, so an RTO that moves forward on every
ACK costs one heap entry per expiry, not one per ACK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from synack.sim.engine import SimulationError, Simulator
from synack.sim.link import Link
from synack.wire.gso import GsoPacket
from synack.wire.ip import ip_destination, str_to_addr

__all__ = ["App", "HostNode", "Router", "SansIOHost", "to_addr"]

App = Callable[[int], None]
"""An application on a host, run as ``app(now)`` after every input to the endpoint."""

_MAX_SPINS = 1000
_NO_GSO = (
    "a host handed the simulator a GsoPacket: simulated links carry wire-sized "
    "packets (cut it with GsoPacket.segments(), or ask the core for none)"
)


class SansIOHost(Protocol):
    """The part of the core's Endpoint that the simulator drives."""

    def receive_packet(self, packet: bytes, now: int) -> None: ...

    def packets_to_send(self, now: int) -> Sequence[bytes | GsoPacket]: ...

    def next_deadline(self) -> int | None: ...

    def handle_timer(self, now: int) -> None: ...


def to_addr(addr: str | bytes) -> bytes:
    """A packed IPv4/IPv6 address from text or packed bytes."""
    return addr if isinstance(addr, bytes) else str_to_addr(addr)


class _Routing:
    """A destination-address routing table with a default route."""

    name: str

    def __init__(self) -> None:
        self.routes: dict[bytes, Link] = {}
        self.default: Link | None = None
        self.drops: dict[str, int] = {}

    def add_route(self, addr: str | bytes, link: Link) -> None:
        """Send packets for ``addr`` on ``link``."""
        self.routes[to_addr(addr)] = link

    def route(self, packet: bytes) -> Link | None:
        """The link for ``packet``: a host route, else the default route."""
        if self.routes:
            dst = ip_destination(packet)
            if dst is not None:
                link = self.routes.get(dst)
                if link is not None:
                    return link
        return self.default

    def forward(self, packet: bytes, now: int) -> None:
        link = self.route(packet)
        if link is None:
            self.drops["no_route"] = self.drops.get("no_route", 0) + 1
            return
        link.send(packet, now)


class HostNode(_Routing):
    """A host on the simulated network, driving one sans-I/O endpoint.

    ``app(now)`` (optional) runs after each input: it drains the endpoint's
    events and makes user calls. Without an app, events are drained and
    discarded so they do not pile up.
    """

    def __init__(
        self,
        sim: Simulator,
        endpoint: SansIOHost,
        *,
        name: str,
        addresses: Iterable[str | bytes] = (),
        app: App | None = None,
    ) -> None:
        super().__init__()
        self.sim = sim
        self.endpoint = endpoint
        self.name = name
        self.addresses = [to_addr(a) for a in addresses]
        self.app = app
        self.packets_out = 0
        self.packets_in = 0
        self._armed: int | None = None
        self._spins = 0
        self._spin_time = -1
        drain = getattr(endpoint, "next_event", None)
        self._discard: Callable[[], object] | None = drain if callable(drain) else None

    # ------------------------------------------------------------- inputs
    def deliver(self, packet: bytes, now: int) -> None:
        """A packet arrives from a link."""
        self.packets_in += 1
        self.endpoint.receive_packet(packet, now)
        self.step(now)

    def call(self, t: int, fn: Callable[[int], object]) -> None:
        """At virtual time ``t`` run ``fn(now)`` (a user call), then step the host."""

        def run(now: int) -> None:
            fn(now)
            self.step(now)

        self.sim.at(t, run)

    def step(self, now: int) -> None:
        """Let the app act, send what the endpoint has queued, re-arm the timer."""
        app = self.app
        if app is not None:
            app(now)
        elif self._discard is not None:
            discard = self._discard
            while discard() is not None:
                pass
        ep = self.endpoint
        # The simulated links carry wire-sized packets: no segmentation offload.
        packets = ep.packets_to_send(now)
        if packets:
            self.packets_out += len(packets)
            default = self.default
            if self.routes or default is None:
                for p in packets:
                    if type(p) is GsoPacket:
                        raise SimulationError(_NO_GSO)
                    self.forward(p, now)
            else:
                send = default.send
                for p in packets:
                    if type(p) is GsoPacket:
                        raise SimulationError(_NO_GSO)
                    send(p, now)
        d = ep.next_deadline()
        if d is not None:
            armed = self._armed
            if armed is None or d < armed:
                self._armed = d
                self.sim.schedule(d if d > now else now, self._on_timer, d)

    def _on_timer(self, deadline: int, now: int) -> None:
        if deadline != self._armed:
            return  # an earlier deadline replaced this entry
        self._armed = None
        real = self.endpoint.next_deadline()
        if real is None:
            return
        if real > now:
            self._armed = real
            self.sim.schedule(real, self._on_timer, real)
            return
        if now == self._spin_time:
            self._spins += 1
            if self._spins > _MAX_SPINS:
                raise SimulationError(
                    f"{self.name}: next_deadline() stays at {real} us after handle_timer({now})"
                )
        else:
            self._spin_time = now
            self._spins = 0
        self.endpoint.handle_timer(now)
        self.step(now)


class Router(_Routing):
    """Forwards each packet by destination address, unchanged (TTL included)."""

    def __init__(self, name: str = "router") -> None:
        super().__init__()
        self.name = name
        self.packets_forwarded = 0

    def deliver(self, packet: bytes, now: int) -> None:
        """A packet arrives from a link: send it on towards its destination."""
        self.packets_forwarded += 1
        self.forward(packet, now)

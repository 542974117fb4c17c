"""The asyncio APIs over the simulator: runtimes on a virtual-time loop joined by simulated links.

:class:`SimNetwork` keeps a :class:`~synack.sim.engine.Simulator` in step with a
:class:`~synack.api.vtime.VirtualTimeLoop` (one clock: the loop's time, in
integer microseconds) and gives each host a :class:`SimLink`, so application
code written against :mod:`synack.api.aio` (or any asyncio protocol) runs over
links with delay, bandwidth, queues, loss, reordering or corruption
(:class:`~synack.sim.link.LinkConfig`), deterministically and faster than real time::

    loop = VirtualTimeLoop()
    net = SimNetwork(loop)
    client, server = net.two_hosts("10.0.0.1", "10.0.0.2", LinkConfig(delay=10_000, loss=0.01))
    loop.run_until_complete(main(client, server))   # main uses aio.open_connection(runtime=client)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from synack.api.runtime import LoopAlarm, Runtime
from synack.sim.engine import Simulator
from synack.sim.link import Link, LinkConfig
from synack.tcp.config import Config
from synack.tcp.endpoint import Endpoint
from synack.wire.gso import GsoPacket

__all__ = ["SimLink", "SimNetwork"]

_US = 1_000_000


class SimNetwork:
    """A simulator driven by an asyncio loop's (virtual) clock."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, seed: int = 0) -> None:
        self.loop = loop
        self.sim = Simulator()
        self.seed = seed
        self._alarm = LoopAlarm(loop, self.run_due)
        self.links: dict[str, Link] = {}

    def now(self) -> int:
        return round(self.loop.time() * _US)

    def run_due(self, scheduled: int) -> None:
        """Run every simulator event up to the loop's present, then re-arm."""
        # The loop may wake a hair before ``scheduled`` once rounded: that is the time.
        now = max(self.now(), self.sim.now, scheduled)
        self.sim.run(until=now)
        self.arm()

    def arm(self) -> None:
        """Make sure the loop wakes for the simulator's next event."""
        self._alarm.set(self.sim.next_time())

    def host(
        self, address: str, *, config: Config | None = None, name: str | None = None
    ) -> tuple[Runtime, SimLink]:
        """A runtime for a new host with ``address`` (its link is connected by :meth:`connect`)."""
        label = name or address
        endpoint = Endpoint(
            [address],
            config=config,
            isn_secret=f"{label}-{self.seed}".encode().ljust(32, b"."),
            port_seed=self.seed,
            name=label,
        )
        link = SimLink(self, label)
        return Runtime(endpoint, link, self.loop), link

    def connect(self, a: SimLink, b: SimLink, ab: LinkConfig, ba: LinkConfig | None = None) -> None:
        """Join two hosts with a simulated link in each direction."""
        forward = Link(self.sim, b, ab, name=f"{a.name}->{b.name}", seed=self.seed)
        backward = Link(self.sim, a, ba or ab, name=f"{b.name}->{a.name}", seed=self.seed)
        a.out = forward
        b.out = backward
        self.links[forward.name] = forward
        self.links[backward.name] = backward

    def two_hosts(
        self,
        a: str,
        b: str,
        ab: LinkConfig | None = None,
        ba: LinkConfig | None = None,
        *,
        config: Config | None = None,
    ) -> tuple[Runtime, Runtime]:
        """Two hosts joined by links: returns their runtimes (for ``runtime=`` arguments)."""
        ra, la = self.host(a, config=config)
        rb, lb = self.host(b, config=config)
        self.connect(la, lb, ab or LinkConfig(), ba)
        return ra, rb


class SimLink:
    """A runtime's link into the simulator (and the simulator's node for that host)."""

    tso_max = 0  # the simulated links carry wire-sized packets

    def __init__(self, network: SimNetwork, name: str) -> None:
        self.network = network
        self.name = name
        self.out: Link | None = None
        self._runtime: Runtime | None = None

    # Link (for the runtime)
    def attach(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def send_packets(self, packets: Sequence[bytes | GsoPacket], now: int) -> None:
        net = self.network
        out = self.out
        if out is None:
            return
        if net.sim.now < now:
            net.sim.run(until=now)
        for packet in packets:
            if isinstance(packet, GsoPacket):
                raise ValueError("the simulator takes wire-sized packets (tso_max is 0)")
            out.send(packet, net.sim.now)
        net.arm()

    def next_deadline(self) -> int | None:
        return None

    def handle_timer(self, now: int) -> None:
        return None

    def close(self) -> None:
        self._runtime = None

    # Node (for the simulator's links)
    def deliver(self, packet: bytes, now: int) -> None:
        runtime = self._runtime
        if runtime is None or runtime.closed:
            return
        runtime.receive_packet(packet, now)
        runtime.pump(now)

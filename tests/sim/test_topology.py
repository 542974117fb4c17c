"""Topologies: two hosts, and N senders through one bottleneck router."""

from __future__ import annotations

from synack.sim import HostSpec, LinkConfig, Simulator, dumbbell
from synack.sim.scripted import ScriptedHost
from synack.wire.ip import parse_tcp_packet
from tests.sim.helpers import queue_at, tcp_packet


def test_router_forwards_by_destination_and_the_bottleneck_serializes() -> None:
    sim = Simulator()
    senders = [ScriptedHost(f"s{i}") for i in range(3)]
    receiver = ScriptedHost("r")
    net = dumbbell(
        sim,
        [HostSpec(h, h.name, (f"10.1.0.{i + 1}",)) for i, h in enumerate(senders)],
        HostSpec(receiver, "r", ("10.2.0.1",)),
        access=LinkConfig(delay=1_000),
        bottleneck=LinkConfig(delay=10_000, bandwidth=12_000_000),
        reverse=LinkConfig(delay=10_000),
    )
    for i, (node, host) in enumerate(zip(net.senders, senders, strict=True)):
        packet = tcp_packet(i, src=f"10.1.0.{i + 1}", dst="10.2.0.1", payload=bytes(1460))
        queue_at(node, host, 0, packet)
    sim.run()
    # All three reach the router at 1000 us and leave one after another.
    assert [t for t, _ in receiver.received] == [12_000, 13_000, 14_000]
    assert [parse_tcp_packet(p)[1].seq for _, p in receiver.received] == [0, 1, 2]

    # The answers go back to the right sender.
    for i in range(3):
        answer = tcp_packet(100 + i, src="10.2.0.1", dst=f"10.1.0.{i + 1}")
        queue_at(net.receiver, receiver, 20_000, answer)
    sim.run()
    for i, host in enumerate(senders):
        assert [parse_tcp_packet(p)[1].seq for _, p in host.received] == [100 + i]
        assert host.received[0][0] == 20_000 + 10_000 + 1_000


def test_router_drops_packets_for_unknown_destinations() -> None:
    sim = Simulator()
    s = ScriptedHost("s")
    r = ScriptedHost("r")
    net = dumbbell(sim, [HostSpec(s, "s", ("10.1.0.1",))], HostSpec(r, "r", ("10.2.0.1",)))
    net.senders[0].call(0, lambda now: s.queue(tcp_packet(1, src="10.1.0.1", dst="10.9.9.9")))
    sim.run()
    assert r.received == []
    assert net.router.drops == {"no_route": 1}


def test_network_drops_sums_every_link() -> None:
    sim = Simulator()
    s = ScriptedHost("s")
    r = ScriptedHost("r")
    net = dumbbell(
        sim,
        [HostSpec(s, "s", ("10.1.0.1",))],
        HostSpec(r, "r", ("10.2.0.1",)),
        access=LinkConfig(periodic_loss=2),
        bottleneck=LinkConfig(periodic_loss=3),
    )
    for i in range(12):
        queue_at(net.senders[0], s, i, tcp_packet(i, src="10.1.0.1", dst="10.2.0.1"))
    sim.run()
    assert net.drops() == {"periodic_loss": 6 + 2}
    assert len(r.received) == 4

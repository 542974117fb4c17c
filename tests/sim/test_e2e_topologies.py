"""Real TCP over the other topologies: IPv6 on two hosts, and several senders
sharing one bottleneck router."""

from __future__ import annotations

from synack.sim import HostSpec, LinkConfig, Simulator, dumbbell, two_hosts
from synack.sim.apps import BulkSender, Sink
from synack.sim.scenario import endpoint_secret
from synack.tcp.endpoint import Endpoint
from synack.trace import Ladder


def test_an_ipv6_transfer_is_verified_and_the_ladder_brackets_addresses() -> None:
    client = Endpoint(["fd00::1"], isn_secret=endpoint_secret(0, "c"), port_seed=0, name="c")
    server = Endpoint(["fd00::5"], isn_secret=endpoint_secret(0, "s"), port_seed=0, name="s")
    sender = BulkSender(client, "fd00::5", 443, 300_000, seed=9)
    sink = Sink(server, 443)
    sim = Simulator()
    net = two_hosts(
        sim,
        HostSpec(client, "c", ("fd00::1",), sender),
        HostSpec(server, "s", ("fd00::5",), sink),
        LinkConfig(delay=2_000, loss=0.01),
        seed=2,
    )
    ladder = Ladder(ports="all", timestamps=False)
    net.observe(ladder.observe, ["c->s"])
    net.a.call(0, sender.start)
    sim.run()
    (digest,) = sink.digests.values()
    assert digest.digest() == sender.source.sha256.digest()
    assert sink.total_received == 300_000
    assert ladder.lines[0].startswith("[fd00::1]:")
    assert " -> [fd00::5]:443   [SYN] Seq=" in ladder.lines[0]


def test_three_senders_share_a_bottleneck_and_all_deliver_verified_data() -> None:
    sim = Simulator()
    receiver = Endpoint(["10.2.0.1"], isn_secret=endpoint_secret(0, "r"), port_seed=0, name="r")
    sink = Sink(receiver, 5001)
    specs, senders = [], []
    for i in range(3):
        addr = f"10.1.0.{i + 1}"
        ep = Endpoint([addr], isn_secret=endpoint_secret(i, "s"), port_seed=i, name=f"s{i}")
        app = BulkSender(ep, "10.2.0.1", 5001, 1_000_000, seed=i)
        senders.append(app)
        specs.append(HostSpec(ep, f"s{i}", (addr,), app))
    net = dumbbell(
        sim,
        specs,
        HostSpec(receiver, "r", ("10.2.0.1",), sink),
        access=LinkConfig(delay=1_000, bandwidth=100_000_000),
        bottleneck=LinkConfig(delay=10_000, bandwidth=10_000_000, queue_packets=30),
        reverse=LinkConfig(delay=10_000),
        seed=4,
    )
    for node, app in zip(net.senders, senders, strict=True):
        node.call(0, app.start)
    sim.run()
    assert net.bottleneck.drops.get("queue_full", 0) > 0
    by_port = {c.remote: c for c in sink.received}
    for app in senders:
        assert app.conn is not None
        conn = by_port[app.conn.local]
        assert sink.received[conn] == 1_000_000
        assert sink.digests[conn].digest() == app.source.sha256.digest()
    assert net.router.packets_forwarded > 3 * 685

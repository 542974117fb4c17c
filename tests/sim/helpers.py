"""Packets and small networks shared by the simulator's tests."""

from __future__ import annotations

from synack.sim import HostNode, HostSpec, LinkConfig, Simulator, TwoHosts, two_hosts
from synack.sim.scripted import ScriptedHost
from synack.wire.ip import emit_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, Segment

CLIENT = "192.168.1.100"
SERVER = "10.0.0.5"


def tcp_packet(
    seq: int,
    flags: int = ACK,
    payload: bytes = b"",
    *,
    src: str = CLIENT,
    dst: str = SERVER,
    sport: int = 40000,
    dport: int = 80,
    ack: int = 0,
) -> bytes:
    """An IPv4 packet carrying one TCP segment with a correct checksum."""
    seg = Segment(sport, dport, seq, ack, flags, 65535, payload=payload)
    return emit_tcp_packet(str_to_addr(src), str_to_addr(dst), seg)


def sized_packet(size: int, seq: int = 0) -> bytes:
    """A valid TCP/IPv4 packet of exactly ``size`` bytes (size >= 40)."""
    return tcp_packet(seq, payload=bytes(size - 40))


def scripted_pair(
    ab: LinkConfig | None = None, ba: LinkConfig | None = None, seed: int = 0
) -> tuple[Simulator, TwoHosts, ScriptedHost, ScriptedHost]:
    """Two scripted hosts joined by a link each way."""
    sim = Simulator()
    a = ScriptedHost("a")
    b = ScriptedHost("b")
    net = two_hosts(
        sim, HostSpec(a, "a", (CLIENT,)), HostSpec(b, "b", (SERVER,)), ab, ba, seed=seed
    )
    return sim, net, a, b


def send_all(
    sim: Simulator, net: TwoHosts, host: ScriptedHost, packets: list[bytes], t: int = 0
) -> None:
    """Have ``host`` (on side a) send ``packets`` together at time ``t``."""
    node = net.a if host.name == "a" else net.b

    def go(now: int) -> None:
        for p in packets:
            host.queue(p)

    node.call(t, go)


def queue_at(node: HostNode, host: ScriptedHost, t: int, packet: bytes) -> None:
    """Have ``host`` (driven by ``node``) send ``packet`` at time ``t``."""
    node.call(t, lambda now: host.queue(packet))

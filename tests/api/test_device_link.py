"""DeviceLink's transmit path: the core's super-segments reach the device whole, or cut when they must be."""

from __future__ import annotations

from synack.api.runtime import DeviceLink
from synack.link.device import TunTapDevice
from synack.link.gso import segment
from synack.link.impair import Impairment
from synack.link.netif import NetInterface
from synack.tcp.endpoint import Endpoint
from synack.wire.ip import GsoPacket, emit_tcp_packets
from synack.wire.tcp import ACK, Segment

MSS = 1000
SRC, DST = bytes([10, 0, 0, 5]), bytes([10, 0, 0, 1])


class FakeDevice:
    """Records what a TUN device would be asked to write."""

    kind = "tun"
    fd = -1
    closed = False

    def __init__(self, tso: bool) -> None:
        self.tso = tso
        self.written: list[tuple[bytes, int]] = []

    def write(self, header: bytes, packet: bytes, gso_size: int = 0) -> None:
        self.written.append((packet, gso_size))

    def close(self) -> None:
        self.closed = True


def _super_segment() -> GsoPacket:
    out: list[bytes] = []
    seg = Segment(80, 40000, 5000, 1, ACK, 500, payload=b"t" * 5 * MSS)
    emit_tcp_packets(SRC, DST, [seg], out, gso_size=MSS)
    packet = out[0]
    assert isinstance(packet, GsoPacket)
    return packet


def _link(tso: bool, impair_out: Impairment | None = None) -> tuple[DeviceLink, FakeDevice]:
    device = FakeDevice(tso)
    netif = NetInterface(Endpoint([SRC]), ["10.0.0.5/24"], ethernet=False)
    dev: TunTapDevice = device  # type: ignore[assignment]
    link = DeviceLink(dev, netif, impair_out=impair_out)
    return link, device


def test_a_tso_device_gets_the_super_segment_with_its_gso_size() -> None:
    link, device = _link(tso=True)
    packet = _super_segment()
    link.send_packets([packet], 0)
    assert device.written == [(packet, MSS)]


def test_super_segments_are_cut_for_a_device_without_tso() -> None:
    link, device = _link(tso=False)
    packet = _super_segment()
    link.send_packets([packet], 0)
    assert device.written == [(p, 0) for p in segment(packet)]


def test_an_impaired_path_sees_wire_sized_segments() -> None:
    # Impairments act on wire-sized packets: a loss takes one segment, not 64 KB.
    link, device = _link(tso=True, impair_out=Impairment(delay_us=10))
    packet = _super_segment()
    link.send_packets([packet], 0)
    assert link.tx_path is not None and link.tx_path.counters["delayed"] == 5
    link.handle_timer(10)
    # Released together, the link merges them again for the device.
    ((merged, gso_size),) = device.written
    assert gso_size == MSS
    assert segment(GsoPacket(merged, MSS)) == segment(packet)

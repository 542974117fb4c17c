"""DeviceLink's transmit path: its segmentation offload, and the core's super-segments reaching the device."""

from __future__ import annotations

import pytest

from synack.api.runtime import DeviceLink
from synack.link.device import TunTapDevice
from synack.link.impair import Impairment
from synack.link.netif import NetInterface
from synack.tcp.endpoint import Endpoint
from synack.wire.gso import GsoPacket, emit_gso_packet
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
    seg = Segment(80, 40000, 5000, 1, ACK, 500, payload=b"t" * 5 * MSS)
    return emit_gso_packet(SRC, DST, seg, MSS)


def _link(tso: bool, impair_out: Impairment | None = None) -> tuple[DeviceLink, FakeDevice]:
    device = FakeDevice(tso)
    netif = NetInterface(Endpoint([SRC]), ["10.0.0.5/24"], ethernet=False)
    dev: TunTapDevice = device  # type: ignore[assignment]
    link = DeviceLink(dev, netif, impair_out=impair_out)
    return link, device


def test_a_tso_device_asks_for_super_segments_and_gets_them_with_their_gso_size() -> None:
    link, device = _link(tso=True)
    # The most payload in a 64 KB IP packet after 20 + 60 header octets (RFC 791).
    assert link.tso_max == 65535 - 80
    packet = _super_segment()
    link.send_packets([packet], 0)
    assert device.written == [(packet.packet, MSS)]


def test_a_device_without_tso_asks_for_none_and_cuts_any_it_gets() -> None:
    link, device = _link(tso=False)
    assert link.tso_max == 0
    packet = _super_segment()
    link.send_packets([packet], 0)
    assert device.written == [(p, 0) for p in packet.segments()]


def test_an_impaired_path_asks_for_wire_sized_segments_and_refuses_others() -> None:
    # Impairments act on wire-sized packets: a loss takes one segment, not 64 KB.
    link, device = _link(tso=True, impair_out=Impairment(delay_us=10))
    assert link.tso_max == 0
    packet = _super_segment()
    with pytest.raises(ValueError, match="wire-sized"):
        link.send_packets([packet], 0)
    link.send_packets(packet.segments(), 0)
    assert link.tx_path is not None and link.tx_path.counters["delayed"] == 5
    link.handle_timer(10)
    # Released together, the link merges them again for the device.
    ((merged, gso_size),) = device.written
    assert gso_size == MSS
    assert GsoPacket(merged, MSS).segments() == packet.segments()

"""virtio-net header helpers (GSO, partial checksums) and the seeded impairment path."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6

from synack.link.device import (
    VIRTIO_NET_HDR_GSO_TCPV4,
    VIRTIO_NET_HDR_GSO_TCPV6,
    VnetHeader,
    complete_checksum,
    tx_vnet_header,
)
from synack.link.impair import ImpairedPath, Impairment
from synack.wire.checksum import ones_sum
from synack.wire.ip import parse_tcp_packet, pseudo_sum


def test_small_packets_and_disabled_tso_get_an_empty_header() -> None:
    small = bytes(IP(src="10.0.0.5", dst="10.0.0.1") / TCP() / (b"x" * 100))
    assert tx_vnet_header(14, small, 1500, tso=True) == bytes(10)
    big = bytes(IP(src="10.0.0.5", dst="10.0.0.1") / TCP() / (b"x" * 3000))
    assert tx_vnet_header(14, big, 1500, tso=False) == bytes(10)


def test_large_tcp_packets_become_gso_super_segments() -> None:
    big4 = bytes(
        IP(src="10.0.0.5", dst="10.0.0.1") / TCP(options=[("NOP", None)] * 12) / (b"x" * 5000)
    )
    hdr = VnetHeader.parse(tx_vnet_header(14, big4, 1500, tso=True))
    assert hdr.gso_type == VIRTIO_NET_HDR_GSO_TCPV4
    assert hdr.hdr_len == 14 + 20 + 32
    assert hdr.gso_size == 1500 - 20 - 32
    big6 = bytes(IPv6(src="fd00::5", dst="fd00::1") / TCP() / (b"x" * 5000))
    hdr6 = VnetHeader.parse(tx_vnet_header(14, big6, 1500, tso=True))
    assert (hdr6.gso_type, hdr6.hdr_len, hdr6.gso_size) == (VIRTIO_NET_HDR_GSO_TCPV6, 14 + 60, 1440)


def test_completing_a_partial_checksum_gives_a_valid_segment() -> None:
    packet = bytearray(
        bytes(IP(src="10.0.0.1", dst="10.0.0.5") / TCP(sport=80, dport=4000) / (b"data" * 999))
    )
    tcp_len = len(packet) - 20
    # What the kernel hands over with VIRTIO_NET_HDR_F_NEEDS_CSUM: the field holds
    # the folded pseudo-header sum, and csum_start/offset say where to finish.
    partial = pseudo_sum(bytes(packet[12:16]), bytes(packet[16:20]), tcp_len)
    packet[36:38] = partial.to_bytes(2, "big")
    with pytest.raises(Exception, match="checksum"):
        parse_tcp_packet(bytes(packet))
    complete_checksum(packet, 20, 16)
    _ip, seg = parse_tcp_packet(bytes(packet))
    assert seg.payload == b"data" * 999
    assert (
        ones_sum(
            memoryview(packet)[20:], pseudo_sum(bytes(packet[12:16]), bytes(packet[16:20]), tcp_len)
        )
        == 0xFFFF
    )


def test_impairment_spec_parsing() -> None:
    imp = Impairment.parse("loss=2%, delay=10ms, jitter=500us, reorder=0.1")
    assert imp == Impairment(loss=0.02, delay_us=10_000, jitter_us=500, reorder=0.1)
    assert Impairment.parse("delay=1.5").delay_us == 1500  # netem: bare numbers are ms
    with pytest.raises(ValueError, match="unknown"):
        Impairment.parse("duplicate=1%")
    with pytest.raises(ValueError, match="loss"):
        Impairment.parse("loss=120%")


def test_impaired_path_is_seeded_and_netem_like() -> None:
    def run(seed: int) -> tuple[list[int], dict[str, int]]:
        path: ImpairedPath[int] = ImpairedPath(
            Impairment(loss=0.1, delay_us=10_000, reorder=0.2), seed
        )
        out: list[int] = []
        for i in range(1000):
            now = i * 100
            out += path.due(now)
            out += path.offer(i, now)
        out += path.due(10**9)
        return out, path.counters

    out, counters = run(3)
    assert (out, counters) == run(3)
    assert counters["lost"] + len(out) == 1000
    assert 60 < counters["lost"] < 140
    assert 120 < counters["reordered"] < 280
    assert out != sorted(out)  # reordered ones overtook delayed ones
    assert sorted(out) == sorted(set(out))


def test_delay_line_releases_exactly_at_the_deadline() -> None:
    path: ImpairedPath[str] = ImpairedPath(Impairment(delay_us=10_000), 1)
    assert path.offer("a", 5) == []
    assert path.next_deadline() == 10_005
    assert path.due(10_004) == []
    assert path.due(10_005) == ["a"]
    assert path.next_deadline() is None

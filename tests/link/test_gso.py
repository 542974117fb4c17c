"""Transmit-side GSO: super-segments (merged by the link or built by the core) cut back exactly."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6

from synack.link.gso import coalesce
from synack.wire.checksum import ones_sum
from synack.wire.gso import GsoPacket, emit_gso_packet
from synack.wire.ip import emit_tcp_packets, parse_tcp_packet, pseudo_sum
from synack.wire.tcp import ACK, FIN, PSH, NoOperation, Segment, Timestamps

HDR = b"\x0a" * 6 + b"\x02" * 6 + b"\x08\x00"
MSS = 1000


def seg(
    seq: int, size: int, flags: str = "A", src: str = "10.0.0.5", sport: int = 80, v6: bool = False
) -> bytes:
    ip = IPv6(src="fd00::5", dst="fd00::1") if v6 else IP(src=src, dst="10.0.0.1", id=7, flags="DF")
    payload = bytes((seq + i) & 0xFF for i in range(size))
    return bytes(
        ip / TCP(sport=sport, dport=40000, seq=seq, ack=99, flags=flags, window=500) / payload
    )


def cut(packet: bytes, gso_size: int) -> list[bytes]:
    """What Linux's TCP GSO does with a super-segment (RFC-level behaviour only)."""
    v6 = packet[0] >> 4 == 6
    ip_len = 40 if v6 else 20
    tcp_len = (packet[ip_len + 12] >> 4) * 4
    head, payload = bytearray(packet[: ip_len + tcp_len]), packet[ip_len + tcp_len :]
    seq = int.from_bytes(head[ip_len + 4 : ip_len + 8], "big")
    flags = head[ip_len + 13]
    out = []
    for off in range(0, len(payload), gso_size):
        chunk = payload[off : off + gso_size]
        h = bytearray(head)
        last = off + gso_size >= len(payload)
        h[ip_len + 13] = flags if last else flags & ~0x09  # FIN and PSH on the last only
        h[ip_len + 4 : ip_len + 8] = ((seq + off) & 0xFFFFFFFF).to_bytes(4, "big")
        total = ip_len + tcp_len + len(chunk)
        if v6:
            h[4:6] = (total - 40).to_bytes(2, "big")
            src, dst = bytes(h[8:24]), bytes(h[24:40])
        else:
            h[2:4] = total.to_bytes(2, "big")
            h[10:12] = b"\0\0"
            h[10:12] = (~ones_sum(h[:20]) & 0xFFFF).to_bytes(2, "big")
            src, dst = bytes(h[12:16]), bytes(h[16:20])
        h[ip_len + 16 : ip_len + 18] = b"\0\0"
        csum = (
            ~ones_sum(bytes(h[ip_len:]) + chunk, pseudo_sum(src, dst, tcp_len + len(chunk)))
            & 0xFFFF
        )
        h[ip_len + 16 : ip_len + 18] = csum.to_bytes(2, "big")
        out.append(bytes(h) + chunk)
    return out


def expand(bursts: list[tuple[bytes, bytes, int]]) -> list[bytes]:
    out = []
    for _h, packet, gso in bursts:
        out += cut(packet, gso) if gso else [packet]
    return out


def test_a_run_of_full_segments_becomes_one_super_segment_that_cuts_back_exactly() -> None:
    segs = [seg(1000 + i * MSS, MSS) for i in range(10)] + [seg(11000, 300, "PA")]
    bursts = coalesce([(HDR, s) for s in segs])
    assert len(bursts) == 1
    header, packet, gso = bursts[0]
    assert (header, gso, len(packet)) == (HDR, MSS, 40 + 10 * MSS + 300)
    assert expand(bursts) == segs


def test_ipv6_runs_merge_too() -> None:
    segs = [seg(5 + i * MSS, MSS, v6=True) for i in range(4)]
    bursts = coalesce([(HDR, s) for s in segs])
    assert [b[2] for b in bursts] == [MSS]
    assert expand(bursts) == segs


def test_runs_break_at_gaps_flows_push_and_control_flags() -> None:
    segs = [
        seg(0, MSS),
        seg(MSS, MSS, "PA"),  # PSH ends a run
        seg(2 * MSS, MSS),
        seg(4 * MSS, MSS),  # a gap in sequence space
        seg(5 * MSS, MSS, sport=81),  # another connection
        seg(6 * MSS, MSS, "FA"),  # FIN is never merged
        seg(7 * MSS, 0),  # a pure ACK
    ]
    bursts = coalesce([(HDR, s) for s in segs])
    assert [b[2] for b in bursts] == [MSS, 0, 0, 0, 0, 0]
    assert expand(bursts) == segs


def test_size_limit_and_short_middle_segments() -> None:
    big = [seg(i * MSS, MSS) for i in range(70)]
    bursts = coalesce([(HDR, s) for s in big])
    assert all(len(p) <= 65535 for _h, p, _g in bursts)
    assert len(bursts) == 2
    assert expand(bursts) == big
    short_middle = [seg(0, MSS), seg(MSS, 500), seg(MSS + 500, MSS)]
    assert [b[2] for b in coalesce([(HDR, s) for s in short_middle])] == [MSS, 0]


def test_merged_checksum_field_is_the_pseudo_header_sum() -> None:
    segs = [seg(i * MSS, MSS) for i in range(3)]
    ((_h, packet, _g),) = coalesce([(HDR, s) for s in segs])
    partial = int.from_bytes(packet[36:38], "big")
    assert partial == pseudo_sum(packet[12:16], packet[16:20], len(packet) - 20)
    for piece in cut(packet, MSS):
        parse_tcp_packet(piece)  # checksums verify


# ------------------------------------------------ super-segments the core built


def _core_segment(v6: bool, payload: bytes, flags: int) -> tuple[bytes, bytes, Segment]:
    src = bytes.fromhex("fd00000000000000000000000000000" + "5") if v6 else bytes([10, 0, 0, 5])
    dst = bytes.fromhex("fd00000000000000000000000000000" + "1") if v6 else bytes([10, 0, 0, 1])
    ts = (NoOperation(), NoOperation(), Timestamps(123456, 654321))
    return src, dst, Segment(40000, 80, 0xFFFFF000, 777, flags, 500, 0, ts, payload)


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_a_core_super_segment_cuts_into_exactly_the_segments_sent_one_by_one(v6: bool) -> None:
    payload = bytes(i & 0xFF for i in range(7 * MSS + 123))
    src, dst, big = _core_segment(v6, payload, ACK | PSH | FIN)
    packet = emit_gso_packet(src, dst, big, MSS)
    assert packet.gso_size == MSS
    # One by one: the same headers, FIN and PSH on the last only, sequence wrapping.
    pieces = [
        replace(
            big,
            seq=(big.seq + off) & 0xFFFFFFFF,
            flags=big.flags if off + MSS >= len(payload) else ACK,
            payload=payload[off : off + MSS],
        )
        for off in range(0, len(payload), MSS)
    ]
    one_by_one: list[bytes] = []
    emit_tcp_packets(src, dst, pieces, one_by_one)
    assert packet.segments() == one_by_one
    assert cut(packet.packet, MSS) == one_by_one  # what the kernel's GSO makes of it


def test_a_core_super_segment_carries_the_pseudo_header_sum() -> None:
    src, dst, big = _core_segment(False, b"b" * 3 * MSS, ACK)
    packet = emit_gso_packet(src, dst, big, MSS).packet
    tcp_len = len(packet) - 20
    assert int.from_bytes(packet[36:38], "big") == pseudo_sum(src, dst, tcp_len)


def test_coalesce_passes_core_super_segments_through_without_merging() -> None:
    src, dst, big = _core_segment(False, b"c" * 4 * MSS, ACK)
    packet = emit_gso_packet(src, dst, big, MSS)
    before, after = seg(0, MSS), seg(MSS, MSS)
    bursts = coalesce([(HDR, before), (HDR, packet), (HDR, after)])
    assert bursts == [(HDR, before, 0), (HDR, packet.packet, MSS), (HDR, after, 0)]
    assert coalesce([(HDR, packet)]) == [(HDR, packet.packet, MSS)]


def test_a_super_segment_is_not_bytes() -> None:
    # A driver that did not ask for super-segments can never mistake one for a packet.
    src, dst, big = _core_segment(False, b"d" * 2 * MSS, ACK)
    packet = emit_gso_packet(src, dst, big, MSS)
    assert not isinstance(packet, bytes | bytearray | memoryview)
    assert len(packet) == len(packet.packet) and packet == GsoPacket(packet.packet, MSS)

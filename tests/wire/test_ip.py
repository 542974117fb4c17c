"""IPv4 and IPv6 headers, pseudo-header sums and whole TCP packets."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.wire.checksum import ones_sum
from synack.wire.errors import MalformedPacket
from synack.wire.ip import (
    IPV4_DF,
    PROTO_TCP,
    PROTO_UDP,
    IPv4Header,
    IPv6Header,
    addr_to_str,
    emit_tcp_packet,
    ip_destination,
    parse_ip,
    parse_ip_addresses,
    parse_tcp_packet,
    peek_ip,
    pseudo_sum,
    pseudo_sum_v4,
    pseudo_sum_v6,
    str_to_addr,
)
from synack.wire.tcp import ACK, SYN, MaxSegmentSize, Segment, pad_options
from tests.wire.strategies import ipv4_headers, ipv6_headers, segments

V4_SRC, V4_DST = str_to_addr("192.168.1.100"), str_to_addr("10.0.0.5")
V6_SRC, V6_DST = str_to_addr("2001:db8::1"), str_to_addr("2001:db8::2")


# ------------------------------------------------------------------ round trips


@pytest.mark.slow
@settings(max_examples=500)
@given(st.one_of(ipv4_headers, ipv6_headers), st.binary(max_size=100))
def test_ip_header_emit_then_parse_gives_header_and_payload_back(
    hdr: IPv4Header | IPv6Header, payload: bytes
) -> None:
    packet = hdr.emit(len(payload)) + payload
    parsed, body = parse_ip(packet)
    assert parsed == hdr
    assert bytes(body) == payload
    assert parsed.header_len == len(packet) - len(payload)


@settings(max_examples=500)
@given(st.one_of(ipv4_headers, ipv6_headers), st.binary(max_size=100))
def test_ip_header_parse_then_emit_is_byte_identical(
    hdr: IPv4Header | IPv6Header, payload: bytes
) -> None:
    packet = hdr.emit(len(payload)) + payload
    parsed, body = parse_ip(packet)
    assert parsed.emit(len(body)) + bytes(body) == packet


@settings(max_examples=500)
@given(segments(max_payload=200), st.booleans())
def test_tcp_packet_round_trip_over_both_families(seg: Segment, v6: bool) -> None:
    src, dst = (V6_SRC, V6_DST) if v6 else (V4_SRC, V4_DST)
    packet = emit_tcp_packet(src, dst, seg)
    ip, parsed = parse_tcp_packet(packet)
    assert (ip.src, ip.dst, ip.proto, ip.version) == (src, dst, PROTO_TCP, 6 if v6 else 4)
    assert parsed == replace(seg, options=pad_options(seg.options))


def test_ipv4_fields_land_where_rfc_791_puts_them() -> None:
    hdr = IPv4Header(V4_SRC, V4_DST, PROTO_TCP, ttl=33, tos=0xB8, ident=0x1234, flags=IPV4_DF)
    raw = hdr.emit(100)
    assert raw[0] == 0x45
    assert raw[1] == 0xB8
    assert raw[2:4] == (120).to_bytes(2, "big")
    assert raw[4:6] == b"\x12\x34"
    assert raw[6:8] == b"\x40\x00"  # DF, offset 0
    assert raw[8] == 33
    assert raw[9] == PROTO_TCP
    assert raw[12:16] == V4_SRC
    assert raw[16:20] == V4_DST
    assert ones_sum(raw) == 0xFFFF
    assert hdr.ecn == 0


def test_ipv6_fields_land_where_rfc_8200_puts_them() -> None:
    hdr = IPv6Header(V6_SRC, V6_DST, PROTO_TCP, hop_limit=7, traffic_class=0xAB, flow_label=0xCDEF1)
    raw = hdr.emit(300)
    assert raw[:4] == bytes([0x6A, 0xBC, 0xDE, 0xF1])
    assert raw[4:6] == (300).to_bytes(2, "big")
    assert raw[6] == PROTO_TCP
    assert raw[7] == 7
    assert raw[8:24] == V6_SRC
    assert raw[24:40] == V6_DST
    assert hdr.ecn == 0b11


# ------------------------------------------------------------------ IPv4 details


def _v4(
    ihl: int = 5, total: int | None = None, frag: int = 0x4000, proto: int = PROTO_TCP
) -> bytes:
    """An IPv4 header with a correct checksum, any IHL (options are NOPs) and 8 payload bytes."""
    opts = b"\x01" * (4 * ihl - 20)
    total = 4 * ihl + 8 if total is None else total
    head = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, frag, 64, proto, 0, V4_SRC, V4_DST)
    head += opts
    csum = ~ones_sum(head) & 0xFFFF
    return head[:10] + csum.to_bytes(2, "big") + head[12:] + b"PAYLOAD!"


@pytest.mark.parametrize("ihl", [5, 6, 10, 15])
def test_ipv4_options_are_skipped_and_kept(ihl: int) -> None:
    hdr, body = parse_ip(_v4(ihl))
    assert isinstance(hdr, IPv4Header)
    assert hdr.options == b"\x01" * (4 * ihl - 20)
    assert bytes(body) == b"PAYLOAD!"


def test_ethernet_padding_after_the_ip_length_is_not_payload() -> None:
    _, body = parse_ip(_v4() + bytes(10))
    assert bytes(body) == b"PAYLOAD!"


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (b"", "truncated"),
        (b"\x45" + bytes(18), "truncated"),
        (b"\x60" + bytes(38), "truncated"),
        (b"\x55" + bytes(30), "bad_version"),
        (_v4(ihl=4), "bad_ihl"),
        (_v4(total=19), "bad_length"),
        (_v4(total=200), "bad_length"),
        (_v4()[:10] + b"\x00\x00" + _v4()[12:], "bad_ip_checksum"),
        (_v4(frag=0x2000), "fragment"),  # MF: the first fragment
        (_v4(frag=0x0010), "fragment"),  # an offset: a later fragment
        (_v4(frag=0x4010), "fragment"),
    ],
)
def test_bad_ip_packets_are_rejected_with_a_reason(packet: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket) as err:
        parse_ip(packet)
    assert err.value.reason == reason


def test_ipv4_reserved_flag_is_not_a_fragment_and_is_kept() -> None:
    hdr, _ = parse_ip(_v4(frag=0x8000 | 0x4000))
    assert isinstance(hdr, IPv4Header)
    assert hdr.flags == 0b110


# ------------------------------------------------------------------ IPv6 details


@pytest.mark.parametrize(
    ("next_header", "reason"),
    [
        (44, "fragment"),
        (50, "ipv6_extension"),  # ESP
        (51, "ipv6_extension"),  # AH
        (135, "ipv6_extension"),  # mobility
    ],
)
def test_ipv6_extension_headers_are_rejected_with_a_reason(next_header: int, reason: str) -> None:
    packet = IPv6Header(V6_SRC, V6_DST, next_header).emit(8) + bytes(8)
    with pytest.raises(MalformedPacket) as err:
        parse_ip(packet)
    assert err.value.reason == reason


def test_ipv6_payload_length_beyond_the_packet_is_rejected() -> None:
    packet = IPv6Header(V6_SRC, V6_DST).emit(100) + bytes(20)
    with pytest.raises(MalformedPacket) as err:
        parse_ip(packet)
    assert err.value.reason == "bad_length"


# ------------------------------------------------------------------ pseudo-header


def _naive_sum(data: bytes) -> int:
    total = 0
    for i in range(0, len(data), 2):
        total += int.from_bytes(data[i : i + 2], "big")
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@given(st.binary(min_size=4, max_size=4), st.binary(min_size=4, max_size=4), st.integers(0, 0xFFFF))
def test_ipv4_pseudo_header_sum(src: bytes, dst: bytes, length: int) -> None:
    """RFC 9293 3.1: source, destination, zero, PTCL, TCP length."""
    pseudo = src + dst + bytes([0, PROTO_TCP]) + length.to_bytes(2, "big")
    assert pseudo_sum_v4(src, dst, length) == _naive_sum(pseudo)
    assert pseudo_sum(src, dst, length) == _naive_sum(pseudo)


@given(
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=16, max_size=16),
    st.integers(0, 0xFFFFFFFF),
)
def test_ipv6_pseudo_header_sum(src: bytes, dst: bytes, length: int) -> None:
    """RFC 8200 8.1: source, destination, 32-bit length, three zeros, next header."""
    pseudo = src + dst + length.to_bytes(4, "big") + bytes([0, 0, 0, PROTO_TCP])
    assert pseudo_sum_v6(src, dst, length) == _naive_sum(pseudo)
    assert pseudo_sum(src, dst, length) == _naive_sum(pseudo)


def test_pseudo_sum_rejects_mismatched_addresses() -> None:
    with pytest.raises(ValueError, match="addresses"):
        pseudo_sum(V4_SRC, V6_DST, 20)


# ------------------------------------------------------------------ TCP packets


def test_tcp_checksum_covers_the_addresses() -> None:
    seg = Segment(40000, 80, 1000, flags=SYN, options=(MaxSegmentSize(1460),))
    packet = bytearray(emit_tcp_packet(V4_SRC, V4_DST, seg))
    # Change the source address and fix only the IP header checksum.
    packet[15] ^= 1
    packet[10:12] = b"\x00\x00"
    packet[10:12] = (~ones_sum(bytes(packet[:20])) & 0xFFFF).to_bytes(2, "big")
    with pytest.raises(MalformedPacket) as err:
        parse_tcp_packet(bytes(packet))
    assert err.value.reason == "bad_checksum"


def test_tcp_packet_over_ipv6() -> None:
    seg = Segment(40000, 443, 7, 9, ACK, 100, payload=b"data")
    packet = emit_tcp_packet(V6_SRC, V6_DST, seg, ttl=9, tos=0x02)
    ip, parsed = parse_tcp_packet(packet)
    assert isinstance(ip, IPv6Header)
    assert (ip.hop_limit, ip.traffic_class, ip.ecn) == (9, 0x02, 0b10)
    assert parsed == seg


def test_other_protocols_are_not_tcp() -> None:
    packet = IPv4Header(V4_SRC, V4_DST, PROTO_UDP).emit(8) + bytes(8)
    with pytest.raises(MalformedPacket) as err:
        parse_tcp_packet(packet)
    assert err.value.reason == "not_tcp"


def test_address_text_round_trip() -> None:
    assert addr_to_str(V4_SRC) == "192.168.1.100"
    assert addr_to_str(V6_DST) == "2001:db8::2"


@pytest.mark.parametrize(
    "hdr",
    [
        IPv4Header(V4_SRC, V4_DST, options=b"\x01"),
        IPv4Header(V4_SRC, V4_DST, options=bytes(44)),
        IPv4Header(V4_SRC[:3], V4_DST),
        IPv4Header(V4_SRC, V4_DST, ttl=256),
        IPv4Header(V4_SRC, V4_DST, flags=8),
        IPv6Header(V6_SRC, V6_DST, flow_label=1 << 20),
        IPv6Header(V4_SRC, V6_DST),
        IPv6Header(V6_SRC, V6_DST, hop_limit=-1),
    ],
)
def test_emit_of_ip_values_that_do_not_fit_raises_value_error(
    hdr: IPv4Header | IPv6Header,
) -> None:
    with pytest.raises(ValueError):
        hdr.emit(0)


# ---------------------------------------------------- reading our own packets


@given(header=st.one_of(ipv4_headers, ipv6_headers), payload=st.binary(max_size=40))
def test_peek_reads_what_parse_reads(header: IPv4Header | IPv6Header, payload: bytes) -> None:
    # peek_ip and ip_destination (the send path, ICMP quotes) agree with the
    # validating parser on every packet it accepts.
    packet = header.emit(len(payload)) + payload
    assert peek_ip(packet) == parse_ip_addresses(packet)
    dst = parse_ip_addresses(packet)[3]
    assert ip_destination(packet) == dst


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (b"", "truncated"),
        (b"\x45" + bytes(18), "truncated"),
        (b"\x60" + bytes(38), "truncated"),
        (b"\x44" + bytes(30), "bad_ihl"),
        (b"\x55" + bytes(30), "bad_version"),
    ],
)
def test_peek_rejects_what_it_cannot_read(packet: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket) as e:
        peek_ip(packet)
    assert e.value.reason == reason
    assert ip_destination(packet) is None or reason == "bad_ihl"

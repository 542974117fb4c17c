"""IPv6 extension headers a host passes over on the way to TCP (RFC 8200 4).

Hop-by-Hop Options (only right after the IPv6 header), Destination Options and
a Routing header with no segments left are skipped; their options are checked
by the two high-order bits of each type (4.2). Packets built by scapy, as an
independent encoder, and parsed by synack.
"""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import (
    HBHOptUnknown,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    PadN,
    RouterAlert,
)
from scapy.packet import Packet

from synack.tcp import Endpoint
from synack.wire.errors import MalformedPacket
from synack.wire.ip import parse_ip, parse_ip_addresses, parse_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, SYN

SRC, DST = "2001:db8::7", "2001:db8::80"
PAYLOAD = b"after the extension headers"


def tcp() -> Packet:
    return TCP(sport=40000, dport=80, seq=1000, flags="PA", window=512) / PAYLOAD


def build(*ext: Packet, upper: Packet | None = None) -> bytes:
    layers: Packet = IPv6(src=SRC, dst=DST)
    for e in ext:
        layers = layers / e
    return bytes(layers / (upper if upper is not None else tcp()))


@pytest.mark.parametrize(
    "ext",
    [
        (IPv6ExtHdrHopByHop(),),
        (IPv6ExtHdrHopByHop(options=[RouterAlert()]),),
        (IPv6ExtHdrDestOpt(options=[PadN(optdata=bytes(4))]),),
        (IPv6ExtHdrRouting(segleft=0, addresses=["2001:db8::1"]),),
        (
            IPv6ExtHdrHopByHop(),
            IPv6ExtHdrDestOpt(),
            IPv6ExtHdrRouting(segleft=0),
            IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x1E, optdata=b"skip me")]),
        ),
    ],
    ids=["hop-by-hop", "router-alert", "dest-opts-padn", "spent-routing", "chain-of-four"],
)
def test_skippable_headers_lead_to_the_tcp_segment(ext: tuple[Packet, ...]) -> None:
    packet = build(*ext)
    hdr, payload = parse_ip(packet)
    assert hdr.proto == 6
    # The TCP header and data (scapy fills in the checksum only with an IP layer).
    assert bytes(payload)[:16] == bytes(tcp())[:16]
    assert bytes(payload)[18:] == bytes(tcp())[18:]
    _, proto, _, _, start, end = parse_ip_addresses(packet)
    assert (proto, start, end) == (6, len(packet) - len(bytes(tcp())), len(packet))
    _, seg = parse_tcp_packet(packet)  # the checksum verifies over the right bytes
    assert seg.payload == PAYLOAD
    assert seg.seq == 1000


@pytest.mark.parametrize(
    ("ext", "reason"),
    [
        ((IPv6ExtHdrRouting(segleft=1, addresses=["2001:db8::1"]),), "ipv6_extension"),
        ((IPv6ExtHdrDestOpt(), IPv6ExtHdrHopByHop()), "ipv6_extension"),
        ((IPv6ExtHdrDestOpt(), IPv6ExtHdrFragment()), "fragment"),
        (
            (IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x5E, optdata=b"x")]),),
            "ipv6_extension",
        ),
        ((IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x9E, optdata=b"x")]),), "ipv6_extension"),
        ((IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0xDE, optdata=b"x")]),), "ipv6_extension"),
    ],
    ids=[
        "routing-segments-left",
        "hop-by-hop-not-first",
        "fragment-after-dest-opts",
        "option-01-discard",
        "option-10-discard-icmp",
        "option-11-discard-icmp",
    ],
)
def test_headers_a_host_must_not_pass_over_are_rejected(
    ext: tuple[Packet, ...], reason: str
) -> None:
    # RFC 8200 4.4 (segments left: not the final destination), 4.3 (Hop-by-Hop
    # only first), 4.2 (an unknown option whose type's top bits are not 00).
    with pytest.raises(MalformedPacket) as err:
        parse_ip(build(*ext))
    assert err.value.reason == reason


def test_an_extension_header_past_the_payload_is_a_bad_length() -> None:
    packet = bytearray(build(IPv6ExtHdrDestOpt(options=[PadN(optdata=bytes(4))])))
    packet[41] = 200  # Hdr Ext Len: 1,608 octets, in a packet of a few dozen
    with pytest.raises(MalformedPacket) as err:
        parse_ip(bytes(packet))
    assert err.value.reason == "bad_length"


def test_an_option_past_its_header_is_a_bad_length() -> None:
    packet = bytearray(build(IPv6ExtHdrDestOpt(options=[PadN(optdata=bytes(4))])))
    assert packet[42] == 1  # the PadN option
    packet[43] = 30  # its length runs past the 8-octet header
    with pytest.raises(MalformedPacket) as err:
        parse_ip(bytes(packet))
    assert err.value.reason == "bad_length"


def test_an_endpoint_answers_a_syn_that_carries_extension_headers() -> None:
    ep = Endpoint([str_to_addr(DST)], isn_secret=b"k" * 32, port_seed=1)
    ep.listen(80)
    syn = TCP(sport=40000, dport=80, seq=1000, flags="S", window=65535, options=[("MSS", 1440)])
    ep.receive_packet(build(IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt(), upper=syn), 0)
    (answer,) = ep.packets_to_send(0)
    _, seg = parse_tcp_packet(answer)
    assert seg.flags == SYN | ACK
    assert seg.ack == 1001


def _raw(*headers: tuple[int, bytes]) -> bytes:
    """An IPv6 packet of raw extension headers ``(type, body)``, the last saying No Next Header."""
    body = b""
    for i, (_kind, rest) in enumerate(headers):
        nxt = headers[i + 1][0] if i + 1 < len(headers) else 59  # No Next Header
        assert (len(rest) + 2) % 8 == 0
        body += bytes([nxt, (len(rest) + 2) // 8 - 1]) + rest
    first = headers[0][0]
    fixed = struct.pack("!IHBB16s16s", 6 << 28, len(body), first, 64, bytes(16), bytes(16))
    return fixed + body


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        # Linux's ip6_parse_tlv bounds: padding is for 8-octet alignment, so at
        # most 7 octets of it in a row; PadN octets are zero; at most 8 options.
        ([(60, bytes(1446))], "padding"),
        ([(60, bytes([1, 12]) + bytes(12))], "PadN"),
        ([(60, bytes([1, 2, 0, 1]) + bytes(2))], "PadN"),
        ([(60, bytes([0x1E, 0]) * 9 + bytes([1, 2, 0, 0]))], "over 8 options"),
        # RFC 8504 5.3: a limit on the headers per packet.
        ([(60, bytes(6))] * 9, "more than 8 headers"),
    ],
    ids=["1446-octets-of-pad1", "padn-of-14", "padn-not-zero", "nine-options", "nine-headers"],
)
def test_the_work_a_packet_asks_for_is_bounded(
    headers: list[tuple[int, bytes]], detail: str
) -> None:
    with pytest.raises(MalformedPacket, match=detail) as err:
        parse_ip(_raw(*headers))
    assert err.value.reason == "ipv6_extension"


def test_within_the_bounds_is_accepted() -> None:
    # Eight headers, each with seven octets of padding or eight skippable options.
    eight = [(60, bytes([1, 4]) + bytes(4))] * 7 + [
        (60, bytes([0x1E, 0]) * 8 + bytes([1, 4]) + bytes(4))
    ]
    hdr, payload = parse_ip(_raw(*eight))
    assert hdr.proto == 59
    assert bytes(payload) == b""

"""Ethernet II and ARP: parse/emit round trips, rejection reasons, a fuzz loop and scapy agreement."""

from __future__ import annotations

import random

import pytest
from scapy.layers.l2 import ARP, Ether

from synack.wire.errors import MalformedPacket
from synack.wire.ether import (
    ARP_REPLY,
    ARP_REQUEST,
    BROADCAST_MAC,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    ArpPacket,
    EthernetHeader,
    emit_ethernet,
    ipv6_multicast_mac,
    is_multicast_mac,
    mac_to_str,
    parse_arp,
    parse_ethernet,
    str_to_mac,
)

MAC_A = bytes.fromhex("020000000005")
MAC_B = bytes.fromhex("0a1b2c3d4e5f")
IP_A = bytes((10, 0, 0, 5))
IP_B = bytes((10, 0, 0, 1))


def test_mac_text_round_trip() -> None:
    assert mac_to_str(MAC_B) == "0a:1b:2c:3d:4e:5f"
    assert str_to_mac("0a:1b:2c:3d:4e:5f") == MAC_B
    assert str_to_mac("0A-1B-2C-3D-4E-5F") == MAC_B


@pytest.mark.parametrize(
    "text", ["", "0a:1b", "0a:1b:2c:3d:4e:5f:00", "zz:1b:2c:3d:4e:5f", "0a::2c:3d:4e:5f"]
)
def test_bad_mac_text_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="MAC"):
        str_to_mac(text)


def test_multicast_bits() -> None:
    assert is_multicast_mac(BROADCAST_MAC)
    assert not is_multicast_mac(MAC_A)
    group = bytes.fromhex("ff0200000000000000000001ff000005")
    assert ipv6_multicast_mac(group) == bytes.fromhex("3333ff000005")


def test_ethernet_round_trip_keeps_payload_and_padding() -> None:
    frame = emit_ethernet(MAC_B, MAC_A, ETHERTYPE_IPV4, b"payload")
    hdr, payload = parse_ethernet(frame)
    assert hdr == EthernetHeader(MAC_B, MAC_A, ETHERTYPE_IPV4)
    assert bytes(payload) == b"payload"
    assert hdr.emit() + bytes(payload) == frame


def test_short_frame_is_truncated() -> None:
    with pytest.raises(MalformedPacket) as exc:
        parse_ethernet(b"\x00" * 13)
    assert exc.value.reason == "truncated"


def test_ieee_802_3_length_field_is_rejected() -> None:
    frame = MAC_A + MAC_B + (46).to_bytes(2, "big") + bytes(46)
    with pytest.raises(MalformedPacket) as exc:
        parse_ethernet(frame)
    assert exc.value.reason == "not_ethernet_ii"


def test_arp_round_trip_and_padding_ignored() -> None:
    arp = ArpPacket(ARP_REQUEST, MAC_A, IP_A, bytes(6), IP_B)
    raw = arp.emit()
    assert len(raw) == 28
    assert parse_arp(raw + bytes(18)) == arp
    assert not arp.is_gratuitous
    assert ArpPacket(ARP_REQUEST, MAC_A, IP_A, bytes(6), IP_A).is_gratuitous


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ((0, b"\x00\x06"), "arp_unsupported"),  # hardware type IEEE 802
        ((2, b"\x86\xdd"), "arp_unsupported"),  # protocol type IPv6
        ((4, b"\x08"), "arp_unsupported"),  # hardware length 8
        ((5, b"\x10"), "arp_unsupported"),  # protocol length 16
        ((6, b"\x00\x03"), "arp_bad_op"),  # RARP request
    ],
)
def test_arp_rejections_name_a_reason(patch: tuple[int, bytes], reason: str) -> None:
    raw = bytearray(ArpPacket(ARP_REPLY, MAC_A, IP_A, MAC_B, IP_B).emit())
    offset, value = patch
    raw[offset : offset + len(value)] = value
    with pytest.raises(MalformedPacket) as exc:
        parse_arp(raw)
    assert exc.value.reason == reason


def test_truncated_arp() -> None:
    with pytest.raises(MalformedPacket) as exc:
        parse_arp(bytes(27))
    assert exc.value.reason == "truncated"


def test_fuzz_parsers_raise_only_malformed_packet() -> None:
    rng = random.Random(5)
    base = emit_ethernet(
        BROADCAST_MAC, MAC_A, ETHERTYPE_ARP, ArpPacket(1, MAC_A, IP_A, bytes(6), IP_B).emit()
    )
    for _ in range(20000):
        if rng.random() < 0.5:
            data = bytearray(base[: rng.randrange(len(base) + 1)])
            for _ in range(rng.randrange(4)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            data = bytearray(rng.randbytes(rng.randrange(64)))
        try:
            _hdr, payload = parse_ethernet(data)
            parse_arp(payload)
        except MalformedPacket:
            pass


def test_scapy_builds_what_we_parse() -> None:
    frame = bytes(
        Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:05")
        / ARP(op=1, hwsrc="02:00:00:00:00:05", psrc="10.0.0.5", pdst="10.0.0.1")
    )
    hdr, payload = parse_ethernet(frame)
    assert hdr == EthernetHeader(BROADCAST_MAC, MAC_A, ETHERTYPE_ARP)
    assert parse_arp(payload) == ArpPacket(ARP_REQUEST, MAC_A, IP_A, bytes(6), IP_B)


def test_scapy_parses_what_we_build() -> None:
    arp = ArpPacket(ARP_REPLY, MAC_A, IP_A, MAC_B, IP_B)
    frame = Ether(emit_ethernet(MAC_B, MAC_A, ETHERTYPE_ARP, arp.emit()))
    assert frame.dst == "0a:1b:2c:3d:4e:5f"
    assert frame.src == "02:00:00:00:00:05"
    assert frame[ARP].op == 2
    assert frame[ARP].psrc == "10.0.0.5"
    assert frame[ARP].pdst == "10.0.0.1"
    assert frame[ARP].hwdst == "0a:1b:2c:3d:4e:5f"

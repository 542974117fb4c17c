"""Ethernet II frames (IEEE 802.3 "type" framing) and ARP for IPv4 over Ethernet (RFC 826).

MAC addresses are packed 6-byte ``bytes``, like IP addresses in :mod:`synack.wire.ip`;
:func:`mac_to_str` / :func:`str_to_mac` convert for display and configuration.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from synack.wire.errors import MalformedPacket

__all__ = [
    "ARP_REPLY",
    "ARP_REQUEST",
    "BROADCAST_MAC",
    "ETHERTYPE_ARP",
    "ETHERTYPE_IPV4",
    "ETHERTYPE_IPV6",
    "ETHERTYPE_VLAN",
    "ETHER_HEADER_LEN",
    "ArpPacket",
    "EthernetHeader",
    "emit_ethernet",
    "ipv6_multicast_mac",
    "is_multicast_mac",
    "mac_to_str",
    "parse_arp",
    "parse_ethernet",
    "str_to_mac",
]

# IEEE 802 EtherType registry values synack handles.
ETHERTYPE_IPV4: Final = 0x0800
ETHERTYPE_ARP: Final = 0x0806
ETHERTYPE_VLAN: Final = 0x8100
ETHERTYPE_IPV6: Final = 0x86DD

ETHER_HEADER_LEN: Final = 14
BROADCAST_MAC: Final = b"\xff" * 6

# RFC 826: ar$op values; ar$hrd 1 = Ethernet (10Mb), ar$pro = the IPv4 EtherType.
ARP_REQUEST: Final = 1
ARP_REPLY: Final = 2
_ARP_HTYPE_ETHERNET: Final = 1

_ETH = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")


def mac_to_str(mac: bytes) -> str:
    """``02:00:00:00:00:05`` form of a packed MAC address."""
    return ":".join(f"{b:02x}" for b in mac)


def str_to_mac(text: str) -> bytes:
    """Packed form of ``aa:bb:cc:dd:ee:ff`` (``-`` also accepted as separator).

    Raises :class:`ValueError` for anything else (this parses user input, not packets).
    """
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(1 <= len(p) <= 2 for p in parts):
        raise ValueError(f"not a MAC address: {text!r}")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"not a MAC address: {text!r}") from None


def is_multicast_mac(mac: bytes) -> bool:
    """True for group addresses (the I/G bit, which includes broadcast)."""
    return bool(mac[0] & 0x01)


def ipv6_multicast_mac(group: bytes) -> bytes:
    """RFC 2464 7: the MAC for an IPv6 multicast group is 33:33 + its last 32 bits."""
    return b"\x33\x33" + group[12:16]


@dataclass(frozen=True, slots=True)
class EthernetHeader:
    """An Ethernet II header: destination, source and EtherType."""

    dst: bytes
    src: bytes
    ethertype: int

    def emit(self) -> bytes:
        """The 14 header bytes."""
        return _ETH.pack(self.dst, self.src, self.ethertype)


def emit_ethernet(dst: bytes, src: bytes, ethertype: int, payload: bytes) -> bytes:
    """A whole frame (no FCS: TAP devices neither carry nor expect one)."""
    return _ETH.pack(dst, src, ethertype) + payload


def parse_ethernet(data: bytes | bytearray | memoryview) -> tuple[EthernetHeader, memoryview]:
    """Split a frame into its header and a view of its payload.

    Raises :class:`MalformedPacket` with ``truncated`` or ``not_ethernet_ii``
    (an IEEE 802.3 length field instead of an EtherType). Short frames are not
    padding-checked: a TAP device delivers frames without the 60-byte minimum.
    """
    view = memoryview(data)
    if len(view) < ETHER_HEADER_LEN:
        raise MalformedPacket("truncated", f"Ethernet header needs 14 bytes, got {len(view)}")
    dst, src, ethertype = _ETH.unpack_from(view)
    if ethertype < 0x0600:
        # IEEE 802.3: values up to 1500 are a length (802.2 LLC follows), not a type.
        raise MalformedPacket("not_ethernet_ii", f"length/type field {ethertype}")
    return EthernetHeader(dst, src, ethertype), view[ETHER_HEADER_LEN:]


@dataclass(frozen=True, slots=True)
class ArpPacket:
    """An ARP packet for IPv4 over Ethernet (RFC 826), the only kind synack speaks.

    ``sha``/``tha`` are the sender's and target's hardware (MAC) addresses,
    ``spa``/``tpa`` their protocol (IPv4) addresses, all packed bytes.
    """

    op: int
    sha: bytes
    spa: bytes
    tha: bytes
    tpa: bytes

    LENGTH = 28

    def emit(self) -> bytes:
        """The 28 ARP bytes."""
        return _ARP.pack(
            _ARP_HTYPE_ETHERNET,
            ETHERTYPE_IPV4,
            6,
            4,
            self.op,
            self.sha,
            self.spa,
            self.tha,
            self.tpa,
        )

    @property
    def is_gratuitous(self) -> bool:
        """A sender announcing its own address (RFC 5227 calls it an ARP announcement)."""
        return self.spa == self.tpa


def parse_arp(data: bytes | bytearray | memoryview) -> ArpPacket:
    """Parse an ARP packet for IPv4 over Ethernet; trailing padding is ignored.

    Raises :class:`MalformedPacket` with ``truncated``, ``arp_unsupported``
    (another hardware or protocol type, or other address lengths) or
    ``arp_bad_op``.
    """
    view = memoryview(data)
    if len(view) < ArpPacket.LENGTH:
        raise MalformedPacket("truncated", f"ARP needs 28 bytes, got {len(view)}")
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(view)
    if htype != _ARP_HTYPE_ETHERNET or ptype != ETHERTYPE_IPV4 or hlen != 6 or plen != 4:
        raise MalformedPacket(
            "arp_unsupported", f"hrd {htype} pro {ptype:#06x} hln {hlen} pln {plen}"
        )
    if op not in (ARP_REQUEST, ARP_REPLY):
        raise MalformedPacket("arp_bad_op", f"op {op}")
    return ArpPacket(op, sha, spa, tha, tpa)

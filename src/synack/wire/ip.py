"""IPv4 (RFC 791) and IPv6 (RFC 8200) headers, and the TCP pseudo-header sums.

Addresses are packed ``bytes`` (4 or 16 octets): cheap to hash for connection
lookup, and converted to text only for display (see :func:`addr_to_str`).
Fragments and IPv6 extension headers are recognised and rejected with a reason:
synack neither fragments nor reassembles (it sizes segments to the path MTU).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Final

from synack.wire.checksum import ones_sum
from synack.wire.errors import MalformedPacket
from synack.wire.tcp import Segment, parse_segment

__all__ = [
    "PROTO_ICMP",
    "PROTO_ICMPV6",
    "PROTO_TCP",
    "PROTO_UDP",
    "IPv4Header",
    "IPv6Header",
    "addr_to_str",
    "emit_tcp_packet",
    "parse_ip",
    "parse_tcp_packet",
    "pseudo_sum",
    "pseudo_sum_v4",
    "pseudo_sum_v6",
    "str_to_addr",
]

PROTO_ICMP: Final = 1
PROTO_TCP: Final = 6
PROTO_UDP: Final = 17
PROTO_ICMPV6: Final = 58

# RFC 8200 4: extension headers synack recognises (and does not process).
_IPV6_EXTENSIONS: Final = frozenset({0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254})

_V4 = struct.Struct("!BBHHHBBH4s4s")
_V6 = struct.Struct("!IHBB16s16s")


def addr_to_str(addr: bytes) -> str:
    """Text form of a packed IPv4 or IPv6 address."""
    return str(ipaddress.ip_address(addr))


def str_to_addr(text: str) -> bytes:
    """Packed form of a textual IPv4 or IPv6 address."""
    return ipaddress.ip_address(text).packed


def pseudo_sum_v4(src: bytes, dst: bytes, tcp_len: int, proto: int = PROTO_TCP) -> int:
    """Ones'-complement sum of the IPv4 pseudo-header (RFC 9293 3.1)."""
    return ones_sum(src + dst + struct.pack("!BBH", 0, proto, tcp_len))


def pseudo_sum_v6(src: bytes, dst: bytes, tcp_len: int, proto: int = PROTO_TCP) -> int:
    """Ones'-complement sum of the IPv6 pseudo-header (RFC 8200 8.1)."""
    return ones_sum(src + dst + struct.pack("!II", tcp_len, proto))


def pseudo_sum(src: bytes, dst: bytes, tcp_len: int, proto: int = PROTO_TCP) -> int:
    """The pseudo-header sum for either family, chosen by address length."""
    if len(src) == 4:
        return pseudo_sum_v4(src, dst, tcp_len, proto)
    return pseudo_sum_v6(src, dst, tcp_len, proto)


@dataclass(frozen=True, slots=True)
class IPv4Header:
    """The fields of an IPv4 header that synack reads or writes.

    ``options`` are kept raw (IHL > 5) and emitted back; synack sends none.
    """

    src: bytes
    dst: bytes
    proto: int = PROTO_TCP
    ttl: int = 64
    tos: int = 0
    ident: int = 0
    flags: int = 0b010  # DF: synack sizes segments to the path MTU
    frag_offset: int = 0
    options: bytes = b""
    total_length: int = 0

    version = 4

    def emit(self, payload_len: int) -> bytes:
        """The header bytes for a payload of ``payload_len`` octets."""
        ihl = 5 + len(self.options) // 4
        total = ihl * 4 + payload_len
        head = _V4.pack(
            0x40 | ihl,
            self.tos,
            total,
            self.ident,
            (self.flags << 13) | self.frag_offset,
            self.ttl,
            self.proto,
            0,
            self.src,
            self.dst,
        )
        if self.options:
            head += self.options
        csum = ~ones_sum(head) & 0xFFFF
        return head[:10] + csum.to_bytes(2, "big") + head[12:]


@dataclass(frozen=True, slots=True)
class IPv6Header:
    """The fields of an IPv6 header that synack reads or writes."""

    src: bytes
    dst: bytes
    proto: int = PROTO_TCP  # "next header"
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0
    payload_length: int = 0

    version = 6

    def emit(self, payload_len: int) -> bytes:
        first = (6 << 28) | (self.traffic_class << 20) | self.flow_label
        return _V6.pack(first, payload_len, self.proto, self.hop_limit, self.src, self.dst)


IPHeader = IPv4Header | IPv6Header


def parse_ip(data: bytes | bytearray | memoryview) -> tuple[IPHeader, memoryview]:
    """Parse an IPv4 or IPv6 header; return it and a view of its payload.

    Raises :class:`MalformedPacket` with ``truncated``, ``bad_version``,
    ``bad_ihl``, ``bad_length``, ``bad_ip_checksum``, ``fragment`` or
    ``ipv6_extension``. Bytes past the IP total length (Ethernet padding) are
    ignored.
    """
    view = memoryview(data)
    n = len(view)
    if n < 1:
        raise MalformedPacket("truncated", "empty packet")
    version = view[0] >> 4
    if version == 4:
        if n < 20:
            raise MalformedPacket("truncated", f"IPv4 header needs 20 bytes, got {n}")
        vihl, tos, total, ident, frag, ttl, proto, _csum, src, dst = _V4.unpack_from(view)
        hlen = (vihl & 0x0F) * 4
        if hlen < 20:
            raise MalformedPacket("bad_ihl", f"IHL {vihl & 0x0F}")
        if total < hlen or total > n:
            raise MalformedPacket("bad_length", f"total length {total}, have {n}, IHL {hlen}")
        if ones_sum(view[:hlen]) != 0xFFFF:
            raise MalformedPacket("bad_ip_checksum", "IPv4 header checksum")
        flags = frag >> 13
        offset = frag & 0x1FFF
        if offset or flags & 0b001:
            # RFC 791: MF set or a non-zero offset means a fragment.
            raise MalformedPacket("fragment", f"offset {offset}, MF {flags & 1}")
        hdr4 = IPv4Header(
            src,
            dst,
            proto,
            ttl,
            tos,
            ident,
            flags,
            offset,
            bytes(view[20:hlen]),
            total,
        )
        return hdr4, view[hlen:total]
    if version == 6:
        if n < 40:
            raise MalformedPacket("truncated", f"IPv6 header needs 40 bytes, got {n}")
        first, plen, nxt, hops, src, dst = _V6.unpack_from(view)
        if 40 + plen > n:
            raise MalformedPacket("bad_length", f"payload length {plen}, have {n - 40}")
        if nxt in _IPV6_EXTENSIONS:
            raise MalformedPacket("ipv6_extension", f"next header {nxt}")
        hdr6 = IPv6Header(src, dst, nxt, hops, (first >> 20) & 0xFF, first & 0xFFFFF, plen)
        return hdr6, view[40 : 40 + plen]
    raise MalformedPacket("bad_version", f"IP version {version}")


def parse_tcp_packet(data: bytes | bytearray | memoryview) -> tuple[IPHeader, Segment]:
    """Parse an IP packet carrying TCP and verify the TCP checksum.

    Raises :class:`MalformedPacket` (``not_tcp`` for another protocol).
    """
    ip, payload = parse_ip(data)
    if ip.proto != PROTO_TCP:
        raise MalformedPacket("not_tcp", f"IP protocol {ip.proto}")
    seg = parse_segment(payload, pseudo_sum(ip.src, ip.dst, len(payload)))
    return ip, seg


def emit_tcp_packet(src: bytes, dst: bytes, seg: Segment, ttl: int = 64, ident: int = 0) -> bytes:
    """An IPv4 or IPv6 packet (by address length) carrying ``seg``."""
    hlen = seg.header_len if seg.options else 20
    tcp_len = hlen + len(seg.payload)
    tcp = seg.emit(pseudo_sum(src, dst, tcp_len))
    if len(src) == 4:
        return IPv4Header(src, dst, PROTO_TCP, ttl, ident=ident).emit(len(tcp)) + tcp
    return IPv6Header(src, dst, PROTO_TCP, ttl).emit(len(tcp)) + tcp

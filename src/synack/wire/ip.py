"""IPv4 (RFC 791) and IPv6 (RFC 8200) headers, and the TCP pseudo-header sums.

Addresses are packed ``bytes`` (4 or 16 octets): cheap to hash for connection
lookup, and converted to text only for display (see :func:`addr_to_str`).
Fragments are recognised and rejected with a reason: synack neither fragments
nor reassembles (it sizes segments to the path MTU). IPv6 extension headers a
host may pass over (Hop-by-Hop, Destination Options, a spent Routing header)
are skipped, and the parsed header's ``proto`` is the upper layer's; the others
are rejected with a reason.

Round-trip contract, as for TCP: ``parse_ip(h.emit(len(p)) + p)`` gives back
``h`` and ``p`` (the length and checksum fields are derived, so they take no part
in equality), and re-emitting a parsed header reproduces its bytes (for IPv6,
when the packet had no extension headers: skipped ones are not kept).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Protocol

from synack.wire.checksum import ones_sum
from synack.wire.errors import MalformedPacket, WireReason
from synack.wire.tcp import Segment, parse_segment

__all__ = [
    "IPV4_DF",
    "IPV4_MF",
    "PROTO_ICMP",
    "PROTO_ICMPV6",
    "PROTO_TCP",
    "PROTO_UDP",
    "IPHeader",
    "IPv4Header",
    "IPv6Header",
    "PacketList",
    "addr_to_str",
    "emit_tcp_packet",
    "emit_tcp_packets",
    "ip_destination",
    "parse_ip",
    "parse_ip_addresses",
    "parse_ip_span",
    "parse_tcp_packet",
    "peek_ip",
    "pseudo_sum",
    "pseudo_sum_v4",
    "pseudo_sum_v6",
    "str_to_addr",
]

PROTO_ICMP: Final = 1
PROTO_TCP: Final = 6
PROTO_UDP: Final = 17
PROTO_ICMPV6: Final = 58

# RFC 791 3.1 "Flags": bit 0 reserved, then Don't Fragment, More Fragments.
IPV4_DF: Final = 0b010
IPV4_MF: Final = 0b001

# RFC 8200 4 and the IANA list of IPv6 extension header types: hop-by-hop (0),
# routing (43), fragment (44), ESP (50), AH (51), destination options (60),
# mobility (135), HIP (139), shim6 (140), experimental (253, 254). (No Next
# Header, 59, is an upper layer as far as TCP is concerned: not TCP.)
_IPV6_HOP_BY_HOP: Final = 0
_IPV6_ROUTING: Final = 43
_IPV6_FRAGMENT: Final = 44
_IPV6_DEST_OPTS: Final = 60
_IPV6_EXTENSIONS: Final = frozenset({0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254})
# The ones a host skips on its way to TCP (RFC 8200 4.3-4.6); the others end
# the walk with a reason (no reassembly, no IPsec, no mobility).
_IPV6_SKIPPED: Final = frozenset({_IPV6_HOP_BY_HOP, _IPV6_ROUTING, _IPV6_DEST_OPTS})
# Bounds on the work one packet may ask for (RFC 8504 5.3 lets a host set them):
# skippable headers per packet, and options other than padding per header
# (Linux's net.ipv6.max_dst_opts_number and max_hbh_opts_number, 8).
_IPV6_MAX_EXTENSIONS: Final = 8
_IPV6_MAX_OPTIONS: Final = 8

# Version+IHL, TOS, total length, identification, flags+fragment offset, TTL,
# protocol, header checksum, source, destination.
_V4: Final = struct.Struct("!BBHHHBBH4s4s")
# Version+traffic class+flow label, payload length, next header, hop limit, addresses.
_V6: Final = struct.Struct("!IHBB16s16s")


def addr_to_str(addr: bytes) -> str:
    """Text form of a packed IPv4 or IPv6 address."""
    return str(ipaddress.ip_address(addr))


def str_to_addr(text: str) -> bytes:
    """Packed form of a textual IPv4 or IPv6 address."""
    return ipaddress.ip_address(text).packed


# The pseudo-header's words besides the addresses are the protocol (IPv4: a zero
# byte and PTCL; IPv6: three zero bytes and Next Header) and the TCP length
# (IPv6: 32 bits). Since 2**16 = 1 (mod 0xFFFF), both add into the sum as plain
# integers, so the two families differ only in their address lengths.


def pseudo_sum_v4(src: bytes, dst: bytes, tcp_len: int, proto: int = PROTO_TCP) -> int:
    """Ones'-complement sum of the IPv4 pseudo-header (RFC 9293 3.1)."""
    return ones_sum(src + dst, proto + tcp_len)


def pseudo_sum_v6(src: bytes, dst: bytes, tcp_len: int, proto: int = PROTO_TCP) -> int:
    """Ones'-complement sum of the IPv6 pseudo-header (RFC 8200 8.1)."""
    return ones_sum(src + dst, proto + tcp_len)


def pseudo_sum(src: bytes, dst: bytes, tcp_len: int, proto: int = PROTO_TCP) -> int:
    """The pseudo-header sum for either family (4- or 16-byte addresses).

    ``tcp_len`` is the TCP header plus data length. Pass the result to
    :meth:`Segment.emit` or :func:`~synack.wire.tcp.parse_segment`.
    """
    if len(src) != len(dst) or len(src) not in (4, 16):
        raise ValueError(f"addresses of {len(src)} and {len(dst)} bytes")
    return ones_sum(src + dst, proto + tcp_len)


@dataclass(slots=True)
class IPv4Header:
    """An IPv4 header (RFC 791 3.1).

    ``flags`` are the three flag bits (:data:`IPV4_DF`, :data:`IPV4_MF`, and the
    reserved bit, kept as received). ``options`` are kept raw (IHL > 5) and
    emitted back; synack sends none. ``total_length`` and ``checksum`` are what
    a parsed header carried; emit derives both.
    """

    src: bytes
    dst: bytes
    proto: int = PROTO_TCP
    ttl: int = 64
    tos: int = 0
    ident: int = 0
    flags: int = IPV4_DF  # synack sizes segments to the path MTU
    frag_offset: int = 0
    options: bytes = b""
    total_length: int = field(default=0, compare=False)
    checksum: int | None = field(default=None, compare=False)

    version = 4

    @property
    def header_len(self) -> int:
        return 20 + len(self.options)

    @property
    def ecn(self) -> int:
        """The ECN field, the low two bits of the TOS octet (RFC 3168 5)."""
        return self.tos & 0b11

    def emit(self, payload_len: int) -> bytes:
        """The header bytes, checksum included, for a payload of ``payload_len`` octets.

        Raises ``ValueError`` if a field does not fit or the options are not a
        multiple of 4 bytes up to 40.
        """
        olen = len(self.options)
        if olen % 4 or olen > 40:
            raise ValueError(f"IPv4 options of {olen} bytes")
        if len(self.src) != 4 or len(self.dst) != 4:
            raise ValueError("IPv4 addresses must be 4 bytes")
        if self.flags >> 3 or self.frag_offset >> 13:
            raise ValueError(f"IPv4 flags {self.flags}, fragment offset {self.frag_offset}")
        return _emit_v4(
            self.src,
            self.dst,
            self.proto,
            self.ttl,
            self.tos,
            self.ident,
            (self.flags << 13) | self.frag_offset,
            self.options,
            payload_len,
        )


def _emit_v4(
    src: bytes,
    dst: bytes,
    proto: int,
    ttl: int,
    tos: int,
    ident: int,
    flags_offset: int,
    options: bytes,
    payload_len: int,
) -> bytes:
    hlen = 20 + len(options)
    total = hlen + payload_len
    # The header checksum from the fields themselves (2**16 = 1 mod 0xFFFF, as
    # in checksum.py): no need to pack the header twice.
    csum = ~ones_sum(
        options,
        (((0x40 | (hlen >> 2)) << 8) | tos)
        + total
        + ident
        + flags_offset
        + ((ttl << 8) | proto)
        + int.from_bytes(src + dst, "big"),
    )
    try:
        head = _V4.pack(
            0x40 | (hlen >> 2), tos, total, ident, flags_offset, ttl, proto, csum & 0xFFFF, src, dst
        )
    except struct.error as e:
        raise ValueError(f"cannot emit an IPv4 header: {e}") from None
    return head + options if options else head


@dataclass(slots=True)
class IPv6Header:
    """An IPv6 header (RFC 8200 3); ``payload_length`` is what a parsed one carried."""

    src: bytes
    dst: bytes
    proto: int = PROTO_TCP  # "Next Header"
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0
    payload_length: int = field(default=0, compare=False)

    version = 6

    @property
    def header_len(self) -> int:
        return 40

    @property
    def ecn(self) -> int:
        """The ECN field, the low two bits of the traffic class (RFC 3168 5)."""
        return self.traffic_class & 0b11

    def emit(self, payload_len: int) -> bytes:
        """The header bytes for a payload of ``payload_len`` octets."""
        if self.traffic_class >> 8 or self.flow_label >> 20:
            raise ValueError(f"traffic class {self.traffic_class}, flow label {self.flow_label}")
        if len(self.src) != 16 or len(self.dst) != 16:
            raise ValueError("IPv6 addresses must be 16 bytes")
        first = (6 << 28) | (self.traffic_class << 20) | self.flow_label
        try:
            return _V6.pack(first, payload_len, self.proto, self.hop_limit, self.src, self.dst)
        except struct.error as e:
            raise ValueError(f"cannot emit {self!r}: {e}") from None


IPHeader = IPv4Header | IPv6Header


def parse_ip(data: bytes | bytearray | memoryview) -> tuple[IPHeader, memoryview]:
    """Parse an IPv4 or IPv6 header; return it and a view of its payload.

    Raises only :class:`MalformedPacket`, with reason ``truncated``,
    ``bad_version``, ``bad_ihl``, ``bad_length``, ``bad_ip_checksum``,
    ``fragment`` (IPv4 MF or offset, or an IPv6 Fragment header) or
    ``ipv6_extension`` (an IPv6 extension header a host cannot skip: ESP, AH,
    mobility, a Routing header with segments left, an option whose type says
    discard). Hop-by-Hop, Destination Options and spent Routing headers are
    skipped (RFC 8200 4): the payload starts after them. Bytes past the IP
    length (Ethernet padding) are not part of the payload.
    """
    hdr, start, end = parse_ip_span(data)
    return hdr, memoryview(data)[start:end]


def parse_ip_span(data: bytes | bytearray | memoryview) -> tuple[IPHeader, int, int]:
    """Like :func:`parse_ip`, but the payload as its start and end offsets in ``data``."""
    version, proto, src, dst, start, end = parse_ip_addresses(data)
    if version == 4:
        _, tos, total, ident, frag, ttl, _, csum, _, _ = _V4.unpack_from(data)
        hdr4 = IPv4Header(
            src,
            dst,
            proto,
            ttl,
            tos,
            ident,
            frag >> 13,
            frag & 0x1FFF,
            bytes(data[20:start]) if start > 20 else b"",
            total,
            csum,
        )
        return hdr4, start, end
    first, plen, _, hops, _, _ = _V6.unpack_from(data)
    hdr6 = IPv6Header(src, dst, proto, hops, (first >> 20) & 0xFF, first & 0xFFFFF, plen)
    return hdr6, start, end


def parse_ip_addresses(
    data: bytes | bytearray | memoryview,
) -> tuple[int, int, bytes, bytes, int, int]:
    """Check an IP header as :func:`parse_ip` does, without building a header object.

    Returns the IP version, the protocol, the source and destination
    addresses, and the payload's start and end offsets in ``data``. This is
    all a TCP endpoint needs of each packet it receives, and the one place the
    header checks live (:func:`parse_ip` builds on it). Raises
    :class:`MalformedPacket` with the reasons listed at :func:`parse_ip`.
    """
    n = len(data)
    if n < 1:
        raise MalformedPacket("truncated", "empty packet")
    version = data[0] >> 4
    if version == 4:
        if n < 20:
            raise MalformedPacket("truncated", f"IPv4 header needs 20 bytes, got {n}")
        vihl, _, total, _, frag, _, proto, csum, src, dst = _V4.unpack_from(data)
        hlen = (vihl & 0x0F) << 2
        if hlen < 20:
            raise MalformedPacket("bad_ihl", f"IHL {vihl & 0x0F}")
        if total < hlen or total > n:
            raise MalformedPacket("bad_length", f"total length {total}, have {n}, IHL {hlen}")
        # ones_sum(data[:hlen]) != 0xFFFF, inline (one call less per packet): a
        # header's sum is 0xFFFF exactly when its value is a non-zero multiple of 0xFFFF.
        hsum = int.from_bytes(data[:hlen], "big")
        if hsum % 0xFFFF or not hsum:
            raise MalformedPacket("bad_ip_checksum", f"IPv4 header checksum 0x{csum:04x}")
        if frag & 0x3FFF:
            # RFC 791 3.2: MF set or a non-zero offset means a fragment.
            offset = frag & 0x1FFF
            raise MalformedPacket("fragment", f"offset {offset}, MF {(frag >> 13) & IPV4_MF}")
        return 4, proto, src, dst, hlen, total
    if version == 6:
        if n < 40:
            raise MalformedPacket("truncated", f"IPv6 header needs 40 bytes, got {n}")
        _, plen, nxt, _, src, dst = _V6.unpack_from(data)
        if 40 + plen > n:
            raise MalformedPacket("bad_length", f"payload length {plen}, have {n - 40}")
        if nxt in _IPV6_EXTENSIONS:
            nxt, start = _skip_ipv6_extensions(data, nxt, 40 + plen)
            return 6, nxt, src, dst, start, 40 + plen
        return 6, nxt, src, dst, 40, 40 + plen
    raise MalformedPacket("bad_version", f"IP version {version}")


def _skip_ipv6_extensions(
    data: bytes | bytearray | memoryview, nxt: int, end: int
) -> tuple[int, int]:
    """Walk the extension headers from offset 40 to the upper-layer header (RFC 8200 4).

    Returns its Next Header value and offset. Hop-by-Hop Options (only right
    after the IPv6 header, 4.3), Destination Options (4.6) and a Routing header
    with no segments left (4.4) are skipped, their options checked as 4.2
    says; a Fragment header is ``fragment`` (no reassembly), anything else,
    or an option or routing header a host must not ignore, ``ipv6_extension``.
    """
    off = 40
    count = 0
    while nxt in _IPV6_SKIPPED:
        count += 1
        if count > _IPV6_MAX_EXTENSIONS:
            # RFC 8504 5.3: a host may limit the extension headers it processes.
            raise MalformedPacket("ipv6_extension", f"more than {_IPV6_MAX_EXTENSIONS} headers")
        if nxt == _IPV6_HOP_BY_HOP and off != 40:
            # RFC 8200 4.3: "The Hop-by-Hop Options header, when present, must
            # immediately follow the IPv6 header."
            raise MalformedPacket("ipv6_extension", "a Hop-by-Hop Options header not first")
        if off + 8 > end:
            raise MalformedPacket("bad_length", f"extension header {nxt} past the payload")
        length = (data[off + 1] + 1) * 8  # Hdr Ext Len: 8-octet units, not counting the first 8
        if off + length > end:
            raise MalformedPacket("bad_length", f"extension header {nxt} of {length} octets")
        if nxt == _IPV6_ROUTING:
            if data[off + 3]:
                # RFC 8200 4.4: with Segments Left non-zero the packet is not yet
                # at its final destination; a host does not forward it.
                raise MalformedPacket("ipv6_extension", f"routing header, {data[off + 3]} left")
        else:
            _check_ipv6_options(data, off + 2, off + length, nxt)
        nxt = data[off]
        off += length
    if nxt in _IPV6_EXTENSIONS:
        reason: WireReason = "fragment" if nxt == _IPV6_FRAGMENT else "ipv6_extension"
        raise MalformedPacket(reason, f"next header {nxt}")
    return nxt, off


def _check_ipv6_options(data: bytes | bytearray | memoryview, i: int, end: int, nxt: int) -> None:
    """RFC 8200 4.2: the options of a Hop-by-Hop or Destination Options header.

    Pad1 (0) and PadN (1) are padding; an option this host does not know is
    skipped only when the two high-order bits of its type are 00 ("skip over
    this option"); 01, 10 and 11 all say to discard the packet (10 and 11 also
    ask for an ICMP Parameter Problem, which synack does not send).

    The work per header is bounded as Linux's ip6_parse_tlv bounds it:
    padding aligns to 8 octets, so more than 7 octets of it in a row, or PadN
    octets that are not zero, are refused, and so are more than 8 other
    options. A header of 2,048 octets of Pad1 would otherwise cost a loop
    turn per octet before the TCP checksum is even looked at.
    """
    pad = options = 0
    while i < end:
        kind = data[i]
        if kind == 0:  # Pad1: one octet, no length
            pad += 1
            if pad > 7:
                raise MalformedPacket("ipv6_extension", f"over 7 octets of padding in {nxt}")
            i += 1
            continue
        if i + 2 > end or i + 2 + data[i + 1] > end:
            raise MalformedPacket("bad_length", f"option {kind} past extension header {nxt}")
        n = data[i + 1]
        if kind == 1:  # PadN: "zero-valued octets" (RFC 8200 4.2)
            pad += 2 + n
            if pad > 7 or any(data[i + 2 : i + 2 + n]):
                raise MalformedPacket("ipv6_extension", f"bad PadN in extension header {nxt}")
        else:
            pad = 0
            options += 1
            if options > _IPV6_MAX_OPTIONS:
                raise MalformedPacket("ipv6_extension", f"over 8 options in header {nxt}")
            if kind >> 6:
                raise MalformedPacket("ipv6_extension", f"option 0x{kind:02x} in header {nxt}")
        i += 2 + n


def peek_ip(data: bytes | bytearray | memoryview) -> tuple[int, int, bytes, bytes, int, int]:
    """What :func:`parse_ip_addresses` returns, read without verifying the packet.

    The IP version, the protocol (IPv6's Next Header as it stands), the
    addresses, and the payload's start and end offsets (the end by the length
    field, cut to the bytes given). For packets whose header is not being
    received from the network: routing our own packets, the quote in an ICMP
    error, captures and traces that may hold damaged packets. Only what reading
    needs is checked (raising :class:`MalformedPacket` with ``truncated``,
    ``bad_version`` or ``bad_ihl``); not checksums, lengths or extension headers.
    """
    n = len(data)
    version = data[0] >> 4 if n else 0
    if version == 4:
        if n < 20:
            raise MalformedPacket("truncated", f"IPv4 header needs 20 bytes, got {n}")
        hlen = (data[0] & 0x0F) << 2
        if hlen < 20:
            raise MalformedPacket("bad_ihl", f"IHL {data[0] & 0x0F}")
        end = max(hlen, min((data[2] << 8) | data[3], n))
        return 4, data[9], bytes(data[12:16]), bytes(data[16:20]), hlen, end
    if version == 6:
        if n < 40:
            raise MalformedPacket("truncated", f"IPv6 header needs 40 bytes, got {n}")
        end = min(40 + ((data[4] << 8) | data[5]), n)
        return 6, data[6], bytes(data[8:24]), bytes(data[24:40]), 40, end
    if not n:
        raise MalformedPacket("truncated", "empty packet")
    raise MalformedPacket("bad_version", f"IP version {version}")


def ip_destination(packet: bytes) -> bytes | None:
    """The destination address of an IPv4 or IPv6 packet, or ``None`` if it is too short.

    :func:`peek_ip` for the one field a router looks at, without the tuple.
    """
    if packet:
        version = packet[0] >> 4
        if version == 4 and len(packet) >= 20:
            return packet[16:20]
        if version == 6 and len(packet) >= 40:
            return packet[24:40]
    return None


def parse_tcp_packet(data: bytes | bytearray | memoryview) -> tuple[IPHeader, Segment]:
    """Parse an IP packet carrying TCP and verify the TCP checksum (RFC 9293 MUST-3).

    Raises only :class:`MalformedPacket`: the reasons of :func:`parse_ip` and
    :func:`~synack.wire.tcp.parse_segment`, and ``not_tcp`` for another protocol.
    """
    ip, start, end = parse_ip_span(data)
    if ip.proto != PROTO_TCP:
        raise MalformedPacket("not_tcp", f"IP protocol {ip.proto}")
    # The pseudo-header sum need not be folded: ones_sum takes any start value.
    pseudo = int.from_bytes(ip.src + ip.dst, "big") + PROTO_TCP + end - start
    return ip, parse_segment(data[start:end], pseudo)


class PacketList(Protocol):
    """Anything packets can be appended to (a ``list[bytes]``, or a list that holds more)."""

    def append(self, packet: bytes, /) -> None: ...


def emit_tcp_packet(
    src: bytes, dst: bytes, seg: Segment, ttl: int = 64, ident: int = 0, tos: int = 0
) -> bytes:
    """An IPv4 or IPv6 packet (chosen by address length) carrying ``seg``.

    ``tos`` is the IPv4 TOS octet or the IPv6 traffic class.
    """
    out: list[bytes] = []
    emit_tcp_packets(src, dst, (seg,), out, ttl, ident, tos)
    return out[0]


def emit_tcp_packets(
    src: bytes,
    dst: bytes,
    segs: Iterable[Segment],
    out: PacketList,
    ttl: int = 64,
    ident: int = 0,
    tos: int = 0,
) -> None:
    """Append to ``out`` one packet per segment, as :func:`emit_tcp_packet` makes it.

    The checks and sums that depend only on the addresses are done once for a
    burst of segments of one connection (the endpoint's transmit path).
    """
    n = len(src)
    if n != len(dst) or (n != 4 and n != 16):
        raise ValueError(f"addresses of {n} and {len(dst)} bytes")
    addrs = int.from_bytes(src + dst, "big")
    pseudo = addrs + PROTO_TCP
    if n == 16:
        for seg in segs:
            tcp = seg.emit(pseudo, add_length=True)
            out.append(IPv6Header(src, dst, PROTO_TCP, ttl, tos).emit(len(tcp)) + tcp)
        return
    # What _emit_v4 does for a header without options, inline: this runs once
    # per segment sent. The header checksum comes from the field values (the
    # address words are in ``addrs``); the sum is never zero (the version is in
    # it), so a multiple of 0xFFFF is ones'-complement 0xFFFF, whose complement is 0.
    fixed = (0x4500 | tos) + ident + (IPV4_DF << 13) + ((ttl << 8) | PROTO_TCP) + addrs
    pack = _V4.pack
    for seg in segs:
        tcp = seg.emit(pseudo, add_length=True)
        total = 20 + len(tcp)
        r = (fixed + total) % 0xFFFF
        try:
            head = pack(
                0x45,
                tos,
                total,
                ident,
                IPV4_DF << 13,
                ttl,
                PROTO_TCP,
                ~r & 0xFFFF if r else 0,
                src,
                dst,
            )
        except struct.error as e:
            raise ValueError(f"cannot emit an IPv4 header: {e}") from None
        out.append(head + tcp)

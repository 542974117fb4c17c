"""ICMPv4 (RFC 792, RFC 1191) and ICMPv6 (RFC 4443, RFC 4861 neighbour discovery) messages.

Each message is a frozen value with ``emit``; :func:`parse_icmp4` and
:func:`parse_icmp6` verify the checksum and return one of them (raising only
:class:`~synack.wire.errors.MalformedPacket`). Types synack does not act on are
kept as :class:`Icmp4Other` / :class:`Icmp6Other` so they can be counted.
:func:`error_kind` maps an error message to the :data:`IcmpKind` that
``Endpoint.handle_icmp_error`` takes, and :func:`parse_quoted_tcp` reads the
TCP packet it quotes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal

from synack.wire.checksum import internet_checksum, ones_sum
from synack.wire.errors import MalformedPacket
from synack.wire.ip import PROTO_TCP, peek_ip

__all__ = [
    "ICMP4_DEST_UNREACHABLE",
    "ICMP4_ECHO_REPLY",
    "ICMP4_ECHO_REQUEST",
    "ICMP4_PARAM_PROBLEM",
    "ICMP4_TIME_EXCEEDED",
    "ICMP6_DEST_UNREACHABLE",
    "ICMP6_ECHO_REPLY",
    "ICMP6_ECHO_REQUEST",
    "ICMP6_NEIGHBOR_ADVERTISEMENT",
    "ICMP6_NEIGHBOR_SOLICITATION",
    "ICMP6_PACKET_TOO_BIG",
    "ICMP6_PARAM_PROBLEM",
    "ICMP6_TIME_EXCEEDED",
    "ICMP_KINDS",
    "NDP_OPT_SOURCE_LLADDR",
    "NDP_OPT_TARGET_LLADDR",
    "UNREACH_FRAG_NEEDED",
    "UNREACH_PORT",
    "UNREACH_PROTOCOL",
    "Icmp4DestUnreachable",
    "Icmp4Echo",
    "Icmp4Message",
    "Icmp4Other",
    "Icmp4TimeExceeded",
    "Icmp6DestUnreachable",
    "Icmp6Echo",
    "Icmp6Message",
    "Icmp6Other",
    "Icmp6PacketTooBig",
    "Icmp6ParamProblem",
    "Icmp6TimeExceeded",
    "IcmpKind",
    "NeighborAdvertisement",
    "NeighborSolicitation",
    "QuotedTcp",
    "error_kind",
    "parse_icmp4",
    "parse_icmp6",
    "parse_quoted_tcp",
    "quote_for_error",
]

# RFC 792 message types.
ICMP4_ECHO_REPLY: Final = 0
ICMP4_DEST_UNREACHABLE: Final = 3
ICMP4_ECHO_REQUEST: Final = 8
ICMP4_TIME_EXCEEDED: Final = 11
ICMP4_PARAM_PROBLEM: Final = 12

# RFC 792 / RFC 1122 3.2.2.1 destination-unreachable codes synack names.
UNREACH_NET: Final = 0
UNREACH_HOST: Final = 1
UNREACH_PROTOCOL: Final = 2
UNREACH_PORT: Final = 3
UNREACH_FRAG_NEEDED: Final = 4  # RFC 1191: carries the next-hop MTU

# RFC 4443 2.1 and RFC 4861 4 message types.
ICMP6_DEST_UNREACHABLE: Final = 1
ICMP6_PACKET_TOO_BIG: Final = 2
ICMP6_TIME_EXCEEDED: Final = 3
ICMP6_PARAM_PROBLEM: Final = 4
ICMP6_ECHO_REQUEST: Final = 128
ICMP6_ECHO_REPLY: Final = 129
ICMP6_NEIGHBOR_SOLICITATION: Final = 135
ICMP6_NEIGHBOR_ADVERTISEMENT: Final = 136

# RFC 4861 4.6.1 option types.
NDP_OPT_SOURCE_LLADDR: Final = 1
NDP_OPT_TARGET_LLADDR: Final = 2

_QUOTED_TCP = struct.Struct("!HHI")  # source port, destination port, sequence number
_HEAD = struct.Struct("!BBHHH")  # type, code, checksum, and the 4-byte "rest of header"
_PROTO_ICMPV6: Final = 58


def _with_checksum(head: bytes, body: bytes, start: int = 0) -> bytes:
    csum = internet_checksum(head + body, start)
    return head[:2] + csum.to_bytes(2, "big") + head[4:] + body


def _pseudo6(src: bytes, dst: bytes, length: int) -> int:
    # RFC 8200 8.1: the upper-layer pseudo-header (ICMPv6 is next header 58).
    return ones_sum(src + dst + struct.pack("!II", length, _PROTO_ICMPV6))


# ------------------------------------------------------------------- ICMPv4


@dataclass(frozen=True, slots=True)
class Icmp4Echo:
    """Echo request (type 8) or, with ``reply``, echo reply (type 0) (RFC 792)."""

    ident: int
    seq: int
    data: bytes = b""
    reply: bool = False

    def emit(self) -> bytes:
        kind = ICMP4_ECHO_REPLY if self.reply else ICMP4_ECHO_REQUEST
        return _with_checksum(_HEAD.pack(kind, 0, 0, self.ident, self.seq), self.data)

    def answer(self) -> Icmp4Echo:
        """The echo reply carrying the same identifier, sequence number and data."""
        return Icmp4Echo(self.ident, self.seq, self.data, reply=True)


@dataclass(frozen=True, slots=True)
class Icmp4DestUnreachable:
    """Destination unreachable (type 3) quoting the ``original`` IP header + data.

    ``next_hop_mtu`` is meaningful for code 4, "fragmentation needed and DF set"
    (RFC 1191 4); older routers send 0 there.
    """

    code: int
    original: bytes
    next_hop_mtu: int = 0

    def emit(self) -> bytes:
        head = _HEAD.pack(ICMP4_DEST_UNREACHABLE, self.code, 0, 0, self.next_hop_mtu)
        return _with_checksum(head, self.original)


@dataclass(frozen=True, slots=True)
class Icmp4TimeExceeded:
    """Time exceeded (type 11): code 0 TTL in transit, 1 reassembly (RFC 792)."""

    code: int
    original: bytes

    def emit(self) -> bytes:
        return _with_checksum(_HEAD.pack(ICMP4_TIME_EXCEEDED, self.code, 0, 0, 0), self.original)


@dataclass(frozen=True, slots=True)
class Icmp4Other:
    """Any other ICMPv4 type, kept raw: ``rest`` is header bytes 4-7."""

    type: int
    code: int
    rest: bytes = b"\x00\x00\x00\x00"
    body: bytes = b""

    def emit(self) -> bytes:
        return _with_checksum(bytes((self.type, self.code, 0, 0)) + self.rest, self.body)


Icmp4Message = Icmp4Echo | Icmp4DestUnreachable | Icmp4TimeExceeded | Icmp4Other


def parse_icmp4(data: bytes | bytearray | memoryview) -> Icmp4Message:
    """Parse and checksum-verify an ICMPv4 message (the IPv4 payload).

    Raises :class:`MalformedPacket` with ``truncated`` or ``bad_icmp_checksum``.
    """
    view = memoryview(data)
    if len(view) < 8:
        raise MalformedPacket("truncated", f"ICMP header needs 8 bytes, got {len(view)}")
    if ones_sum(view) != 0xFFFF:
        raise MalformedPacket("bad_icmp_checksum", "ICMPv4 checksum")
    kind, code, _csum, word1, word2 = _HEAD.unpack_from(view)
    body = bytes(view[8:])
    if kind in (ICMP4_ECHO_REQUEST, ICMP4_ECHO_REPLY) and code == 0:
        return Icmp4Echo(word1, word2, body, reply=kind == ICMP4_ECHO_REPLY)
    # RFC 792 calls the rest of these headers "unused" (RFC 4884 later put a length
    # there); receivers ignore it, except for RFC 1191's next-hop MTU.
    if kind == ICMP4_DEST_UNREACHABLE:
        return Icmp4DestUnreachable(code, body, word2 if code == UNREACH_FRAG_NEEDED else 0)
    if kind == ICMP4_TIME_EXCEEDED:
        return Icmp4TimeExceeded(code, body)
    return Icmp4Other(kind, code, bytes(view[4:8]), body)


# ------------------------------------------------------------------- ICMPv6


@dataclass(frozen=True, slots=True)
class Icmp6Echo:
    """Echo request (128) or, with ``reply``, echo reply (129) (RFC 4443 4)."""

    ident: int
    seq: int
    data: bytes = b""
    reply: bool = False

    def emit(self, src: bytes, dst: bytes) -> bytes:
        kind = ICMP6_ECHO_REPLY if self.reply else ICMP6_ECHO_REQUEST
        head = _HEAD.pack(kind, 0, 0, self.ident, self.seq)
        return _with_checksum(head, self.data, _pseudo6(src, dst, 8 + len(self.data)))

    def answer(self) -> Icmp6Echo:
        """The echo reply carrying the same identifier, sequence number and data."""
        return Icmp6Echo(self.ident, self.seq, self.data, reply=True)


@dataclass(frozen=True, slots=True)
class Icmp6DestUnreachable:
    """Destination unreachable (type 1, RFC 4443 3.1); code 4 is port unreachable."""

    code: int
    original: bytes

    def emit(self, src: bytes, dst: bytes) -> bytes:
        head = _HEAD.pack(ICMP6_DEST_UNREACHABLE, self.code, 0, 0, 0)
        return _with_checksum(head, self.original, _pseudo6(src, dst, 8 + len(self.original)))


@dataclass(frozen=True, slots=True)
class Icmp6PacketTooBig:
    """Packet too big (type 2, RFC 4443 3.2) with the next-hop link ``mtu``."""

    mtu: int
    original: bytes

    def emit(self, src: bytes, dst: bytes) -> bytes:
        head = _HEAD.pack(ICMP6_PACKET_TOO_BIG, 0, 0, self.mtu >> 16, self.mtu & 0xFFFF)
        return _with_checksum(head, self.original, _pseudo6(src, dst, 8 + len(self.original)))


@dataclass(frozen=True, slots=True)
class Icmp6TimeExceeded:
    """Time exceeded (type 3, RFC 4443 3.3)."""

    code: int
    original: bytes

    def emit(self, src: bytes, dst: bytes) -> bytes:
        head = _HEAD.pack(ICMP6_TIME_EXCEEDED, self.code, 0, 0, 0)
        return _with_checksum(head, self.original, _pseudo6(src, dst, 8 + len(self.original)))


@dataclass(frozen=True, slots=True)
class Icmp6ParamProblem:
    """Parameter problem (type 4, RFC 4443 3.4); code 1 is "unrecognized Next Header"."""

    code: int
    pointer: int
    original: bytes

    def emit(self, src: bytes, dst: bytes) -> bytes:
        head = _HEAD.pack(
            ICMP6_PARAM_PROBLEM, self.code, 0, self.pointer >> 16, self.pointer & 0xFFFF
        )
        return _with_checksum(head, self.original, _pseudo6(src, dst, 8 + len(self.original)))


NdpOption = tuple[int, bytes]


def _emit_ndp_options(options: tuple[NdpOption, ...]) -> bytes:
    out = bytearray()
    for kind, value in options:
        # RFC 4861 4.6: length in units of 8 octets, including type and length.
        units = (2 + len(value) + 7) // 8
        out += bytes((kind, units)) + value + bytes(units * 8 - 2 - len(value))
    return bytes(out)


def _parse_ndp_options(view: memoryview) -> tuple[NdpOption, ...]:
    options: list[NdpOption] = []
    i = 0
    while i < len(view):
        if len(view) - i < 2:
            raise MalformedPacket("ndp_bad_option", "truncated option header")
        kind, units = view[i], view[i + 1]
        # RFC 4861 4.6: "Nodes MUST silently discard an ND packet that contains an
        # option with length zero."
        if units == 0:
            raise MalformedPacket("ndp_bad_option", f"option {kind} with length 0")
        end = i + units * 8
        if end > len(view):
            raise MalformedPacket("ndp_bad_option", f"option {kind} runs past the message")
        options.append((kind, bytes(view[i + 2 : end])))
        i = end
    return tuple(options)


def _lladdr(options: tuple[NdpOption, ...], kind: int) -> bytes | None:
    for k, value in options:
        if k == kind and len(value) >= 6:
            return value[:6]
    return None


@dataclass(frozen=True, slots=True)
class NeighborSolicitation:
    """Neighbour solicitation (type 135, RFC 4861 4.3) for ``target``.

    ``options`` are ``(type, value)`` pairs; value excludes type/length and
    includes the option's zero padding.
    """

    target: bytes
    options: tuple[NdpOption, ...] = ()

    @property
    def source_mac(self) -> bytes | None:
        """The Source Link-Layer Address option, if present."""
        return _lladdr(self.options, NDP_OPT_SOURCE_LLADDR)

    def emit(self, src: bytes, dst: bytes) -> bytes:
        head = _HEAD.pack(ICMP6_NEIGHBOR_SOLICITATION, 0, 0, 0, 0)
        body = self.target + _emit_ndp_options(self.options)
        return _with_checksum(head, body, _pseudo6(src, dst, 8 + len(body)))


@dataclass(frozen=True, slots=True)
class NeighborAdvertisement:
    """Neighbour advertisement (type 136, RFC 4861 4.4) for ``target``."""

    target: bytes
    router: bool = False
    solicited: bool = False
    override: bool = False
    options: tuple[NdpOption, ...] = ()

    @property
    def target_mac(self) -> bytes | None:
        """The Target Link-Layer Address option, if present."""
        return _lladdr(self.options, NDP_OPT_TARGET_LLADDR)

    def emit(self, src: bytes, dst: bytes) -> bytes:
        flags = (self.router << 31) | (self.solicited << 30) | (self.override << 29)
        head = _HEAD.pack(ICMP6_NEIGHBOR_ADVERTISEMENT, 0, 0, flags >> 16, 0)
        body = self.target + _emit_ndp_options(self.options)
        return _with_checksum(head, body, _pseudo6(src, dst, 8 + len(body)))


@dataclass(frozen=True, slots=True)
class Icmp6Other:
    """Any other ICMPv6 type (router solicitations, MLD, ...), kept raw."""

    type: int
    code: int
    rest: bytes = b"\x00\x00\x00\x00"
    body: bytes = b""

    def emit(self, src: bytes, dst: bytes) -> bytes:
        head = bytes((self.type, self.code, 0, 0)) + self.rest
        return _with_checksum(head, self.body, _pseudo6(src, dst, 8 + len(self.body)))


Icmp6Message = (
    Icmp6Echo
    | Icmp6DestUnreachable
    | Icmp6PacketTooBig
    | Icmp6TimeExceeded
    | Icmp6ParamProblem
    | NeighborSolicitation
    | NeighborAdvertisement
    | Icmp6Other
)


def parse_icmp6(data: bytes | bytearray | memoryview, src: bytes, dst: bytes) -> Icmp6Message:
    """Parse and checksum-verify an ICMPv6 message sent from ``src`` to ``dst``.

    Raises :class:`MalformedPacket` with ``truncated``, ``bad_icmp_checksum``,
    ``ndp_bad_code`` or ``ndp_bad_option`` (RFC 4861 7.1.1 / 7.1.2 validity checks
    that do not depend on the IP header; the hop limit is the caller's to check).
    """
    view = memoryview(data)
    n = len(view)
    if n < 8:
        raise MalformedPacket("truncated", f"ICMPv6 header needs 8 bytes, got {n}")
    if ones_sum(view, _pseudo6(src, dst, n)) != 0xFFFF:
        raise MalformedPacket("bad_icmp_checksum", "ICMPv6 checksum")
    kind, code, _csum, word1, word2 = _HEAD.unpack_from(view)
    rest32 = (word1 << 16) | word2
    body = bytes(view[8:])
    if kind in (ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY) and code == 0:
        return Icmp6Echo(word1, word2, body, reply=kind == ICMP6_ECHO_REPLY)
    if kind == ICMP6_DEST_UNREACHABLE:
        return Icmp6DestUnreachable(code, body)
    if kind == ICMP6_PACKET_TOO_BIG:
        return Icmp6PacketTooBig(rest32, body)
    if kind == ICMP6_TIME_EXCEEDED:
        return Icmp6TimeExceeded(code, body)
    if kind == ICMP6_PARAM_PROBLEM:
        return Icmp6ParamProblem(code, rest32, body)
    if kind in (ICMP6_NEIGHBOR_SOLICITATION, ICMP6_NEIGHBOR_ADVERTISEMENT):
        if code != 0:
            raise MalformedPacket("ndp_bad_code", f"ICMPv6 type {kind} code {code}")
        if n < 24:
            raise MalformedPacket("truncated", f"NDP message needs 24 bytes, got {n}")
        target = bytes(view[8:24])
        options = _parse_ndp_options(view[24:])
        if kind == ICMP6_NEIGHBOR_SOLICITATION:
            return NeighborSolicitation(target, options)
        return NeighborAdvertisement(
            target,
            router=bool(rest32 & 0x80000000),
            solicited=bool(rest32 & 0x40000000),
            override=bool(rest32 & 0x20000000),
            options=options,
        )
    return Icmp6Other(kind, code, bytes(view[4:8]), body)


# ------------------------------------------------------------ error mapping

IcmpKind = Literal[
    "net_unreachable",
    "host_unreachable",
    "proto_unreachable",
    "port_unreachable",
    "frag_needed",
    "packet_too_big",
    "time_exceeded",
    "parameter_problem",
    "source_quench",
]
"""What an ICMP error says, as a transport hears it (``Endpoint.handle_icmp_error``)."""

ICMP_KINDS: Final[dict[IcmpKind, str]] = {
    "net_unreachable": "ICMPv4 type 3 codes 0, 6, 9, 11; ICMPv6 type 1 code 0 (no route)",
    "host_unreachable": "ICMPv4 type 3 codes 1, 5, 7, 10, 12, 13; ICMPv6 type 1 codes 1-3, 5, 6",
    "proto_unreachable": "ICMPv4 type 3 code 2; ICMPv6 type 4 code 1 (unrecognized Next Header)",
    "port_unreachable": "ICMPv4 type 3 code 3; ICMPv6 type 1 code 4",
    "frag_needed": "ICMPv4 type 3 code 4, with the next-hop MTU (RFC 1191)",
    "packet_too_big": "ICMPv6 type 2, with the MTU (RFC 8201)",
    "time_exceeded": "ICMPv4 type 11, ICMPv6 type 3",
    "parameter_problem": "ICMPv4 type 12; ICMPv6 type 4 codes other than 1",
    "source_quench": "ICMPv4 type 4, deprecated (RFC 6633): TCP ignores it",
}

_V4_UNREACH_KINDS: Final[dict[int, IcmpKind]] = {
    UNREACH_NET: "net_unreachable",
    UNREACH_HOST: "host_unreachable",
    UNREACH_PROTOCOL: "proto_unreachable",
    UNREACH_PORT: "port_unreachable",
    UNREACH_FRAG_NEEDED: "frag_needed",
    5: "host_unreachable",  # source route failed
    6: "net_unreachable",  # destination network unknown
    7: "host_unreachable",  # destination host unknown
    9: "net_unreachable",  # network administratively prohibited
    10: "host_unreachable",  # host administratively prohibited
    11: "net_unreachable",  # network unreachable for type of service
    12: "host_unreachable",  # host unreachable for type of service
    13: "host_unreachable",  # communication administratively prohibited (RFC 1812)
}

_V6_UNREACH_KINDS: Final[dict[int, IcmpKind]] = {
    0: "net_unreachable",  # no route to destination
    1: "host_unreachable",  # administratively prohibited
    2: "host_unreachable",  # beyond scope of source address
    3: "host_unreachable",  # address unreachable
    4: "port_unreachable",
    5: "host_unreachable",  # source address failed ingress/egress policy
    6: "host_unreachable",  # reject route to destination
}


def error_kind(msg: Icmp4Message | Icmp6Message) -> tuple[IcmpKind, bytes, int | None] | None:
    """``(kind, original, mtu)`` for an ICMP error that concerns a transport, else None.

    ``kind`` is one of :data:`ICMP_KINDS`; ``mtu`` is set for ``frag_needed``
    (None when the router sent 0, RFC 1191 5) and ``packet_too_big``.
    """
    if isinstance(msg, Icmp4DestUnreachable):
        kind = _V4_UNREACH_KINDS.get(msg.code)
        if kind is None:
            return None
        mtu = msg.next_hop_mtu or None if kind == "frag_needed" else None
        return kind, msg.original, mtu
    if isinstance(msg, Icmp4TimeExceeded | Icmp6TimeExceeded):
        return "time_exceeded", msg.original, None
    if isinstance(msg, Icmp6DestUnreachable):
        kind6 = _V6_UNREACH_KINDS.get(msg.code)
        return None if kind6 is None else (kind6, msg.original, None)
    if isinstance(msg, Icmp6PacketTooBig):
        return "packet_too_big", msg.original, msg.mtu
    if isinstance(msg, Icmp6ParamProblem):
        # RFC 4443 3.4 code 1: unrecognized Next Header type, IPv6's protocol unreachable.
        kind = "proto_unreachable" if msg.code == 1 else "parameter_problem"
        return kind, msg.original, None
    if isinstance(msg, Icmp4Other) and msg.type == ICMP4_PARAM_PROBLEM:
        # RFC 792: the pointer is in the first octet of the rest; the quote follows.
        return "parameter_problem", msg.body, None
    return None


@dataclass(frozen=True, slots=True)
class QuotedTcp:
    """The TCP packet an ICMP error quotes: enough to find its connection (RFC 5927 4.1)."""

    src: bytes
    dst: bytes
    src_port: int
    dst_port: int
    seq: int


def parse_quoted_tcp(original: bytes | bytearray | memoryview) -> QuotedTcp:
    """Addresses, ports and sequence number of the packet an ICMP error quotes.

    ``original`` is the quoted IP header and at least the first 8 octets of its
    TCP header (RFC 792, RFC 4443 2.4 (c)). Raises :class:`MalformedPacket`:
    ``truncated``, ``bad_version``, ``bad_ihl``, or ``not_tcp``.
    """
    _, proto, src, dst, header_len, _ = peek_ip(original)
    if proto != PROTO_TCP:
        raise MalformedPacket("not_tcp", f"the quoted packet carries protocol {proto}")
    if len(original) < header_len + 8:
        raise MalformedPacket(
            "truncated", f"the quote holds {len(original) - header_len} TCP octets"
        )
    sport, dport, seq = _QUOTED_TCP.unpack_from(original, header_len)
    return QuotedTcp(src, dst, sport, dport, seq)


def quote_for_error(packet: bytes) -> bytes:
    """The part of ``packet`` an ICMP error about it quotes: the IP header and 8 octets (RFC 792)."""
    header_len = peek_ip(packet)[4]
    return bytes(packet[: header_len + 8])

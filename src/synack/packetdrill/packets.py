"""A script's packets on the wire: flag letters, ECN names, and inbound ICMP errors.

The runner builds inbound TCP packets with :mod:`synack.wire` (a
:class:`~synack.wire.tcp.Segment` and :func:`~synack.wire.ip.emit_tcp_packet`);
this module holds what is specific to packetdrill's notation, and builds the
ICMP errors a script injects: an IPv4 or IPv6 packet from the script's address
quoting the IP header and first eight TCP octets of a segment the stack sent.
"""

from __future__ import annotations

from typing import Final

from synack.packetdrill.format import FLAG_BITS
from synack.packetdrill.script import IcmpPacket
from synack.wire.icmp import (
    Icmp4DestUnreachable,
    Icmp4Other,
    Icmp4TimeExceeded,
    Icmp6DestUnreachable,
    Icmp6PacketTooBig,
    Icmp6TimeExceeded,
)
from synack.wire.ip import IPv4Header, IPv6Header

__all__ = ["ECN_BITS", "ECN_NAMES", "icmp_error", "tcp_flags"]

ECN_BITS: Final = {"noecn": 0, "ect1": 1, "ect0": 2, "ce": 3}
"""packetdrill's names of the IP ECN field (RFC 3168 5) and their values."""
ECN_NAMES: Final = {v: k for k, v in ECN_BITS.items()}

# RFC 792 / RFC 1122 3.2.2.1 destination-unreachable codes, by packetdrill's names.
_V4_UNREACH: Final = {
    "net_unreachable": 0,
    "host_unreachable": 1,
    "protocol_unreachable": 2,
    "port_unreachable": 3,
    "frag_needed": 4,
    "source_route_failed": 5,
    "net_unknown": 6,
    "host_unknown": 7,
    "net_prohibited": 9,
    "host_prohibited": 10,
    "packet_filtered": 13,
}
# RFC 4443 3.1 codes.
_V6_UNREACH: Final = {
    "net_unreachable": 0,
    "no_route": 0,
    "admin_prohibited": 1,
    "not_neighbour": 2,
    "address_unreachable": 3,
    "port_unreachable": 4,
}


def tcp_flags(letters: str) -> int:
    """The TCP header bits of packetdrill flag letters (``"S."`` is SYN|ACK)."""
    bits = 0
    for c in letters:
        bits |= FLAG_BITS[c]
    return bits


def icmp_error(
    p: IcmpPacket,
    src: bytes,
    dst: bytes,
    *,
    ports: tuple[int, int],
    seq: int,
    length: int,
) -> bytes | None:
    """The IP packet of an ICMP error from ``src`` to ``dst`` (``None`` if unsupported).

    It quotes a TCP segment the stack at ``dst`` sent to ``src``: ``ports``
    (the stack's, then the script's), sequence number ``seq`` and ``length``
    octets of data, as the quoted IP header's length says.
    """
    tcp8 = ports[0].to_bytes(2, "big") + ports[1].to_bytes(2, "big") + seq.to_bytes(4, "big")
    if len(src) == 16:
        quoted = IPv6Header(dst, src).emit(20 + length) + tcp8
        msg6: Icmp6DestUnreachable | Icmp6PacketTooBig | Icmp6TimeExceeded
        if p.icmp_type == "unreachable" and (p.code or "no_route") in _V6_UNREACH:
            msg6 = Icmp6DestUnreachable(_V6_UNREACH[p.code or "no_route"], quoted)
        elif p.icmp_type == "packet_too_big":
            msg6 = Icmp6PacketTooBig(p.mtu or 1280, quoted)
        elif p.icmp_type == "time_exceeded":
            msg6 = Icmp6TimeExceeded(0, quoted)
        else:
            return None
        body = msg6.emit(src, dst)
        return IPv6Header(src, dst, proto=58).emit(len(body)) + body
    quoted = IPv4Header(dst, src).emit(20 + length) + tcp8
    msg4: Icmp4DestUnreachable | Icmp4TimeExceeded | Icmp4Other
    if p.icmp_type == "unreachable" and (p.code or "net_unreachable") in _V4_UNREACH:
        msg4 = Icmp4DestUnreachable(_V4_UNREACH[p.code or "net_unreachable"], quoted, p.mtu or 0)
    elif p.icmp_type == "time_exceeded":
        msg4 = Icmp4TimeExceeded(0, quoted)
    elif p.icmp_type == "source_quench":
        msg4 = Icmp4Other(4, 0, bytes(4), quoted)
    else:
        return None
    body = msg4.emit()
    return IPv4Header(src, dst, proto=1).emit(len(body)) + body

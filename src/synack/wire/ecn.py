"""The ECN field of IP packets (RFC 3168 5): its four codepoints, read and rewritten in place.

A router marks congestion by rewriting the two ECN bits of a packet it
forwards: :func:`packet_ecn` reads them from raw IPv4 or IPv6 bytes and
:func:`with_ecn` returns the packet with new bits and, for IPv4, the header
checksum updated incrementally (RFC 1624 3, eqn. 3), without parsing the rest.
"""

from __future__ import annotations

import enum

__all__ = ["Ecn", "mark_ce", "packet_ecn", "with_ecn"]


class Ecn(enum.IntEnum):
    """RFC 3168 5: "the ECN field in the IP header with four ECN codepoints"."""

    NOT_ECT = 0b00
    ECT1 = 0b01
    ECT0 = 0b10
    CE = 0b11

    @property
    def ect(self) -> bool:
        """ECN-Capable Transport: ECT(0), ECT(1), or already marked CE."""
        return self is not Ecn.NOT_ECT


def packet_ecn(packet: bytes | bytearray | memoryview) -> Ecn:
    """The ECN codepoint of an IPv4 or IPv6 packet (``NOT_ECT`` for anything else)."""
    if len(packet) < 2:
        return Ecn.NOT_ECT
    version = packet[0] >> 4
    if version == 4:
        return Ecn(packet[1] & 0b11)  # the low bits of the TOS octet
    if version == 6:
        return Ecn((packet[1] >> 4) & 0b11)  # the traffic class spans the first two octets
    return Ecn.NOT_ECT


def with_ecn(packet: bytes, ecn: Ecn) -> bytes:
    """``packet`` with its ECN field set to ``ecn``; ``ValueError`` if it is not IP."""
    version = packet[0] >> 4 if packet else 0
    buf = bytearray(packet)
    if version == 4 and len(packet) >= 20:
        old = (buf[0] << 8) | buf[1]
        buf[1] = (buf[1] & 0xFC) | ecn
        new = (buf[0] << 8) | buf[1]
        # RFC 1624 3 (eqn. 3): HC' = ~(~HC + ~m + m'), in one's complement.
        total = (~((buf[10] << 8) | buf[11]) & 0xFFFF) + (~old & 0xFFFF) + new
        total = (total & 0xFFFF) + (total >> 16)
        total = (total & 0xFFFF) + (total >> 16)
        csum = ~total & 0xFFFF
        buf[10], buf[11] = csum >> 8, csum & 0xFF
        return bytes(buf)
    if version == 6 and len(packet) >= 40:
        buf[1] = (buf[1] & 0xCF) | (ecn << 4)
        return bytes(buf)
    raise ValueError("not an IPv4 or IPv6 packet")


def mark_ce(packet: bytes) -> bytes | None:
    """RFC 3168 5: what a congested router does instead of dropping.

    An ECT(0) or ECT(1) packet comes back marked CE (a CE packet unchanged);
    ``None`` for a Not-ECT packet, which the router must drop instead.
    """
    ecn = packet_ecn(packet)
    if ecn is Ecn.NOT_ECT:
        return None
    return packet if ecn is Ecn.CE else with_ecn(packet, Ecn.CE)

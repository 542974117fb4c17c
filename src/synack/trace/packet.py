"""A quick look at an IP packet carrying TCP, for traces and diagrams.

:func:`peek` reads the fixed header fields only (no options, no checksum
check), so it is cheap and still gives sensible fields for a packet that was
corrupted in transit. Anything it cannot read gives ``None``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from synack.wire.errors import MalformedPacket
from synack.wire.ip import PROTO_TCP, addr_to_str, peek_ip
from synack.wire.tcp import FIN, SYN, flag_names

__all__ = ["PacketInfo", "endpoint_str", "peek"]

_TCP = struct.Struct("!HHIIBBH")


class PacketInfo(NamedTuple):
    """The TCP/IP header fields a trace or a ladder line shows."""

    src: bytes
    dst: bytes
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    payload_len: int
    size: int

    @property
    def seg_len(self) -> int:
        """SEG.LEN (RFC 9293 3.4): payload plus one for SYN and one for FIN."""
        return self.payload_len + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)

    @property
    def flag_names(self) -> list[str]:
        return flag_names(self.flags)

    @property
    def flow(self) -> tuple[bytes, int, bytes, int]:
        """``(src, sport, dst, dport)``: one direction of a connection."""
        return self.src, self.sport, self.dst, self.dport


def endpoint_str(addr: bytes, port: int) -> str:
    """``192.168.1.100:40000`` or ``[fd00::5]:80``."""
    text = addr_to_str(addr)
    return f"[{text}]:{port}" if len(addr) == 16 else f"{text}:{port}"


def peek(packet: bytes) -> PacketInfo | None:
    """The header fields of a TCP-in-IPv4/IPv6 packet, or ``None``."""
    n = len(packet)
    try:
        _, proto, src, dst, ihl, total = peek_ip(packet)
    except MalformedPacket:
        return None
    if proto != PROTO_TCP or n < ihl + 20:
        return None
    sport, dport, seq, ack, off, fl, win = _TCP.unpack_from(packet, ihl)
    hlen = (off >> 4) * 4
    payload = max(0, total - ihl - max(hlen, 20))
    return PacketInfo(src, dst, sport, dport, seq, ack, ((off & 0x0F) << 8) | fl, win, payload, n)

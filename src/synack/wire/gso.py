"""TCP super-segments (segmentation offload): one packet standing for a run of MSS-sized segments.

What Linux keeps as an skb with a ``gso_size``: an IP packet whose TCP segment
carries several segments' worth of payload, to be cut by a device doing TCP
segmentation offload (or in software) into segments of ``gso_size`` payload
octets, each with its own sequence number, lengths and checksums. FIN and PSH
stay on the last piece only, CWR on the first (as Linux's TCP GSO does).

* :func:`emit_gso_packet` builds one from a :class:`~synack.wire.tcp.Segment`
  (the core's segmentation offload, when the driver allows it);
* :meth:`GsoPacket.segments` cuts it into the segments a TSO device would send;
* :func:`merge_info` and :func:`merge` build one from a run of ordinary
  segments (generic segmentation offload on transmit, ``synack.link.gso``).

A :class:`GsoPacket` is not ``bytes``: only a driver that asked the core for
them (``Endpoint.packets_to_send(now, tso_max=...)``) ever holds one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, final

from synack.wire.checksum import ones_sum
from synack.wire.ip import PROTO_TCP, IPv4Header, IPv6Header
from synack.wire.tcp import Segment

__all__ = ["MAX_GSO_BYTES", "MAX_TSO", "GsoPacket", "emit_gso_packet", "merge", "merge_info"]

# The largest IPv4 packet (total length is 16 bits); Linux's TSO default limit too.
MAX_GSO_BYTES: Final = 65535
# The most payload one super-segment may carry: a 64 KB IPv4 packet (RFC 791: the
# total length is 16 bits) less synack's 20-octet IP header and the longest TCP
# header (60 octets). IPv6 (RFC 8200: a 16-bit payload length) allows a bit more.
MAX_TSO: Final = MAX_GSO_BYTES - 20 - 60

_FIN: Final = 0x01
_PSH: Final = 0x08
_ACK: Final = 0x10
_CWR: Final = 0x80
_OTHER_FLAGS: Final = 0xFF & ~(_ACK | _PSH)  # FIN SYN RST URG ECE CWR: never merged


@final
@dataclass(frozen=True, slots=True)
class GsoPacket:
    """An IP packet carrying a TCP super-segment, to be cut into ``gso_size``-octet segments.

    The TCP checksum field holds the pseudo-header sum only
    (``CHECKSUM_PARTIAL``, see :meth:`~synack.wire.tcp.Segment.emit_partial`):
    the device or :meth:`segments` completes one per piece.
    """

    packet: bytes
    gso_size: int

    def __len__(self) -> int:
        return len(self.packet)

    def segments(self) -> list[bytes]:
        """The segments a TSO device would send, each with complete checksums.

        Each carries ``gso_size`` octets of payload (the last what is left) and
        the headers of :attr:`packet` with its own sequence number, lengths and
        checksums. The IPv4 identification is left as it is: synack sends with DF.
        """
        packet = self.packet
        size = self.gso_size
        if packet[0] >> 4 == 4:
            ip_len = (packet[0] & 0x0F) * 4
            addrs = packet[12:20]
        else:
            ip_len = 40
            addrs = packet[8:40]
        tcp_len = (packet[ip_len + 12] >> 4) * 4
        headers = ip_len + tcp_len
        data = memoryview(packet)[headers:]
        head = bytearray(packet[:headers])
        seq = int.from_bytes(head[ip_len + 4 : ip_len + 8], "big")
        flags = head[ip_len + 13]
        pseudo = ones_sum(addrs) + PROTO_TCP
        out: list[bytes] = []
        n = len(data)
        for off in range(0, n, size):
            piece = data[off : off + size]
            tcp_total = tcp_len + len(piece)
            if ip_len == 20:
                head[2:4] = (20 + tcp_total).to_bytes(2, "big")
                head[10:12] = b"\x00\x00"
                head[10:12] = (~ones_sum(head[:20]) & 0xFFFF).to_bytes(2, "big")
            else:
                head[4:6] = tcp_total.to_bytes(2, "big")
            head[ip_len + 4 : ip_len + 8] = ((seq + off) & 0xFFFFFFFF).to_bytes(4, "big")
            f = flags if off + size >= n else flags & ~(_FIN | _PSH)
            head[ip_len + 13] = f if off == 0 else f & ~_CWR
            head[ip_len + 16 : ip_len + 18] = b"\x00\x00"
            total = ones_sum(piece, ones_sum(head[ip_len:], pseudo + tcp_total))
            head[ip_len + 16 : ip_len + 18] = (~total & 0xFFFF).to_bytes(2, "big")
            out.append(bytes(head) + piece)
        return out


def emit_gso_packet(
    src: bytes,
    dst: bytes,
    seg: Segment,
    gso_size: int,
    ttl: int = 64,
    ident: int = 0,
    tos: int = 0,
) -> GsoPacket:
    """``seg`` (more than ``gso_size`` octets of payload) as a super-segment from ``src`` to ``dst``."""
    if len(src) != len(dst) or len(src) not in (4, 16):
        raise ValueError(f"addresses of {len(src)} and {len(dst)} bytes")
    tcp = seg.emit_partial(int.from_bytes(src + dst, "big") + PROTO_TCP, add_length=True)
    if len(src) == 16:
        head = IPv6Header(src, dst, PROTO_TCP, ttl, tos).emit(len(tcp))
    else:
        head = IPv4Header(src, dst, PROTO_TCP, ttl, tos, ident).emit(len(tcp))
    return GsoPacket(head + tcp, gso_size)


def merge_info(packet: bytes) -> tuple[int, int, bytes, int, int, int] | None:
    """``(ip_len, tcp_len, flow_key, seq, flags, payload_len)`` of a TCP packet that may be merged.

    None for anything that never is: not TCP, IPv4 options or fragments, IPv6
    extension headers, any flag besides ACK and PSH, or no ACK. Segments merge
    when their flow keys are equal (addresses, ports, ACK number, window,
    urgent pointer and options) and their sequence numbers are contiguous.
    """
    if len(packet) < 40:
        return None
    first = packet[0]
    if first == 0x45:  # IPv4 without options
        if packet[9] != PROTO_TCP or packet[6] & 0x3F or packet[7]:  # not TCP, or a fragment
            return None
        ip_len = 20
        addrs = packet[12:20]
    elif first >> 4 == 6:
        if packet[6] != PROTO_TCP or len(packet) < 60:
            return None
        ip_len = 40
        addrs = packet[8:40]
    else:
        return None
    tcp = ip_len
    tcp_len = (packet[tcp + 12] >> 4) * 4
    if tcp_len < 20 or len(packet) < ip_len + tcp_len:
        return None
    flags = packet[tcp + 13]
    if flags & _OTHER_FLAGS or not flags & _ACK:
        return None
    key = addrs + packet[tcp : tcp + 4] + packet[tcp + 8 : tcp + 12] + packet[tcp + 14 : tcp + 16]
    key += packet[tcp + 18 : tcp + tcp_len]
    seq = int.from_bytes(packet[tcp + 4 : tcp + 8], "big")
    return ip_len, tcp_len, key, seq, flags, len(packet) - ip_len - tcp_len


def merge(group: list[bytes], ip_len: int, tcp_len: int, last_flags: int) -> bytes:
    """One super-segment from ``group`` (a contiguous run that :func:`merge_info` accepted).

    It carries the headers of the first, the flags of the last, and a partial
    checksum (the pseudo-header sum), as :class:`GsoPacket` describes.
    """
    first = group[0]
    headers = ip_len + tcp_len
    payload = b"".join(memoryview(p)[headers:] for p in group)
    total = headers + len(payload)
    head = bytearray(first[:headers])
    if ip_len == 20:
        head[2:4] = total.to_bytes(2, "big")
        head[10:12] = b"\x00\x00"
        head[10:12] = (~ones_sum(head[:20]) & 0xFFFF).to_bytes(2, "big")
        src_dst = bytes(head[12:20])
        pseudo = ones_sum(src_dst + struct.pack("!BBH", 0, PROTO_TCP, total - 20))
    else:
        head[4:6] = (total - 40).to_bytes(2, "big")
        src_dst = bytes(head[8:40])
        pseudo = ones_sum(src_dst + struct.pack("!II", total - 40, PROTO_TCP))
    head[ip_len + 13] = last_flags
    # CHECKSUM_PARTIAL: the field holds the pseudo-header sum; the kernel finishes
    # the checksum of every segment it cuts (VIRTIO_NET_HDR_F_NEEDS_CSUM).
    head[ip_len + 16 : ip_len + 18] = pseudo.to_bytes(2, "big")
    return bytes(head) + payload

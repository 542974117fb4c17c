"""Generic segmentation offload on transmit: merge a burst of TCP segments into one super-segment.

synack's core emits MSS-sized segments. When the TAP device accepts GSO
(``TUNSETOFFLOAD`` with TSO4/TSO6), consecutive segments of one connection that
the kernel would cut back into exactly the same segments are merged into one
packet of up to 64 KB, with ``gso_size`` set to their length. The kernel's GSO
code then rebuilds each segment (its own headers, sequence number and checksum),
so what reaches the peer is what the core sent; synack saves a system call,
a trip through the kernel's stack and, downstream, most of the ACKs.

Segments merge when they share addresses, ports, ACK number, window, options
and flags (ACK, with PSH allowed on the last), their sequence numbers are
contiguous, and all but the last carry the same payload length. Anything else
(SYN, FIN, RST, URG, IP options, IPv6 extension headers) goes as it is.

With ``Config.tso_max`` the core builds such super-segments itself
(:class:`~synack.wire.ip.GsoPacket`); they pass through :func:`coalesce` as they
are, and :func:`segment` cuts them in software where the device will not (no
TSO) or must not (an impairment that loses or delays wire-sized packets).
"""

from __future__ import annotations

import struct
from typing import Final

from synack.wire.checksum import ones_sum
from synack.wire.ip import GsoPacket

__all__ = ["MAX_GSO_BYTES", "Burst", "coalesce", "segment", "segment_all"]

# The largest IPv4 packet (total length is 16 bits); Linux's TSO default limit too.
MAX_GSO_BYTES: Final = 65535

_FIN: Final = 0x01
_PSH: Final = 0x08
_ACK: Final = 0x10
_CWR: Final = 0x80
_OTHER_FLAGS: Final = 0xFF & ~(_ACK | _PSH)  # FIN SYN RST URG ECE CWR: never merged

Burst = tuple[bytes, bytes, int]
"""``(link header, packet, gso_size)``; ``gso_size`` 0 means a plain packet."""


def _tcp_info(packet: bytes) -> tuple[int, int, bytes, int, int, int] | None:
    """``(ip_len, tcp_len, flow_key, seq, flags, payload_len)`` of a mergeable TCP packet, else None."""
    if len(packet) < 40:
        return None
    first = packet[0]
    if first == 0x45:  # IPv4 without options
        if packet[9] != 6 or packet[6] & 0x3F or packet[7]:  # not TCP, or a fragment
            return None
        ip_len = 20
        addrs = packet[12:20]
    elif first >> 4 == 6:
        if packet[6] != 6 or len(packet) < 60:
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
    # Flow key: addresses, ports, ACK number, window, urgent pointer and options
    # (everything that every segment of the super-segment repeats).
    key = addrs + packet[tcp : tcp + 4] + packet[tcp + 8 : tcp + 12] + packet[tcp + 14 : tcp + 16]
    key += packet[tcp + 18 : tcp + tcp_len]
    seq = int.from_bytes(packet[tcp + 4 : tcp + 8], "big")
    return ip_len, tcp_len, key, seq, flags, len(packet) - ip_len - tcp_len


def _merge(group: list[bytes], ip_len: int, tcp_len: int, last_flags: int) -> bytes:
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
        pseudo = ones_sum(src_dst + struct.pack("!BBH", 0, 6, total - 20))
    else:
        head[4:6] = (total - 40).to_bytes(2, "big")
        src_dst = bytes(head[8:40])
        pseudo = ones_sum(src_dst + struct.pack("!II", total - 40, 6))
    head[ip_len + 13] = last_flags
    # CHECKSUM_PARTIAL: the field holds the pseudo-header sum; the kernel finishes
    # the checksum of every segment it cuts (VIRTIO_NET_HDR_F_NEEDS_CSUM).
    head[ip_len + 16 : ip_len + 18] = pseudo.to_bytes(2, "big")
    return bytes(head) + payload


def coalesce(frames: list[tuple[bytes, bytes]], limit: int = MAX_GSO_BYTES) -> list[Burst]:
    """Merge runs of mergeable segments in ``frames`` (``(link header, packet)`` pairs), keeping order."""
    out: list[Burst] = []
    i, n = 0, len(frames)
    while i < n:
        header, packet = frames[i]
        if type(packet) is GsoPacket:
            out.append((header, packet, packet.gso_size))
            i += 1
            continue
        info = _tcp_info(packet)
        if info is None or info[5] == 0:
            out.append((header, packet, 0))
            i += 1
            continue
        ip_len, tcp_len, key, seq, flags, size = info
        group = [packet]
        total = len(packet)
        next_seq = (seq + size) & 0xFFFFFFFF
        last_flags = flags
        j = i + 1
        # PSH may only be on the last segment of a run: a PSH segment ends the run.
        while j < n and not last_flags & _PSH:
            h2, p2 = frames[j]
            if h2 != header or type(p2) is GsoPacket:
                break
            info2 = _tcp_info(p2)
            if info2 is None or info2[0] != ip_len or info2[2] != key or info2[3] != next_seq:
                break
            size2 = info2[5]
            if size2 == 0 or size2 > size or total + size2 > limit:
                break
            group.append(p2)
            total += size2
            last_flags = info2[4]
            next_seq = (next_seq + size2) & 0xFFFFFFFF
            j += 1
            if size2 < size:
                break  # a short segment can only be the last
        if len(group) == 1:
            out.append((header, packet, 0))
        else:
            out.append((header, _merge(group, ip_len, tcp_len, last_flags), size))
        i = j
    return out


def segment(packet: GsoPacket) -> list[bytes]:
    """Cut a super-segment into the segments a TSO device would send, checksums complete.

    Each carries ``gso_size`` octets of payload (the last what is left) and the
    headers of ``packet`` with its own sequence number, lengths and checksums;
    FIN and PSH stay on the last segment only, CWR on the first (as Linux's TCP
    GSO does). The IPv4 identification is left as it is: synack sends with DF.
    """
    size = packet.gso_size
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
    head[ip_len + 16 : ip_len + 18] = b"\x00\x00"
    seq = int.from_bytes(head[ip_len + 4 : ip_len + 8], "big")
    flags = head[ip_len + 13]
    pseudo = ones_sum(addrs) + 6
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


def segment_all(packets: list[bytes]) -> list[bytes]:
    """``packets`` with every :class:`~synack.wire.ip.GsoPacket` cut by :func:`segment`."""
    if not any(type(p) is GsoPacket for p in packets):
        return packets
    out: list[bytes] = []
    for p in packets:
        if type(p) is GsoPacket:
            out += segment(p)
        else:
            out.append(p)
    return out

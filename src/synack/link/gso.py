"""Generic segmentation offload on transmit: merge a burst of TCP segments into one super-segment.

When the TAP device accepts GSO (``TUNSETOFFLOAD`` with TSO4/TSO6), consecutive
MSS-sized segments of one connection that the kernel would cut back into
exactly the same segments are merged into one packet of up to 64 KB, with
``gso_size`` set to their length. The kernel's GSO code then rebuilds each
segment (its own headers, sequence number and checksum), so what reaches the
peer is what the core sent; synack saves a system call, a trip through the
kernel's stack and, downstream, most of the ACKs.

Segments merge when they share addresses, ports, ACK number, window, options
and flags (ACK, with PSH allowed on the last), their sequence numbers are
contiguous, and all but the last carry the same payload length (see
:func:`synack.wire.gso.merge_info`). Anything else (SYN, FIN, RST, URG, IP
options, IPv6 extension headers) goes as it is. Super-segments the core built
itself (:class:`~synack.wire.gso.GsoPacket`, when the link asked for them with
``tso_max``) pass through unchanged.
"""

from __future__ import annotations

from synack.wire.gso import MAX_GSO_BYTES, GsoPacket, merge, merge_info

__all__ = ["MAX_GSO_BYTES", "Burst", "coalesce"]

_PSH = 0x08

Burst = tuple[bytes, bytes, int]
"""``(link header, packet, gso_size)``; ``gso_size`` 0 means a plain packet."""


def coalesce(
    frames: list[tuple[bytes, bytes | GsoPacket]], limit: int = MAX_GSO_BYTES
) -> list[Burst]:
    """Merge runs of mergeable segments in ``frames`` (``(link header, packet)`` pairs), keeping order."""
    out: list[Burst] = []
    i, n = 0, len(frames)
    while i < n:
        header, packet = frames[i]
        if isinstance(packet, GsoPacket):
            out.append((header, packet.packet, packet.gso_size))
            i += 1
            continue
        info = merge_info(packet)
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
            if h2 != header or isinstance(p2, GsoPacket):
                break
            info2 = merge_info(p2)
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
            out.append((header, merge(group, ip_len, tcp_len, last_flags), size))
        i = j
    return out

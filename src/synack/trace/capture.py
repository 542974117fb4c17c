"""Reading capture files of any origin: classic pcap and pcapng, down to IP packets.

:func:`read_capture` opens what tcpdump, tshark/dumpcap, Wireshark or synack
wrote and yields one :class:`CapturedPacket` per frame that carries IPv4 or
IPv6, with its timestamp in integer microseconds and the link layer removed.
Link types understood: raw IP (101, 228, 229), Ethernet (1, with 802.1Q tags),
Linux cooked capture v1 and v2 (113, 276, what ``-i any`` gives) and BSD
loopback (0). pcapng files may mix interfaces with different link types and
timestamp resolutions (the ``if_tsresol`` option); Enhanced, Simple and the
obsolete Packet blocks are read, other blocks skipped.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final, NamedTuple

from synack.trace.pcap import Buffer, iter_pcap

__all__ = ["CapturedPacket", "read_capture", "read_pcapng", "strip_link_layer"]

_PCAPNG_SHB: Final = 0x0A0D0D0A
_BYTE_ORDER_MAGIC: Final = 0x1A2B3C4D
_IDB: Final = 0x00000001
_OPB: Final = 0x00000002  # obsolete Packet Block
_SPB: Final = 0x00000003
_EPB: Final = 0x00000006

_ETHERTYPE_IPV4: Final = 0x0800
_ETHERTYPE_IPV6: Final = 0x86DD
_VLAN_TAGS: Final = (0x8100, 0x88A8, 0x9100)


class CapturedPacket(NamedTuple):
    """One captured IP packet: time (µs), the IP bytes, and the length on the wire."""

    t: int
    data: bytes
    orig_len: int


def read_pcapng(source: str | Path | bytes) -> list[tuple[int, int, bytes, int]]:
    """Read a pcapng file: ``[(t_us, linktype, frame, orig_len), ...]`` in file order.

    Raises ``ValueError`` on a file that is not pcapng or is damaged.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return list(_iter_pcapng(data))


def _iter_pcapng(data: Buffer) -> Iterator[tuple[int, int, bytes, int]]:
    """:func:`read_pcapng`'s packets one at a time (a ``ValueError`` where damaged)."""
    if len(data) < 12 or struct.unpack_from("<I", data)[0] != _PCAPNG_SHB:
        raise ValueError("not a pcapng file (no section header block)")
    last_t = 0
    order = "<"
    # Per section: the interfaces' (linktype, ticks per second, snaplen).
    ifaces: list[tuple[int, int]] = []
    off = 0
    n = len(data)
    while off + 12 <= n:
        btype = struct.unpack_from(order + "I", data, off)[0]
        if btype == _PCAPNG_SHB:
            magic = struct.unpack_from("<I", data, off + 8)[0]
            if magic == _BYTE_ORDER_MAGIC:
                order = "<"
            elif magic == struct.unpack("<I", struct.pack(">I", _BYTE_ORDER_MAGIC))[0]:
                order = ">"
            else:
                raise ValueError(f"bad byte-order magic at offset {off}")
            ifaces = []
        blen = struct.unpack_from(order + "I", data, off + 4)[0]
        if blen < 12 or blen % 4 or off + blen > n:
            raise ValueError(f"bad block length {blen} at offset {off}")
        body = data[off + 8 : off + blen - 4]
        if btype == _IDB:
            linktype = struct.unpack_from(order + "H", body)[0]
            ifaces.append((linktype, _tsresol(body[8:], order)))
        elif btype == _EPB:
            iface, hi, lo, incl, orig = struct.unpack_from(order + "IIIII", body)
            linktype, per_s = _iface(ifaces, iface, off)
            ticks = (hi << 32) | lo
            last_t = ticks * 1_000_000 // per_s
            yield last_t, linktype, bytes(body[20 : 20 + incl]), orig
        elif btype == _OPB:
            iface, _drops, hi, lo, incl, orig = struct.unpack_from(order + "HHIIII", body)
            linktype, per_s = _iface(ifaces, iface, off)
            ticks = (hi << 32) | lo
            last_t = ticks * 1_000_000 // per_s
            yield last_t, linktype, bytes(body[20 : 20 + incl]), orig
        elif btype == _SPB:
            # No timestamp: the packet keeps the time of the one before it.
            orig = struct.unpack_from(order + "I", body)[0]
            linktype, _ = _iface(ifaces, 0, off)
            yield last_t, linktype, bytes(body[4 : 4 + orig]), orig
        off += blen
    if off != n:
        raise ValueError(f"truncated block at offset {off}")


@contextlib.contextmanager
def _read(f: BinaryIO) -> Iterator[bytes]:
    """The whole of what cannot be mapped (a pipe, an empty file)."""
    yield f.read()


def _iface(ifaces: list[tuple[int, int]], index: int, off: int) -> tuple[int, int]:
    if index >= len(ifaces):
        raise ValueError(f"packet block at offset {off} names unknown interface {index}")
    return ifaces[index]


def _tsresol(options: bytes, order: str) -> int:
    """Ticks per second from an IDB's options (``if_tsresol``, code 9); default 10**6."""
    off = 0
    while off + 4 <= len(options):
        code, length = struct.unpack_from(order + "HH", options, off)
        if code == 0:
            break
        if code == 9 and length >= 1:
            v = options[off + 4]
            return int(2 ** (v & 0x7F) if v & 0x80 else 10 ** (v & 0x7F))
        off += 4 + ((length + 3) & ~3)
    return 1_000_000


def strip_link_layer(linktype: int, frame: bytes) -> bytes | None:
    """The IP packet inside ``frame`` of the given link type, or ``None`` (ARP, ...)."""
    if linktype in (101, 228, 229, 12, 14):  # raw IP (12 and 14 are old aliases)
        return frame
    if linktype == 1:  # Ethernet II, possibly VLAN-tagged
        off = 12
        while off + 2 <= len(frame):
            ethertype = (frame[off] << 8) | frame[off + 1]
            if ethertype in _VLAN_TAGS:
                off += 4
                continue
            return frame[off + 2 :] if ethertype in (_ETHERTYPE_IPV4, _ETHERTYPE_IPV6) else None
        return None
    if linktype == 113:  # Linux cooked v1: 16 bytes, protocol at 14
        if len(frame) < 16:
            return None
        proto = (frame[14] << 8) | frame[15]
        return frame[16:] if proto in (_ETHERTYPE_IPV4, _ETHERTYPE_IPV6) else None
    if linktype == 276:  # Linux cooked v2: 20 bytes, protocol at 0
        if len(frame) < 20:
            return None
        proto = (frame[0] << 8) | frame[1]
        return frame[20:] if proto in (_ETHERTYPE_IPV4, _ETHERTYPE_IPV6) else None
    if linktype == 0:  # BSD loopback: 4-byte address family in host order
        if len(frame) < 4:
            return None
        return frame[4:] if frame[4:5] and frame[4] >> 4 in (4, 6) else None
    return None


def read_capture(source: str | Path) -> Iterator[CapturedPacket]:
    """The IP packets of a pcap or pcapng file, in file order.

    Frames that are not IP (ARP, ...) are skipped. Raises ``ValueError`` when
    the file is neither format or is damaged, ``OSError`` when it cannot be read.
    """
    with open(source, "rb") as f:
        st = os.fstat(f.fileno())
        # Mapped, not read: the packets are parsed as they are reached, and only
        # what the caller keeps of them stays in memory (a 100 MB capture used
        # to cost twice its size before the first packet was looked at). A pipe
        # (/dev/stdin from tcpdump -w -) or an empty file cannot be mapped: read.
        mapped = stat.S_ISREG(st.st_mode) and st.st_size > 0
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if mapped else _read(f) as data:
            if len(data) >= 4 and struct.unpack_from("<I", data)[0] == _PCAPNG_SHB:
                for t, linktype, frame, orig in _iter_pcapng(data):
                    ip = strip_link_layer(linktype, frame)
                    if ip is not None:
                        yield CapturedPacket(t, ip, orig - (len(frame) - len(ip)))
                return
            linktype, packets = iter_pcap(data)
            for t, frame in packets:
                ip = strip_link_layer(linktype, frame)
                if ip is not None:
                    yield CapturedPacket(t, ip, len(ip))

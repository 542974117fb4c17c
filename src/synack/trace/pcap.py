"""Classic libpcap capture files (microsecond timestamps), written and read.

The file is a 24-byte global header then, per packet, a 16-byte record header
(seconds, microseconds, captured length, original length) and the bytes. Every
field is written little-endian, so one run always gives the same bytes.
``LINKTYPE_RAW`` (101) holds bare IPv4/IPv6 packets, as the simulator carries
them; ``LINKTYPE_ETHERNET`` (1) holds Ethernet frames, as a TAP device does.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from synack.trace.output import FileOutput

__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_RAW",
    "PcapObserver",
    "PcapWriter",
    "iter_pcap",
    "read_pcap",
]

Buffer = bytes | mmap.mmap
"""What the readers parse: a file's bytes, or the file mapped into memory."""

LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101

_MAGIC_US: Final = 0xA1B2C3D4
_MAGIC_NS: Final = 0xA1B23C4D
_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


class PcapWriter(FileOutput[BinaryIO]):
    """Append packets to a classic pcap file.

    ``dest`` is a path (opened and owned by the writer) or a binary file object
    (left open by :meth:`close`). Timestamps are integer microseconds, as the
    simulator's clock; packets longer than ``snaplen`` are truncated with their
    original length recorded.
    """

    def __init__(
        self,
        dest: str | Path | BinaryIO,
        linktype: int = LINKTYPE_RAW,
        snaplen: int = 65535,
    ) -> None:
        super().__init__(dest, lambda path: open(path, "wb"))  # noqa: SIM115 - closed in close()
        self.linktype = linktype
        self.snaplen = snaplen
        self.packets = 0
        self._file.write(_GLOBAL.pack(_MAGIC_US, 2, 4, 0, 0, snaplen, linktype))

    def write(self, t_us: int, data: bytes) -> None:
        """Record ``data`` captured at ``t_us`` microseconds."""
        if t_us < 0:
            raise ValueError(f"negative timestamp {t_us}")
        n = len(data)
        cap = data if n <= self.snaplen else data[: self.snaplen]
        sec, usec = divmod(t_us, 1_000_000)
        self._file.write(_RECORD.pack(sec, usec, len(cap), n))
        self._file.write(cap)
        self.packets += 1

    def flush(self) -> None:
        self._file.flush()


class PcapObserver:
    """A link observer (``(now, link, what, packet, detail)``) writing to a pcap.

    ``at="send"`` captures each packet as its sender put it on a link (lost
    packets included, like a capture on the sender's interface); ``"deliver"``
    captures what arrived (corrupted and duplicated copies included, lost ones
    not). ``links`` limits the capture to the named links.
    """

    def __init__(
        self, writer: PcapWriter, *, at: str = "send", links: Iterable[str] | None = None
    ) -> None:
        if at not in ("send", "deliver"):
            raise ValueError(f"capture point must be 'send' or 'deliver', not {at!r}")
        self.writer = writer
        self.at = at
        self.links = frozenset(links) if links is not None else None

    def __call__(self, now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        if what == self.at and (self.links is None or link in self.links):
            self.writer.write(now, packet)


def read_pcap(source: str | Path | bytes) -> tuple[int, list[tuple[int, bytes]]]:
    """Read a classic pcap: ``(linktype, [(t_us, data), ...])``.

    Accepts either byte order and nanosecond files (timestamps are then
    rounded down to microseconds). Raises ``ValueError`` on a damaged file.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return _parse(data)


def _parse(data: bytes) -> tuple[int, list[tuple[int, bytes]]]:
    linktype, records = iter_pcap(data)
    return linktype, list(records)


def iter_pcap(data: Buffer) -> tuple[int, Iterator[tuple[int, bytes]]]:
    """Like :func:`read_pcap` over bytes already in hand (or a memory map), one
    record at a time: the link type at once, the packets as they are read, and
    a ``ValueError`` where the file is damaged."""
    if len(data) < 24:
        raise ValueError("not a pcap file: shorter than its global header")
    for order in ("<", ">"):
        magic = struct.unpack_from(order + "I", data)[0]
        if magic in (_MAGIC_US, _MAGIC_NS):
            break
    else:
        raise ValueError("not a classic pcap file (bad magic)")
    nano = magic == _MAGIC_NS
    linktype = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
    rec = struct.Struct(order + "IIII")
    return linktype, _records(data, rec, nano)


def _records(data: Buffer, rec: struct.Struct, nano: bool) -> Iterator[tuple[int, bytes]]:
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError(f"truncated record header at offset {off}")
        sec, frac, incl, _orig = rec.unpack_from(data, off)
        off += 16
        if off + incl > len(data):
            raise ValueError(f"truncated packet at offset {off}")
        t = sec * 1_000_000 + (frac // 1000 if nano else frac)
        yield t, data[off : off + incl]
        off += incl

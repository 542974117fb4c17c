"""Out-of-order receive queue (RFC 9293 3.10.7.4, "segment text" and trimming), with bounded cost.

Positions are *unwrapped* stream offsets (plain ints that never wrap), so the
queue itself needs no modular arithmetic; the connection converts sequence
numbers to offsets relative to RCV.NXT before inserting.

Held octets live in one ring buffer indexed by offset, and the held ranges in
two sorted lists of starts and ends. A segment costs a binary search, a copy
of its own octets and a list update whose length is bounded by
``max_ranges``: never work proportional to everything held, however the
segments are cut, ordered or overlapped (the SegmentSmack class,
CVE-2018-5390), and no per-segment objects, so memory is the octets held
plus a small fixed cost per range. A segment that would open a range beyond
``max_ranges`` is refused (Linux prunes its out-of-order queue for the same
reason); it is not acknowledged, so the sender sends it again later.
"""

from __future__ import annotations

import bisect
from typing import Final

__all__ = ["DEFAULT_MAX_RANGES", "REFUSED", "Reassembler"]

DEFAULT_MAX_RANGES: Final = 512
"""Held ranges at most. A sender whose segments carry at least 256 octets and
whose every other segment is lost needs one range per 512 octets of window:
512 ranges cover a 256 KB window (``Config.recv_buffer``'s default)."""
REFUSED: Final = -1
"""What :meth:`Reassembler.insert` returns for a segment it will not hold."""
_MIN_RING: Final = 1 << 14


class Reassembler:
    """Holds non-overlapping, non-adjacent ranges of received but not yet in-order data."""

    __slots__ = ("_buf", "_ends", "_mask", "_starts", "max_ranges", "size")

    def __init__(self, max_ranges: int = DEFAULT_MAX_RANGES) -> None:
        if max_ranges < 1:
            raise ValueError("max_ranges must be at least 1")
        self.max_ranges = max_ranges
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._buf: bytearray | None = None  # allocated while something is held
        self._mask = 0
        self.size = 0

    def __len__(self) -> int:
        return len(self._starts)

    # --------------------------------------------------------------- queries
    def ranges(self) -> list[tuple[int, int]]:
        """The held ranges as ``(start, end)`` offsets, ascending (a copy: O(ranges))."""
        return list(zip(self._starts, self._ends, strict=True))

    def containing(self, offset: int) -> tuple[int, int] | None:
        """The held range that contains ``offset``, or ``None`` (O(log ranges))."""
        i = bisect.bisect_right(self._starts, offset) - 1
        if i >= 0 and offset < self._ends[i]:
            return self._starts[i], self._ends[i]
        return None

    def highest(self, n: int) -> list[tuple[int, int]]:
        """Up to ``n`` held ranges, highest first (O(n))."""
        starts, ends = self._starts, self._ends
        k = len(starts)
        return [(starts[i], ends[i]) for i in range(k - 1, max(k - n, 0) - 1, -1)]

    # --------------------------------------------------------------- updates
    def insert(self, start: int, data: bytes | bytearray | memoryview) -> int:
        """Add ``data`` at offset ``start``, keeping octets already held; return new octets.

        Overlaps with held ranges are trimmed (duplicates carry no new data) and
        adjacent ranges are merged. Returns :data:`REFUSED` (and holds nothing)
        when the data would open a new range beyond ``max_ranges``.
        """
        n = len(data)
        if not n:
            return 0
        end = start + n
        starts, ends = self._starts, self._ends
        # The ranges touching [start, end]: from the last one starting at or
        # before ``start`` (if it reaches ``start``) to the last starting at or
        # before ``end``.
        first = bisect.bisect_right(starts, start) - 1
        if first < 0 or ends[first] < start:
            first += 1
        last = bisect.bisect_right(starts, end, lo=first)  # one past
        if first == last and len(starts) >= self.max_ranges:
            return REFUSED
        if first < last and starts[first] <= start and end <= ends[first]:
            return 0  # a duplicate: every octet is held already
        lo = min(start, starts[first]) if first < last else start
        hi = max(end, ends[last - 1]) if first < last else end
        self._make_room(lo, hi)
        view = memoryview(data)
        added = 0
        at = start
        # Copy only the gaps between held ranges: held octets win.
        for i in range(first, last):
            s, e = starts[i], ends[i]
            if s > at:
                self._write(at, view[at - start : s - start])
                added += s - at
            if e > at:
                at = e
        if at < end:
            self._write(at, view[at - start :])
            added += end - at
        if first == last:
            starts.insert(first, lo)
            ends.insert(first, hi)
        else:
            starts[first] = lo
            ends[first] = hi
            del starts[first + 1 : last]
            del ends[first + 1 : last]
        self.size += added
        return added

    def pop_ready(self, offset: int) -> bytes:
        """Remove and return the data that starts at or before ``offset`` (now in order)."""
        starts = self._starts
        if not starts or starts[0] > offset:
            return b""
        s = starts.pop(0)
        e = self._ends.pop(0)
        self.size -= e - s
        data = self._read(offset, e - offset) if e > offset else b""
        if not starts:
            self._buf = None  # nothing held: an idle connection keeps no ring
        return data

    def discard_before(self, offset: int) -> None:
        """Drop ranges that end at or before ``offset`` (already delivered)."""
        starts, ends = self._starts, self._ends
        k = bisect.bisect_right(ends, offset)
        if k:
            self.size -= sum(ends[i] - starts[i] for i in range(k))
            del starts[:k]
            del ends[:k]
            if not starts:
                self._buf = None

    # -------------------------------------------------------------- the ring
    def _make_room(self, lo: int, hi: int) -> None:
        """Make sure the ring holds every held offset and ``[lo, hi)`` without aliasing."""
        if self._starts:
            lo = min(lo, self._starts[0])
            hi = max(hi, self._ends[-1])
        need = hi - lo
        buf = self._buf
        if buf is not None and need <= len(buf):
            return
        cap = _MIN_RING
        while cap < need:
            cap <<= 1
        old, old_mask = buf, self._mask
        self._buf = bytearray(cap)
        self._mask = cap - 1
        if old is not None:
            # Grow (rare: the span held doubled): move what is held to the new ring.
            for s, e in zip(self._starts, self._ends, strict=True):
                self._write(s, _read_ring(old, old_mask, s, e - s))

    def _write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        buf = self._buf
        assert buf is not None
        cap = len(buf)
        p = offset & self._mask
        n = len(data)
        if p + n <= cap:
            buf[p : p + n] = data
        else:
            k = cap - p
            buf[p:] = data[:k]
            buf[: n - k] = data[k:]

    def _read(self, offset: int, n: int) -> bytes:
        buf = self._buf
        assert buf is not None
        return _read_ring(buf, self._mask, offset, n)


def _read_ring(buf: bytearray, mask: int, offset: int, n: int) -> bytes:
    p = offset & mask
    view = memoryview(buf)
    if p + n <= len(buf):
        return bytes(view[p : p + n])
    return bytes(view[p:]) + bytes(view[: n - (len(buf) - p)])

"""Out-of-order receive queue (RFC 9293 3.10.7.4, "segment text" and trimming).

Positions are *unwrapped* stream offsets (plain ints that never wrap), so the
queue itself needs no modular arithmetic; the connection converts sequence
numbers to offsets relative to RCV.NXT before inserting.
"""

from __future__ import annotations

import bisect

__all__ = ["Reassembler"]


class Reassembler:
    """Holds non-overlapping, non-adjacent ranges of received but not yet in-order data."""

    __slots__ = ("_data", "_starts", "size")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._data: list[bytes | bytearray] = []
        self.size = 0

    def __len__(self) -> int:
        return len(self._starts)

    def ranges(self) -> list[tuple[int, int]]:
        """The held ranges as ``(start, end)`` offsets, ascending (for SACK)."""
        return [(s, s + len(d)) for s, d in zip(self._starts, self._data, strict=True)]

    def insert(self, start: int, data: bytes) -> int:
        """Add ``data`` at offset ``start``, keeping octets already held; return new octets.

        Overlaps with held ranges are trimmed (duplicates carry no new data) and
        adjacent ranges are merged.
        """
        if not data:
            return 0
        end = start + len(data)
        starts, datas = self._starts, self._data
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0:
            # Fast paths for what a loss leaves behind: the segment that extends the
            # range before it (and does not reach the next one), or a duplicate.
            held = datas[i]
            held_end = starts[i] + len(held)
            if held_end == start and (i + 1 == len(starts) or starts[i + 1] > end):
                if type(held) is not bytearray:
                    held = datas[i] = bytearray(held)
                held += data  # amortised O(len(data)): no copy of what is held
                self.size += len(data)
                return len(data)
            if end <= held_end:
                return 0
        if i >= 0 and starts[i] + len(datas[i]) >= start:
            # merge with the range that begins before us
            first = i
        else:
            first = i + 1
        # collect every held range touching [start, end]
        j = first
        new_start, new_end = start, end
        while j < len(starts) and starts[j] <= end:
            new_start = min(new_start, starts[j])
            new_end = max(new_end, starts[j] + len(datas[j]))
            j += 1
        if first == j:
            starts.insert(first, start)
            datas.insert(first, data)
            self.size += len(data)
            return len(data)
        buf = bytearray(new_end - new_start)
        buf[start - new_start : end - new_start] = data
        old = 0
        for k in range(first, j):
            s = starts[k]
            d = datas[k]
            buf[s - new_start : s - new_start + len(d)] = d  # held octets win
            old += len(d)
        del starts[first:j]
        del datas[first:j]
        starts.insert(first, new_start)
        datas.insert(first, bytes(buf))
        added = (new_end - new_start) - old
        self.size += added
        return added

    def pop_ready(self, offset: int) -> bytes:
        """Remove and return the data that starts at or before ``offset`` (now in order)."""
        if not self._starts or self._starts[0] > offset:
            return b""
        s = self._starts.pop(0)
        d = self._data.pop(0)
        self.size -= len(d)
        if type(d) is bytes and offset == s:
            return d
        return bytes(d[offset - s :])

    def discard_before(self, offset: int) -> None:
        """Drop octets below ``offset`` (already delivered)."""
        while self._starts and self._starts[0] + len(self._data[0]) <= offset:
            self._starts.pop(0)
            self.size -= len(self._data.pop(0))

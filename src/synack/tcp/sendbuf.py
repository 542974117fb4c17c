"""The send buffer: octets from SND.UNA onwards that the user gave and the peer has not acknowledged."""

from __future__ import annotations

__all__ = ["SendBuffer"]


class SendBuffer:
    """A byte queue with cheap appends, reads at an offset, and front removal.

    Offset 0 is the octet at SND.UNA (after the SYN). Acknowledged octets are
    dropped by advancing a head index; the storage is compacted only when the
    dead prefix is large, so an ACK costs O(1) amortised.

    ``size`` is ``len(self)`` kept as a plain attribute: the connection reads it
    several times per segment, and an attribute costs no Python-level call.
    """

    __slots__ = ("_buf", "_head", "capacity", "size")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._buf = bytearray()
        self._head = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.size)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append as much of ``data`` as fits; return how many octets were taken."""
        n = min(len(data), self.capacity - self.size)
        if n > 0:
            self._buf += data[:n] if n < len(data) else data
            self.size += n
            return n
        return 0

    def peek(self, offset: int, size: int) -> bytes:
        """Up to ``size`` octets starting ``offset`` octets after SND.UNA (one copy).

        Through a memoryview: a slice of the bytearray would be a second copy,
        which for a 64 KB TSO segment costs ten times the first (BENCHMARKS.md).
        The view is released as soon as bytes() returns, so the buffer may grow.
        """
        start = self._head + offset
        return bytes(memoryview(self._buf)[start : start + size])

    def consume(self, n: int) -> None:
        """Forget the first ``n`` octets (they were acknowledged)."""
        if n > self.size:
            n = self.size
        self._head += n
        self.size -= n
        if self._head > 65536 and self._head * 2 > len(self._buf):
            del self._buf[: self._head]
            self._head = 0

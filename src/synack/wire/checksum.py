"""The Internet checksum (RFC 1071) used by IPv4 and TCP.

The ones'-complement sum of 16-bit big-endian words equals the whole buffer read
as one big integer modulo 0xFFFF, because 2**16 = 1 (mod 0xFFFF). CPython's
``int.from_bytes`` and big-integer arithmetic run in C, which makes this three to
five times faster than summing an ``array('H')`` (numbers in BENCHMARKS.md).

The modulo by 0xFFFF costs one machine division per 30-bit digit, so a long
buffer is first folded: ``x = (x >> k) + (x & (2**k - 1))`` with ``k`` a multiple
of 16 keeps ``x`` unchanged modulo 0xFFFF and halves its length with cheap
shifts and adds. The only other care needed is ones'-complement's two zeros: a
non-zero sum that is a multiple of 0xFFFF is 0xFFFF ("negative zero"), never 0.
"""

from __future__ import annotations

from typing import Final

__all__ = ["finish", "internet_checksum", "ones_sum"]

_M6144: Final = (1 << 6144) - 1
_M3072: Final = (1 << 3072) - 1
_M1536: Final = (1 << 1536) - 1
_M768: Final = (1 << 768) - 1
_M384: Final = (1 << 384) - 1


def ones_sum(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """Ones'-complement sum of ``data`` as 16-bit words, plus ``start``.

    ``data`` is taken to begin on a 16-bit boundary; an odd final byte is padded
    with a zero byte on the right (RFC 9293 3.1, "Checksum"). ``start`` is any
    non-negative int (usually an earlier result). The result is in
    ``[0, 0xFFFF]``, 0 only when every word and ``start`` are zero, and may be
    fed back as ``start`` to sum further buffers that also begin on even offsets.
    """
    n = len(data)
    x = int.from_bytes(data, "big")
    if n & 1:
        x <<= 8
    if n > 256:  # below this one plain modulo is as fast (BENCHMARKS.md)
        while n > 1536:  # halve long buffers until the fixed folds below fit
            k = (n // 4) * 16
            x = (x >> k) + (x & ((1 << k) - 1))
            n = (x.bit_length() + 7) >> 3
        if n > 768:
            x = (x >> 6144) + (x & _M6144)
        if n > 384:
            x = (x >> 3072) + (x & _M3072)
        if n > 192:
            x = (x >> 1536) + (x & _M1536)
        x = (x >> 768) + (x & _M768)
        x = (x >> 384) + (x & _M384)
    total = x + start
    r = total % 0xFFFF
    if r == 0 and total != 0:
        return 0xFFFF
    return r


def finish(total: int) -> int:
    """The checksum field value for a ones'-complement sum: its complement."""
    return ~total & 0xFFFF


def internet_checksum(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """The checksum field value covering ``data`` (with its checksum field zero)."""
    return ~ones_sum(data, start) & 0xFFFF

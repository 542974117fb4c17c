"""32-bit TCP sequence-number arithmetic (RFC 9293 section 3.4).

Sequence numbers are plain ``int`` values in ``[0, 2**32)``; every comparison goes
through these helpers, which compare modulo 2**32 ("serial number arithmetic"),
so that the space may wrap. Never compare sequence numbers with ``<`` or ``max``.
"""

from __future__ import annotations

__all__ = ["MOD", "MASK", "add", "sub", "lt", "le", "gt", "ge", "between", "seq_max", "seq_min"]

MOD = 1 << 32
MASK = MOD - 1
_HALF = 1 << 31


def add(a: int, n: int) -> int:
    """Return ``a + n`` modulo 2**32 (``n`` may be negative)."""
    return (a + n) & MASK


def sub(a: int, b: int) -> int:
    """Return the signed distance ``a - b`` in ``[-2**31, 2**31)``."""
    d = (a - b) & MASK
    return d - MOD if d >= _HALF else d


def lt(a: int, b: int) -> bool:
    """``a < b`` in sequence space (RFC 9293 3.4: "=<" and "<" are modulo 2**32)."""
    return ((a - b) & MASK) >= _HALF


def le(a: int, b: int) -> bool:
    """``a <= b`` in sequence space."""
    return a == b or ((a - b) & MASK) >= _HALF


def gt(a: int, b: int) -> bool:
    """``a > b`` in sequence space."""
    return ((b - a) & MASK) >= _HALF


def ge(a: int, b: int) -> bool:
    """``a >= b`` in sequence space."""
    return a == b or ((b - a) & MASK) >= _HALF


def between(lo: int, x: int, hi: int) -> bool:
    """``lo <= x < hi`` in sequence space, for a window ``hi - lo`` below 2**31.

    Computed as an unsigned distance so it is exact for any window size up to
    2**32 - 1, the form RFC 9293 3.10.7.4 uses for its acceptability test.
    """
    return ((x - lo) & MASK) < ((hi - lo) & MASK)


def seq_max(a: int, b: int) -> int:
    """The later of two sequence numbers."""
    return b if lt(a, b) else a


def seq_min(a: int, b: int) -> int:
    """The earlier of two sequence numbers."""
    return a if lt(a, b) else b

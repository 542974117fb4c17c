"""32-bit TCP sequence-number arithmetic (RFC 9293 section 3.4).

Sequence numbers are plain ``int`` values in ``[0, 2**32)``; every comparison goes
through these helpers, which compare modulo 2**32 ("serial number arithmetic",
RFC 1982), so that the space may wrap. Never compare sequence numbers with ``<``
or ``max``.

``a`` is before ``b`` when ``b`` lies less than half the space (2**31) ahead of
``a``. Two numbers exactly 2**31 apart are *incomparable*: neither is before the
other. TCP never needs that case, since windows stay below 2**30 (RFC 7323 2.3).
"""

from __future__ import annotations

__all__ = [
    "MASK",
    "MOD",
    "add",
    "between",
    "ge",
    "gt",
    "le",
    "lt",
    "seq_max",
    "seq_min",
    "sub",
]

MOD = 1 << 32
MASK = MOD - 1
_HALF = 1 << 31


def add(a: int, n: int) -> int:
    """Return ``a + n`` modulo 2**32 (``n`` may be negative)."""
    return (a + n) & MASK


def sub(a: int, b: int) -> int:
    """Return the signed distance ``a - b``, in ``[-2**31, 2**31)``.

    ``add(b, sub(a, b)) == a`` for all ``a``, ``b``.
    """
    d = (a - b) & MASK
    return d - MOD if d >= _HALF else d


def lt(a: int, b: int) -> bool:
    """``a < b`` modulo 2**32: ``b`` is 1 to 2**31 - 1 ahead of ``a``."""
    return 0 < ((b - a) & MASK) < _HALF


def le(a: int, b: int) -> bool:
    """``a =< b`` modulo 2**32 (RFC 9293 3.4): ``b`` is 0 to 2**31 - 1 ahead of ``a``."""
    return ((b - a) & MASK) < _HALF


def gt(a: int, b: int) -> bool:
    """``a > b`` modulo 2**32, that is ``lt(b, a)``."""
    return 0 < ((a - b) & MASK) < _HALF


def ge(a: int, b: int) -> bool:
    """``a >= b`` modulo 2**32, that is ``le(b, a)``."""
    return ((a - b) & MASK) < _HALF


def between(lo: int, x: int, hi: int) -> bool:
    """``lo =< x < hi`` modulo 2**32: ``x`` lies in the half-open window ``[lo, hi)``.

    Computed as an unsigned distance from ``lo``, so it is exact for any window
    size ``hi - lo`` up to 2**32 - 1; an empty window (``lo == hi``) holds
    nothing. This is the form of RFC 9293 3.4's receive test
    ``RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND``.
    """
    return ((x - lo) & MASK) < ((hi - lo) & MASK)


def seq_max(a: int, b: int) -> int:
    """The later of two sequence numbers (``a`` if they are incomparable)."""
    return b if lt(a, b) else a


def seq_min(a: int, b: int) -> int:
    """The earlier of two sequence numbers (``a`` if they are incomparable)."""
    return b if lt(b, a) else a

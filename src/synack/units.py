"""Counts as people write them (``10M``, ``1.5MB``, ``64Ki``) and queue sizes (``50p``, ``64KB``).

One parser for the command line (:mod:`synack.cli.units`) and the sweep specs
(:mod:`synack.lab.units`); each turns the :class:`ValueError` raised here into
its own kind of error. Standard library only, so any layer may use it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SUFFIXES", "parse_count", "parse_queue"]

SUFFIXES: Final = {
    "": 1,
    "k": 1000,
    "m": 1000**2,
    "g": 1000**3,
    "ki": 1024,
    "mi": 1024**2,
    "gi": 1024**3,
}
"""Multipliers by suffix (lower case): SI powers of 1000 and binary powers of 1024."""


def parse_count(text: str) -> int:
    """``10000``, ``10M``, ``1G``, ``64Ki``, ``1.5MB`` (optionally ending in ``B``) as an int.

    Raises ``ValueError`` with a one-line message for anything else.
    """
    t = text.strip().lower().replace("_", "")
    if t.endswith("b"):
        t = t[:-1]
    i = len(t)
    while i and not t[i - 1].isdigit():
        i -= 1
    number, suffix = t[:i], t[i:]
    if suffix not in SUFFIXES or not number:
        raise ValueError(f"not a count: {text!r} (try 10M, 1G, 64Ki)")
    try:
        value = float(number) * SUFFIXES[suffix]
    except ValueError:
        raise ValueError(f"not a count: {text!r}") from None
    if value < 0 or value != int(value):
        raise ValueError(f"not a whole non-negative count: {text!r}")
    return int(value)


def parse_queue(text: str) -> tuple[int | None, int | None]:
    """``100`` or ``100p`` packets; ``64KB``/``150000B`` bytes -> ``(packets, bytes)``."""
    t = text.strip().lower()
    if t.endswith("p"):
        return parse_count(t[:-1]), None
    if t.endswith("b"):
        return None, parse_count(t)
    return parse_count(t), None

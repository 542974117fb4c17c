"""Argument types shared by the subcommands: counts with suffixes, probabilities, ADDR:PORT.

Each is an ``argparse`` ``type=`` function: it returns the value or raises
:class:`argparse.ArgumentTypeError`, which argparse turns into a one-line usage
error (exit status 2).
"""

from __future__ import annotations

import argparse

__all__ = ["non_negative_float", "parse_count", "parse_hostport", "parse_queue", "probability"]

_SUFFIXES = {
    "": 1,
    "k": 1000,
    "m": 1000**2,
    "g": 1000**3,
    "ki": 1024,
    "mi": 1024**2,
    "gi": 1024**3,
}


def parse_count(text: str) -> int:
    """``10000``, ``10M``, ``1G``, ``64Ki``, ``1.5MB`` (optionally ending in ``B``) as an int."""
    t = text.strip().lower().replace("_", "")
    if t.endswith("b"):
        t = t[:-1]
    i = len(t)
    while i and not t[i - 1].isdigit():
        i -= 1
    number, suffix = t[:i], t[i:]
    if suffix not in _SUFFIXES or not number:
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (try 10M, 1G, 64Ki)")
    try:
        value = float(number) * _SUFFIXES[suffix]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a count: {text!r}") from None
    if value < 0 or value != int(value):
        raise argparse.ArgumentTypeError(f"not a whole non-negative count: {text!r}")
    return int(value)


def parse_queue(text: str) -> tuple[int | None, int | None]:
    """``100`` or ``100p`` packets; ``64KB``/``150000B`` bytes -> (packets, bytes)."""
    t = text.strip().lower()
    if t.endswith("p"):
        return parse_count(t[:-1]), None
    if t.endswith("b"):
        return None, parse_count(t)
    return parse_count(t), None


def probability(text: str) -> float:
    """A probability in [0, 1]."""
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a probability: {text!r}") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"probability must be in [0, 1], got {p}")
    return p


def non_negative_float(text: str) -> float:
    """A number >= 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def parse_hostport(text: str) -> tuple[str, int]:
    """``10.0.0.1:80`` or ``[fd00::1]:80``."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"expected ADDRESS:PORT, got {text!r}")
    host = host.removeprefix("[").removesuffix("]")
    return host, int(port)

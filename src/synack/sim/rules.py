"""Scripted drops: "drop the 1st SYN-ACK", "drop data segments 5-7".

A :class:`DropRule` pairs a predicate on the parsed TCP segment with the
occurrences (1-based, counted per link among the packets the predicate
matches, retransmissions included) that the link drops. Rules are plain values;
the count of matches lives in the link that applies them, so one rule list can
configure both directions of a path.

The text form used on the command line is ``KIND[:N[-M][,N...]]``, for example
``syn``, ``syn-ack:2``, ``ack:1``, ``data:5-7``, ``fin:1,2``; without ``:N`` the
first occurrence is meant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from synack.wire.errors import MalformedPacket
from synack.wire.ip import parse_ip
from synack.wire.tcp import ACK, FIN, RST, SYN, Segment, parse_segment

__all__ = [
    "MATCHERS",
    "DropRule",
    "Matcher",
    "is_ack",
    "is_data",
    "is_fin",
    "is_rst",
    "is_syn",
    "is_syn_ack",
    "parse_rule",
    "segment_of",
]

Matcher = Callable[[Segment], bool]
"""A predicate on a parsed TCP segment."""

_CONTROL = SYN | FIN | RST


def is_syn(seg: Segment) -> bool:
    """A SYN without ACK: the first segment of an active open."""
    return seg.flags & (SYN | ACK) == SYN


def is_syn_ack(seg: Segment) -> bool:
    """A SYN with ACK: the passive side's answer."""
    return seg.flags & (SYN | ACK) == SYN | ACK


def is_ack(seg: Segment) -> bool:
    """A pure acknowledgment: ACK set, no SYN/FIN/RST, no payload."""
    return seg.flags & (_CONTROL | ACK) == ACK and not seg.payload


def is_data(seg: Segment) -> bool:
    """A segment carrying payload octets."""
    return bool(seg.payload)


def is_fin(seg: Segment) -> bool:
    """A segment with FIN set."""
    return bool(seg.flags & FIN)


def is_rst(seg: Segment) -> bool:
    """A segment with RST set."""
    return bool(seg.flags & RST)


def _any(seg: Segment) -> bool:
    return True


MATCHERS: Final[dict[str, Matcher]] = {
    "syn": is_syn,
    "syn-ack": is_syn_ack,
    "ack": is_ack,
    "data": is_data,
    "fin": is_fin,
    "rst": is_rst,
    "any": _any,
}
"""The named predicates usable in the text form of a rule."""


@dataclass(frozen=True, slots=True)
class DropRule:
    """Drop the ``occurrences`` (1-based) of segments that ``match`` accepts.

    ``label`` names the rule in traces and error messages.
    """

    match: Matcher
    occurrences: frozenset[int]
    label: str = "scripted"

    @classmethod
    def nth(cls, match: Matcher, *ns: int, label: str | None = None) -> DropRule:
        """Drop the listed occurrences, e.g. ``DropRule.nth(is_syn_ack, 1)``."""
        if not ns or min(ns) < 1:
            raise ValueError("occurrences are counted from 1")
        name = getattr(match, "__name__", "rule")
        return cls(match, frozenset(ns), label or f"{name}:{','.join(map(str, sorted(ns)))}")

    @classmethod
    def span(cls, match: Matcher, first: int, last: int, label: str | None = None) -> DropRule:
        """Drop occurrences ``first`` to ``last`` inclusive, e.g. data segments 5-7."""
        if first < 1 or last < first:
            raise ValueError(f"bad occurrence range {first}-{last}")
        name = getattr(match, "__name__", "rule")
        return cls(match, frozenset(range(first, last + 1)), label or f"{name}:{first}-{last}")


def parse_rule(text: str) -> DropRule:
    """Parse ``KIND[:N[-M][,N...]]`` (see the module docstring)."""
    kind, _, which = text.strip().lower().partition(":")
    match = MATCHERS.get(kind)
    if match is None:
        raise ValueError(f"unknown segment kind {kind!r} (choose from {', '.join(MATCHERS)})")
    occurrences: set[int] = set()
    for part in (which or "1").split(","):
        lo, dash, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if dash else a
        except ValueError:
            raise ValueError(f"bad occurrence {part!r} in rule {text!r}") from None
        if a < 1 or b < a:
            raise ValueError(f"bad occurrence {part!r} in rule {text!r}")
        occurrences.update(range(a, b + 1))
    return DropRule(match, frozenset(occurrences), text.strip())


def segment_of(packet: bytes) -> Segment | None:
    """The TCP segment inside an IP packet (checksum not verified), or ``None``."""
    try:
        ip, payload = parse_ip(packet)
        if ip.proto != 6:
            return None
        return parse_segment(payload)
    except MalformedPacket:
        return None

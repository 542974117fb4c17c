"""Seeded loss, delay and reordering of a real link's packets, in user space.

``--impair-in``/``--impair-out`` give a TAP link the knobs of Linux's netem
(``loss``, ``delay``, ``jitter``, ``reorder``, and ``mark``, netem's ``ecn``),
for kernels built without ``sch_netem`` and for impairing synack's own
transmissions. Semantics follow netem's: a packet is lost with probability
``loss``; otherwise it is delayed by ``delay`` (plus up to ``jitter``), except
that a fraction ``reorder`` of packets skip the delay and so overtake the ones
queued before them. ``mark`` is the share of ECN-capable packets a congested
router would mark CE (RFC 3168 5) instead of dropping them; the path's
``marker`` function rewrites the packet (it knows where the IP header is).

:class:`ImpairedPath` is driven with explicit time (integer microseconds) like
the rest of synack: :meth:`ImpairedPath.offer` returns the packets to pass on now,
:meth:`ImpairedPath.due` those whose delay has elapsed, and
:meth:`ImpairedPath.next_deadline` when to ask next.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["ImpairedPath", "Impairment"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Impairment:
    """Loss probability, delay and jitter (microseconds), and the reordered fraction."""

    loss: float = 0.0
    delay_us: int = 0
    jitter_us: int = 0
    reorder: float = 0.0
    mark: float = 0.0

    def __post_init__(self) -> None:
        for name in ("loss", "reorder", "mark"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.delay_us < 0 or self.jitter_us < 0:
            raise ValueError("delay and jitter must not be negative")

    @property
    def active(self) -> bool:
        return bool(self.loss or self.delay_us or self.jitter_us or self.mark)

    @classmethod
    def parse(cls, text: str) -> Impairment:
        """``"loss=2%,delay=10ms,jitter=1ms,reorder=10%"`` (any subset; ``%`` or a fraction; ``us``/``ms``/``s``)."""
        fields: dict[str, float | int] = {}
        for item in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"expected key=value, got {item!r}")
            key = key.strip().lower()
            value = value.strip().lower()
            if key in ("loss", "reorder", "mark"):
                fields[key] = float(value[:-1]) / 100 if value.endswith("%") else float(value)
            elif key in ("delay", "jitter"):
                fields[f"{key}_us"] = _parse_time_us(value)
            else:
                raise ValueError(f"unknown impairment {key!r} (loss, delay, jitter, reorder, mark)")
        return cls(**fields)  # type: ignore[arg-type]


def _parse_time_us(value: str) -> int:
    for suffix, scale in (("us", 1), ("ms", 1000), ("s", 1_000_000)):
        if value.endswith(suffix):
            return round(float(value[: -len(suffix)]) * scale)
    return round(float(value) * 1000)  # bare numbers are milliseconds, as in netem


class ImpairedPath(Generic[T]):
    """One direction of a link under an :class:`Impairment`, with its own seeded generator."""

    def __init__(
        self,
        impairment: Impairment,
        seed: int,
        marker: Callable[[T], T | None] | None = None,
    ) -> None:
        self.impairment = impairment
        self._rng = random.Random(seed)
        self._queue: list[tuple[int, int, T]] = []
        self._seq = 0
        self._marker = marker
        self.counters = {"lost": 0, "delayed": 0, "reordered": 0, "marked": 0}

    def offer(self, item: T, now: int) -> list[T]:
        """Pass ``item`` through: returns it if it goes now, [] if lost or delayed."""
        imp = self.impairment
        rnd = self._rng.random
        if imp.loss and rnd() < imp.loss:
            self.counters["lost"] += 1
            return []
        if imp.mark and self._marker is not None and rnd() < imp.mark:
            marked = self._marker(item)  # None: not ECN-capable, goes unchanged
            if marked is not None:
                item = marked
                self.counters["marked"] += 1
        if not (imp.delay_us or imp.jitter_us):
            return [item]
        if imp.reorder and rnd() < imp.reorder:
            self.counters["reordered"] += 1
            return [item]
        delay = imp.delay_us + (self._rng.randrange(imp.jitter_us + 1) if imp.jitter_us else 0)
        self._seq += 1
        heapq.heappush(self._queue, (now + delay, self._seq, item))
        self.counters["delayed"] += 1
        return []

    def due(self, now: int) -> list[T]:
        """Delayed items whose time has come, in order."""
        out: list[T] = []
        queue = self._queue
        while queue and queue[0][0] <= now:
            out.append(heapq.heappop(queue)[2])
        return out

    def next_deadline(self) -> int | None:
        return self._queue[0][0] if self._queue else None

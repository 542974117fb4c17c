"""A connection's timers: one :class:`Timer` enum and a :class:`TimerSet` of deadlines.

As in smoltcp (``Timer`` and ``poll_at``), the timers are data: each is an
absolute deadline in microseconds, or ``None`` when off. A :class:`TimerSet`
knows nothing of connections; it holds the deadlines, answers the earliest
(:meth:`TimerSet.poll_at`), says which have expired (:meth:`TimerSet.take_due`)
and which changed since it was last asked (for traces). What each timer *does*
belongs to the component that arms it (see ``docs/architecture.md``).

The sender, the receiver and the connection arm and cancel deadlines by
assigning the attribute of the same name (``timers.rtx = now + rto``), which
is the cheapest thing Python offers on paths that run for every segment.
"""

from __future__ import annotations

import enum
from operator import attrgetter
from typing import Final

__all__ = ["FIRING_ORDER", "Timer", "TimerSet", "deadlines_in_firing_order"]


class Timer(enum.StrEnum):
    """Every timer of a connection; the value is its name in traces and in :class:`TimerSet`.

    A ``StrEnum``: a member is the name of its attribute (``getattr(timers,
    Timer.RTX)``), with no property call to reach the value on hot paths.
    """

    RTX = "rtx"
    """Retransmission timeout (RFC 6298 5), also for SYNs (RFC 9293 3.8.1)."""
    PERSIST = "persist"
    """Zero-window probes (RFC 9293 3.8.6.1), and the sender's SWS override (3.8.6.2.1)."""
    DELACK = "delack"
    """Delayed ACK (RFC 9293 3.8.6.3, RFC 5681 4.2)."""
    KEEPALIVE = "keepalive"
    """Keep-alive probes (RFC 9293 3.8.4)."""
    TIMEWAIT = "timewait"
    """2*MSL in TIME-WAIT (RFC 9293 3.6)."""
    FINWAIT2 = "finwait2"
    """How long an abandoned connection waits in FIN-WAIT-2 (``Config.fin_wait_2_timeout``)."""
    USER = "user"
    """The user timeout (RFC 9293 3.8.3 USER TIMEOUT)."""
    REORDER = "reorder"
    """RACK's reordering timer (RFC 8985 6.3)."""
    TLP = "tlp"
    """The tail-loss probe timeout (RFC 8985 7.2)."""
    PACING = "pacing"
    """When pacing lets the next held-back segment leave."""


FIRING_ORDER: Final = (
    Timer.TIMEWAIT,
    Timer.FINWAIT2,
    Timer.USER,
    Timer.PACING,
    Timer.REORDER,
    Timer.TLP,
    Timer.RTX,
    Timer.PERSIST,
    Timer.DELACK,
    Timer.KEEPALIVE,
)
"""The order in which timers due at the same moment fire.

Those that end the connection go first; RACK and the probe timeout before the
RTO, so that a probe or a RACK retransmission re-arms the RTO instead of
racing it (RFC 8985 7.3)."""

_ALL = attrgetter(*(t.value for t in Timer))

deadlines_in_firing_order: Final = attrgetter(*(t.value for t in FIRING_ORDER))
"""``deadlines_in_firing_order(timer_set)``: the deadlines, in :data:`FIRING_ORDER` (one C call)."""


class TimerSet:
    """One deadline per :class:`Timer` (absolute microseconds, ``None`` when off)."""

    # One slot per Timer member, under its value (checked below).
    __slots__ = (
        "_traced",
        "delack",
        "finwait2",
        "keepalive",
        "pacing",
        "persist",
        "reorder",
        "rtx",
        "timewait",
        "tlp",
        "user",
    )

    rtx: int | None
    persist: int | None
    delack: int | None
    keepalive: int | None
    timewait: int | None
    finwait2: int | None
    user: int | None
    reorder: int | None
    tlp: int | None
    pacing: int | None

    def __init__(self) -> None:
        self.rtx = self.persist = self.delack = self.keepalive = self.timewait = None
        self.finwait2 = self.user = self.reorder = self.tlp = self.pacing = None
        self._traced: tuple[int | None, ...] = _NONE

    def get(self, timer: Timer) -> int | None:
        """The deadline of ``timer``, or ``None``."""
        value: int | None = getattr(self, timer)
        return value

    def arm(self, timer: Timer, deadline: int | None) -> None:
        """Set (or, with ``None``, cancel) the deadline of ``timer``."""
        setattr(self, timer, deadline)

    def cancel_all(self) -> None:
        """Turn every timer off."""
        self.rtx = self.persist = self.delack = self.keepalive = self.timewait = None
        self.finwait2 = self.user = self.reorder = self.tlp = self.pacing = None

    def deadlines(self) -> tuple[int | None, ...]:
        """Every deadline, in :class:`Timer` order."""
        values: tuple[int | None, ...] = _ALL(self)
        return values

    def poll_at(self) -> int | None:
        """The earliest deadline, or ``None`` when every timer is off."""
        best: int | None = None
        for t in _ALL(self):
            if t is not None and (best is None or t < best):
                best = t
        return best

    def take_due(self, timer: Timer, now: int) -> bool:
        """True, and ``timer`` turned off, if its deadline is at or before ``now``."""
        deadline: int | None = getattr(self, timer)
        if deadline is None or deadline > now:
            return False
        setattr(self, timer, None)
        return True

    def changes(self) -> list[tuple[Timer, int | None]]:
        """The timers armed, moved or cancelled since the last call, with their new deadline."""
        current: tuple[int | None, ...] = _ALL(self)
        last = self._traced
        if current == last:
            return []
        self._traced = current
        return [(t, new) for t, old, new in zip(Timer, last, current, strict=True) if old != new]


_NONE: Final[tuple[int | None, ...]] = (None,) * len(Timer)

# The slots are the enum's values: one source for the list of timers.
assert set(TimerSet.__slots__) - {"_traced"} == {t.value for t in Timer}
assert set(FIRING_ORDER) == set(Timer) and len(FIRING_ORDER) == len(Timer)

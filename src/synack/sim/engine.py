"""The discrete-event engine: a virtual clock in integer microseconds and one event heap.

Nothing here sleeps or reads the wall clock. Events are ``(time, order, fn, arg)``
tuples on a binary heap; ``order`` is a counter that increases with every event
scheduled, so events at the same microsecond run in the order they were
scheduled and a run is the same on every machine. Running an event is the call
``fn(arg, time)``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

__all__ = ["EventFn", "SimulationError", "Simulator"]

EventFn = Callable[[Any, int], None]
"""What an event runs: ``fn(arg, now)``."""


class SimulationError(RuntimeError):
    """Misuse of the simulator (scheduling in the past, running while running)."""


class Simulator:
    """A virtual clock and an event heap.

    ``now`` only moves forward, to the time of the event being run. Drivers
    (links, host nodes, applications) schedule work with :meth:`schedule` /
    :meth:`at` / :meth:`after`; :meth:`run` executes events in time order until
    the heap is empty, a time limit is reached, or :meth:`stop` is called.
    """

    __slots__ = ("_heap", "_order", "_running", "_stopped", "events_run", "now")

    def __init__(self) -> None:
        self.now = 0
        self._heap: list[tuple[int, int, EventFn, Any]] = []
        self._order = 0
        self._stopped = False
        self._running = False
        self.events_run = 0

    # ------------------------------------------------------------ scheduling
    def schedule(self, t: int, fn: EventFn, arg: Any = None) -> None:
        """Run ``fn(arg, t)`` at virtual time ``t`` (microseconds, ``t >= now``)."""
        if t < self.now:
            raise SimulationError(f"cannot schedule at {t} us: the clock is at {self.now} us")
        self._order += 1
        heapq.heappush(self._heap, (t, self._order, fn, arg))

    def at(self, t: int, callback: Callable[[int], None]) -> None:
        """Call ``callback(now)`` at virtual time ``t``."""
        self.schedule(t, _call, callback)

    def after(self, delay: int, callback: Callable[[int], None]) -> None:
        """Call ``callback(now)`` ``delay`` microseconds from now."""
        self.schedule(self.now + delay, _call, callback)

    @property
    def pending(self) -> int:
        """Events waiting on the heap (including timers that will turn out stale)."""
        return len(self._heap)

    def next_time(self) -> int | None:
        """The time of the earliest pending event, or ``None``."""
        return self._heap[0][0] if self._heap else None

    # --------------------------------------------------------------- running
    def stop(self) -> None:
        """Make :meth:`run` return after the event that is running now."""
        self._stopped = True

    def run(self, until: int | None = None, max_events: int | None = None) -> int:
        """Run events in time order; return the number run.

        Stops when no event is left, when :meth:`stop` is called, before the
        first event later than ``until`` (the clock is then set to ``until``),
        or after ``max_events`` events.
        """
        if self._running:
            raise SimulationError("run() called from inside an event")
        self._running = True
        self._stopped = False
        heap = self._heap
        pop = heapq.heappop
        limit = -1 if max_events is None else max_events
        count = 0
        try:
            while heap and count != limit:
                if until is not None and heap[0][0] > until:
                    self.now = until
                    break
                t, _, fn, arg = pop(heap)
                self.now = t
                fn(arg, t)
                count += 1
                if self._stopped:
                    break
            else:
                if until is not None and not heap and until > self.now:
                    self.now = until
        finally:
            self._running = False
            self.events_run += count
        return count


def _call(callback: Callable[[int], None], now: int) -> None:
    callback(now)

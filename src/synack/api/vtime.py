"""An asyncio event loop whose clock is virtual: waiting advances time instead of sleeping.

:class:`VirtualTimeLoop` runs ordinary asyncio code (and synack's runtime, with
links that are not file descriptors, such as :class:`~synack.api.runtime.PairLink`)
in simulated time: when nothing is ready, the loop jumps its clock to the next
scheduled callback. A 60-second TIME-WAIT or a 127-second SYN timeout takes
microseconds of real time, and every run of a test sees the same times.
Real file descriptors still work; they are polled without waiting.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["VirtualTimeLoop", "run"]

T = TypeVar("T")


class _VirtualSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        loop = self.loop
        if ready or loop is None or timeout is None or timeout <= 0:
            if not ready and timeout is None and loop is not None and loop.strict:
                raise RuntimeError(
                    "virtual-time loop has nothing scheduled and nothing to read: deadlock"
                )
            return ready
        loop.advance(timeout)
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` only moves when the loop would wait.

    ``start`` is the initial clock value in seconds. With ``strict`` (default),
    waiting with nothing scheduled raises instead of blocking forever.
    """

    def __init__(self, start: float = 0.0, *, strict: bool = True) -> None:
        selector = _VirtualSelector()
        super().__init__(selector)
        selector.loop = self
        self._vtime = start
        self.strict = strict
        # Virtual time never lags, so the default clock resolution is all it needs.

    def time(self) -> float:
        return self._vtime

    def advance(self, seconds: float) -> None:
        """Move the clock forward (the selector does this when the loop would sleep)."""
        if seconds > 0:
            self._vtime += seconds


def run(main: Coroutine[Any, Any, T], *, start: float = 0.0) -> T:
    """Run ``main`` on a fresh :class:`VirtualTimeLoop`, exactly as :func:`asyncio.run` would.

    Like ``asyncio.run``, it then cancels the tasks still pending and waits for them.
    """
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start)) as runner:
        return runner.run(main)

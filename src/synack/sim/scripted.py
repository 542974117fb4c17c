"""A scripted host: sends exactly the packets it is given, records what arrives.

It has the endpoint interface the simulator drives, so it can stand in for a
TCP endpoint: to test the simulator itself, or to hand crafted segments to a
real endpoint under test and look at its answers.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

__all__ = ["ScriptedHost"]


class ScriptedHost:
    """An endpoint stand-in driven by the test or scenario that owns it.

    ``queue(packet)`` makes the next ``packets_to_send`` return it;
    ``set_timer(t)`` adds a deadline; ``received`` and ``fired`` record, with
    their times, the packets that arrived and the timers that fired.
    ``on_timer(now)`` and ``on_packet(packet, now)`` may react (for example by
    queueing an answer).
    """

    def __init__(self, name: str = "scripted") -> None:
        self.name = name
        self.received: list[tuple[int, bytes]] = []
        self.fired: list[int] = []
        self.on_timer: Callable[[int], None] | None = None
        self.on_packet: Callable[[bytes, int], None] | None = None
        self._outbox: list[bytes] = []
        self._deadlines: list[int] = []

    # ----------------------------------------------------------- scripting
    def queue(self, packet: bytes) -> None:
        """Send ``packet`` at the next step of the host."""
        self._outbox.append(packet)

    def set_timer(self, t: int) -> None:
        """Add a deadline at ``t`` microseconds."""
        heapq.heappush(self._deadlines, t)

    def cancel_timers(self) -> None:
        self._deadlines.clear()

    # ------------------------------------------------- endpoint interface
    def receive_packet(self, packet: bytes, now: int) -> None:
        self.received.append((now, packet))
        if self.on_packet is not None:
            self.on_packet(packet, now)

    def packets_to_send(self, now: int) -> list[bytes]:
        out, self._outbox = self._outbox, []
        return out

    def next_deadline(self) -> int | None:
        return self._deadlines[0] if self._deadlines else None

    def handle_timer(self, now: int) -> None:
        while self._deadlines and self._deadlines[0] <= now:
            heapq.heappop(self._deadlines)
            self.fired.append(now)
            if self.on_timer is not None:
                self.on_timer(now)

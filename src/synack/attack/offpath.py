"""The attacker's place on the network: an off-path host.

An off-path attacker may send any packet it can build, with any source address
(spoofing is the point), but it receives only what the network delivers to its
own addresses. :class:`OffPathHost` is exactly that position in the simulator.
The simulator drives it like any endpoint (``receive_packet``,
``packets_to_send``, ``next_deadline``, ``handle_timer``); it keeps the attack
program's timers and hands it the parsed TCP segments addressed to it, nothing
else. It holds no reference to any other host.

This module and :mod:`synack.attack.attackers` import nothing but
:mod:`synack.wire` (an import-linter contract in pyproject.toml checks it), so
an attack program cannot reach a victim's TCP state: what it knows, it learnt
from packets, or it was told as public knowledge (addresses, ports, the
algorithm a victim runs).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from synack.wire.errors import MalformedPacket
from synack.wire.ip import addr_to_str, emit_tcp_packet, parse_tcp_packet, str_to_addr
from synack.wire.tcp import Segment

__all__ = ["AttackProgram", "OffPathHost", "Timer"]

Timer = Callable[[int], None]
"""A callback the host runs at a given virtual time, as ``fn(now)``."""

Note = Callable[[int, str], None]


class AttackProgram(Protocol):
    """What runs on an :class:`OffPathHost`: started once, then fed its packets."""

    def start(self, host: OffPathHost, now: int) -> None:
        """Begin the attack at virtual time ``now``."""

    def on_segment(self, host: OffPathHost, src: bytes, dst: bytes, seg: Segment, now: int) -> None:
        """A TCP segment the network delivered to one of the host's addresses."""


class OffPathHost:
    """An attacker's host: sends anything, hears only its own traffic.

    ``addresses`` are the host's own (the network routes these to it). The
    program schedules work with :meth:`at` / :meth:`after`, sends with
    :meth:`send`, and may narrate with :meth:`note` (the lab shows notes in
    the ladder diagram).
    """

    def __init__(self, addresses: list[str], program: AttackProgram, *, name: str = "attacker"):
        self.addresses = [str_to_addr(a) for a in addresses]
        self._own = frozenset(self.addresses)
        self.program = program
        self.name = name
        self.counters: Counter[str] = Counter()
        self.notes: Note | None = None
        self._out: list[bytes] = []
        self._timers: list[tuple[int, int, Timer]] = []
        self._order = 0
        self._now = 0

    @property
    def address(self) -> bytes:
        """The host's first (own, routable) address."""
        return self.addresses[0]

    # ------------------------------------------------ for the attack program
    def send(self, src: bytes, dst: bytes, seg: Segment) -> None:
        """Send ``seg`` from ``src`` (any address: spoofing is allowed) to ``dst``."""
        self.counters["sent"] += 1
        if src not in self._own:
            self.counters["spoofed"] += 1
        self._out.append(emit_tcp_packet(src, dst, seg))

    def at(self, t: int, fn: Timer) -> None:
        """Run ``fn(now)`` at virtual time ``t`` (microseconds)."""
        self._order += 1
        heapq.heappush(self._timers, (max(t, self._now), self._order, fn))

    def after(self, delay: int, fn: Timer) -> None:
        """Run ``fn(now)`` ``delay`` microseconds from now."""
        self.at(self._now + delay, fn)

    def note(self, now: int, text: str) -> None:
        """A line of narration for the ladder diagram (``attacker: ...``)."""
        if self.notes is not None:
            self.notes(now, f"{self.name}: {text}")

    def start(self, now: int) -> None:
        """Start the program (the lab schedules this)."""
        self._now = now
        self.program.start(self, now)

    # ------------------------------------------- the endpoint interface
    def receive_packet(self, packet: bytes, now: int) -> None:
        """A packet from the network: only TCP addressed to us reaches the program."""
        self._now = now
        try:
            ip, seg = parse_tcp_packet(packet)
        except MalformedPacket as exc:
            self.counters["drop." + exc.reason] += 1
            return
        if ip.dst not in self._own:
            # A switched network never does this; if a topology did, the attacker
            # would be on-path, and this lab is about off-path attackers.
            self.counters["drop.not_for_us"] += 1
            return
        self.counters["received"] += 1
        self.program.on_segment(self, ip.src, ip.dst, seg, now)

    def packets_to_send(self, now: int) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> int | None:
        return self._timers[0][0] if self._timers else None

    def handle_timer(self, now: int) -> None:
        self._now = now
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, fn = heapq.heappop(timers)
            fn(now)

    def __repr__(self) -> str:
        return f"<OffPathHost {self.name} {', '.join(addr_to_str(a) for a in self.addresses)}>"

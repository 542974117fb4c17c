"""The lab bench every scenario runs on: a star network, the ladder excerpt, outputs, results.

:class:`Lab` puts hosts around one router (the "internet"), each on its own
access link, so a host receives only the packets addressed to it, as on a
switched network. The attacker joins through :meth:`Lab.add_attacker` as an
:class:`~synack.attack.offpath.OffPathHost`. The scenario itself is the
referee: it may look at the victims' state to decide whether the attack worked
(an attacker never can).

:class:`Excerpt` keeps ladder diagrams of attacks that send tens of thousands
of packets readable: it shows the first attacker segments in full, then holds
back the run of look-alike lines, and shows the last few before anything that
matters (a state change, a note), with one line counting what it skipped.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synack.attack.offpath import AttackProgram, OffPathHost
from synack.sim.engine import Simulator
from synack.sim.link import Link, LinkConfig
from synack.sim.node import App, HostNode, Router, SansIOHost
from synack.trace import JsonlWriter, Ladder, PcapWriter
from synack.trace.packet import peek
from synack.wire.ip import str_to_addr

__all__ = [
    "ATTACKER_ADDR",
    "CLIENT_ADDR",
    "SERVER_ADDR",
    "AttackResult",
    "Excerpt",
    "Jitter",
    "Lab",
    "Outputs",
]

CLIENT_ADDR = "192.168.1.100"
SERVER_ADDR = "10.0.0.5"
ATTACKER_ADDR = "203.0.113.66"  # TEST-NET-3 (RFC 5737)
ACCESS_DELAY = 5_000
"""One-way delay of each access link (us): 10 ms between two hosts, as in ``synack demo``."""

Record = dict[str, Any]


@dataclass(frozen=True)
class Outputs:
    """Where a scenario writes its optional outputs."""

    pcap: str | Path | None = None
    trace: str | Path | None = None
    plot: str | Path | None = None


class Jitter:
    """A node that delays each packet by a seeded uniform 0..``max_us`` before passing it on.

    Put between a host's uplink and the router it models a path whose delay
    varies from packet to packet (packets may overtake each other).
    """

    def __init__(self, sim: Simulator, nxt: Router, max_us: int, seed: int, name: str) -> None:
        self.sim = sim
        self.next = nxt
        self.max_us = max_us
        self.name = name
        self._rng = random.Random(f"{seed}/{name}/jitter")

    def deliver(self, packet: bytes, now: int) -> None:
        self.sim.schedule(now + self._rng.randint(0, self.max_us), self._pass, packet)

    def _pass(self, packet: bytes, now: int) -> None:
        self.next.deliver(packet, now)


class Excerpt:
    """A ladder filter for long runs: full head, counted middle, full tail before events.

    It is a link observer (:meth:`observe`) and a tracer (:meth:`trace`) and
    takes notes (:meth:`note`), all passed on to ``ladder`` in order, except
    that after ``head`` segment lines it holds events back: only the last
    ``tail`` are kept, and they are shown (after one line counting the rest)
    when an important trace record (by default any state change) or a note
    arrives, or at :meth:`finish`. ``narrate`` may turn a trace record into a
    note (a challenge ACK, say), which then counts as important.
    """

    def __init__(
        self,
        ladder: Ladder,
        attacker_links: Iterable[str],
        attacker_addr: bytes,
        *,
        head: int = 8,
        tail: int = 6,
        important: Callable[[Record], bool] | None = None,
        narrate: Callable[[Record], str | None] | None = None,
    ) -> None:
        self.ladder = ladder
        self.narrate = narrate
        self.attacker_links = frozenset(attacker_links)
        self.attacker_addr = attacker_addr
        self.head = head
        self.important = important or (lambda record: record.get("ev") == "state")
        self._shown = 0
        self._mute = False
        self._muted = 0
        self._muted_from = 0
        self._last_t = 0
        self._held: deque[tuple[int, str, tuple[Any, ...]]] = deque(maxlen=tail)
        self._skipped_attack = 0
        self._skipped_other = 0
        self._skipped_from: int | None = None

    # ------------------------------------------------------------ inputs
    def observe(self, now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        """Link observer."""
        if self._mute and link in self.attacker_links:
            if what == "send":
                self._muted += 1
                self._muted_from = now
            return
        if self._shown >= self.head:
            self._hold(now, "obs", (now, link, what, packet, detail))
            return
        if what == "send":
            self._shown += 1
        self._observe(now, link, what, packet, detail)

    def trace(self, record: Record) -> None:
        """Tracer for the core's records."""
        text = self.narrate(record) if self.narrate is not None else None
        if text is None and not _shown_by_ladder(record):
            return
        if text is not None:
            self.note(int(record.get("t", 0)), text)
        elif self.important(record):
            self.flush()
            self.ladder.trace(record)
        elif self._shown >= self.head:
            self._hold(int(record.get("t", 0)), "trace", (record,))
        else:
            self._shown += 1
            self.ladder.trace(record)

    def note(self, t: int, text: str) -> None:
        """A free-text line; shows what is held back first."""
        self.flush()
        self._last_t = t
        self.ladder.note(t, text)

    def finish(self) -> None:
        """Show whatever is held back (call at the end of the run)."""
        self.flush()
        if self._muted:
            self.ladder.note(
                max(self._muted_from, self._last_t),
                f"      ... {self._muted:,} more attacker's segments after the verdict, not "
                "shown (it cannot know that it has won) ...",
            )
            self._muted = 0

    def mute_attacker(self, now: int) -> None:
        """From now on count the attacker's segments instead of showing them (after a verdict)."""
        self.flush()
        self._mute = True
        self._muted_from = now

    def flush(self) -> None:
        """Count what was skipped, replay what is held, show the next ``head`` in full."""
        if self._skipped_from is not None:
            parts = []
            if self._skipped_attack:
                parts.append(f"{self._skipped_attack:,} attacker's segments")
            if self._skipped_other:
                parts.append(f"{self._skipped_other:,} other segments")
            what = " and ".join(parts) or "trace records"
            self.ladder.note(self._skipped_from, f"      ... {what} not shown ...")
        held = list(self._held)
        self._held.clear()
        self._skipped_attack = self._skipped_other = 0
        self._skipped_from = None
        for _, kind, args in held:
            if kind == "obs":
                self._observe(*args)
            else:
                self.ladder.trace(args[0])
        self._shown = 0

    # ----------------------------------------------------------- helpers
    def _hold(self, t: int, kind: str, args: tuple[Any, ...]) -> None:
        if len(self._held) == self._held.maxlen:
            old_t, old_kind, old = self._held[0]
            if self._skipped_from is None:
                self._skipped_from = old_t
            if old_kind == "obs" and old[2] == "send":
                if old[1] in self.attacker_links:
                    self._skipped_attack += 1
                else:
                    self._skipped_other += 1
        self._held.append((t, kind, args))

    def _observe(self, now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        self.ladder.observe(now, link, what, packet, detail)
        if what == "send" and link in self.attacker_links:
            info = peek(packet)
            if info is not None and info.src != self.attacker_addr:
                self.ladder.mark(packet, "<- spoofed by the attacker")


def _shown_by_ladder(record: Record) -> bool:
    """The records :meth:`Ladder.trace` turns into lines: state changes and RTOs."""
    ev = record.get("ev")
    return ev == "state" or (
        ev == "timer" and record.get("which") == "rtx" and record.get("action") == "fired"
    )


class Lab:
    """A star network around one router, with a ladder excerpt and optional outputs.

    Hosts join with :meth:`add_host` (any sans-I/O endpoint) or
    :meth:`add_attacker`; every host has an uplink ``NAME->internet`` and a
    downlink ``internet->NAME`` with ``delay`` each. :attr:`tracer` is the tracer
    to give the endpoints (ladder state lines and the JSON Lines trace).
    """

    def __init__(
        self,
        seed: int,
        names: Mapping[str, str],
        *,
        outputs: Outputs | None = None,
        delay: int = ACCESS_DELAY,
        head: int = 8,
        tail: int = 6,
        important: Callable[[Record], bool] | None = None,
        narrate: Callable[[Record], str | None] | None = None,
    ) -> None:
        self.seed = seed
        self.sim = Simulator()
        self.router = Router("internet")
        self.delay = delay
        self.hosts: dict[str, HostNode] = {}
        self.links: dict[str, Link] = {}
        self.uplinks: list[str] = []
        self._uplink_set: frozenset[str] = frozenset()
        self.ladder = Ladder(names)
        self.excerpt = Excerpt(
            self.ladder, (), b"", head=head, tail=tail, important=important, narrate=narrate
        )
        self.outputs = outputs or Outputs()
        self._jsonl = JsonlWriter(self.outputs.trace) if self.outputs.trace is not None else None
        self._pcap = PcapWriter(self.outputs.pcap) if self.outputs.pcap is not None else None
        self.attacker: OffPathHost | None = None
        self.last_delivered: dict[str, bytes] = {}

    # ------------------------------------------------------------ building
    def tracer(self, record: Record) -> None:
        """The core's trace records: to the ladder excerpt and the JSON Lines file."""
        self.excerpt.trace(record)
        if self._jsonl is not None:
            self._jsonl(record)

    def verdict(self, t: int, text: str) -> None:
        """The referee's finding: a note; the attacker's later segments are only counted."""
        self.note(t, f"referee: {text}")
        self.excerpt.mute_attacker(t)

    def note(self, t: int, text: str) -> None:
        """A line of narration in the ladder diagram."""
        self.excerpt.note(t, text)
        if self._jsonl is not None:
            self._jsonl({"t": t, "ev": "note", "text": text})

    def add_host(
        self,
        name: str,
        address: str,
        endpoint: SansIOHost,
        app: App | None = None,
        *,
        delay: int | None = None,
        jitter: int = 0,
    ) -> HostNode:
        """Attach ``endpoint`` at ``address`` (``jitter``: extra 0..N us on its uplink)."""
        node = HostNode(self.sim, endpoint, name=name, addresses=[address], app=app)
        cfg = LinkConfig(delay=self.delay if delay is None else delay)
        up_name, down_name = f"{name}->internet", f"internet->{name}"
        first_hop: Router | Jitter = self.router
        if jitter:
            first_hop = Jitter(self.sim, self.router, jitter, self.seed, up_name)
        up = Link(self.sim, first_hop, cfg, name=up_name, seed=self.seed)
        down = Link(self.sim, node, cfg, name=down_name, seed=self.seed)
        node.default = up
        self.router.add_route(address, down)
        self.links[up_name] = up
        self.links[down_name] = down
        self.uplinks.append(up_name)
        self._uplink_set = frozenset(self.uplinks)
        for link in (up, down):
            link.observers.append(self._observe)
        self.hosts[name] = node
        return node

    def add_attacker(
        self,
        program: AttackProgram,
        *,
        address: str = ATTACKER_ADDR,
        start: int = 0,
        jitter: int = 0,
        name: str = "attacker",
    ) -> OffPathHost:
        """Attach the attacker's host running ``program``, started at ``start`` us."""
        host = OffPathHost([address], program, name=name)
        host.notes = self.note
        node = self.add_host(name, address, host, jitter=jitter)
        self.excerpt.attacker_links = frozenset({f"{name}->internet"})
        self.ladder.untracked = self.excerpt.attacker_links
        self.excerpt.attacker_addr = str_to_addr(address)
        node.call(start, host.start)
        self.attacker = host
        return host

    # ------------------------------------------------------------- running
    def run(self, until: int) -> None:
        """Run to virtual time ``until`` (microseconds); close the output files."""
        try:
            self.sim.run(until=until)
        finally:
            self.close()

    def close(self) -> None:
        self.excerpt.finish()
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        if self._pcap is not None:
            self._pcap.close()

    def _observe(self, now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        if what == "deliver":
            if link.startswith("internet->"):
                self.last_delivered[link[10:]] = packet
        elif what != "send" or link in self._uplink_set:
            # The ladder shows a packet once, as its sender put it on its uplink.
            self.excerpt.observe(now, link, what, packet, detail)
        if self._jsonl is not None:
            self._jsonl.observe(now, link, what, packet, detail)
        if self._pcap is not None and what == "send" and link in self.uplinks:
            self._pcap.write(now, packet)

    @property
    def pcap_packets(self) -> int:
        return self._pcap.packets if self._pcap is not None else 0


@dataclass
class AttackResult:
    """What a scenario run gives: the numbers, the JSON summary and the text to print."""

    scenario: str
    success: bool
    attempts: int
    expected_attempts: float
    seed: int
    configuration: dict[str, Any]
    header: list[str] = field(default_factory=list)
    ladder: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object: scenario, success, attempts, expected_attempts, seed, configuration, ..."""
        return {
            "scenario": self.scenario,
            "success": self.success,
            "attempts": self.attempts,
            "expected_attempts": self.expected_attempts,
            "seed": self.seed,
            "configuration": self.configuration,
            **self.measured,
        }

    def json_line(self) -> str:
        return json.dumps(self.to_json(), sort_keys=False)

    def text(self) -> str:
        """Header, ladder diagram and summary, as ``synack attack NAME`` prints them."""
        return "\n".join([*self.header, "", *self.ladder, "", *self.summary]) + "\n"


def outputs_lines(lab: Lab, outputs: Outputs) -> list[str]:
    """The summary lines that say which files were written."""
    lines = []
    if outputs.pcap is not None:
        lines.append(f"  pcap        {outputs.pcap} ({lab.pcap_packets:,} packets)")
    if outputs.trace is not None:
        lines.append(f"  trace       {outputs.trace}")
    if outputs.plot is not None:
        lines.append(f"  plot        {outputs.plot}")
    return lines

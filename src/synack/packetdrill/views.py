"""Seeing a run: ``--verbose`` lines, and synack's ladder, pcap and trace views.

Each view is a :class:`~synack.packetdrill.backend.RunObserver`. The ladder,
pcap and trace views reuse :mod:`synack.trace`: packets both ways go to a
:class:`~synack.trace.Ladder` (as a link observer), a
:class:`~synack.trace.PcapWriter` (raw IP, as captured on the runner's TUN
device) and a :class:`~synack.trace.JsonlWriter` (``link`` records, plus the
core's own records when the stack is synack).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from synack.packetdrill.backend import RunObserver
from synack.packetdrill.format import format_time
from synack.trace import LINKTYPE_RAW, JsonlWriter, Ladder, PcapWriter, link_record

__all__ = ["LadderView", "PcapView", "TraceView", "VerboseView"]


class VerboseView(RunObserver):
    """Prints every packet as the script sees it, and every call with its result."""

    def __init__(self, out: TextIO, label: str = "") -> None:
        self.out = out
        self.label = label

    def note(self, t: int, text: str) -> None:
        prefix = f"{self.label}: " if self.label else ""
        print(f"{prefix}{format_time(t):>12}  {text}", file=self.out)


class LadderView(RunObserver):
    """A ladder diagram of the run, written to ``out`` when the script ends."""

    def __init__(self, out: TextIO, local: str, remote: str, stack: str) -> None:
        self.out = out
        self.ladder = Ladder({local: stack, remote: "script"}, ports="all")

    def packet(self, t: int, direction: str, packet: bytes) -> None:
        self.ladder.observe(t, "tun", "send", packet, None)

    def note(self, t: int, text: str) -> None:
        if not text.startswith(("<", ">")):
            self.ladder.note(t, text)

    def trace(self, record: dict[str, Any]) -> None:
        self.ladder.trace(record)

    def finish(self, passed: bool, error: str | None) -> None:
        self.out.write(self.ladder.render())
        if error:
            self.out.write(f"FAIL: {error.splitlines()[0]}\n")


class PcapView(RunObserver):
    """Every packet both ways, in a pcap file (raw IP link type)."""

    def __init__(self, path: str | Path) -> None:
        self.writer = PcapWriter(path, linktype=LINKTYPE_RAW)

    def packet(self, t: int, direction: str, packet: bytes) -> None:
        self.writer.write(t, packet)

    def finish(self, passed: bool, error: str | None) -> None:
        self.writer.close()


class TraceView(RunObserver):
    """A JSON Lines trace: ``link`` records for packets, the core's records, notes."""

    def __init__(self, path: str | Path) -> None:
        self.writer = JsonlWriter(path)

    def packet(self, t: int, direction: str, packet: bytes) -> None:
        self.writer(link_record(t, "tun", "send", packet, None) | {"dir": direction})

    def note(self, t: int, text: str) -> None:
        self.writer({"t": t, "ev": "note", "text": text})

    def trace(self, record: dict[str, Any]) -> None:
        self.writer(record)

    def finish(self, passed: bool, error: str | None) -> None:
        self.writer({"t": 0, "ev": "result", "passed": passed, "error": error})
        self.writer.close()

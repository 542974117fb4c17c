"""Structured traces as JSON Lines: the core's trace records and the links' packet records.

One record per line, one schema for both sources (documented in docs/trace.md):
every record has ``t`` (integer microseconds) and ``ev``. The core's records
(``state``, ``seg_out``, ``seg_in``, ``drop``, ``rtt``, ``cwnd``, ``rwnd``,
``timer``) are written as the core produced them; the simulator's links add
``ev: "link"`` records built by :func:`link_record`. Keys keep their insertion
order and floats never appear, so a seeded run writes the same bytes every time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from synack.trace.output import FileOutput
from synack.trace.packet import endpoint_str, peek

__all__ = ["JsonlWriter", "TraceCollector", "link_record", "read_jsonl"]

Record = dict[str, Any]


def link_record(t: int, link: str, what: str, packet: bytes, detail: str | None) -> Record:
    """The trace record of one link observation (see :data:`synack.sim.LinkObserver`).

    ``what`` is ``send``, ``drop`` (with ``reason``), ``impair`` (with
    ``detail``: ``corrupted``, ``reordered`` or ``duplicated``) or ``deliver``
    (with ``detail`` when the copy delivered was impaired).
    """
    rec: Record = {"t": t, "ev": "link", "link": link, "what": what}
    if detail is not None:
        rec["reason" if what == "drop" else "detail"] = detail
    info = peek(packet)
    if info is None:
        rec["size"] = len(packet)
        rec["malformed"] = True
        return rec
    rec["src"] = endpoint_str(info.src, info.sport)
    rec["dst"] = endpoint_str(info.dst, info.dport)
    rec["flags"] = info.flag_names
    rec["seq"] = info.seq
    rec["ack"] = info.ack
    rec["win"] = info.window
    rec["len"] = info.payload_len
    rec["size"] = info.size
    return rec


class TraceCollector:
    """Keeps records in memory: a tracer for the core and an observer for links.

    ``records`` is the list, in the order things happened.
    """

    def __init__(self) -> None:
        self.records: list[Record] = []

    def __call__(self, record: Record) -> None:
        """The core's tracer hook."""
        self.records.append(_plain(record))

    def observe(self, now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        """A link observer."""
        self.records.append(link_record(now, link, what, packet, detail))


class JsonlWriter(FileOutput[TextIO]):
    """Writes each record as one JSON line to ``dest`` (a path or a text file).

    Call it as the core's tracer; use :meth:`observe` as a link observer.
    """

    def __init__(self, dest: str | Path | TextIO) -> None:
        super().__init__(dest, lambda path: open(path, "w", encoding="utf-8"))  # noqa: SIM115
        self.records = 0
        self._encode = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, default=_default
        ).encode

    def __call__(self, record: Record) -> None:
        """The core's tracer hook."""
        self._file.write(self._encode(record))
        self._file.write("\n")
        self.records += 1

    def observe(self, now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        """A link observer."""
        self(link_record(now, link, what, packet, detail))


def _default(value: object) -> object:
    # Enum states print as RFC names; bytes (addresses) as hex; anything else as str.
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def _plain(record: Record) -> Record:
    """A copy of a core record with only JSON types (as a reader would see it)."""
    out: Record = json.loads(json.dumps(record, default=_default))
    return out


def read_jsonl(source: str | Path | Iterable[str]) -> Iterator[Record]:
    """The records of a JSON Lines trace, skipping blank lines."""
    lines: Iterable[str]
    if isinstance(source, str | Path):
        lines = Path(source).read_text(encoding="utf-8").splitlines()
    else:
        lines = source
    for line in lines:
        if line.strip():
            rec: Record = json.loads(line)
            yield rec

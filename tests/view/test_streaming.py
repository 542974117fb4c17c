"""Reading a trace file twice (the connections, then the chosen one's records) gives the same page.

``synack view TRACE.jsonl`` no longer holds every record until the connection
is joined: a trace that can be read again (a file, a list, a function) is read
once to find the connections and once more for the chosen one's records. A
one-shot iterable is still read once, each connection's records kept: the
join as it always was. The pages of both ways must be the same bytes.
"""

from __future__ import annotations

import gc
import heapq
import json
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synack.sim import LinkConfig
from synack.sim.demo import run_demo
from synack.sim.scenario import run_transfer
from synack.view import load_view, render_page
from synack.view.from_trace import connections_from_records
from tests.view.helpers import one_side_traced


def _read(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    return path


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("stream")
    out = {}
    run_demo(trace=d / "demo.jsonl")
    out["demo"] = d / "demo.jsonl"
    # Loss, reordering, duplication and corruption: drops, impairments, duplicate deliveries.
    impaired = LinkConfig(
        delay=5_000,
        bandwidth=20_000_000,
        queue_packets=30,
        loss=0.02,
        reorder=0.02,
        duplicate=0.02,
        corrupt=0.01,
    )
    assert run_transfer(200_000, impaired, seed=3, trace=d / "impaired.jsonl").verified
    out["impaired"] = d / "impaired.jsonl"
    # Two connections interleaved in one trace (two runs merged by time).
    link = LinkConfig(delay=10_000, loss=0.01)
    for seed in (1, 2):
        assert run_transfer(50_000, link, seed=seed, trace=d / f"s{seed}.jsonl").verified
    merged = heapq.merge(_read(d / "s1.jsonl"), _read(d / "s2.jsonl"), key=lambda r: r["t"])
    out["two"] = _write(d / "two.jsonl", list(merged))
    # One side traced, no link records (as over a TAP device).
    out["nolink"] = _write(d / "nolink.jsonl", one_side_traced(b"hello" * 1000, hops=12))
    return out


@pytest.mark.parametrize("name", ["demo", "impaired", "two", "nolink"])
def test_the_file_read_twice_gives_the_page_of_the_records_read_once(
    traces: dict[str, Path], name: str
) -> None:
    path = traces[name]
    records = _read(path)
    _, _, infos = load_view(path)
    assert len(infos) == (2 if name == "two" else 1)
    for i in range(len(infos)):
        twice, _, _ = load_view(path, connection=i)  # the file, read again for the view
        once, _, _ = load_view(iter(records), connection=i)  # one-shot: records kept
        listed, _, _ = load_view(records, connection=i)  # a list: iterated again
        page = render_page(twice)
        assert page == render_page(once) == render_page(listed)
        assert len(twice.segs) > 0
    if name == "impaired":  # the join had work to do
        assert any(s.rtx for s in twice.segs) and any(s.fate for s in twice.segs)
        assert any("duplicate delivered" in s.marks for s in twice.segs)


class _Rec(dict[str, Any]):
    """A record that can be referenced weakly, to see whether the view keeps it."""


def test_records_that_can_be_read_again_are_not_kept(traces: dict[str, Path]) -> None:
    plain = _read(traces["impaired"])
    alive: list[weakref.ref[_Rec]] = []
    readings = 0

    def read() -> Iterator[_Rec]:
        nonlocal readings
        readings += 1
        for r in plain:
            rec = _Rec(r)
            alive.append(weakref.ref(rec))
            yield rec

    infos, build = connections_from_records(read)
    view = build(0)
    gc.collect()
    assert readings == 2  # the connections, then the connection's records
    assert len(alive) == 2 * len(plain)
    assert sum(1 for ref in alive if ref() is not None) == 0
    # Both ends traced: one segment per seg_out record.
    assert len(view.segs) == infos[0].packets == sum(1 for r in plain if r["ev"] == "seg_out")


def test_a_one_shot_iterable_is_read_once(traces: dict[str, Path]) -> None:
    plain = _read(traces["demo"])
    it = iter(plain)
    infos, build = connections_from_records(it)
    assert next(it, None) is None
    assert build(0).segs and infos[0].packets == 7

"""The docs stay true: the RFC 9293 conformance table and the state diagram match the code and tests.

``docs/conformance.md`` must have exactly one row per line of RFC 9293 Appendix B
(``docs/rfc9293-requirements.tsv``), each with a valid status; every row marked done
must name a test, and every test named anywhere must exist. ``docs/state-diagram.md``
must hold ``render_mermaid()`` verbatim and list every transition of the table.
"""

from __future__ import annotations

import ast
import csv
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from synack.tcp.state import TRANSITIONS, render_mermaid

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TSV = DOCS / "rfc9293-requirements.tsv"
SHARED_TSV = ROOT.parent / "shared" / "rfc" / "rfc9293-requirements.tsv"
STATUSES = ("done", "partial", "not yet", "not applicable")
# `tests/tcp/test_handshake.py::test_name` or with a parametrize id: `...::test_name[id]`.
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]`]*\])?`")
REQ_ID = re.compile(r"(?:MUST|SHLD|MAY|REC)-\d+")


def requirements() -> list[dict[str, str]]:
    """The lines of Appendix B: section (group), reqid, level, feature."""
    with TSV.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def conformance_rows() -> list[list[str]]:
    """The table rows of docs/conformance.md whose first cell is a requirement ID."""
    rows = []
    for line in (DOCS / "conformance.md").read_text().splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if REQ_ID.fullmatch(cells[0]):
            rows.append(cells)
    return rows


@cache
def defined_tests(path: str) -> frozenset[str]:
    """Names of the module-level test functions a test file defines."""
    file = ROOT / path
    if not file.is_file():
        return frozenset()
    tree = ast.parse(file.read_text(), filename=str(file))
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    )


# ------------------------------------------------------------------ conformance


def test_requirements_list_has_the_126_lines_of_appendix_b() -> None:
    reqs = requirements()
    assert len(reqs) == 126
    assert all(REQ_ID.fullmatch(r["reqid"]) for r in reqs)
    if SHARED_TSV.is_file():  # the shared RFC folder sits beside the clone in CI
        assert TSV.read_bytes() == SHARED_TSV.read_bytes()


def test_every_requirement_has_exactly_one_row() -> None:
    rows = conformance_rows()
    assert all(len(cells) == 6 for cells in rows), [c for c in rows if len(c) != 6]
    got = Counter((cells[0], cells[1]) for cells in rows)
    want = Counter((r["reqid"], r["feature"]) for r in requirements())
    assert got == want
    assert sum(want.values()) == 126


def test_rows_keep_the_keyword_of_the_rfc() -> None:
    level = {(r["reqid"], r["feature"]): r["level"] for r in requirements()}
    for rid, feature, keyword, *_ in conformance_rows():
        assert keyword == level[(rid, feature)], rid


def test_every_row_has_a_status_section_and_reason() -> None:
    for rid, _feature, _keyword, section, status, notes in conformance_rows():
        assert status in STATUSES, (rid, status)
        assert re.fullmatch(r"\d+(\.\d+)*", section), (rid, section)
        if status != "done":
            assert len(notes) >= 10, f"{rid} is {status!r} without a reason"


def test_every_done_row_names_a_test() -> None:
    for rid, _feature, _keyword, _section, status, notes in conformance_rows():
        if status == "done":
            assert TEST_REF.search(notes), f"{rid} is done but names no test"


def test_every_named_test_exists() -> None:
    text = (DOCS / "conformance.md").read_text()
    refs = TEST_REF.findall(text)
    assert refs
    missing = [f"{path}::{name}" for path, name in refs if name not in defined_tests(path)]
    assert missing == []


def test_summary_counts_match_the_rows() -> None:
    counts = Counter(cells[4] for cells in conformance_rows())
    text = (DOCS / "conformance.md").read_text()
    for status in STATUSES:
        assert re.search(rf"^\| {status} \| {counts[status]} \|$", text, re.M), status
    assert re.search(rf"^\| total \| {sum(counts.values())} \|$", text, re.M)


@pytest.mark.parametrize(
    ("ref", "exists"),
    [
        ("`tests/tcp/test_handshake.py::test_peer_mss_is_honoured`", True),
        ("`tests/tcp/test_teardown.py::test_exact_rst_resets_synchronized_connection[x]`", True),
        ("`tests/tcp/test_handshake.py::test_no_such_test`", False),
        ("`tests/tcp/no_such_file.py::test_peer_mss_is_honoured`", False),
    ],
)
def test_test_references_are_resolved_against_the_files(ref: str, exists: bool) -> None:
    match = TEST_REF.fullmatch(ref)
    assert match is not None
    assert (match.group(2) in defined_tests(match.group(1))) is exists


# ---------------------------------------------------------------- state diagram


def test_state_diagram_holds_render_mermaid_verbatim() -> None:
    text = (DOCS / "state-diagram.md").read_text()
    assert f"```mermaid\n{render_mermaid()}```\n" in text


def test_state_diagram_lists_every_transition() -> None:
    text = (DOCS / "state-diagram.md").read_text()
    listed = {line for line in text.splitlines() if line.startswith("- ")}
    want = {
        f"- {src.value} -> {dst.value}: {trig.value}" for (src, trig), dst in TRANSITIONS.items()
    }
    assert listed == want

"""docs/simulator.md and README.md show real output: their examples are run and compared here."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from synack.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "simulator.md"
FILES = [DOC, ROOT / "README.md"]
HINT = "the documented output is out of date: run `python docs/update_examples.py`"


def blocks(kind: str, doc: Path = DOC) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", doc.read_text(), flags=re.S)


def command_output(command: str, doc: Path) -> str:
    """The text block that starts with ``$ <command>``, without that line."""
    for block in blocks("text", doc):
        first, _, rest = block.partition("\n")
        if first == f"$ {command}":
            return rest
    raise AssertionError(f"no example of {command!r} in {doc}")


@pytest.mark.parametrize("doc", FILES, ids=lambda p: p.name)
def test_the_demo_example_is_what_synack_demo_prints(
    doc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    assert capsys.readouterr().out == command_output("synack demo", doc), HINT


@pytest.mark.slow
@pytest.mark.parametrize("doc", FILES, ids=lambda p: p.name)
def test_the_sim_example_matches_except_for_wall_time(
    doc: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    command = "sim --bytes 10M --rtt 40 --bandwidth 10 --queue 50 --plot sim.png"
    monkeypatch.chdir(tmp_path)
    assert main(command.split(" ")) == 0
    got = capsys.readouterr().out.splitlines()
    want = command_output("synack " + command, doc).splitlines()
    assert len(got) == len(want), HINT
    for a, b in zip(got, want, strict=True):
        if "wall time" not in a:
            assert a == b, HINT


def test_the_library_example_runs_and_prints_what_the_doc_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (code,) = blocks("python")
    doc_text = DOC.read_text()
    after = doc_text[doc_text.index(code) + len(code) :]
    expected = re.search(r"```text\n(.*?)```", after, flags=re.S)
    assert expected is not None
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "doc_example"})
    assert out.getvalue() == expected.group(1), HINT
    assert (tmp_path / "run.pcap").stat().st_size > 0

"""``synack view`` and the ``--view`` options of ``synack demo`` and ``synack sim``."""

from __future__ import annotations

import json
import re
import webbrowser
from pathlib import Path

import pytest

from synack.cli import main


def _data(page: Path) -> dict[str, object]:
    text = page.read_text()
    m = re.search(r'<script id="synack-data" type="application/json">(.*?)</script>', text, re.S)
    assert m is not None
    out: dict[str, object] = json.loads(m.group(1))
    return out


def test_view_writes_the_page_of_a_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "demo.jsonl"
    assert main(["demo", "--trace", str(trace)]) == 0
    capsys.readouterr()
    assert main(["view", str(trace)]) == 0
    out = capsys.readouterr().out.strip()
    page = tmp_path / "demo.jsonl.html"
    assert out.startswith(f"wrote {page} (")
    assert out.endswith("7 segments, exact values from synack's trace")
    data = _data(page)
    assert data["exact"] is True and data["title"] == "192.168.1.100:55148 -> 10.0.0.5:80"


def test_demo_view_and_sim_view_write_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = tmp_path / "d.html"
    assert main(["demo", "--view", str(demo)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {demo}" in out and "synack-demo-" not in out  # no temporary file named
    assert len(_data(demo)["seg"]["d"]) == 7  # type: ignore[index]
    sim = tmp_path / "s.html"
    assert main(["sim", "--bytes", "200k", "--loss", "0.02", "--view", str(sim)]) == 0
    assert f"wrote {sim}" in capsys.readouterr().out
    data = _data(sim)
    assert data["exact"] is True and any(data["seg"]["c"])  # type: ignore[index]


def test_view_of_a_capture_lists_the_connections_and_picks_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcap = tmp_path / "demo.pcap"
    assert main(["demo", "--pcap", str(pcap)]) == 0
    capsys.readouterr()
    out = tmp_path / "p.html"
    assert (
        main(["view", str(pcap), "-o", str(out), "--connection", "192.168.1.100:55148-10.0.0.5:80"])
        == 0
    )
    assert "reconstructed from packets" in capsys.readouterr().out
    assert _data(out)["exact"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["view", "/nonexistent/trace.jsonl"], "no such file"),
        (["view", "{bad}", "--connection", "3"], "connection 3 does not exist"),
        (["view", "{text}"], "not a JSON line"),
    ],
)
def test_view_answers_mistakes_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    bad = tmp_path / "demo.jsonl"
    assert main(["demo", "--trace", str(bad)]) == 0
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    capsys.readouterr()
    argv = [a.replace("{bad}", str(bad)).replace("{text}", str(text)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("synack view: ") and message in err[0]


def test_view_open_hands_the_page_to_the_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened: list[str] = []

    def fake_open(url: str, *args: object, **kwargs: object) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    trace = tmp_path / "t.jsonl"
    assert main(["demo", "--trace", str(trace)]) == 0
    assert main(["view", str(trace), "-o", str(tmp_path / "o.html"), "--open"]) == 0
    assert opened == [(tmp_path / "o.html").resolve().as_uri()]

"""Options that say what they do: defaults in --help, the MSS following --mtu, default prefixes, reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from synack.cli import main
from synack.cli.experiment.validate import checkout_report
from synack.cli.progress import Transfer, want_progress
from synack.cli.units import interface_address, parse_url

ROOT = Path(__file__).resolve().parents[2]


def test_sim_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    assert "--rtt MS round-trip time in ms (default: 20.0)" in text
    assert "--loss P Bernoulli loss probability (default: 0.0)" in text
    assert "--bandwidth MBIT/S Mbit/s each way (0: unlimited) (default: 0.0)" in text


def test_the_mss_follows_a_larger_mtu(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--bytes", "100k", "--mtu", "9000", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    # MTU 9000 - 40 octets of headers - 12 of the Timestamps option.
    assert summary["mss"] == 8948


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10.0.0.5", "10.0.0.5/24"),
        ("10.0.0.5/16", "10.0.0.5/16"),
        ("fd00::5", "fd00::5/64"),
        ("fd00::5/120", "fd00::5/120"),
    ],
)
def test_an_address_without_a_prefix_gets_the_documented_one(text: str, value: str) -> None:
    assert interface_address(text) == value


def test_urls_are_checked_up_front() -> None:
    url = parse_url("http://[fd00::1]:8000/a/b.bin")
    assert (url.host, url.port, url.path) == ("fd00::1", 8000, "/a/b.bin")
    assert parse_url("http://10.0.0.1/").port == 80
    for bad in ("http://10.0.0.1:0/", "https://10.0.0.1/", "10.0.0.1/x"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_url(bad)


def test_the_validation_report_defaults_to_the_checkout_it_runs_in(tmp_path: Path) -> None:
    assert checkout_report(ROOT / "tests") == ROOT / "docs" / "congestion.md"
    assert checkout_report(ROOT) == ROOT / "docs" / "congestion.md"
    assert checkout_report(tmp_path) is None


def test_progress_is_on_for_a_terminal_unless_asked_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def args(progress: bool | None, quiet: bool = False) -> argparse.Namespace:
        return argparse.Namespace(progress=progress, quiet=quiet)

    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert not want_progress(args(None))
    assert want_progress(args(True))
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert want_progress(args(None))
    assert not want_progress(args(None, quiet=True))
    assert not want_progress(args(False))


def test_a_transfer_summary_says_how_far_it_got() -> None:
    t = Transfer("received", 2_000_000)
    t.update(500_000)
    text = t.summary()
    assert text.startswith("received 500,000 of 2,000,000 bytes in ")
    assert "MB/s" in text

"""``synack experiment sweep`` and ``synack experiment report`` on the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from synack.cli import main

SPEC = """
[sweep]
seeds = 2
[grid]
cc = ["newreno", "cubic"]
loss = 0.01
rtt = 20
duration = 0.5
"""


def test_sweep_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "r.parquet"
    assert main(["experiment", "sweep", str(spec), "-o", str(out), "--jobs", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: 4 runs, 4 run now on local")
    # Again (with the progress bar forced on): everything is already there.
    assert (
        main(["experiment", "sweep", str(spec), "-o", str(out), "--jobs", "1", "--progress"]) == 0
    )
    assert "4 runs (4 from an earlier run), 0 run now" in capsys.readouterr().out
    assert main(["experiment", "report", str(out), "-o", str(tmp_path / "rep")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"wrote {tmp_path / 'rep' / 'REPORT.md'}: 2 settings from 4 runs"
    assert (tmp_path / "rep" / "r-delay.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scheduler", "slurm"], "unknown scheduler 'slurm'"),
        (["--jobs", "-1"], "--jobs must be >= 0"),
    ],
)
def test_usage_mistakes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    assert main(["experiment", "sweep", str(spec), "-o", str(tmp_path / "r.parquet"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_bad_spec_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text("[grid]\nspeed = [1, 2]\n")
    assert main(["experiment", "sweep", str(spec), "-o", str(tmp_path / "r.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown parameter 'speed'" in err


def test_without_the_lab_extra_the_command_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    assert main(["experiment", "sweep", str(spec), "-o", str(tmp_path / "r.parquet")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (
        err
        == "synack experiment sweep: experiment sweeps need pyarrow: pip install 'synack[lab]'\n"
    )

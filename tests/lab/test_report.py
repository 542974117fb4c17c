"""``synack experiment report``: the table and figures drawn from a results file."""

from __future__ import annotations

from pathlib import Path

import pytest

from synack.lab import parse_spec, run_sweep
from synack.lab.report import group_rows, markdown_table, write_report
from synack.sim.experiments import mean_ci

SPEC = parse_spec(
    """
    [sweep]
    seeds = 2
    [grid]
    cc = "cubic"
    loss = [0.005, 0.02]
    flows = [1, 2]
    rtt = 20
    bandwidth = 20
    duration = 1
    """
)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "loss.parquet"
    run_sweep(SPEC, out, jobs=1)
    return out


@pytest.mark.slow
def test_runs_are_grouped_by_what_varies_except_the_seed(results: Path) -> None:
    from synack.lab.results import read_results

    rows, _ = read_results(results)
    keys, groups = group_rows(rows)
    assert keys == ["loss", "flows"]
    assert [(g.key["loss"], g.key["flows"], len(g.rows)) for g in groups] == [
        (0.005, 1, 2),
        (0.005, 2, 2),
        (0.02, 1, 2),
        (0.02, 2, 2),
    ]
    table = markdown_table(rows).splitlines()
    assert table[0].startswith("| loss | flows | seeds | goodput Mbit/s | Jain |")
    m, lo, hi = mean_ci([r["goodput_mbps"] for r in groups[0].rows])
    assert table[2].startswith(f"| 0.005 | 1 | 2 | {m:.2f} [{lo:.2f}, {hi:.2f}] | 1.000 |")


@pytest.mark.slow
def test_report_writes_the_table_and_the_figures(results: Path, tmp_path: Path) -> None:
    report = write_report(results, tmp_path / "out")
    names = sorted(p.name for p in report.figures)
    assert names == ["loss-delay.png", "loss-fairness.png", "loss-loss.png"]
    for p in report.figures:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = report.markdown.read_text()
    assert "8 runs, seeds 1, 2" in text
    assert "![Goodput per flow against the loss rate" in text
    assert "loss = [0.005, 0.02]" in text  # the spec is quoted
    assert (report.groups, report.runs) == (4, 8)

"""Congestion control against the published models, on the simulator (issue 6).

The same experiment functions as ``synack experiment validate`` (docs/congestion.md),
on a subset of its settings so the suite stays quick. Each run is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from synack.sim import validate as val
from synack.sim.experiments import PathSpec, jain, mathis, pftk, run_flows

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ the models


def test_mathis_formula() -> None:
    # MSS/RTT * sqrt(3/2) / sqrt(p): 1448 B, 40 ms, 1% -> 443 kB/s.
    assert mathis(1448, 0.04, 0.01) == pytest.approx(1448 / 0.04 * 1.2247449 / 0.1)
    assert mathis(1448, 0.04, 0.01, b=2) == pytest.approx(mathis(1448, 0.04, 0.01) / 2**0.5)


def test_pftk_is_mathis_when_timeouts_cost_nothing() -> None:
    assert pftk(1448, 0.04, 0.001, 0.0) == pytest.approx(mathis(1448, 0.04, 0.001))
    assert pftk(1448, 0.04, 0.02, 1.0) < mathis(1448, 0.04, 0.02)


def test_jain_index() -> None:
    assert jain([5, 5, 5, 5]) == 1.0
    assert jain([1, 0, 0, 0]) == pytest.approx(0.25)
    assert jain([3, 1]) == pytest.approx(16 / 20)


# ------------------------------------------------------------------ Mathis / PFTK


@pytest.mark.parametrize("p", [0.001, 0.005, 0.01, 0.02])
def test_newreno_goodput_follows_mathis_with_periodic_loss(p: float) -> None:
    row = val.mathis_experiment(p, kind="periodic")
    assert row.ratio is not None
    assert abs(row.ratio - 1) <= 0.25, row


@pytest.mark.parametrize("p", [0.005, 0.02])
def test_newreno_goodput_with_random_loss_matches_mathis_or_pftk(p: float) -> None:
    row = val.mathis_experiment(p, kind="random")
    assert row.ok, row
    # SACK and RACK-TLP repair these losses without timeouts: Mathis is the closer model.
    assert row.extra["timeouts"] == 0


def test_delayed_acks_do_not_slow_byte_counting_newreno() -> None:
    row = val.mathis_experiment(0.005, delayed_ack=True)
    assert row.ok, row
    assert row.extra["goodput"] > row.extra["mathis_b"]  # faster than the b = 2 model


# ------------------------------------------------------------------ CUBIC


def test_cubic_average_window_follows_rfc_9438_response_function() -> None:
    row = val.cubic_response_experiment(200_000, 5e-4)
    assert row.ratio is not None
    assert abs(row.ratio - 1) <= 0.25, row


def test_cubic_beats_newreno_on_a_long_fat_lossy_path() -> None:
    row = val.cubic_vs_newreno_experiment(bandwidth=100_000_000, duration=20_000_000)
    assert row.ok, row
    assert row.extra["cubic"] > 1.15 * row.extra["newreno"]


# ------------------------------------------------------------------ sharing


@pytest.mark.parametrize("cc", ["newreno", "cubic"])
@pytest.mark.parametrize("n", [2, 4, 8])
def test_flows_of_one_algorithm_share_fairly(cc: str, n: int) -> None:
    row = val.fairness_experiment(cc, n)
    assert row.extra["jain"] >= 0.95, row
    assert row.extra["run"].utilisation() >= 0.9


def test_newreno_and_cubic_coexist() -> None:
    row = val.coexistence_experiment()
    assert row.ok, row


@pytest.mark.parametrize("cc", ["newreno", "cubic"])
def test_one_loss_based_flow_fills_the_bottleneck(cc: str) -> None:
    row = val.utilisation_experiment(cc)
    assert row.ratio is not None and row.ratio >= 0.9, row


def test_bbr_fills_the_bottleneck_with_a_short_queue() -> None:
    bbr = val.utilisation_experiment("bbr")
    reno = val.utilisation_experiment("newreno", duration=15_000_000)
    assert bbr.ratio is not None and bbr.ratio >= 0.9, bbr
    assert bbr.extra["queue_delay_ms"] < 10  # under a quarter of the 40 ms RTT
    assert bbr.extra["queue_delay_ms"] < reno.extra["queue_delay_ms"] / 3


def test_runs_are_reproducible() -> None:
    path = PathSpec(rtt=20_000, bandwidth=10_000_000, queue_packets=20, loss=0.001)
    a = run_flows(["cubic", "newreno"], path, duration=3_000_000, warmup=1_000_000, seed=7)
    b = run_flows(["cubic", "newreno"], path, duration=3_000_000, warmup=1_000_000, seed=7)
    assert [f.goodput for f in a.flows] == [f.goodput for f in b.flows]
    assert [f.series for f in a.flows] == [f.series for f in b.flows]


# ------------------------------------------------------------------ the command


def test_validate_command_writes_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def one_row() -> val.Row:
        return val.Row("Fake", "setting", "1", "1", 1.0, "within 25%", True)

    monkeypatch.setattr(
        val,
        "_experiments",
        lambda quick, seed: {"mathis": [one_row], "cubic": [], "fairness": [], "utilisation": []},
    )
    out = tmp_path / "docs" / "congestion.md"
    from synack.cli import main

    assert main(["experiment", "validate", "--output", str(out), "--seed", "3", "--no-plots"]) == 0
    text = out.read_text()
    assert "`synack experiment validate --seed 3`" in text
    assert "| Fake | setting | 1 | 1 | 1.00 | within 25% | pass |" in text

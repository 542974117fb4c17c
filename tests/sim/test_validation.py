"""Congestion control against the published models, on the simulator (issues 6 and 14).

The same experiment functions as ``synack experiment validate`` (docs/congestion.md),
on a subset of its settings and one seed, so the suite stays quick; the statistics
that turn many seeds into a verdict are tested on made-up rows. Each run is
deterministic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from synack.sim import validate as val
from synack.sim.experiments import PathSpec, jain, mathis, mean_ci, pftk, run_flows, t_quantile

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


# ------------------------------------------------------------------ many seeds


def test_t_quantiles_match_the_published_table() -> None:
    # Two-sided 95% (0.975 quantile) of Student's t: 12.706 (1), 2.262 (9), 2.042 (30),
    # 2.021 (40), 1.980 (120), the normal 1.960 in the limit.
    assert t_quantile(1) == 12.706
    assert t_quantile(9) == 2.262
    assert t_quantile(30) == 2.042
    assert t_quantile(40) == pytest.approx(2.021, abs=1e-3)
    assert t_quantile(120) == pytest.approx(1.980, abs=1e-3)
    assert t_quantile(10**6) == pytest.approx(1.960, abs=1e-3)


def test_mean_ci_is_the_student_t_interval() -> None:
    m, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    # s = sqrt(2.5), n = 5, t(4) = 2.776: half-width 2.776 * 1.5811 / 2.2361 = 1.963.
    assert m == 3.0
    assert hi - m == pytest.approx(1.963, abs=1e-3)
    assert m - lo == pytest.approx(hi - m)
    assert mean_ci([7.0]) == (7.0, 7.0, 7.0)
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


def _row(value: float, seed: int, band: tuple[float, float] | None = (0.75, 1.25)) -> val.Row:
    return val.Row("Fake", "setting", "m", "model", value, band, "target", seed=seed)


def test_a_row_passes_when_its_interval_overlaps_the_band() -> None:
    # Mean 1.30 is outside [0.75, 1.25], but the interval reaches into it.
    wide = val.summarise("s", [_row(v, i) for i, v in enumerate([1.0, 1.6, 1.1, 1.5])])
    _, lo, _ = wide.ci
    assert lo < 1.25 < wide.ci[0]
    assert wide.status == "pass"
    # The same mean with a tight interval fails.
    tight = val.summarise("s", [_row(v, i) for i, v in enumerate([1.29, 1.31, 1.30, 1.30])])
    assert tight.status == "fail"


def test_report_rows_are_not_counted_as_checks() -> None:
    rows = [
        val.summarise("s", [_row(1.0, 1), _row(1.1, 2)]),
        val.summarise("s", [_row(2.0, 1), _row(2.1, 2)]),
        val.summarise("s", [_row(9.0, 1, band=None), _row(0.1, 2, band=None)]),
    ]
    assert [s.status for s in rows] == ["pass", "fail", "report"]
    assert val.counts(rows) == (1, 2, 1)


def test_seeds_change_a_run_without_random_loss() -> None:
    # Flows start at a seeded jitter, and a periodic pattern at a seeded phase.
    path = PathSpec(rtt=20_000, bandwidth=10_000_000, queue_packets=20)
    runs = [
        run_flows(
            ["newreno", "newreno"],
            path,
            duration=2_000_000,
            warmup=1_000_000,
            seed=s,
            stagger=100_000,
            start_jitter=100_000,
        )
        for s in (1, 2)
    ]
    assert runs[0].flows[0].goodput != runs[1].flows[0].goodput
    same = [
        run_flows(["newreno", "newreno"], path, duration=2_000_000, warmup=1_000_000, seed=s)
        for s in (1, 2)
    ]
    assert same[0].flows[0].goodput == same[1].flows[0].goodput


# ------------------------------------------------------------------ Mathis / PFTK


@pytest.mark.parametrize("p", [0.001, 0.005, 0.01, 0.02])
def test_newreno_goodput_follows_mathis_with_periodic_loss(p: float) -> None:
    row = val.mathis_experiment(p, kind="periodic")
    assert row.value == pytest.approx(row.extra["goodput"] / row.extra["mathis"])
    assert abs(row.value - 1) <= 0.25, row


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
    assert row.band == (0.75, 1.25)
    assert abs(row.value - 1) <= 0.25, row


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
    util, queue = val.utilisation_experiment(cc)
    assert util.value >= 0.9, util
    assert queue.band is None  # the standing queue of a loss-based flow is reported


def test_bbr_fills_the_bottleneck_with_a_short_queue() -> None:
    bbr, bbr_queue = val.utilisation_experiment("bbr")
    reno = val.utilisation_experiment("newreno", duration=15_000_000)[0]
    assert bbr.value >= 0.9, bbr
    assert bbr.extra["queue_delay_ms"] < 10  # under a quarter of the 40 ms RTT
    assert bbr_queue.ok and bbr_queue.value == pytest.approx(bbr.extra["queue_delay_ms"] / 40)
    assert bbr.extra["queue_delay_ms"] < reno.extra["queue_delay_ms"] / 3


def test_codel_keeps_the_queue_near_its_target_and_the_link_busy() -> None:
    codel, util, droptail = val.codel_experiment(duration=10_000_000)
    assert codel.ok and codel.value <= 10, codel  # p95 wait within 2 x the 5 ms TARGET
    assert util.value >= 0.85, util
    assert droptail.band is None and droptail.value > 10 * codel.extra["median_ms"]["codel"]


def test_a_seed_independent_row_says_it_ran_once() -> None:
    s = val.summarise("s", [_row(1.0, 1)], seed_independent=True)
    assert s.statistic() == "1.00 (one run: no random element)"
    assert s.status == "pass"


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
    def check(*, seed: int) -> val.Row:
        return val.Row(
            "Fake", "setting", "1", "1", 1.0 + seed / 100, (0.75, 1.25), "25%", seed=seed
        )

    def report(*, seed: int) -> val.Row:
        return val.Row("Other", "setting", "1", "1", 5.0, None, "report", seed=seed)

    monkeypatch.setattr(val, "_experiments", lambda quick: {"mathis": [check, report], "cubic": []})
    out = tmp_path / "docs" / "congestion.md"
    from synack.cli import main

    args = ["--output", str(out), "--seed", "3", "--seeds", "4", "--jobs", "1", "--no-plots"]
    assert main(["experiment", "validate", *args]) == 0
    text = out.read_text()
    assert "`synack experiment validate --seed 3 --seeds 4`" in text
    assert "4 seeds 3-6" in text
    assert "**Checks: 1 of 1 pass.**" in text
    assert "**Report rows: 1**" in text
    # Seeds 3..6 give 1.03..1.06: mean 1.045 with its interval.
    assert "| Fake | setting |" in text and "ratio: 1.04 [1.02, 1.07] | 25% | pass |" in text
    assert "| Other | setting |" in text and "| report |" in text


def test_only_reruns_the_named_sections_and_keeps_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def check(name: str, value: float) -> val.Experiment:
        def run(*, seed: int) -> val.Row:
            calls.append(name)
            return val.Row(name, "s", "m", "model", value, (0.75, 1.25), "25%", seed=seed)

        return run

    plan = {"mathis": [check("A", 1.0)], "cubic": [check("B", 1.1)]}
    monkeypatch.setattr(val, "_experiments", lambda quick: plan)
    out = tmp_path / "c.md"
    val.validate(out, seeds=[1, 2], jobs=1, plots=False, log=lambda _: None)
    assert calls == ["A", "A", "B", "B"]
    plan["cubic"] = [check("B", 2.0)]  # now fails
    calls.clear()
    got = val.validate(out, seeds=[1, 2], jobs=1, plots=False, only=["cubic"], log=lambda _: None)
    assert calls == ["B", "B"]
    assert [(s.first.experiment, s.status) for s in got] == [("A", "pass"), ("B", "fail")]
    assert "**Checks: 1 of 2 pass.**" in out.read_text()
    with pytest.raises(ValueError, match="other seeds"):
        val.validate(out, seeds=[1], jobs=1, plots=False, only=["cubic"], log=lambda _: None)


def test_ecn_gives_the_throughput_of_drops_without_retransmissions() -> None:
    goodput, rtx = val.ecn_experiment(duration=8_000_000)
    assert goodput.ok, goodput
    assert rtx.value == 0 and rtx.extra["rtx"][False] > 0 and rtx.extra["marks"] > 0


def test_dctcp_holds_the_queue_at_its_marking_threshold() -> None:
    queue, util = val.dctcp_experiment(duration=2_000_000)
    assert queue.ok, queue  # the median queue within K/2 of K = 20 packets
    assert util.value >= 0.95, util
    assert not queue.extra["drops"]

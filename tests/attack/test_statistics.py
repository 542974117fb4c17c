"""The measured numbers agree with the models, over many seeds (issue 13).

The same experiment functions as ``synack attack all --report`` (docs/attacks.md),
with the same bounds (the mean within 3 standard errors of the model), on fewer
seeds so the suite stays quick. Every run is deterministic.
"""

from __future__ import annotations

import pytest

from synack.attack import report

pytestmark = pytest.mark.slow
SEEDS = range(1, 1000)


@pytest.mark.parametrize(("isn", "runs"), [("counter", 40), ("clock", 40)])
def test_guesses_against_predictable_isns_match_the_model(isn: str, runs: int) -> None:
    check = report.isn_experiment(isn, SEEDS[:runs])
    assert check.ok, check
    assert check.data["mean"] > 1


def test_no_guess_wins_against_rfc_6528() -> None:
    check = report.isn_experiment("rfc6528", SEEDS[:10])
    assert check.ok, check
    assert check.measured == "0/10 succeeded"


def test_rsts_needed_match_half_a_sweep() -> None:
    check = report.blind_reset_experiment(1 << 20, False, SEEDS[:30])
    assert check.ok, check
    assert check.data["expected"] == (4096 + 1) / 2


def test_rfc_5961_survives_whole_sweeps() -> None:
    check = report.blind_reset_experiment(1 << 20, True, SEEDS[:2])
    assert check.ok, check


def test_segments_needed_to_inject_match_the_model() -> None:
    check = report.blind_inject_experiment(1 << 20, False, False, SEEDS[:8])
    assert check.ok, check


def test_a_full_queue_matches_erlang_b() -> None:
    check = report.syn_flood_experiment(5.0, False, SEEDS[:2])
    assert check.ok, check
    # Erlang B with offered load 5 SYN/s x 63 s (five SYN-ACK retries: 1+2+4+8+16+32 s)
    # = 315 Erlangs on a backlog of 128 slots.
    assert check.data["model_full"] == pytest.approx(0.5958, abs=1e-4)
    # Retries soon after a refusal find the queue still full more often than chance:
    # fewer clients get in than if their four tries were independent.
    assert check.data["success"] < check.data["model_success"]


def test_with_cookies_every_client_gets_in() -> None:
    check = report.syn_flood_experiment(10.0, True, SEEDS[:2])
    assert check.ok, check
    assert check.data["success"] == 1.0


def test_side_channel_rounds_match_the_model() -> None:
    check = report.side_channel_experiment(True, SEEDS[:10])
    assert check.ok, check
    assert check.data["expected"] == pytest.approx(32.5, abs=0.01)


@pytest.mark.parametrize("quick", [True, False])
def test_every_report_row_takes_its_seeds_last(quick: bool) -> None:
    # _with_seeds shifts each row's seeds (its last argument) by the row's offset:
    # a row whose last argument is not a range of seeds breaks `make attacks`.
    for section, rows in report._rows(
        quick, 12 if quick else 1, {"clock": 2}, (65_536,), (10.0,), 1
    ).items():
        for row in rows:
            assert isinstance(row.args[-1], range), (section, row)

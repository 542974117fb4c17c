"""``synack attack all --report``: every scenario over many seeds, against its model: docs/attacks.md.

Each ``*_experiment`` function runs one scenario over a list of seeds and
returns a :class:`Check`: what was measured (a mean with its standard error,
or a count of successes), what the model says, and whether they agree (the
mean within 3 standard errors of the model's; no success where the model's
chance is negligible). ``tests/attack/test_statistics.py`` calls the same
functions on fewer seeds. :func:`write_report` runs them all, draws the
figures and writes the Markdown, with the example outputs of single runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from synack.attack import analytic
from synack.attack.analytic import Estimate, estimate
from synack.attack.blind import run_blind_inject, run_blind_reset
from synack.attack.isn import GENERATORS
from synack.attack.isn_prediction import expected_guesses, run_isn_prediction, success_probability
from synack.attack.side_channel import run_side_channel
from synack.attack.syn_flood import run_syn_flood
from synack.tcp.config import Config

__all__ = [
    "EXAMPLES",
    "Check",
    "blind_inject_experiment",
    "blind_reset_experiment",
    "isn_experiment",
    "side_channel_experiment",
    "syn_flood_experiment",
    "write_report",
]

Z = 3.0
"""A mean agrees with its model when it is within this many standard errors."""


@dataclass
class Check:
    """One row of the report's tables."""

    scenario: str
    setting: str
    runs: int
    measured: str
    model: str
    ok: bool
    z: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    seeds: str = ""


def _fmt(x: float) -> str:
    if x >= 1e6:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def _mean_check(
    scenario: str, setting: str, est: Estimate, expected: float, successes: int, **data: Any
) -> Check:
    z = est.z(expected)
    ok = successes == est.n and abs(z) <= Z
    measured = f"{_fmt(est.mean)} +- {_fmt(est.se)} ({successes}/{est.n} succeeded)"
    return Check(
        scenario,
        setting,
        est.n,
        measured,
        _fmt(expected),
        ok,
        z,
        {**data, "mean": est.mean, "se": est.se, "expected": expected},
    )


def _none_check(
    scenario: str, setting: str, results: Sequence[Any], p: float, **data: Any
) -> Check:
    wins = sum(r.success for r in results)
    n = len(results)
    # With per-run chance p, n runs expect n*p successes; anything but zero when n*p is
    # far below one would be a failure of the defence (or of the model).
    ok = wins == 0 and n * p < 0.01
    return Check(
        scenario,
        setting,
        n,
        f"{wins}/{n} succeeded",
        f"{p:.2g} a run",
        ok,
        None,
        data,
    )


# ------------------------------------------------------------------ experiments


def isn_experiment(isn: str, seeds: Sequence[int]) -> Check:
    """isn-prediction against generator ``isn`` over ``seeds`` (default options)."""
    results = [run_isn_prediction(isn=isn, seed=s) for s in seeds]
    cfg = results[0].configuration
    setting = f"--isn {isn}: {GENERATORS[isn].summary}"
    if isn in ("counter", "clock"):
        est = estimate([r.attempts for r in results if r.success])
        expected = expected_guesses(isn, gap=cfg["gap_us"], jitter=cfg["jitter_us"], noise=0.0)
        wins = sum(r.success for r in results)
        check = _mean_check(
            "isn-prediction", setting, est, expected, wins, attempts=[r.attempts for r in results]
        )
        p = success_probability(isn, budget=cfg["budget"], jitter=cfg["jitter_us"])
        check.model += f"; P(success) {p:.3f}"
        return check
    p = success_probability(isn, budget=cfg["budget"], jitter=cfg["jitter_us"])
    return _none_check("isn-prediction", setting, results, p)


def blind_reset_experiment(window: int, rfc5961: bool, seeds: Sequence[int]) -> Check:
    """blind-reset with ``window`` over ``seeds``."""
    results = [run_blind_reset(rfc5961=rfc5961, window=window, seed=s) for s in seeds]
    n_slots = analytic.slots(window)
    setting = f"window {window:,}, RFC 5961 {'on' if rfc5961 else 'off'}"
    if not rfc5961:
        est = estimate([r.attempts for r in results if r.success])
        wins = sum(r.success for r in results)
        return _mean_check(
            "blind-reset",
            setting,
            est,
            analytic.blind_reset_expected(window, False),
            wins,
            window=window,
            sweep=n_slots,
        )
    # The sweep's one in-window RST resets only if it hits RCV.NXT exactly: 1 in window.
    return _none_check("blind-reset", setting, results, 1 / window, window=window, sweep=n_slots)


def blind_inject_experiment(
    window: int, rfc5961: bool, timestamps: bool, seeds: Sequence[int]
) -> Check:
    """blind-inject with ``window`` over ``seeds``."""
    results = [
        run_blind_inject(rfc5961=rfc5961, timestamps=timestamps, window=window, seed=s)
        for s in seeds
    ]
    setting = (
        f"window {window:,}, RFC 5961 {'on' if rfc5961 else 'off'}, "
        f"timestamps {'on' if timestamps else 'off'}"
    )
    ack_range = 256 * 1024 + 1  # the client's MAX.SND.WND + 1 (its default receive buffer)
    expected, _per = analytic.blind_inject_expected(window, rfc5961, timestamps, ack_range)
    if not rfc5961:
        est = estimate([r.attempts for r in results if r.success])
        wins = sum(r.success for r in results)
        return _mean_check("blind-inject", setting, est, expected, wins)
    # One step of the sweep is in the window; its two ACK guesses pass RFC 5961 5.2
    # with chance 2 * ack_range / 2**32.
    return _none_check("blind-inject", setting, results, 2 * ack_range / analytic.SPACE)


def syn_flood_experiment(rate: float, cookies: bool, seeds: Sequence[int]) -> Check:
    """syn-flood at ``rate`` over ``seeds``: a full queue against Erlang B, clients' success.

    Each run measures for four half-open lifetimes after two (a single run: one
    after one): with a fixed lifetime the queue frees in bursts that take a few
    lifetimes to even out.
    """
    lifetime = analytic.half_open_lifetime(Config())
    results = [
        run_syn_flood(
            rate=rate, seed=s, warmup=2 * lifetime, duration=4 * lifetime, cookies=cookies
        )
        for s in seeds
    ]
    js = [r.to_json() for r in results]
    flood = estimate([j["flood_syn_queue_full"] for j in js])
    first = estimate([j["first_syn_queue_full"] for j in js])
    ok_rate = estimate([j["legit_success_rate"] for j in js])
    times = [j["connect_time_us"] / 1e6 for j in js if j["connect_time_us"] is not None]
    model = js[0]["expected_queue_full"]
    model_ok = js[0]["expected_success_rate"]
    # Fractions of hundreds of SYNs a run: allow 0.01 absolute on top of 3 SE.
    ok = (
        abs(flood.mean - model) <= Z * flood.se + 0.01
        and abs(first.mean - model) <= Z * first.se + 0.01
    )
    if cookies:
        ok = ok and ok_rate.mean >= 0.99  # the model: every client in at its first try
    cfg = results[0].configuration
    return Check(
        "syn-flood",
        f"{rate:g} SYN/s, backlog {cfg['backlog']}, cookies {'on' if cookies else 'off'}",
        len(results),
        f"queue full for {flood.mean:.1%} +- {flood.se:.1%} of flood SYNs, "
        f"{first.mean:.1%} +- {first.se:.1%} of clients' first SYNs; clients connected "
        f"{ok_rate.mean:.1%}",
        f"Erlang B {model:.1%}; "
        + (
            "100% connected (cookies)"
            if cookies
            else f"{model_ok:.1%} connected if tries were independent"
        ),
        ok,
        flood.z(model),
        {
            "rate": rate,
            "cookies": cookies,
            "flood_full": flood.mean,
            "first_full": first.mean,
            "model_full": model,
            "success": ok_rate.mean,
            "success_se": ok_rate.se,
            "model_success": model_ok,
            "connect_s": sum(times) / len(times) if times else None,
            "model_connect_s": js[0]["expected_connect_time_us"] / 1e6,
            "attack_success": sum(r.success for r in results),
        },
    )


def side_channel_experiment(per_host: bool, seeds: Sequence[int]) -> Check:
    """side-channel over ``seeds``: rounds to reset against the model, or nothing learnt."""
    results = [run_side_channel(per_host=per_host, seed=s) for s in seeds]
    cfg = results[0].configuration
    setting = (
        f"challenge ACKs: {cfg['challenge_ack_limit']} a second per "
        f"{'host' if per_host else 'connection'}, window {cfg['window']:,}"
    )
    if per_host:
        est = estimate([r.attempts for r in results if r.success])
        expected = analytic.side_channel_expected(cfg["window"], cfg["batch"], True)
        check = _mean_check("side-channel", setting, est, expected, sum(r.success for r in results))
        check.measured = check.measured.replace(" (", " rounds (", 1)
        return check
    # Nothing is learnt; only a spoofed RST that happened to be exact would reset.
    return _none_check("side-channel", setting, results, 1 / cfg["window"])


# ------------------------------------------------------------------ the plan

RESET_WINDOWS = (65_536, 131_072, 262_144, 524_288, 1_048_576)
FLOOD_RATES = (1.0, 2.0, 3.0, 5.0, 10.0, 100.0)


def _plan(quick: bool) -> dict[str, list[Callable[[], Check]]]:
    n = 12 if quick else 1
    isn_runs = {"counter": 200 // n, "clock": 200 // n, "rfc6528": 50 // n, "random": 50 // n}
    reset_windows = RESET_WINDOWS[-2:] if quick else RESET_WINDOWS
    rates = FLOOD_RATES[1::2] if quick else FLOOD_RATES
    few = 1 if quick else 3
    return {
        section: [_with_seeds(fn, 1000 * i) for i, fn in enumerate(fns)]
        for section, fns in _rows(quick, n, isn_runs, reset_windows, rates, few).items()
    }


def _with_seeds(fn: partial[Check], offset: int) -> Callable[[], Check]:
    """Give each row its own seeds (1000 apart), so that no two rows share a random draw."""
    *args, seeds = fn.args
    shifted = range(seeds.start + offset, seeds.stop + offset)

    def run() -> Check:
        check = fn.func(*args, shifted)
        check.seeds = (
            f"{shifted.start}-{shifted.stop - 1}" if len(shifted) > 1 else f"{shifted.start}"
        )
        return check

    return run


def _rows(
    quick: bool,
    n: int,
    isn_runs: dict[str, int],
    reset_windows: tuple[int, ...],
    rates: tuple[float, ...],
    few: int,
) -> dict[str, list[partial[Check]]]:
    seeds = range(1, 1000)
    return {
        "isn-prediction": [partial(isn_experiment, isn, seeds[:k]) for isn, k in isn_runs.items()],
        "blind-reset": [
            *(
                partial(blind_reset_experiment, w, False, seeds[: 20 // n + 4])
                for w in reset_windows
            ),
            *(partial(blind_reset_experiment, w, True, seeds[:few]) for w in (262_144, 1_048_576)),
        ],
        "blind-inject": [
            partial(blind_inject_experiment, 262_144, False, False, seeds[: 20 // n + 4]),
            partial(blind_inject_experiment, 262_144, False, True, seeds[: 10 // n + 2]),
            partial(blind_inject_experiment, 262_144, True, True, seeds[:few]),
        ],
        "syn-flood": [
            *(
                partial(syn_flood_experiment, r, False, seeds[: 5 if not quick else 2])
                for r in rates
            ),
            *(
                partial(syn_flood_experiment, r, True, seeds[: 5 if not quick else 2])
                for r in (10.0, 100.0)
            ),
        ],
        "side-channel": [
            partial(side_channel_experiment, True, seeds[: 30 // n + 3]),
            partial(side_channel_experiment, False, seeds[:few]),
        ],
    }


EXAMPLES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    # section -> (command line, scenario, options) shown with their output
    "isn-prediction": [
        ("synack attack isn-prediction --isn counter", "isn-prediction", {"isn": "counter"}),
    ],
    "blind-reset": [
        ("synack attack blind-reset --rfc5961 off", "blind-reset", {"rfc5961": False}),
    ],
    "blind-inject": [
        (
            "synack attack blind-inject --rfc5961 off --timestamps off",
            "blind-inject",
            {"rfc5961": False, "timestamps": False},
        ),
    ],
    "syn-flood": [
        ("synack attack syn-flood --cookies off", "syn-flood", {"cookies": False}),
        ("synack attack syn-flood", "syn-flood", {}),
    ],
    "side-channel": [
        ("synack attack side-channel --per-host", "side-channel", {"per_host": True}),
    ],
}


def example_output(scenario: str, options: dict[str, Any]) -> str:
    """What ``synack attack SCENARIO ...`` prints for the example (seed 1)."""
    from synack.attack import SCENARIOS

    return SCENARIOS[scenario].run(seed=1, **options).text()


# ------------------------------------------------------------------ writing


def write_report(
    output: Path,
    *,
    quick: bool = False,
    plots: bool = True,
    command: str = "synack attack all --report",
    log: Callable[[str], None] = print,
) -> list[Check]:
    """Run the plan, write ``output`` (figures in img/ beside it); return every check."""
    t0 = time.perf_counter()
    checks: dict[str, list[Check]] = {}
    for section, fns in _plan(quick).items():
        checks[section] = []
        for fn in fns:
            t = time.perf_counter()
            c = fn()
            checks[section].append(c)
            log(
                f"{'ok  ' if c.ok else 'FAIL'} {c.scenario}: {c.setting}: {c.measured} "
                f"({time.perf_counter() - t:.1f} s)"
            )
    examples = {
        section: [(cmd, example_output(sc, opts)) for cmd, sc, opts in items]
        for section, items in EXAMPLES.items()
    }
    figures: dict[str, str] = {}
    if plots:
        figures = _figures(checks, output.parent / "img")
    wall = time.perf_counter() - t0
    from synack.attack.docs import markdown

    output.write_text(markdown(checks, examples, figures, command=command, quick=quick, wall=wall))
    return [c for cs in checks.values() for c in cs]


def _figures(checks: dict[str, list[Check]], img: Path) -> dict[str, str]:
    from synack.attack.plots import plot_reset_sweep, plot_syn_flood_sweep

    img.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}
    rows = []
    on = {c.data["window"]: c.data["sweep"] for c in checks["blind-reset"] if "on" in c.setting}
    for c in checks["blind-reset"]:
        if "off" in c.setting:
            w = c.data["window"]
            rows.append({**c.data, "survived": on.get(w)})
    plot_reset_sweep(
        rows,
        img / "attack-blind-reset.png",
        title="blind-reset: spoofed RSTs needed against the receive window",
    )
    out["blind-reset"] = "attack-blind-reset.png"
    plot_syn_flood_sweep(
        [c.data for c in checks["syn-flood"]],
        img / "attack-syn-flood.png",
        title=(
            "syn-flood: backlog 128, half-open lifetime "
            f"{analytic.half_open_lifetime(Config()) / 1e6:g} s"
        ),
    )
    out["syn-flood"] = "attack-syn-flood.png"
    return out

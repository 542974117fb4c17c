"""The windowed max filter behind BBR's BtlBw estimate."""

from __future__ import annotations

import itertools
import random

from synack.cc.filters import WindowedMax


def test_new_maximum_replaces_everything() -> None:
    f = WindowedMax(10)
    assert f.update(0, 5) == 5
    assert f.update(1, 3) == 5
    assert f.update(2, 9) == 9
    assert f.value == 9


def test_maximum_expires_after_the_window() -> None:
    f = WindowedMax(10)
    f.update(0, 100)
    for t in range(1, 11):
        assert f.update(t, 50) == 100
    # the sample from t=0 is more than 10 units old now
    assert f.update(11, 50) == 50


def test_the_result_is_always_a_sample_from_inside_the_window() -> None:
    rng = random.Random(7)
    win = 10
    f = WindowedMax(win)
    history: list[tuple[int, int]] = []
    t = 0
    for _ in range(2000):
        t += rng.choice((0, 1, 1, 2))
        v = rng.randrange(1000)
        history.append((t, v))
        got = f.update(t, v)
        in_window = [s for (ts, s) in history if t - ts <= win]
        assert got in in_window
        # never below the most recent quarter window's best
        recent = [s for (ts, s) in history if t - ts <= win // 4]
        assert got >= max(recent)


def test_exact_for_monotone_decreasing_input() -> None:
    f = WindowedMax(4)
    vals = [100, 90, 80, 70, 60, 50, 40, 30]
    out = [f.update(t, v) for t, v in zip(itertools.count(), vals)]
    # the maximum of the last five samples (t - ts <= 4) is exact for a ramp down
    # to within one candidate step
    for t, got in enumerate(out):
        window = vals[max(0, t - 4) : t + 1]
        assert got in window

"""The congestion-control registry and the interface's backward-compatible defaults."""

from __future__ import annotations

import pytest

from synack.cc import CongestionControl, RateSample, available, create, register
from synack.cc.base import REGISTRY


class FixedWindow(CongestionControl):
    """A user algorithm written against the original hooks only."""

    name = "fixed-test"

    def on_ack(
        self, *, now: int, bytes_acked: int, rtt: int | None, in_flight: int, in_recovery: bool
    ) -> None:
        pass

    def on_recovery_start(self, *, now: int, in_flight: int) -> None:
        pass

    def on_rto(self, *, now: int, in_flight: int) -> None:
        pass


def test_builtin_algorithms_are_registered() -> None:
    assert {"newreno", "reno", "cubic", "bbr"} <= set(available())


def test_unknown_name_raises_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"available: .*cubic"):
        create("vegas-nope", mss=1000, initial_window=10_000, now=0)


def test_user_algorithm_registered_from_outside_gets_new_hooks_as_no_ops() -> None:
    register("Fixed-Test", FixedWindow)
    try:
        cc = create("fixed-test", mss=1000, initial_window=4000, now=5)
        assert isinstance(cc, FixedWindow)
        assert cc.cwnd == 4000
        assert not cc.needs_rate_samples
        assert not cc.controls_recovery_window
        # hooks added later have defaults, so an old algorithm keeps working
        cc.on_rate_sample(now=6, sample=RateSample())
        cc.on_spurious_recovery(now=7)
        assert cc.pacing_rate() is None
        assert cc.cwnd == 4000
    finally:
        del REGISTRY["fixed-test"]


def test_newreno_halves_on_fast_retransmit_and_inflates() -> None:
    cc = create("newreno", mss=1000, initial_window=10_000, now=0)
    cc.on_recovery_start(now=0, in_flight=20_000)
    assert cc.ssthresh == 10_000
    assert cc.cwnd == 13_000
    cc.on_duplicate_ack(now=1, in_flight=20_000, in_recovery=True)
    assert cc.cwnd == 14_000
    cc.on_recovery_end(now=2, in_flight=10_000)
    assert cc.cwnd == 10_000

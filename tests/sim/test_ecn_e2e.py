"""ECN end to end on the simulator: a marking queue instead of a dropping one."""

from __future__ import annotations

import pytest

from synack.sim import LinkConfig
from synack.sim.aqm import CoDel, StepMark
from synack.sim.scenario import run_transfer
from synack.tcp.config import Config


@pytest.mark.parametrize("aqm", [CoDel(ecn=True), StepMark(k=10, ecn=True)])
def test_with_ecn_a_managed_queue_marks_and_nothing_is_retransmitted(
    aqm: CoDel | StepMark,
) -> None:
    link = LinkConfig(delay=10_000, bandwidth=10_000_000, queue_packets=200, aqm=aqm)
    got = run_transfer(3_000_000, link, cc="cubic", config=Config(ecn=True), seed=3)
    assert got.verified
    assert got.retransmissions == 0 and not got.drops
    marks = got.links["client->server"]["marks"]
    assert isinstance(marks, int) and marks > 0
    assert got.counters["conn.ecn.reductions"] > 0


def test_without_ecn_the_same_queue_drops() -> None:
    link = LinkConfig(delay=10_000, bandwidth=10_000_000, queue_packets=200, aqm=CoDel(ecn=True))
    got = run_transfer(3_000_000, link, cc="cubic", seed=3)
    assert got.verified
    assert got.drops.get("codel", 0) > 0 and got.retransmissions > 0
    assert got.links["client->server"]["marks"] == 0

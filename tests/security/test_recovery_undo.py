"""Undo of a congestion response only on evidence (issue 16 finding 12; RFC 3708, RFC 4015).

A recovery episode is spurious only if it retransmitted something and every
retransmission came back as a duplicate (D-SACK). An episode that retransmitted
nothing (its loss had been repaired in the episode before) used to count as
spurious, and CUBIC undid its reduction without any evidence.
"""

from __future__ import annotations

from synack.sim import LinkConfig
from synack.sim.scenario import run_transfer


def test_without_any_dsack_no_recovery_is_called_spurious() -> None:
    # Random loss only (no duplication, no reordering): the receiver never sees a
    # segment twice unless a retransmission was needless, so no D-SACK arrives and
    # no episode may be undone. Seed 4 has two episodes back to back, the second
    # for a segment already retransmitted in the first.
    link = LinkConfig(delay=20_000, bandwidth=20_000_000, queue_packets=100, loss=0.005)
    result = run_transfer(5_000_000, link, cc="cubic", seed=4)
    assert result.verified
    counters = result.counters  # the sender's, non-zero ones only
    assert counters.get("conn.fast_retransmit", 0) >= 10
    assert counters.get("conn.dsack_received", 0) == 0
    assert counters.get("conn.recovery.spurious", 0) == 0

"""DCTCP (RFC 8257): alpha tracks the fraction of marked bytes; the cut is cwnd * (1 - alpha/2)."""

from __future__ import annotations

import pytest

from synack.cc import create
from synack.cc.base import CongestionControl
from synack.cc.dctcp import Dctcp
from synack.cc.newreno import NewReno

MSS = 1000


def dctcp(g: float = 1 / 16) -> Dctcp:
    return Dctcp(mss=MSS, initial_window=10 * MSS, now=0, g=g)


def ack(cc: Dctcp, k: int, *, ece: bool) -> None:
    """The ACK of segment ``k`` (from 1), with ten segments in flight before it."""
    delivered = k * MSS
    cc.on_ecn_feedback(
        now=0, bytes_acked=MSS, ece=ece, delivered=delivered, sent=delivered + 9 * MSS
    )


def test_dctcp_is_registered() -> None:
    cc = create("dctcp", mss=MSS, initial_window=10 * MSS, now=0)
    assert isinstance(cc, Dctcp) and cc.name == "dctcp"
    assert cc.needs_ecn_feedback and cc.echo_every_ce


def test_alpha_moves_by_g_towards_the_marked_fraction_once_per_window() -> None:
    cc = dctcp(g=1 / 16)
    assert cc.alpha == 1.0
    # ACK 1 closes the empty first window (0 of 1000 octets marked); the next
    # window ends when segment 10, outstanding then, is acknowledged.
    ack(cc, 1, ece=False)
    assert cc.alpha == pytest.approx(15 / 16)
    for k in range(2, 11):
        ack(cc, k, ece=k <= 4)  # ACKs 2, 3, 4 echo CE
        assert cc.alpha == pytest.approx(15 / 16)  # no update inside a window
    ack(cc, 11, ece=False)  # past segment 10: 3 of 10 segments were marked
    assert cc.alpha == pytest.approx(15 / 16 * 15 / 16 + 0.3 / 16)
    # No marks for a long time: alpha decays towards 0.
    for k in range(12, 3000):
        ack(cc, k, ece=False)
    assert cc.alpha < 1e-4


def test_the_window_cut_is_proportional_to_alpha() -> None:
    cc = dctcp()
    cc.cwnd = 100 * MSS
    cc.alpha = 0.2
    cc.on_ecn(now=0, in_flight=100 * MSS)
    # RFC 8257 3.3: cwnd * (1 - alpha / 2) = 100 * 0.9 segments.
    assert cc.cwnd == 90 * MSS and cc.ssthresh == 90 * MSS
    cc.alpha = 1.0  # every byte marked: halve, like Reno
    cc.on_ecn(now=0, in_flight=90 * MSS)
    assert cc.cwnd == 45 * MSS
    cc.cwnd, cc.alpha = 3 * MSS, 1.0
    cc.on_ecn(now=0, in_flight=3 * MSS)
    assert cc.cwnd == 2 * MSS  # never below two segments


def test_losses_are_handled_as_by_newreno() -> None:
    a, b = dctcp(), NewReno(mss=MSS, initial_window=10 * MSS, now=0)
    for cc in (a, b):
        cc.cwnd = 40 * MSS
        cc.on_recovery_start(now=0, in_flight=40 * MSS)
    assert (a.cwnd, a.ssthresh) == (b.cwnd, b.ssthresh) == (23 * MSS, 20 * MSS)


def test_classic_algorithms_react_to_ecn_with_their_loss_decrease() -> None:
    # RFC 3168 6.1.2: halve (NewReno); CUBIC its beta of 0.7 (RFC 9438 4.6).
    reno: CongestionControl = create("newreno", mss=MSS, initial_window=10 * MSS, now=0)
    cubic: CongestionControl = create("cubic", mss=MSS, initial_window=10 * MSS, now=0)
    for cc in (reno, cubic):
        cc.cwnd = 100 * MSS
        cc.on_ecn(now=1_000_000, in_flight=100 * MSS)
    assert reno.cwnd == reno.ssthresh == 50 * MSS  # no +3 MSS: nothing to retransmit
    assert cubic.cwnd == cubic.ssthresh == 70 * MSS


def test_bbr_v1_ignores_ecn() -> None:
    bbr = create("bbr", mss=MSS, initial_window=10 * MSS, now=0)
    before = (bbr.cwnd, bbr.ssthresh)
    bbr.on_ecn(now=0, in_flight=10 * MSS)
    assert (bbr.cwnd, bbr.ssthresh) == before

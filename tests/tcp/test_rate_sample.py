"""Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation) on synthetic flights."""

from __future__ import annotations

from synack.tcp.rate import RateEstimator
from synack.tcp.sack import TxSeg

MSS = 1000


def test_steady_ack_clock_measures_the_bottleneck_rate() -> None:
    # Every ms one segment leaves and the one sent 50 ms earlier is delivered.
    est = RateEstimator()
    segs: list[TxSeg] = []
    pipe = 0
    rates = []
    for t in range(300):
        now = t * 1000
        if t >= 50:
            est.start_ack(pipe)
            est.on_delivered(segs[t - 50], now)
            pipe -= MSS
            rs = est.finish_ack(pipe, 50_000)
            assert rs.newly_acked == MSS
            assert rs.total_delivered == (t - 49) * MSS
            rates.append(rs.delivery_rate)
        seg = TxSeg(t * MSS, (t + 1) * MSS, now, False)
        est.on_sent(seg, now, pipe)
        pipe += MSS
        segs.append(seg)
    # after the first flight, every sample is exactly 1 MB/s
    assert set(rates[60:]) == {1_000_000}
    assert all(r <= 1_000_000 for r in rates)


def test_first_packet_after_idle_starts_a_new_interval() -> None:
    est = RateEstimator()
    a = TxSeg(0, MSS, 0, False)
    est.on_sent(a, 0, 0)
    est.start_ack(MSS)
    est.on_delivered(a, 10_000)
    est.finish_ack(0, None)
    b = TxSeg(MSS, 2 * MSS, 5_000_000, False)
    est.on_sent(b, 5_000_000, 0)
    assert b.first_sent == 5_000_000
    assert b.delivered_time == 5_000_000
    est.start_ack(MSS)
    est.on_delivered(b, 5_010_000)
    rs = est.finish_ack(0, None)
    assert rs.interval == 10_000
    assert rs.delivery_rate == MSS * 100


def test_app_limited_marks_packets_until_the_bubble_is_delivered() -> None:
    est = RateEstimator()
    a = TxSeg(0, MSS, 0, False)
    est.on_sent(a, 0, 0)
    est.mark_app_limited(MSS)
    b = TxSeg(MSS, 2 * MSS, 1, False)
    est.on_sent(b, 1, MSS)
    assert not a.app_limited
    assert b.app_limited
    est.start_ack(2 * MSS)
    est.on_delivered(a, 10_000)
    est.on_delivered(b, 10_000)
    rs = est.finish_ack(0, None)
    assert rs.is_app_limited
    assert est.app_limited == 0  # cleared: delivered passed the mark


def test_segment_delivered_twice_counts_once() -> None:
    est = RateEstimator()
    a = TxSeg(0, MSS, 0, False)
    est.on_sent(a, 0, 0)
    est.start_ack(MSS)
    est.on_delivered(a, 1000)  # SACKed
    est.finish_ack(0, None)
    est.start_ack(0)
    est.on_delivered(a, 2000)  # then cumulatively acknowledged
    rs = est.finish_ack(0, None)
    assert est.delivered == MSS
    assert rs.interval == 0  # no new sample

"""HyStart++ (RFC 9406 4.2): round detection, the delay-increase exit into CSS,
CSS growth, the spurious-exit rule, and the end of CSS after CSS_ROUNDS rounds."""

from __future__ import annotations

from synack.cc.hystart import HyStartPhase, HyStartPlusPlus, RoundCounter

MSS = 1000
# RFC 9406 4.3, the constants as the RFC states them ("MIN_RTT_THRESH = 4 msec,
# MAX_RTT_THRESH = 16 msec, ... N_RTT_SAMPLE = 8, CSS_GROWTH_DIVISOR = 4,
# CSS_ROUNDS = 5"), in microseconds where they are times.
MIN_RTT_THRESH = 4_000
MAX_RTT_THRESH = 16_000
N_RTT_SAMPLE = 8
CSS_ROUNDS = 5


def phase(hs: HyStartPlusPlus) -> HyStartPhase:
    """Read the phase through a call, so that each assertion sees the live value."""
    return hs.phase


def feed_round(hs: HyStartPlusPlus, n: int, rtt: int | None) -> int:
    """One round trip of ``n`` ACKs of one MSS each; returns the summed increase.

    The first ACK of the round sees ``n`` segments still in flight, so exactly
    these ``n`` ACKs make up the round.
    """
    total = 0
    for i in range(n):
        total += hs.on_ack(bytes_acked=MSS, rtt=rtt, in_flight=n * MSS if i == 0 else 0)
    return total


def test_round_counter_ends_a_round_when_its_flight_is_acknowledged() -> None:
    rc = RoundCounter()
    assert rc.on_ack(MSS, 4 * MSS)  # the first ACK starts round 1, 4 MSS still out
    assert not rc.on_ack(MSS, 3 * MSS)
    assert not rc.on_ack(MSS, 2 * MSS)
    assert not rc.on_ack(MSS, 1 * MSS)
    assert rc.on_ack(MSS, 8 * MSS)  # all of round 1's flight is now acknowledged
    assert rc.count == 2


def test_slow_start_increase_is_capped_at_l_segments_per_ack() -> None:
    hs = HyStartPlusPlus(MSS)
    # RFC 9406 4.2: cwnd += min(N, L * SMSS), L = 8 when not paced.
    assert hs.on_ack(bytes_acked=20 * MSS, rtt=None, in_flight=0) == 8 * MSS
    assert hs.on_ack(bytes_acked=2 * MSS, rtt=None, in_flight=0) == 2 * MSS
    paced = HyStartPlusPlus(MSS, paced=True)
    assert paced.on_ack(bytes_acked=20 * MSS, rtt=None, in_flight=0) == 20 * MSS


def test_rtt_increase_beyond_threshold_enters_css() -> None:
    hs = HyStartPlusPlus(MSS)
    feed_round(hs, 10, 100_000)
    assert phase(hs) is HyStartPhase.SLOW_START
    # RttThresh = max(4 ms, min(100 ms / 8, 16 ms)) = 12.5 ms.
    feed_round(hs, 10, 112_499)
    assert phase(hs) is HyStartPhase.SLOW_START
    # Now against 112.499 ms: RttThresh = 14.062 ms.
    feed_round(hs, 10, 112_499 + 14_062)
    assert phase(hs) is HyStartPhase.CSS
    assert hs.css_baseline_min_rtt == 126_561


def test_threshold_is_clamped_between_4_and_16_ms() -> None:
    for base, thresh in ((10_000, MIN_RTT_THRESH), (400_000, MAX_RTT_THRESH)):
        hs = HyStartPlusPlus(MSS)
        feed_round(hs, 10, base)
        feed_round(hs, 10, base + thresh - 1)
        assert phase(hs) is HyStartPhase.SLOW_START
        feed_round(hs, 10, base + thresh - 1)  # compared with the previous round
        feed_round(hs, 10, base + 2 * thresh)
        assert phase(hs) is HyStartPhase.CSS


def test_the_check_waits_for_n_rtt_samples() -> None:
    hs = HyStartPlusPlus(MSS)
    feed_round(hs, 20, 100_000)
    for i in range(N_RTT_SAMPLE - 1):
        hs.on_ack(bytes_acked=MSS, rtt=200_000, in_flight=20 * MSS if i == 0 else 0)
    assert phase(hs) is HyStartPhase.SLOW_START
    hs.on_ack(bytes_acked=MSS, rtt=200_000, in_flight=0)
    assert phase(hs) is HyStartPhase.CSS


def test_css_grows_at_a_quarter_of_slow_start() -> None:
    hs = HyStartPlusPlus(MSS)
    feed_round(hs, 10, 100_000)
    feed_round(hs, 10, 130_000)
    assert phase(hs) is HyStartPhase.CSS
    # RFC 9406 4.2: cwnd += min(N, L*SMSS) / CSS_GROWTH_DIVISOR.
    assert feed_round(hs, 10, 130_000) == 10 * MSS // 4


def test_css_ends_after_css_rounds_and_signals_exit() -> None:
    hs = HyStartPlusPlus(MSS)
    feed_round(hs, 10, 100_000)
    feed_round(hs, 10, 130_000)  # enters CSS mid-round: that round counts
    assert phase(hs) is HyStartPhase.CSS
    for _ in range(CSS_ROUNDS - 1):
        feed_round(hs, 10, 130_000)
        assert phase(hs) is HyStartPhase.CSS
    assert not hs.exited
    assert hs.on_ack(bytes_acked=MSS, rtt=130_000, in_flight=10 * MSS) == 0
    assert hs.exited
    assert not hs.active


def test_rtt_drop_in_css_resumes_slow_start() -> None:
    hs = HyStartPlusPlus(MSS)
    feed_round(hs, 10, 100_000)
    feed_round(hs, 10, 130_000)
    assert phase(hs) is HyStartPhase.CSS
    # "If the current round's minRTT < cssBaselineMinRtt ... resume slow start".
    feed_round(hs, 10, 120_000)
    assert phase(hs) is HyStartPhase.SLOW_START
    assert feed_round(hs, 10, 120_000) == 10 * MSS


def test_congestion_ends_hystart() -> None:
    hs = HyStartPlusPlus(MSS)
    hs.on_congestion()
    assert not hs.active
    assert not hs.exited
    assert hs.on_ack(bytes_acked=MSS, rtt=1, in_flight=0) == 0

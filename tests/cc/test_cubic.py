"""CUBIC (RFC 9438): the window formulas, the multiplicative decrease, fast convergence,
the Reno-friendly region, the timeout rule, application-limited epochs and undo."""

from __future__ import annotations

import itertools
import math

import pytest

from synack.cc import Cubic, create
from synack.cc.cubic import ALPHA_CUBIC, BETA_CUBIC, C, cubic_k, response_function, w_cubic

MSS = 1000
US = 1_000_000


def cubic_in_ca(cwnd_segments: int, **kw: object) -> Cubic:
    """A CUBIC sender past slow start, as after its first loss had been recovered."""
    cc = Cubic(mss=MSS, initial_window=10 * MSS, now=0, **kw)  # type: ignore[arg-type]
    cc.cwnd = cwnd_segments * MSS
    cc.ssthresh = cwnd_segments * MSS
    return cc


def lose_and_recover(cc: Cubic, now: int) -> None:
    """A fast-retransmit episode with the whole window in flight."""
    flight = cc.cwnd
    cc.on_recovery_start(now=now, in_flight=flight)
    cc.on_recovery_end(now=now, in_flight=cc.ssthresh)


def drive(cc: Cubic, *, start: int, rtt: int, rounds: int) -> list[tuple[int, int]]:
    """Feed ``rounds`` round trips of a cwnd-limited flow, one ACK per MSS.

    Returns ``(time, cwnd)`` at the start of each round.
    """
    trace = []
    now = start
    for _ in range(rounds):
        trace.append((now, cc.cwnd))
        n = max(1, cc.cwnd // MSS)
        step = rtt // n
        for i in range(n):
            cc.on_ack(
                now=now + i * step,
                bytes_acked=MSS,
                rtt=rtt,
                in_flight=cc.cwnd - MSS,
                in_recovery=False,
            )
        now += rtt
    return trace


def test_constants_are_those_of_rfc_9438() -> None:
    # RFC 9438 4.6: "beta_cubic SHOULD be set to 0.7"; 5: "C SHOULD be set to 0.4";
    # 4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic) = 0.9 / 1.7.
    assert BETA_CUBIC == 0.7
    assert C == 0.4
    assert pytest.approx(0.9 / 1.7) == ALPHA_CUBIC
    cc = Cubic(mss=MSS, initial_window=10 * MSS, now=0)
    assert (cc.c, cc.beta) == (0.4, 0.7)


def test_k_is_the_cube_root_of_the_window_deficit_over_c() -> None:
    # RFC 9438 Figure 2: K = cbrt((W_max - cwnd_epoch) / C).
    assert cubic_k(100, 70) == pytest.approx((30 / 0.4) ** (1 / 3))
    assert cubic_k(100, 70) == pytest.approx(4.2172, abs=1e-4)
    assert cubic_k(100, 100) == 0.0
    assert cubic_k(80, 100) == 0.0


def test_w_cubic_starts_at_cwnd_epoch_reaches_w_max_at_k_and_is_symmetric() -> None:
    k = cubic_k(100, 70)
    assert w_cubic(0, 100, k) == pytest.approx(70)
    assert w_cubic(k, 100, k) == pytest.approx(100)
    # Figure 1: W(2K) = C*K^3 + W_max = 100 + 30.
    assert w_cubic(2 * k, 100, k) == pytest.approx(130)
    assert w_cubic(k + 1, 100, k) - 100 == pytest.approx(100 - w_cubic(k - 1, 100, k))


def test_response_function_matches_rfc_figure_8_and_table_1() -> None:
    # Figure 8: 1.054 * RTT^0.75 / p^0.75 with C = 0.4, beta = 0.7.
    assert response_function(1.0, 1.0) == pytest.approx(1.054, abs=5e-4)
    # Table 1, RTT 0.1 s: 1.0e-05 -> 1054, 1.0e-06 -> 5926, 1.0e-07 -> 33325.
    assert response_function(0.1, 1e-5) == pytest.approx(1054, rel=2e-3)
    assert response_function(0.1, 1e-6) == pytest.approx(5926, rel=2e-3)
    assert response_function(0.1, 1e-7) == pytest.approx(33325, rel=2e-3)


def test_alpha_cubic_gives_reno_equal_average_window() -> None:
    # RFC 9438 4.3: alpha = 3 (1 - beta) / (1 + beta), and AIMD(alpha, beta) has
    # Reno's average window: alpha (1 + beta) / (2 (1 - beta)) == 1*1.5 / (2*0.5).
    assert pytest.approx(0.9 / 1.7) == ALPHA_CUBIC
    avg_aimd = ALPHA_CUBIC * (1 + 0.7) / (2 * (1 - 0.7))
    assert avg_aimd == pytest.approx(1.5)


def test_loss_sets_ssthresh_to_beta_flight_and_remembers_w_max() -> None:
    cc = cubic_in_ca(100)
    cc.on_recovery_start(now=0, in_flight=100 * MSS)
    # RFC 9438 Figure 5: ssthresh = flight_size * 0.7; cwnd_prior = cwnd.
    assert cc.ssthresh == 70 * MSS
    assert cc.w_max == 100 * MSS
    assert cc.cwnd_prior == 100 * MSS
    # RFC 5681 3.2 (3) fast-recovery inflation on top of CUBIC's ssthresh.
    assert cc.cwnd == 73 * MSS
    cc.on_recovery_end(now=1, in_flight=70 * MSS)
    assert cc.cwnd == 70 * MSS


def test_ssthresh_never_below_two_segments() -> None:
    cc = cubic_in_ca(2)
    cc.on_recovery_start(now=0, in_flight=2 * MSS)
    assert cc.ssthresh == 2 * MSS


def test_fast_convergence_lowers_w_max_when_the_window_shrank() -> None:
    cc = cubic_in_ca(100)
    lose_and_recover(cc, 0)
    assert cc.w_max == 100 * MSS
    cc.cwnd = 90 * MSS  # the next loss comes below the previous W_max
    lose_and_recover(cc, 1)
    # RFC 9438 4.7: W_max = cwnd * (1 + beta) / 2.
    assert cc.w_max == pytest.approx(90 * MSS * 1.7 / 2)
    assert cc.ssthresh == 63 * MSS


def test_without_fast_convergence_w_max_is_the_window_before_reduction() -> None:
    cc = cubic_in_ca(100, fast_convergence=False)
    lose_and_recover(cc, 0)
    cc.cwnd = 90 * MSS
    lose_and_recover(cc, 1)
    assert cc.w_max == 90 * MSS


def test_cwnd_tracks_w_cubic_in_the_concave_region() -> None:
    rtt = 100_000  # 100 ms: the cubic function, not Reno, sets the pace
    cc = cubic_in_ca(100, fast_convergence=False)
    lose_and_recover(cc, 0)
    assert cc.cwnd == 70 * MSS
    k = cubic_k(100, 70)
    trace = drive(cc, start=0, rtt=rtt, rounds=60)
    assert cc.k == pytest.approx(k)
    t_epoch = trace[0][0]
    for now, cwnd in trace[5:]:
        t = (now - t_epoch) / US
        # cwnd aims one RTT ahead: it stays between W(t) and W(t + RTT), give or take
        # one segment of ACK-clock granularity.
        lo = w_cubic(t, 100, k) - 1
        hi = w_cubic(t + rtt / US, 100, k) + 1
        assert lo <= cwnd / MSS <= hi, (t, cwnd / MSS, lo, hi)
    # The plateau: around t = K the window sits at W_max.
    near_k = [c for now, c in trace if abs(now / US - k) < 0.15]
    assert near_k
    assert all(abs(c / MSS - 100) <= 1.5 for c in near_k)


def test_growth_per_rtt_is_capped_at_half_the_window() -> None:
    # RFC 9438 4.2: "if W_cubic(t + RTT) > 1.5 * cwnd: target = 1.5 * cwnd", so
    # cwnd grows at most 50% per RTT, however far W_cubic is ahead. Here the epoch
    # began 10 s ago with K = 0: W_cubic(10.1 s) = 0.4 * 10.1**3 + 10, about 422
    # segments, and without the cap one RTT of ACKs would take cwnd there.
    cc = cubic_in_ca(10)
    cc.w_max = 10 * MSS
    cc.cwnd_prior = 10 * MSS
    cc.w_est = 10 * MSS
    cc.t_epoch, cc.k = 0, 0.0
    (_, before), (_, after) = drive(cc, start=10 * US, rtt=100_000, rounds=2)
    assert before == 10 * MSS
    assert after == 15 * MSS  # exactly 1.5 * cwnd
    # And along a whole epoch it never grows faster.
    cc = cubic_in_ca(10)
    cc.w_max = 10 * MSS
    cc.cwnd_prior = 10 * MSS
    trace = drive(cc, start=0, rtt=100_000, rounds=200)
    for (_, a), (_, b) in itertools.pairwise(trace):
        assert b <= 1.5 * a + MSS


def test_reno_friendly_region_follows_w_est_at_short_rtt() -> None:
    rtt = 1_000  # 1 ms: Reno's AIMD grows faster than the cubic function
    cc = cubic_in_ca(100, fast_convergence=False)
    lose_and_recover(cc, 0)
    trace = drive(cc, start=0, rtt=rtt, rounds=21)
    # RFC 9438 4.3: W_est = cwnd_epoch + alpha_cubic per RTT (ACKs of one MSS).
    _, cwnd = trace[20]
    assert cwnd / MSS == pytest.approx(70 + 20 * ALPHA_CUBIC, abs=1.0)
    assert cc.alpha == ALPHA_CUBIC


def test_alpha_becomes_one_once_w_est_reaches_cwnd_prior() -> None:
    cc = cubic_in_ca(100, fast_convergence=False)
    lose_and_recover(cc, 0)
    rounds_to_prior = math.ceil(30 / ALPHA_CUBIC) + 2
    drive(cc, start=0, rtt=1_000, rounds=rounds_to_prior)
    assert cc.w_est >= cc.cwnd_prior
    assert cc.alpha == 1.0
    before = cc.cwnd
    drive(cc, start=rounds_to_prior * 1_000, rtt=1_000, rounds=10)
    assert (cc.cwnd - before) / MSS == pytest.approx(10, abs=1.0)  # Reno: 1 MSS per RTT


def test_timeout_resets_to_one_segment_and_next_epoch_has_k_zero() -> None:
    cc = cubic_in_ca(100)
    cc.w_max = 120 * MSS
    cc.on_rto(now=0, in_flight=100 * MSS)
    # RFC 9438 4.8: Reno's loss window, CUBIC's ssthresh.
    assert cc.cwnd == MSS
    assert cc.ssthresh == 70 * MSS
    # Standard slow start (RFC 5681, min(N, SMSS) per ACK) up to ssthresh.
    now = 0
    while cc.cwnd < cc.ssthresh:
        now += 1000
        cc.on_ack(now=now, bytes_acked=2 * MSS, rtt=10_000, in_flight=cc.cwnd, in_recovery=False)
    assert cc.cwnd == 70 * MSS
    now += 1000
    cc.on_ack(now=now, bytes_acked=MSS, rtt=10_000, in_flight=cc.cwnd, in_recovery=False)
    # "K is set to 0, and W_max is set to the congestion window size at the beginning
    # of the current congestion avoidance stage"; W_est starts there too.
    assert cc.k == 0.0
    assert cc.w_max == 70 * MSS
    assert cc.t_epoch == now
    assert cc.w_est == pytest.approx(70 * MSS + ALPHA_CUBIC * MSS * MSS / (70 * MSS), rel=1e-9)


def test_no_growth_when_not_cwnd_limited() -> None:
    cc = cubic_in_ca(100)
    lose_and_recover(cc, 0)
    before = cc.cwnd
    for i in range(500):
        # only 10 segments in flight: the application, not cwnd, limits the flow
        cc.on_ack(
            now=i * 10_000, bytes_acked=MSS, rtt=100_000, in_flight=9 * MSS, in_recovery=False
        )
    assert cc.cwnd == before


def test_idle_time_is_excluded_from_the_epoch() -> None:
    cc = cubic_in_ca(100)
    lose_and_recover(cc, 0)
    drive(cc, start=0, rtt=100_000, rounds=3)
    assert cc.t_epoch == 0
    last_ack = 300_000 - 100_000 // 70  # roughly the last ACK time of the third round
    # 5 s idle, then a send into the empty network.
    cc.on_packet_sent(now=5_300_000, bytes_sent=MSS, in_flight=MSS)
    assert cc.t_epoch == pytest.approx(5_300_000 - last_ack, abs=2_000)


def test_spurious_loss_is_undone() -> None:
    cc = cubic_in_ca(100)
    saved = (cc.cwnd, cc.ssthresh, cc.w_max)
    cc.on_recovery_start(now=0, in_flight=100 * MSS)
    cc.on_recovery_end(now=1, in_flight=70 * MSS)
    cc.on_spurious_recovery(now=2)
    # RFC 9438 4.9.2: restore cwnd, ssthresh, W_max (and the rest) when cwnd < cwnd_prior.
    assert (cc.cwnd, cc.ssthresh, cc.w_max) == saved


def test_hystart_exit_starts_an_epoch_with_k_zero() -> None:
    cc = Cubic(mss=MSS, initial_window=10 * MSS, now=0)
    assert cc.hystart is not None
    now = 0
    rtt = 50_000
    # Slow start rounds with a rising RTT: HyStart++ enters CSS, then leaves after 5 rounds.
    for r in range(30):
        n = cc.cwnd // MSS
        for i in range(n):
            now += rtt // n
            cc.on_ack(
                now=now,
                bytes_acked=MSS,
                rtt=rtt + (r * 8_000 if r >= 3 else 0),
                in_flight=n * MSS if i == 0 else (n - i) * MSS,
                in_recovery=False,
            )
        if cc.ssthresh == cc.cwnd:
            break
    assert not cc.hystart.active
    assert cc.hystart.exited
    assert cc.ssthresh == cc.cwnd
    cc.on_ack(now=now + 1, bytes_acked=MSS, rtt=rtt, in_flight=cc.cwnd, in_recovery=False)
    # RFC 9438 4.10: cwnd_prior = cwnd, K = 0, W_max = cwnd at the epoch start.
    assert cc.k == 0.0
    assert cc.w_max == cc.cwnd_epoch
    assert cc.cwnd_prior == cc.cwnd_epoch


def test_loss_in_slow_start_ends_hystart_for_good() -> None:
    cc = Cubic(mss=MSS, initial_window=10 * MSS, now=0)
    assert cc.hystart is not None
    cc.on_recovery_start(now=0, in_flight=10 * MSS)
    assert not cc.hystart.active
    assert cc.ssthresh == 7 * MSS


def test_registry_creates_cubic() -> None:
    cc = create("CUBIC", mss=MSS, initial_window=10 * MSS, now=0)
    assert isinstance(cc, Cubic)
    assert (cc.c, cc.beta) == (0.4, 0.7)  # RFC 9438 5 and 4.6

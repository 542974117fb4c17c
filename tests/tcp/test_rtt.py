"""RFC 6298: SRTT, RTTVAR and RTO computation, clamps, backoff, Karn's algorithm and 5.7."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synack.tcp.connection import Connection
from synack.tcp.rtt import RttEstimator
from synack.tcp.state import State
from synack.wire.tcp import ACK, PSH, SYN, MaxSegmentSize
from tests.tcp.helpers import (
    LOCAL_ISS,
    MSS,
    REMOTE_ISS,
    events,
    feed,
    out,
    syn_received,
    syn_sent,
    us,
)

SECOND = 1_000_000
MIN_RTO = 1_000_000
MAX_RTO = 60_000_000


def estimator(min_rto: int = MIN_RTO, max_rto: int = MAX_RTO) -> RttEstimator:
    return RttEstimator(SECOND, min_rto, max_rto)


# --------------------------------------------------------------- the estimator


def test_initial_rto_is_one_second_and_no_srtt() -> None:
    # RFC 6298 (2.1): "Until a round-trip time (RTT) measurement has been made ...
    # the sender SHOULD set RTO <- 1 second".
    rtt = estimator()
    assert rtt.srtt is None
    assert rtt.rttvar is None
    assert rtt.rto == 1_000_000
    assert rtt.backoff == 0


def test_connection_starts_with_one_second_rto() -> None:
    conn = syn_sent()
    assert conn.srtt is None
    assert conn.rto == 1_000_000


def test_first_sample_sets_srtt_r_rttvar_half_r_rto_srtt_plus_4_rttvar() -> None:
    # RFC 6298 (2.2): SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR).
    rtt = estimator()
    rtt.sample(2_000_000)
    assert rtt.srtt == 2_000_000
    assert rtt.rttvar == 1_000_000
    assert rtt.rto == 2_000_000 + 4 * 1_000_000


def test_first_odd_sample_halves_by_integer_division() -> None:
    rtt = estimator(min_rto=1)
    rtt.sample(300_001)
    assert rtt.srtt == 300_001
    assert rtt.rttvar == 150_000
    assert rtt.rto == 300_001 + 600_000


def test_second_sample_uses_old_srtt_for_rttvar_then_updates_srtt() -> None:
    # RFC 6298 (2.3): RTTVAR <- (1 - 1/4) * RTTVAR + 1/4 * |SRTT - R'| with the *old*
    # SRTT, then SRTT <- (1 - 1/8) * SRTT + 1/8 * R'.
    rtt = estimator()
    rtt.sample(2_000_000)
    rtt.sample(1_000_000)
    # RTTVAR = 3/4 * 1_000_000 + 1/4 * |2_000_000 - 1_000_000| = 1_000_000
    # (with the new SRTT it would be 968_750).
    assert rtt.rttvar == 1_000_000
    # SRTT = 7/8 * 2_000_000 + 1/8 * 1_000_000 = 1_875_000
    assert rtt.srtt == 1_875_000
    assert rtt.rto == 1_875_000 + 4 * 1_000_000


def test_sample_sequence_exact_integer_values() -> None:
    rtt = estimator(min_rto=1)
    rtt.sample(100_000)  # SRTT 100_000, RTTVAR 50_000
    assert (rtt.srtt, rtt.rttvar, rtt.rto) == (100_000, 50_000, 300_000)
    rtt.sample(180_000)
    # RTTVAR = (3*50_000 + 80_000) / 4 = 57_500; SRTT = (7*100_000 + 180_000) / 8 = 110_000
    assert (rtt.srtt, rtt.rttvar, rtt.rto) == (110_000, 57_500, 110_000 + 230_000)
    rtt.sample(30_000)
    # RTTVAR = (3*57_500 + 80_000) / 4 = 63_125; SRTT = (7*110_000 + 30_000) / 8 = 100_000
    assert (rtt.srtt, rtt.rttvar, rtt.rto) == (100_000, 63_125, 100_000 + 252_500)
    rtt.sample(100_003)
    # RTTVAR = (3*63_125 + 3) / 4 = 47_344.5 -> 47_344; SRTT = (700_000 + 100_003) / 8 -> 100_000
    assert (rtt.srtt, rtt.rttvar, rtt.rto) == (100_000, 47_344, 100_000 + 189_376)


def test_rto_adds_at_least_clock_granularity_when_rttvar_is_zero() -> None:
    # RFC 6298 (2.3): RTO <- SRTT + max (G, K*RTTVAR); our G is 1 microsecond.
    rtt = estimator(min_rto=1)
    for _ in range(60):
        rtt.sample(5_000)
    assert rtt.srtt == 5_000
    assert rtt.rttvar == 0
    assert rtt.rto == 5_001


@given(st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=40))
def test_integer_estimator_tracks_exact_rational_formulas(samples: list[int]) -> None:
    # The integer results stay within the rounding of each step of the exact formulas.
    rtt = estimator(min_rto=1, max_rto=1 << 40)
    srtt = Fraction(samples[0])
    rttvar = Fraction(samples[0], 2)
    rtt.sample(samples[0])
    for r in samples[1:]:
        rttvar = Fraction(3, 4) * rttvar + Fraction(1, 4) * abs(srtt - r)
        srtt = Fraction(7, 8) * srtt + Fraction(1, 8) * r
        rtt.sample(r)
    assert rtt.srtt is not None
    assert rtt.rttvar is not None
    assert abs(rtt.srtt - srtt) <= 8
    assert abs(rtt.rttvar - rttvar) <= 8
    assert rtt.rto == rtt.srtt + max(1, 4 * rtt.rttvar)


def test_small_rtt_is_clamped_up_to_min_rto_of_one_second() -> None:
    # RFC 6298 (2.4): "Whenever RTO is computed, if it is less than 1 second, then the
    # RTO SHOULD be rounded up to 1 second."
    rtt = estimator()
    rtt.sample(10_000)
    assert rtt.srtt == 10_000
    assert rtt.rttvar == 5_000
    assert rtt.rto == 1_000_000


def test_configured_min_rto_is_the_floor() -> None:
    rtt = RttEstimator(SECOND, 200_000, MAX_RTO)
    rtt.sample(10_000)
    assert rtt.rto == 200_000
    rtt2 = RttEstimator(SECOND, 200_000, MAX_RTO)
    rtt2.sample(100_000)
    assert rtt2.rto == 300_000


def test_large_rtt_is_clamped_down_to_max_rto_of_sixty_seconds() -> None:
    # RFC 6298 (2.5): "A maximum value MAY be placed on RTO provided it is at least
    # 60 seconds."
    rtt = estimator()
    rtt.sample(30_000_000)  # 30 s + 4 * 15 s = 90 s
    assert rtt.srtt == 30_000_000
    assert rtt.rto == 60_000_000


def test_back_off_doubles_rto_and_caps_at_max() -> None:
    # RFC 6298 (5.5): RTO <- RTO * 2, with the (2.5) maximum.
    rtt = estimator()
    seen = []
    for _ in range(8):
        rtt.back_off()
        seen.append(rtt.rto)
    assert seen == [
        2_000_000,
        4_000_000,
        8_000_000,
        16_000_000,
        32_000_000,
        60_000_000,
        60_000_000,
        60_000_000,
    ]
    assert rtt.backoff == 8


def test_back_off_leaves_srtt_and_rttvar_alone() -> None:
    rtt = estimator()
    rtt.sample(2_000_000)
    rtt.back_off()
    assert rtt.rto == 12_000_000
    assert rtt.srtt == 2_000_000
    assert rtt.rttvar == 1_000_000


def test_new_sample_after_back_off_recomputes_rto_and_clears_backoff() -> None:
    # RFC 6298 5 (note after 5.7): a new measurement may "collapse" the backed-off RTO.
    rtt = estimator()
    rtt.back_off()
    rtt.back_off()
    assert rtt.rto == 4_000_000
    rtt.sample(400_000)
    assert rtt.rto == 400_000 + 800_000
    assert rtt.backoff == 0


# --------------------------------------------------------- at the connection


def established_after(rtt: int, **config: Any) -> Connection:
    """Active open whose SYN-ACK arrives ``rtt`` microseconds after the SYN left at 0."""
    conn = syn_sent(**config)
    feed(
        conn,
        now=rtt,
        seq=REMOTE_ISS,
        ack=LOCAL_ISS + 1,
        flags=SYN | ACK,
        options=(MaxSegmentSize(MSS),),
    )
    assert out(conn, rtt) == [us()]
    events(conn)
    assert conn.state is State.ESTABLISHED
    return conn


def test_handshake_rtt_is_the_first_sample() -> None:
    conn = established_after(100_000)
    assert conn.srtt == 100_000
    assert conn.rtt.rttvar == 50_000
    assert conn.rto == 300_000  # SRTT + 4 * RTTVAR, above the 200 ms floor


def test_the_default_rto_floor_is_linuxs_200_ms_not_rfc_6298s_second() -> None:
    # A deliberate deviation from RFC 6298 (2.4)'s "SHOULD be rounded up to 1
    # second" (docs/conformance.md 6298-4): Linux's TCP_RTO_MIN, (HZ / 5).
    conn = established_after(1_000)
    assert conn.rto == 200_000
    assert established_after(1_000, min_rto=1_000_000).rto == 1_000_000


def test_ack_of_fresh_data_gives_a_sample() -> None:
    conn = established_after(100_000)
    conn.send(b"a" * MSS)
    assert out(conn, 200_000) == [us(flags=ACK | PSH, payload=b"a" * MSS)]
    feed(conn, now=380_000, ack=LOCAL_ISS + 1 + MSS)
    # R' = 180_000: RTTVAR = (3*50_000 + 80_000)/4, SRTT = (7*100_000 + 180_000)/8
    assert conn.rtt.rttvar == 57_500
    assert conn.srtt == 110_000


def test_rto_fires_exactly_at_deadline_and_retransmits() -> None:
    conn = established_after(100_000, min_rto=1_000_000)
    conn.send(b"a" * MSS)
    first = out(conn, 200_000)
    assert conn.next_deadline() == 200_000 + 1_000_000
    conn.handle_timer(1_199_999)
    assert out(conn, 1_199_999) == []
    conn.handle_timer(1_200_000)
    assert out(conn, 1_200_000) == first
    # RFC 6298 (5.5)-(5.6): the timer restarts with the doubled RTO.
    assert conn.rto == 2_000_000
    assert conn.next_deadline() == 1_200_000 + 2_000_000


def test_karn_ack_of_retransmitted_segment_gives_no_sample() -> None:
    # RFC 6298 3: "RTT samples MUST NOT be made using segments that were
    # retransmitted (and thus for which it is ambiguous whether the reply was for
    # the first instance of the packet or a later instance)".
    conn = established_after(100_000)
    srtt, rttvar = conn.srtt, conn.rtt.rttvar
    conn.send(b"a" * MSS)
    out(conn, 200_000)
    conn.handle_timer(1_200_000)
    assert len(out(conn, 1_200_000)) == 1
    feed(conn, now=1_250_000, ack=LOCAL_ISS + 1 + MSS)
    assert conn.snd_una == LOCAL_ISS + 1 + MSS
    # Neither 1.05 s (from the original) nor 50 ms (from the retransmission) is used:
    # the estimator state is exactly what the handshake left.
    assert conn.srtt == srtt == 100_000
    assert conn.rtt.rttvar == rttvar == 50_000


def test_karn_no_sample_when_first_rtt_would_come_from_a_retransmission() -> None:
    # A lost SYN: the SYN-ACK acknowledges a retransmitted SYN, so SRTT stays unset.
    conn = syn_sent()
    conn.handle_timer(1_000_000)
    assert len(out(conn, 1_000_000)) == 1
    feed(
        conn,
        now=1_100_000,
        seq=REMOTE_ISS,
        ack=LOCAL_ISS + 1,
        flags=SYN | ACK,
        options=(MaxSegmentSize(MSS),),
    )
    assert conn.state is State.ESTABLISHED
    assert conn.srtt is None
    assert conn.rtt.rttvar is None


def test_karn_fresh_segment_after_retransmission_is_timed_again() -> None:
    conn = established_after(100_000)
    conn.send(b"a" * MSS)
    out(conn, 200_000)
    conn.handle_timer(1_200_000)
    out(conn, 1_200_000)
    feed(conn, now=1_250_000, ack=LOCAL_ISS + 1 + MSS)
    out(conn, 1_250_000)
    conn.send(b"b" * MSS)
    assert len(out(conn, 2_000_000)) == 1
    feed(conn, now=2_180_000, ack=LOCAL_ISS + 1 + 2 * MSS)
    # R' = 180_000 is taken: SRTT = (7*100_000 + 180_000)/8.
    assert conn.srtt == 110_000


def test_rto_is_three_seconds_after_a_lost_syn() -> None:
    # RFC 6298 (5.7): "If the timer expires awaiting the ACK of a SYN segment and the
    # TCP implementation is using an RTO less than 3 seconds, the RTO MUST be
    # re-initialized to 3 seconds when data transmission begins".
    conn = syn_sent()
    conn.handle_timer(1_000_000)
    assert out(conn, 1_000_000) == [
        us(seq=LOCAL_ISS, ack=0, flags=SYN, window=64_000, options=(MaxSegmentSize(MSS),))
    ]
    feed(
        conn,
        now=1_100_000,
        seq=REMOTE_ISS,
        ack=LOCAL_ISS + 1,
        flags=SYN | ACK,
        options=(MaxSegmentSize(MSS),),
    )
    out(conn, 1_100_000)
    assert conn.rto == 3_000_000
    conn.send(b"a" * MSS)
    assert len(out(conn, 1_200_000)) == 1
    assert conn.next_deadline() == 1_200_000 + 3_000_000


def test_rto_is_three_seconds_after_two_lost_syns() -> None:
    # RFC 6298 (5.7) re-initialises RTO to 3 s, rather than keeping the 4 s backoff.
    conn = syn_sent()
    conn.handle_timer(1_000_000)
    out(conn, 1_000_000)
    conn.handle_timer(3_000_000)
    out(conn, 3_000_000)
    feed(
        conn,
        now=3_100_000,
        seq=REMOTE_ISS,
        ack=LOCAL_ISS + 1,
        flags=SYN | ACK,
        options=(MaxSegmentSize(MSS),),
    )
    out(conn, 3_100_000)
    assert conn.state is State.ESTABLISHED
    assert conn.rto == 3_000_000


def test_rto_is_three_seconds_after_a_lost_syn_ack_on_passive_side() -> None:
    conn = syn_received()
    conn.handle_timer(1_000_000)
    assert len(out(conn, 1_000_000)) == 1  # the SYN-ACK again
    feed(conn, now=1_050_000, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 1)
    assert conn.state is State.ESTABLISHED
    assert conn.srtt is None
    assert conn.rto == 3_000_000


def test_no_syn_loss_keeps_the_measured_rto() -> None:
    conn = established_after(2_000_000)
    assert conn.rto == 2_000_000 + 4 * 1_000_000


@pytest.mark.parametrize("rtt", [1, 999, 250_000])
def test_handshake_sample_below_min_rto_gives_one_second(rtt: int) -> None:
    # RFC 6298 (2.4)'s floor, when configured: "if it is less than 1 second,
    # then the RTO SHOULD be rounded up to 1 second".
    conn = established_after(rtt, min_rto=1_000_000)
    assert conn.srtt == rtt
    assert conn.rto == 1_000_000

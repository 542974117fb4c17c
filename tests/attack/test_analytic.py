"""The models the lab measures against: each formula pinned by hand-computed values."""

from __future__ import annotations

import math

import pytest

from synack.attack import analytic
from synack.tcp.config import Config
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import TimedOut
from synack.wire.ip import emit_tcp_packet, str_to_addr
from synack.wire.tcp import SYN, Segment


def test_erlang_b_small_cases_by_hand() -> None:
    # B(1, a) = a / (1 + a); B(2, a) = (a^2/2) / (1 + a + a^2/2).
    assert analytic.erlang_b(1, 1.0) == 0.5
    assert analytic.erlang_b(2, 1.0) == pytest.approx(0.2)
    assert analytic.erlang_b(2, 4.0) == pytest.approx(8 / 13)
    assert analytic.erlang_b(128, 0.0) == 0.0
    assert 0.99 < analytic.erlang_b(128, 18_300.0) < 1.0


def test_half_open_lifetime_by_hand_and_as_the_core_times_it() -> None:
    # RTO 1 s doubling: SYN-ACKs at 0, 1, 3, 7, 15, 31 s (five retries); give up at 63 s.
    assert analytic.half_open_lifetime(Config()) == 63_000_000
    # Seven retries and the 60 s cap: SYN-ACKs at 0, 1, 3, 7, 15, 31, 63, 123 s; give up at 183.
    assert analytic.half_open_lifetime(Config(synack_retries=7)) == 183_000_000
    # The server's TCP agrees: a SYN whose SYN-ACKs go unanswered times out at 63 s.
    server = Endpoint(["10.0.0.5"], isn_secret=b"k" * 32)
    server.listen(80)
    syn = emit_tcp_packet(
        str_to_addr("198.18.0.1"), str_to_addr("10.0.0.5"), Segment(4000, 80, 1, 0, SYN)
    )
    server.receive_packet(syn, 0)
    server.packets_to_send(0)
    gone_at = None
    while (d := server.next_deadline()) is not None:
        server.handle_timer(d)
        server.packets_to_send(d)
        if not server.connections():
            gone_at = d
            break
    assert gone_at == 63_000_000
    assert not any(isinstance(ev, TimedOut) for _, ev in server.event_queue)  # never accepted


def test_syn_attempt_times() -> None:
    assert analytic.syn_attempt_times(Config(syn_retries=3)) == [0, 1_000_000, 3_000_000, 7_000_000]


def test_connect_model_with_independent_tries() -> None:
    p, t = analytic.connect_model(0.5, [0, 1_000_000], 20_000)
    assert p == 0.75  # 1 - 0.5^2
    assert t == pytest.approx((0.5 * 20_000 + 0.25 * 1_020_000) / 0.75)
    assert analytic.connect_model(1.0, [0], 1)[1] == math.inf


def test_clock_guess_distribution() -> None:
    assert analytic.clock_index_distribution(0) == {1: 1.0}
    # Jitter 0..3 us: D in -3..3; with the phase, the error is -1, 0 or +1 ticks.
    d = analytic.clock_index_distribution(3)
    assert sum(d.values()) == pytest.approx(1.0)
    assert set(d) == {1, 2, 3}
    big = analytic.clock_index_distribution(500)
    assert sum(big.values()) == pytest.approx(1.0)
    # E|D| = J/3 for two uniform delays: the mean guess is about 1 + 2 (J/3)/4.
    assert analytic.mean_of(big) == pytest.approx(1 + 2 * 500 / 3 / 4, rel=0.02)
    assert analytic.cdf(big, 1000) == pytest.approx(1.0)


def test_counter_expected_guess() -> None:
    assert analytic.counter_expected_index(100_000) == pytest.approx(1.2)
    assert analytic.counter_expected_index(100_000, noise_per_s=5) == pytest.approx(1.7)


def test_blind_expectations() -> None:
    assert analytic.slots(65_536) == 65_536
    assert analytic.slots(65_535) == 65_538
    assert analytic.blind_reset_expected(1 << 20, rfc5961=False) == (4096 + 1) / 2
    assert analytic.blind_reset_expected(1 << 20, rfc5961=True) == (2**32 + 1) / 2
    # RFC 793 rules, no timestamps: 2 segments a step; with RFC 5961 and a 64 KiB ACK range,
    # 65,536 ACK guesses a step; timestamps double either.
    assert analytic.blind_inject_expected(1 << 20, False, False, 1 << 16) == ((2 * 4096 + 1) / 2, 2)
    assert analytic.blind_inject_expected(1 << 20, True, True, 1 << 16) == (
        (131_072 * 4096 + 1) / 2,
        131_072,
    )


def test_estimate_and_agreement() -> None:
    e = analytic.estimate([1.0, 2.0, 3.0, 4.0])
    assert e.mean == 2.5
    assert e.se == pytest.approx(math.sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3 / 4))
    assert e.agrees(2.5 + 2.9 * e.se)
    assert not e.agrees(2.5 + 3.1 * e.se)


def test_side_channel_rounds_by_hand() -> None:
    # One value left: one round sends the exact RST. Two: the first round tests the
    # lower one (a hit resets at once), else one more round. Three: the middle one.
    assert analytic.bisection_rounds(1) == 1.0
    assert analytic.bisection_rounds(2) == 1.5
    assert analytic.bisection_rounds(3) == pytest.approx(1 + 1 / 3 + 1 / 3)
    assert 17.0 <= analytic.bisection_rounds(1 << 18) <= 18.0
    # 16,384 steps in 4 batches: calibration + 2.5 + 12 halvings + the bisection.
    assert analytic.side_channel_expected(1 << 18, 4096, True) == pytest.approx(
        1 + 2.5 + 12 + analytic.bisection_rounds(1 << 18)
    )
    # A budget per connection: calibration and every batch, then the attacker gives up.
    assert analytic.side_channel_expected(1 << 18, 4096, False) == 5.0

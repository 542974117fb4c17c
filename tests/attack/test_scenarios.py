"""Each attack succeeds against its weak setting and fails against synack's defaults."""

from __future__ import annotations

import pytest

from synack.attack import analytic
from synack.attack.blind import run_blind_inject, run_blind_reset
from synack.attack.isn_prediction import run_isn_prediction
from synack.attack.side_channel import run_side_channel
from synack.attack.syn_flood import run_syn_flood

MIB = 1 << 20  # a large window keeps a sweep short: 4,096 steps
SPACE = 1 << 32


def _lines(text: list[str], needle: str) -> list[str]:
    return [line for line in text if needle in line]


# ------------------------------------------------------------------ isn-prediction


def test_isn_prediction_beats_the_bsd_counter_with_the_guess_the_model_predicts() -> None:
    r = run_isn_prediction(isn="counter", seed=1)
    assert r.success
    j = r.to_json()
    # The hidden ISN is the last probe's plus 64,000 per connection and tick since:
    # the attacker's k-th guess is last + 64,000 * k.
    steps = (j["server_isn"] - j["probe_isns"][-1]) % SPACE
    assert steps % 64_000 == 0
    assert r.attempts == steps // 64_000
    assert _lines(r.summary, "would run 'echo + + >> /.rhosts'")
    spoofed = _lines(r.ladder, "<- spoofed by the attacker")
    assert "Trusted (192.168.1.100) -> Server (10.0.0.5:514)   [SYN]" in spoofed[0]


def test_isn_prediction_beats_a_bare_4us_clock_nearest_guess_first() -> None:
    r = run_isn_prediction(isn="clock", seed=2)
    assert r.success
    j = r.to_json()
    centre = j["probe_isns"][-1] + j["configuration"]["gap_us"] // 4
    err = (j["server_isn"] - centre + SPACE // 2) % SPACE - SPACE // 2
    # Guesses go centre, +1, -1, +2, -2, ...
    assert r.attempts == (1 if err == 0 else 2 * err if err > 0 else 2 * -err + 1)
    assert 1 < r.attempts < 1000


@pytest.mark.parametrize("isn", ["rfc6528", "random"])
def test_isn_prediction_fails_against_unpredictable_isns(isn: str) -> None:
    r = run_isn_prediction(isn=isn, seed=1)
    assert not r.success
    assert r.attempts == 1000
    assert r.expected_attempts == (SPACE + 1) / 2
    assert not _lines(r.ladder, "rshd trusts")


def test_a_trusted_host_that_is_up_resets_the_spoofed_connection_even_with_a_counter() -> None:
    r = run_isn_prediction(isn="counter", seed=1, trusted="online")
    assert not r.success
    # Its RST (to the SYN-ACK it did not ask for) sends the half-open connection back to LISTEN.
    assert _lines(r.ladder, "Trusted (192.168.1.100) -> Server (10.0.0.5:514)   [RST]")


def test_isn_prediction_is_deterministic_for_a_seed() -> None:
    a = run_isn_prediction(isn="clock", seed=5)
    b = run_isn_prediction(isn="clock", seed=5)
    c = run_isn_prediction(isn="clock", seed=6)
    assert a.text() == b.text() and a.json_line() == b.json_line()
    assert a.json_line() != c.json_line()


# -------------------------------------------------------------------- blind-reset


def test_blind_reset_kills_an_rfc_793_connection_within_one_sweep() -> None:
    r = run_blind_reset(rfc5961=False, window=MIB, seed=1)
    assert r.success
    assert 1 <= r.attempts <= analytic.slots(MIB) == 4096
    assert _lines(r.ladder, "server: ESTABLISHED -> CLOSED")
    # The client learns it at its next keepalive: the server answers with a RST.
    assert _lines(r.ladder, "client: ESTABLISHED -> CLOSED")


def test_blind_reset_fails_against_rfc_5961_and_the_in_window_rst_draws_a_challenge_ack() -> None:
    r = run_blind_reset(window=MIB, seed=1)
    assert not r.success
    assert r.attempts == 4096  # the whole sweep
    assert r.to_json()["challenge_acks"] == 1  # exactly one RST of the sweep was in the window
    assert _lines(r.ladder, "challenge ACK to the real client, connection kept (RFC 5961 3.2)")


# ------------------------------------------------------------------- blind-inject


def test_blind_inject_corrupts_the_stream_of_an_rfc_793_connection() -> None:
    r = run_blind_inject(rfc5961=False, timestamps=False, window=MIB, seed=1)
    assert r.success
    (stream,) = _lines(r.summary, "  stream")
    assert "<<INJECTED #" in stream or "JECTED" in stream
    assert r.to_json()["stream_offset"] is not None
    assert 1 <= r.attempts <= 2 * 4096


def test_paws_alone_only_doubles_the_work() -> None:
    r = run_blind_inject(rfc5961=False, timestamps=True, window=MIB, seed=2)
    assert r.success
    assert r.to_json()["per_step"] == 4


def test_blind_inject_fails_against_the_rfc_5961_ack_check() -> None:
    r = run_blind_inject(window=MIB, seed=1)
    assert not r.success
    assert r.to_json()["challenge_acks"] >= 1
    assert _lines(r.ladder, "below SND.UNA - MAX.SND.WND: dropped, challenge ACK (RFC 5961 5.2)")
    # RFC 5961 5.2: an ACK in a range of MAX.SND.WND + 1 = 262,145 values (the client's
    # window): 16,384 ACK guesses x 2 TSval guesses per step, 4,096 steps, half on average.
    assert r.expected_attempts == (16_384 * 2 * 4096 + 1) / 2


# ---------------------------------------------------------------------- syn-flood


def test_without_cookies_ten_syns_a_second_deny_most_clients_a_full_backlog() -> None:
    r = run_syn_flood(rate=10, seed=1, cookies=False)
    assert r.success
    j = r.to_json()
    assert j["legit_success_rate"] < 0.5
    # The flood's own SYNs arrive at random moments and see Erlang B (the referee's count).
    assert abs(j["flood_syn_queue_full"] - j["expected_queue_full"]) < 0.05
    assert j["syn_dropped"] > 0.5
    assert _lines(r.ladder, "the client's SYN is dropped")


def test_syn_cookies_let_every_client_in_through_the_same_flood() -> None:
    r = run_syn_flood(rate=10, seed=1)  # synack's default: cookies when the queue is full
    assert not r.success
    j = r.to_json()
    assert j["legit_success_rate"] == 1.0
    assert j["syn_dropped"] == 0.0
    assert j["cookies_sent"] > 0 and j["cookies_validated"] > 0
    # The queue is as full as without cookies: the cookies answer what it cannot hold.
    assert abs(j["flood_syn_queue_full"] - j["expected_queue_full"]) < 0.05
    assert _lines(r.ladder, "answered with a SYN cookie")


def test_a_trickle_of_spoofed_syns_does_not_fill_the_queue() -> None:
    r = run_syn_flood(rate=0.2, seed=1, cookies=False)
    assert not r.success
    assert r.to_json()["legit_success_rate"] == 1.0


# ------------------------------------------------------------------- side-channel


def test_a_host_wide_challenge_ack_budget_leaks_rcv_nxt_and_the_connection_is_reset() -> None:
    r = run_side_channel(per_host=True, seed=1)
    assert r.success
    j = r.to_json()
    assert j["baseline"] == 100  # the calibration round: the whole shared budget
    # Calibration + at most 4 batches + 12 halvings + about 18 bisection rounds.
    assert 1 + 1 + 12 + 16 <= r.attempts <= 1 + 4 + 12 + 19
    assert _lines(r.ladder, "one challenge ACK missing")
    assert _lines(r.ladder, "server: ESTABLISHED -> CLOSED")


def test_a_per_connection_budget_tells_the_attacker_nothing() -> None:
    r = run_side_channel(seed=1)
    assert not r.success
    j = r.to_json()
    assert j["baseline"] == 10  # its own connection's budget, whatever the victim does
    assert r.attempts == 5  # calibration and the 4 batches, never one short
    assert _lines(r.ladder, "no round ever came back short")

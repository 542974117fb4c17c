"""Blind in-window attacks (RFC 5961): challenge ACKs for RST and SYN, ACK checks, rate limit."""

from __future__ import annotations

from synack.tcp.events import Reset
from synack.tcp.state import State
from synack.wire.tcp import ACK, RST, SYN
from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, established, events, feed, out, us

R = REMOTE_ISS + 1


def test_in_window_rst_gets_challenge_ack() -> None:
    conn = established()
    feed(conn, seq=R + 10, ack=0, flags=RST)
    assert conn.state is State.ESTABLISHED
    assert out(conn) == [us()]
    assert conn.counters["challenge_ack"] == 1


def test_exact_rst_resets() -> None:
    conn = established()
    feed(conn, seq=R, ack=0, flags=RST)
    assert conn.state is State.CLOSED


def test_out_of_window_rst_is_dropped_silently() -> None:
    conn = established()
    feed(conn, seq=R + 1_000_000, ack=0, flags=RST)
    assert conn.state is State.ESTABLISHED
    assert out(conn) == []
    assert conn.counters["drop.rst_out_of_window"] == 1


def test_in_window_syn_gets_challenge_ack() -> None:
    conn = established()
    feed(conn, seq=R + 5, ack=0, flags=SYN)
    assert conn.state is State.ESTABLISHED
    assert out(conn) == [us()]


def test_ack_older_than_max_window_is_dropped_with_challenge() -> None:
    conn = established(nodelay=True)
    conn.send(b"x")
    out(conn)
    feed(conn, ack=LOCAL_ISS + 2)
    # SEG.ACK < SND.UNA - MAX.SND.WND: a blind attacker's guess.
    feed(conn, seq=R, ack=(LOCAL_ISS + 2 - conn.max_snd_wnd - 10) & 0xFFFFFFFF, flags=ACK)
    assert conn.counters["drop.ack_too_old"] == 1
    assert out(conn) == [us(seq=LOCAL_ISS + 2)]


def test_challenge_acks_are_rate_limited_per_second() -> None:
    conn = established(challenge_ack_limit=3)
    sent = 0
    for i in range(10):
        feed(conn, 1000 + i, seq=R + 10, ack=0, flags=RST)
        sent += len(out(conn, 1000 + i))
    assert sent == 3
    assert conn.counters["challenge_ack.suppressed"] == 7
    # A second later the budget is back.
    feed(conn, 1_001_000, seq=R + 10, ack=0, flags=RST)
    assert len(out(conn, 1_001_000)) == 1


def test_data_with_ack_field_far_behind_is_not_delivered() -> None:
    conn = established()
    feed(conn, seq=R, ack=(LOCAL_ISS - 200_000) & 0xFFFFFFFF, flags=ACK, payload=b"evil")
    assert conn.recv() == b""
    assert conn.counters["drop.ack_too_old"] == 1


# ------------------------------------------- Config(rfc5961=False): RFC 793's rules
# The attack lab (synack attack blind-reset / blind-inject) turns the defences off
# to show what they stop; these pin what "off" means.


def test_without_rfc5961_any_in_window_rst_resets() -> None:
    conn = established(rfc5961=False)
    # RFC 793 3.9: "all segment types ... are validated by checking their SEQ-fields.
    # A reset is valid if its sequence number is in the window."
    feed(conn, seq=R + 10, ack=0, flags=RST)
    assert conn.state is State.CLOSED
    assert any(isinstance(e, Reset) for e in events(conn))
    assert conn.counters["challenge_ack"] == 0


def test_without_rfc5961_an_out_of_window_rst_is_still_dropped() -> None:
    conn = established(rfc5961=False)
    feed(conn, seq=R + 1_000_000, ack=0, flags=RST)
    assert conn.state is State.ESTABLISHED
    assert conn.counters["drop.rst_out_of_window"] == 1


def test_without_rfc5961_an_in_window_syn_is_answered_with_a_reset() -> None:
    conn = established(rfc5961=False)
    feed(conn, seq=R + 5, ack=0, flags=SYN)
    # RFC 793 3.9: "If the SYN is in the window it is an error, send a reset".
    assert out(conn) == [us(seq=LOCAL_ISS + 1, ack=0, flags=RST, window=0)]
    assert conn.state is State.CLOSED


def test_without_rfc5961_data_with_an_old_ack_is_delivered() -> None:
    conn = established(rfc5961=False)
    feed(conn, seq=R, ack=(LOCAL_ISS - 200_000) & 0xFFFFFFFF, flags=ACK, payload=b"evil")
    assert conn.recv() == b"evil"
    assert conn.counters["drop.ack_too_old"] == 0


def test_without_rfc5961_an_ack_beyond_snd_nxt_still_drops_the_data() -> None:
    conn = established(rfc5961=False)
    # RFC 793 3.9: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT) then
    # send an ACK, drop the segment, and return."
    feed(conn, seq=R, ack=LOCAL_ISS + 1 + 5000, flags=ACK, payload=b"evil")
    assert conn.recv() == b""
    assert conn.counters["drop.ack_too_new"] == 1

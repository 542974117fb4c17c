"""Blind in-window attacks (RFC 5961): challenge ACKs for RST and SYN, ACK checks, rate limit."""

from __future__ import annotations

from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import Reset
from synack.tcp.state import State
from synack.wire.seq import add
from synack.wire.tcp import ACK, RST, SYN, Segment
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


# ----------------------------- Config(challenge_ack_per_host=True): one budget per host
# The attack lab's CVE-2016-5696 scenario needs Linux 3.6-4.6's shared budget.


def _pair_on(endpoint_cfg: Config) -> list[Connection]:
    ep = Endpoint(["10.0.0.1"], config=endpoint_cfg, isn_secret=b"k" * 32)
    conns = [ep.connect("10.0.0.2", 80, 0, local_port=40_000 + i) for i in range(2)]
    for c in conns:
        c.receive_segment(Segment(80, c.local[1], 5000, add(c.iss, 1), SYN | ACK, 65535), 0)
    ep.packets_to_send(0)
    return conns


def _in_window_rst(conn: Connection) -> Segment:
    return Segment(80, conn.local[1], add(conn.rcv_nxt, 10), 0, RST)


def test_by_default_each_connection_has_its_own_challenge_budget() -> None:
    a, b = _pair_on(Config(challenge_ack_limit=3))
    for _ in range(3):
        a.receive_segment(_in_window_rst(a), 1000)
    b.receive_segment(_in_window_rst(b), 1000)
    assert a.counters["challenge_ack"] == 3
    assert b.counters["challenge_ack"] == 1


def test_a_per_host_budget_is_shared_and_spent_by_any_connection() -> None:
    a, b = _pair_on(Config(challenge_ack_limit=3, challenge_ack_per_host=True))
    a.receive_segment(_in_window_rst(a), 1000)
    for _ in range(3):
        b.receive_segment(_in_window_rst(b), 1000)
    # a's challenge ACK took one of the three: b gets two, its third is suppressed.
    assert b.counters["challenge_ack"] == 2
    assert b.counters["challenge_ack.suppressed"] == 1
    # A second later the shared budget is back.
    b.receive_segment(_in_window_rst(b), 1_001_000)
    assert b.counters["challenge_ack"] == 3

"""Retransmission timer rules of RFC 6298 section 5 and the R2 limit of RFC 9293 3.8.3."""

from __future__ import annotations

from synack.tcp.events import SoftError, TimedOut
from synack.tcp.state import State
from synack.wire.tcp import ACK, PSH
from tests.tcp.helpers import LOCAL_ISS, established, events, feed, out, us

L = LOCAL_ISS + 1


def test_timer_starts_when_data_is_sent() -> None:
    conn = established()
    assert conn.next_deadline() is None
    conn.send(b"a")
    out(conn, 5_000)
    assert conn.next_deadline() == 205_000  # (5.1) now + RTO (at its 200 ms floor)


def test_timer_stops_when_all_data_is_acked() -> None:
    conn = established()
    conn.send(b"a")
    out(conn, 0)
    feed(conn, 100, ack=L + 1)
    assert conn.next_deadline() is None  # (5.2)


def test_timer_restarts_on_ack_of_new_data() -> None:
    conn = established(nodelay=True)
    conn.send(b"a")
    out(conn, 0)
    conn.send(b"b")
    out(conn, 10)
    feed(conn, 500_000, ack=L + 1)
    assert conn.next_deadline() == 500_000 + conn.rto  # (5.3)


def test_rto_retransmits_earliest_segment_and_doubles() -> None:
    conn = established()
    conn.send(b"abc")
    out(conn, 0)
    conn.handle_timer(200_000)
    assert out(conn, 200_000) == [us(flags=ACK | PSH, payload=b"abc")]  # (5.4)
    assert conn.rto == 400_000  # (5.5)
    assert conn.next_deadline() == 600_000  # (5.6)
    assert conn.cwnd == conn.mss  # RFC 5681 3.1: loss window


def test_rto_is_capped_at_max_rto() -> None:
    conn = established(max_rto=1_000_000, data_retries_r2=10)
    conn.send(b"abc")
    out(conn, 0)
    deadlines = []
    for _ in range(5):
        t = conn.next_deadline()
        assert t is not None
        deadlines.append(t)
        conn.handle_timer(t)
        out(conn, t)
    # 200 ms doubling to 400 and 800 ms, then held at max_rto (RFC 6298 2.5).
    assert deadlines == [200_000, 600_000, 1_400_000, 2_400_000, 3_400_000]


def test_r2_retransmissions_close_the_connection() -> None:
    conn = established(data_retries_r1=2, data_retries_r2=4)
    conn.send(b"abc")
    out(conn, 0)
    events(conn)
    while conn.state is State.ESTABLISHED:
        t = conn.next_deadline()
        assert t is not None
        conn.handle_timer(t)
        out(conn, t)
    evs = events(conn)
    assert SoftError("r1_reached") in evs
    assert TimedOut("retransmissions") in evs
    assert conn.state is State.CLOSED
    assert conn.counters["retransmit.rto"] == 4

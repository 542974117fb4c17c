"""RFC 5681 4.1: restarting after an idle period longer than the RTO begins from RW."""

from __future__ import annotations

from synack.tcp.connection import Connection
from tests.tcp.helpers import LOCAL_ISS, MSS, established, feed, out

L = LOCAL_ISS + 1


def grown_connection() -> tuple[Connection, int]:
    """An established connection whose cwnd grew well past IW; returns (conn, time)."""
    conn = established(nodelay=True, send_buffer=200_000)
    now = 0
    acked = 0
    for _ in range(6):  # slow start over a few round trips
        conn.send(b"g" * conn.cwnd)
        segs = out(conn, now)
        now += 10_000
        acked += sum(len(s.payload) for s in segs)
        feed(conn, now, ack=L + acked, window=60_000)
    out(conn, now)
    return conn, now


def test_cwnd_restarts_from_the_initial_window_after_idle_over_rto() -> None:
    conn, now = grown_connection()
    iw = min(10 * MSS, max(2 * MSS, 14600))
    assert conn.cwnd > iw
    later = now + conn.rto + 1
    conn.send(b"x" * 50_000)
    segs = out(conn, later)
    assert conn.cwnd == iw
    assert sum(len(s.payload) for s in segs) == iw
    assert conn.counters["restart_after_idle"] == 1


def test_a_short_pause_keeps_the_window() -> None:
    conn, now = grown_connection()
    cwnd = conn.cwnd
    conn.send(b"x" * 50_000)
    out(conn, now + 100_000)
    assert conn.cwnd == cwnd

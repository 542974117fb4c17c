"""Builders for exact-segment tests of one connection (in the style of smoltcp's tests).

``LOCAL`` is the connection under test, ``REMOTE`` the peer the test plays.
A test builds a connection directly in the state it needs (``established()``,
``fin_wait_2()``, ...), feeds one segment with :func:`feed`, and asserts the exact
list of segments that comes back with :func:`out`, derived from :data:`FROM_US`
by changing only the fields that matter (``dataclasses.replace``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.events import Event
from synack.tcp.state import State
from synack.wire.seq import add
from synack.wire.tcp import ACK, FIN, SYN, MaxSegmentSize, Segment

LOCAL = (bytes([10, 0, 0, 1]), 80)
REMOTE = (bytes([10, 0, 0, 2]), 49152)
LOCAL_ISS = 10_000
REMOTE_ISS = 20_000
WINDOW = 64_000  # our receive buffer in these tests (fits 16 bits: no scaling)
PEER_WINDOW = 60_000
MSS = 1000

CONFIG = Config(
    mss=MSS,
    recv_buffer=WINDOW,
    send_buffer=WINDOW,
    window_scaling=False,
    delayed_ack=0,
    # Exact-segment tests of RFC 9293 basics: no SACK-permitted or Timestamps in
    # our SYN (tests/tcp/test_sack.py and test_timestamps.py cover those).
    sack=False,
    timestamps=False,
)

# A segment the peer sends us; tests replace only what matters.
FROM_PEER = Segment(REMOTE[1], LOCAL[1], REMOTE_ISS + 1, LOCAL_ISS + 1, ACK, PEER_WINDOW)
# A segment we send; tests replace only what matters.
FROM_US = Segment(LOCAL[1], REMOTE[1], LOCAL_ISS + 1, REMOTE_ISS + 1, ACK, WINDOW)


def new_conn(**config: Any) -> Connection:
    """A CLOSED connection with the test configuration (overridable)."""
    return Connection(LOCAL, REMOTE, iss=LOCAL_ISS, config=replace(CONFIG, **config))


def feed(conn: Connection, now: int = 0, **fields: Any) -> None:
    """Deliver one segment from the peer: FROM_PEER with ``fields`` replaced."""
    conn.receive_segment(replace(FROM_PEER, **fields), now)


def out(conn: Connection, now: int = 0) -> list[Segment]:
    """Everything the connection sends now."""
    return conn.segments_to_send(now)


def events(conn: Connection) -> list[Event]:
    """Drain the connection's events."""
    evs = []
    while (ev := conn.next_event()) is not None:
        evs.append(ev)
    return evs


def us(**fields: Any) -> Segment:
    """FROM_US with ``fields`` replaced."""
    return replace(FROM_US, **fields)


def syn_sent(**config: Any) -> Connection:
    conn = new_conn(**config)
    conn.connect(0)
    out(conn)
    events(conn)
    return conn


def syn_received(**config: Any) -> Connection:
    """A passively opened connection that has sent its SYN-ACK."""
    conn = new_conn(**config)
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS),))
    out(conn)
    events(conn)
    return conn


def established(**config: Any) -> Connection:
    """ESTABLISHED via an active open: SND.NXT = LOCAL_ISS+1, RCV.NXT = REMOTE_ISS+1."""
    conn = syn_sent(**config)
    feed(conn, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    out(conn)
    events(conn)
    assert conn.state is State.ESTABLISHED
    return conn


def fin_wait_1(**config: Any) -> Connection:
    conn = established(**config)
    conn.close(0)
    assert out(conn) == [us(flags=FIN | ACK)]
    events(conn)
    return conn


def fin_wait_2(**config: Any) -> Connection:
    conn = fin_wait_1(**config)
    feed(conn, ack=LOCAL_ISS + 2)
    assert conn.state is State.FIN_WAIT_2
    assert out(conn) == []
    events(conn)
    return conn


def close_wait(**config: Any) -> Connection:
    conn = established(**config)
    feed(conn, flags=FIN | ACK)
    assert out(conn) == [us(ack=REMOTE_ISS + 2)]
    events(conn)
    assert conn.state is State.CLOSE_WAIT
    return conn


def last_ack(**config: Any) -> Connection:
    conn = close_wait(**config)
    conn.close(0)
    assert out(conn) == [us(flags=FIN | ACK, ack=REMOTE_ISS + 2)]
    events(conn)
    assert conn.state is State.LAST_ACK
    return conn


def closing(**config: Any) -> Connection:
    conn = fin_wait_1(**config)
    feed(conn, flags=FIN | ACK)  # FIN crossing ours: it does not ack our FIN
    assert conn.state is State.CLOSING
    assert out(conn) == [us(seq=LOCAL_ISS + 2, ack=REMOTE_ISS + 2)]
    events(conn)
    return conn


def time_wait(**config: Any) -> Connection:
    conn = fin_wait_2(**config)
    feed(conn, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 2, flags=FIN | ACK)
    assert conn.state is State.TIME_WAIT
    assert out(conn) == [us(seq=LOCAL_ISS + 2, ack=REMOTE_ISS + 2)]
    events(conn)
    return conn


def listen(**config: Any) -> Connection:
    conn = new_conn(**config)
    conn.listen(0)
    events(conn)
    return conn


BUILDERS = {
    State.LISTEN: listen,
    State.SYN_SENT: syn_sent,
    State.SYN_RECEIVED: syn_received,
    State.ESTABLISHED: established,
    State.FIN_WAIT_1: fin_wait_1,
    State.FIN_WAIT_2: fin_wait_2,
    State.CLOSE_WAIT: close_wait,
    State.CLOSING: closing,
    State.LAST_ACK: last_ack,
    State.TIME_WAIT: time_wait,
}

__all__ = [
    "BUILDERS",
    "CONFIG",
    "FROM_PEER",
    "FROM_US",
    "LOCAL",
    "LOCAL_ISS",
    "MSS",
    "PEER_WINDOW",
    "REMOTE",
    "REMOTE_ISS",
    "WINDOW",
    "add",
    "established",
    "events",
    "feed",
    "new_conn",
    "out",
    "us",
]

"""Sending and receiving data: Nagle, delayed ACKs, persist, window updates, fast retransmit."""

from __future__ import annotations

from synack.tcp.events import DataReceived, SendBufferSpace
from synack.wire.tcp import ACK, PSH
from tests.tcp.helpers import LOCAL_ISS, MSS, REMOTE_ISS, established, events, feed, out, us

R = REMOTE_ISS + 1
L = LOCAL_ISS + 1


def test_nagle_holds_small_segment_while_data_is_unacknowledged() -> None:
    conn = established()
    conn.send(b"a")
    assert out(conn) == [us(flags=ACK | PSH, payload=b"a")]
    conn.send(b"b")
    assert out(conn) == []  # RFC 9293 3.7.4: wait for the ACK
    feed(conn, ack=L + 1)
    assert out(conn) == [us(seq=L + 1, flags=ACK | PSH, payload=b"b")]


def test_nodelay_sends_small_segments_at_once() -> None:
    conn = established(nodelay=True)
    conn.send(b"a")
    out(conn)
    conn.send(b"b")
    assert out(conn) == [us(seq=L + 1, flags=ACK | PSH, payload=b"b")]


def test_delayed_ack_fires_at_its_exact_deadline() -> None:
    conn = established(delayed_ack=40_000)
    feed(conn, 1_000, seq=R, flags=ACK | PSH, payload=b"x" * MSS)
    assert out(conn, 1_000) == []
    assert conn.next_deadline() == 41_000
    conn.handle_timer(41_000)
    (ack,) = out(conn, 41_000)
    assert ack.ack == R + MSS


def test_every_second_full_segment_is_acked_at_once() -> None:
    conn = established(delayed_ack=40_000)
    feed(conn, 0, seq=R, flags=ACK, payload=b"x" * MSS)
    assert out(conn) == []
    feed(conn, 0, seq=R + MSS, flags=ACK, payload=b"x" * MSS)
    (ack,) = out(conn)
    assert ack.ack == R + 2 * MSS


def test_data_received_event_and_recv() -> None:
    conn = established()
    feed(conn, seq=R, flags=ACK | PSH, payload=b"hello")
    assert DataReceived(5) in events(conn)
    assert conn.recv(2) == b"he"
    assert conn.recv() == b"llo"
    assert conn.recv() == b""


def test_send_buffer_space_event_after_buffer_filled() -> None:
    conn = established(send_buffer=4000, nodelay=True)
    assert conn.send(b"x" * 5000) == 4000
    out(conn)
    events(conn)
    feed(conn, ack=L + 4000)
    assert SendBufferSpace(4000) in events(conn)


def test_zero_window_starts_persist_and_probes_with_one_octet() -> None:
    conn = established(nodelay=True)
    feed(conn, window=0)
    conn.send(b"abc")
    assert out(conn) == []
    deadline = conn.next_deadline()
    assert deadline == 200_000  # first probe after one RTO (SHLD-29), at its 200 ms floor
    conn.handle_timer(deadline)
    assert out(conn, deadline) == [us(payload=b"a")]
    # The peer still has no room: the probe is repeated with backoff, forever (MUST-36).
    feed(conn, deadline + 10, ack=L, window=0)
    second = conn.next_deadline()
    assert second == deadline + 400_000
    for _ in range(20):
        t = conn.next_deadline()
        assert t is not None
        conn.handle_timer(t)
        assert len(out(conn, t)) == 1
        feed(conn, t + 10, ack=L, window=0)
    assert conn.state.value == "ESTABLISHED"
    # The window opens: everything goes.
    feed(conn, 10**9, ack=L + 1, window=10_000)
    segs = out(conn, 10**9)
    assert b"".join(s.payload for s in segs) == b"bc"


def test_reading_a_full_buffer_sends_window_update() -> None:
    conn = established(recv_buffer=4 * MSS)
    for i in range(4):
        feed(conn, seq=R + i * MSS, flags=ACK, payload=b"y" * MSS)
    acks = out(conn)
    assert acks[-1].window == 0
    assert conn.recv() == b"y" * 4 * MSS
    (update,) = out(conn)
    assert update.ack == R + 4 * MSS
    assert update.window == 4 * MSS


def test_three_duplicate_acks_trigger_fast_retransmit() -> None:
    conn = established(nodelay=True)
    conn.send(b"z" * 5 * MSS)
    assert len(out(conn)) == 5
    for _ in range(2):
        feed(conn, ack=L)
        assert out(conn) == []
    feed(conn, ack=L)
    assert out(conn) == [us(payload=b"z" * MSS)]
    assert conn.counters["fast_retransmit"] == 1
    # RFC 5681 3.2: ssthresh = max(FlightSize/2, 2*SMSS), cwnd = ssthresh + 3*SMSS.
    assert conn.ssthresh == 5 * MSS // 2
    assert conn.cwnd == 5 * MSS // 2 + 3 * MSS


def test_partial_ack_retransmits_next_hole_and_full_ack_ends_recovery() -> None:
    conn = established(nodelay=True)
    conn.send(b"z" * 5 * MSS)
    out(conn)
    for _ in range(3):
        feed(conn, ack=L)
    out(conn)
    feed(conn, ack=L + 2 * MSS)  # partial: segment 3 is missing too
    assert out(conn)[0] == us(seq=L + 2 * MSS, payload=b"z" * MSS)
    feed(conn, ack=L + 5 * MSS)
    assert conn.snd_una == L + 5 * MSS
    assert conn.cwnd <= conn.ssthresh


def test_sws_override_timer_sends_a_held_runt_segment() -> None:
    conn = established(nodelay=True)
    feed(conn, window=500)  # far below half the largest window seen (60,000)
    conn.send(b"r" * 4000)
    assert out(conn, 0) == []  # sender SWS avoidance holds the 500-octet runt
    assert conn.next_deadline() == 200_000  # RFC 9293 3.8.6.2.1 override timeout
    conn.handle_timer(200_000)
    assert out(conn, 200_000) == [us(payload=b"r" * 500)]
    assert conn.counters["sws_override"] == 1

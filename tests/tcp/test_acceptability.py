"""Segment acceptability (RFC 9293 3.10.7.4, "first"), trimming, ACK processing and window updates."""

from __future__ import annotations

import pytest

from synack.wire.tcp import ACK, PSH
from tests.tcp.helpers import LOCAL_ISS, PEER_WINDOW, REMOTE_ISS, WINDOW, established, feed, out, us

R = REMOTE_ISS + 1  # RCV.NXT of established()


@pytest.mark.parametrize(
    ("seq", "payload", "recv_buffer", "acceptable"),
    [
        # Case 1: SEG.LEN = 0, RCV.WND = 0 -> SEG.SEQ = RCV.NXT
        (R, b"", 0, True),
        (R + 1, b"", 0, False),
        # Case 2: SEG.LEN = 0, RCV.WND > 0 -> RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
        (R, b"", 100, True),
        (R + 99, b"", 100, True),
        (R + 100, b"", 100, False),
        (R - 1, b"", 100, False),
        # Case 3: SEG.LEN > 0, RCV.WND = 0 -> not acceptable
        (R, b"x", 0, False),
        # Case 4: SEG.LEN > 0, RCV.WND > 0 -> either end of the segment in the window
        (R, b"xy", 100, True),
        (R - 1, b"xy", 100, True),  # last octet in the window
        (R + 99, b"xy", 100, True),  # first octet in the window
        (R - 2, b"xy", 100, False),
        (R + 100, b"xy", 100, False),
    ],
)
def test_four_cases_of_acceptability(
    seq: int, payload: bytes, recv_buffer: int, acceptable: bool
) -> None:
    conn = established(recv_buffer=max(recv_buffer, 1))
    if recv_buffer == 0:
        # Fill the buffer so RCV.WND is zero.
        feed(conn, seq=R, flags=ACK | PSH, payload=b"z")
        out(conn)
        assert conn.rcv_wnd == 0
        seq += 1
    base = conn.counters["drop.out_of_window"]
    feed(conn, seq=seq, flags=ACK, payload=payload)
    dropped = conn.counters["drop.out_of_window"] - base
    assert dropped == (0 if acceptable else 1)


def test_unacceptable_segment_gets_ack_with_rcv_nxt() -> None:
    conn = established()
    feed(conn, seq=R + 100_000, flags=ACK, payload=b"far")
    assert out(conn) == [us()]
    assert conn.recv() == b""


def test_old_duplicate_data_is_trimmed() -> None:
    conn = established()
    feed(conn, seq=R, flags=ACK | PSH, payload=b"abc")
    out(conn)
    # Overlaps two old octets and brings two new ones.
    feed(conn, seq=R + 1, flags=ACK | PSH, payload=b"bcde")
    assert conn.recv() == b"abcde"
    assert conn.rcv_nxt == R + 5


def test_data_beyond_window_is_not_stored() -> None:
    conn = established(recv_buffer=10)
    feed(conn, seq=R, flags=ACK | PSH, payload=b"0123456789ABCDEF")
    assert conn.rcv_nxt == R + 10
    assert conn.recv() == b"0123456789"
    assert conn.counters["trimmed_beyond_window"] == 1


def test_out_of_order_segments_are_reassembled() -> None:
    conn = established()
    feed(conn, seq=R + 6, flags=ACK, payload=b"ghi")
    assert out(conn) == [us()]  # immediate duplicate ACK (RFC 5681 4.2)
    feed(conn, seq=R + 3, flags=ACK, payload=b"def")
    assert out(conn) == [us()]
    assert conn.recv() == b""
    feed(conn, seq=R, flags=ACK, payload=b"abc")
    (ack,) = out(conn)
    assert ack.ack == R + 9  # filling the hole is acknowledged at once
    assert conn.recv() == b"abcdefghi"


def test_ack_of_unsent_data_gets_ack_and_drop() -> None:
    conn = established()
    feed(conn, ack=LOCAL_ISS + 500)
    assert out(conn) == [us()]
    assert conn.counters["drop.ack_too_new"] == 1
    assert conn.snd_una == LOCAL_ISS + 1


def test_duplicate_ack_is_ignored_without_reply() -> None:
    conn = established()
    feed(conn, ack=LOCAL_ISS + 1)
    assert out(conn) == []


def test_new_ack_advances_snd_una_and_frees_buffer() -> None:
    conn = established(nodelay=True)
    conn.send(b"hello")
    out(conn)
    feed(conn, ack=LOCAL_ISS + 4)
    assert conn.snd_una == LOCAL_ISS + 4
    assert conn.send_buffer_used == 2


def test_window_update_follows_wl1_wl2_rule() -> None:
    conn = established()
    feed(conn, seq=R, ack=LOCAL_ISS + 1, window=5000)
    assert conn.snd_wnd == 5000
    # An older segment (SEG.SEQ < SND.WL1) must not move the window.
    feed(conn, seq=R - 1, ack=LOCAL_ISS + 1, window=9000)
    assert conn.snd_wnd == 5000
    # Same SEQ, same ACK (SND.WL2 =< SEG.ACK): the window is updated.
    feed(conn, seq=R, ack=LOCAL_ISS + 1, window=7000)
    assert conn.snd_wnd == 7000
    assert (conn.snd_wl1, conn.snd_wl2) == (R, LOCAL_ISS + 1)


def test_an_ack_older_than_snd_una_never_updates_the_window() -> None:
    # RFC 9293 3.10.7.4 fifth: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window
    # should be updated" and only then the SND.WL1/WL2 test applies; "Note that
    # SND.WND is an offset from SND.UNA". A window offered at an ACK behind SND.UNA
    # (an acceptable one: RFC 5961 5.2 lets it lie up to MAX.SND.WND back) has its
    # right edge at SEG.ACK + SEG.WND: taken as an offset from SND.UNA it would
    # let us send beyond what the peer offered. Before the fix a segment with a
    # newer SEQ (out-of-order data here) but such an ACK set SND.WND.
    conn = established(nodelay=True)
    conn.send(b"a" * 1000)
    out(conn)
    feed(conn, seq=R, ack=LOCAL_ISS + 1001, window=5000)
    assert (conn.snd_una, conn.snd_wnd) == (LOCAL_ISS + 1001, 5000)
    # Out-of-order data (SEG.SEQ > SND.WL1) carrying an old ACK and a window whose
    # right edge (501 + 5400 = 5901) is still below the one offered (1001 + 5000).
    feed(conn, seq=R + 10, ack=LOCAL_ISS + 501, flags=ACK | PSH, window=5400, payload=b"z")
    assert conn.snd_wnd == 5000
    assert (conn.snd_wl1, conn.snd_wl2) == (R, LOCAL_ISS + 1001)
    conn.send(b"b" * 6000)
    assert sum(len(seg.payload) for seg in out(conn)) == 5000  # not 5400: past the edge
    assert conn.counters["drop.ack_too_old"] == 0  # the segment itself was acceptable


def test_send_is_limited_by_peer_window_and_mss() -> None:
    conn = established(nodelay=True)
    feed(conn, window=2500)
    conn.send(b"a" * 4000)
    # RFC 9293 3.8.6.2.1: the 500 octets left in the window are not sent as a
    # runt segment (sender SWS avoidance); the window opening releases them.
    assert [len(s.payload) for s in out(conn)] == [1000, 1000]
    feed(conn, ack=LOCAL_ISS + 2001, window=3000)
    assert [len(s.payload) for s in out(conn)] == [1000, 1000]
    assert conn.snd_nxt == LOCAL_ISS + 1 + 4000


def test_zero_window_still_processes_acks() -> None:
    conn = established(recv_buffer=1, nodelay=True)
    conn.send(b"hi")
    out(conn)
    feed(conn, seq=R, flags=ACK | PSH, payload=b"z")
    out(conn)
    assert conn.rcv_wnd == 0
    # SEG.SEQ = RCV.NXT with data in a zero window: data refused, ACK field used.
    feed(conn, seq=R + 1, ack=LOCAL_ISS + 3, flags=ACK, payload=b"q")
    assert conn.snd_una == LOCAL_ISS + 3
    assert conn.recv() == b"z"


def test_initial_window_advertised_is_the_buffer() -> None:
    conn = established()
    feed(conn, seq=R, flags=ACK | PSH, payload=b"abc")
    (ack,) = out(conn)
    assert ack.window == WINDOW - 3
    assert conn.snd_wnd == PEER_WINDOW

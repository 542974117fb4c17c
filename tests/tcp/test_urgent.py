"""Urgent data (RFC 9293 3.8.5, MUST-30..33, MUST-62, MUST-66): delivered inline, signalled."""

from __future__ import annotations

from synack.tcp.connection import Connection
from synack.tcp.events import UrgentData
from synack.wire.seq import add
from synack.wire.tcp import ACK, PSH, URG
from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, established, events, feed, out, us

R = REMOTE_ISS + 1
L = LOCAL_ISS + 1


def test_received_urgent_pointer_is_signalled_and_data_stays_inline() -> None:
    conn = established()
    # SEG.UP = 3: the first three octets are urgent, "d" is the first non-urgent one.
    feed(conn, seq=R, flags=ACK | PSH | URG, urgent=3, payload=b"abcd")
    assert UrgentData(3) in events(conn)
    assert conn.urgent_pending == 3
    assert conn.recv(2) == b"ab"
    assert conn.urgent_pending == 1
    assert conn.recv() == b"cd"
    assert conn.urgent_pending == 0


def test_urgent_pointer_ahead_of_the_data_reaches_later_segments() -> None:
    conn = established()
    feed(conn, seq=R, flags=ACK | URG, urgent=5000, payload=b"x" * 1000)
    assert conn.urgent_pending == 5000
    events(conn)
    # A later segment with an older pointer does not move RCV.UP back.
    feed(conn, seq=R + 1000, flags=ACK | URG, urgent=10, payload=b"y" * 1000)
    assert UrgentData(5000) not in events(conn)
    assert conn.urgent_pending == 5000


def test_urgent_is_processed_with_a_zero_receive_window() -> None:
    conn = established(recv_buffer=1)
    feed(conn, seq=R, flags=ACK | PSH, payload=b"z")
    out(conn)
    assert conn.rcv_wnd == 0
    events(conn)
    feed(conn, seq=R + 1, flags=ACK | URG, urgent=1)
    assert UrgentData(2) in events(conn)


def test_sending_urgent_data_sets_urg_and_points_past_it() -> None:
    conn = established(nodelay=True)
    conn.send(b"normal")
    conn.send(b"!!", urgent=True)
    # SEG.UP = SND.UP - SEG.SEQ: the pointer names the first octet after the urgent ones.
    assert out(conn) == [us(flags=ACK | PSH | URG, urgent=8, payload=b"normal!!")]
    feed(conn, ack=L + 8)
    conn.send(b"later")
    (seg,) = out(conn)
    assert seg.flags & URG == 0
    assert seg.urgent == 0


def test_urgent_data_longer_than_the_pointer_field_is_sent_as_far_as_it_reaches() -> None:
    conn = established(nodelay=True, send_buffer=200_000)
    conn.send(b"u" * 100_000, urgent=True)
    segs = out(conn)
    assert all(s.flags & URG for s in segs)
    assert segs[0].urgent == 0xFFFF  # MUST-31: arbitrary length, capped at 16 bits


# ---------------------------------------------------- RCV.UP across the 2**31 wrap

HALF = 1 << 31


def skip_ahead(conn: Connection, n: int) -> None:
    """The receiver as it is after ``n`` more octets were delivered and read.

    Moving 2 GiB through a test takes too long; this puts RCV.NXT (and the window
    edge with it) where those octets would have left it, nothing held.
    """
    rcv = conn.rcv
    assert not rcv.ready and rcv.reasm is None
    rcv.rcv_nxt = add(rcv.rcv_nxt, n)
    rcv.rcv_adv = add(rcv.rcv_adv, n)
    rcv.rcv_abs += n


def test_no_urgent_data_is_reported_after_two_gib_of_normal_data() -> None:
    # RFC 9293 3.8.5 (MUST-33): the user learns of urgent data only while RCV.UP is
    # "in advance of the data consumed". Before the fix RCV.UP stayed at IRS+1 until
    # the first URG: 2**31 octets later it compared as ahead of the read point
    # (modulo 2**32) and urgent_pending reported ~2 GiB of urgent data.
    conn = established()
    skip_ahead(conn, HALF + 10)
    assert conn.urgent_pending == 0
    feed(conn, seq=add(R, HALF + 10), flags=ACK | PSH, payload=b"plain")
    assert conn.urgent_pending == 0
    assert conn.recv() == b"plain"


def test_urgent_pointer_is_signalled_after_two_gib_of_normal_data() -> None:
    # RFC 9293 3.10.7.4 sixth: "RCV.UP <- max(RCV.UP,SEG.UP), and signal the user".
    # Before the fix the max was taken against the stale RCV.UP 2**31 behind,
    # which modulo 2**32 is *ahead*: the URG was ignored and never signalled.
    conn = established()
    skip_ahead(conn, HALF + 10)
    events(conn)
    feed(conn, seq=add(R, HALF + 10), flags=ACK | PSH | URG, urgent=3, payload=b"abcd")
    assert UrgentData(3) in events(conn)
    assert conn.urgent_pending == 3


def test_urgent_data_read_long_ago_is_not_reported_again() -> None:
    # Once the urgent octets are read, RCV.UP is behind the read point; it must not
    # come back as "ahead" when the stream has moved 2**31 further.
    conn = established()
    feed(conn, seq=R, flags=ACK | PSH | URG, urgent=2, payload=b"!!")
    assert conn.recv() == b"!!"
    assert conn.urgent_pending == 0
    skip_ahead(conn, HALF + 10)
    assert conn.urgent_pending == 0
    events(conn)
    feed(conn, seq=add(R, HALF + 12), flags=ACK | PSH | URG, urgent=1, payload=b"?x")
    assert UrgentData(1) in events(conn)
    assert conn.urgent_pending == 1


def test_a_retransmitted_urgent_pointer_already_read_is_not_signalled_again() -> None:
    # "If the user has already been signaled ... for this continuous sequence of
    # urgent data, do not signal the user again": a segment whose pointer names
    # octets the user has read (it overlaps new data) brings no new urgent data.
    conn = established()
    feed(conn, seq=R, flags=ACK | PSH | URG, urgent=2, payload=b"!!")
    assert conn.recv() == b"!!"
    events(conn)
    feed(conn, seq=R, flags=ACK | PSH | URG, urgent=2, payload=b"!!more")
    assert not any(isinstance(e, UrgentData) for e in events(conn))
    assert conn.urgent_pending == 0
    assert conn.recv() == b"more"

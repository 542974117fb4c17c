"""The advertised window's right edge never moves left, with or without scaling (SHLD-14)."""

from __future__ import annotations

import random

import pytest

from synack.wire.seq import add, le
from synack.wire.tcp import ACK, PSH, SYN, MaxSegmentSize, WindowScale
from tests.tcp.helpers import LOCAL_ISS, REMOTE_ISS, feed, new_conn, out


@pytest.mark.parametrize("seed", range(5))
def test_right_edge_never_moves_left_with_window_scaling(seed: int) -> None:
    rng = random.Random(seed)
    conn = new_conn(recv_buffer=300_000, window_scaling=True, delayed_ack=0)
    conn.connect(0)
    out(conn)
    feed(
        conn,
        seq=REMOTE_ISS,
        ack=LOCAL_ISS + 1,
        flags=SYN | ACK,
        options=(MaxSegmentSize(1000), WindowScale(7)),
    )
    shift = conn.rcv_wscale
    assert shift > 0
    edge = None
    seq = REMOTE_ISS + 1
    for _ in range(3000):
        if rng.random() < 0.6:
            n = rng.randrange(1, 1500)
            if n <= conn.rcv_wnd:
                feed(conn, seq=seq, flags=ACK | PSH, payload=b"d" * n)
                seq += n
        else:
            conn.recv(rng.randrange(1, 5000))
        for seg in out(conn):
            right = add(seg.ack, seg.window << shift)
            if edge is not None:
                assert le(edge, right), "advertised right edge moved left"
            edge = right
    assert conn.counters["trimmed_beyond_window"] == 0

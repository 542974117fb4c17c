"""Arbitrary segment sequences never raise out of the core and keep the TCB consistent."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.tcp.errors import ConnectionClosedError
from synack.tcp.state import State
from synack.wire.seq import le, sub
from synack.wire.tcp import Segment
from tests.tcp.helpers import BUILDERS, FROM_PEER

# (SEG.SEQ - RCV.NXT, SEG.ACK - SND.NXT, flags, window, payload, time step)
segment_fields = st.tuples(
    st.integers(-70_000, 70_000),
    st.integers(-70_000, 70_000),
    st.integers(0, 0xFFF),
    st.integers(0, 0xFFFF),
    st.binary(max_size=1500),
    st.integers(0, 3_000_000),
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    state=st.sampled_from(list(BUILDERS)),
    segments=st.lists(segment_fields, min_size=1, max_size=25),
    user=st.lists(st.sampled_from(["send", "recv", "close", "none"]), min_size=25, max_size=25),
)
def test_random_segments_never_raise_and_keep_invariants(
    state: State, segments: list[tuple[int, int, int, int, bytes, int]], user: list[str]
) -> None:
    conn = BUILDERS[state]()
    now = 1_000
    for (seq_off, ack_off, flags, window, payload, dt), call in zip(segments, user, strict=False):
        now += dt
        seg = Segment(
            FROM_PEER.src_port,
            FROM_PEER.dst_port,
            (conn.rcv_nxt + seq_off) & 0xFFFFFFFF,
            (conn.snd_nxt + ack_off) & 0xFFFFFFFF,
            flags,
            window,
            0,
            (),
            payload,
        )
        conn.receive_segment(seg, now)
        deadline = conn.next_deadline()
        if deadline is not None and deadline <= now:
            conn.handle_timer(now)
        if call == "send" and conn.send_buffer_free and not conn.snd.fin_queued:
            with contextlib.suppress(ConnectionClosedError):  # the documented user error
                conn.send(b"u" * 100)
        elif call == "recv":
            conn.recv()
        elif call == "close" and conn.state is not State.CLOSED:
            conn.close(now)
        conn.segments_to_send(now)
        # TCB invariants in sequence space: SND.UNA =< SND.NXT =< SND.MAX.
        assert le(conn.snd_una, conn.snd_nxt)
        assert le(conn.snd_nxt, conn.snd_max)
        assert 0 <= sub(conn.snd_max, conn.snd_una) <= conn.config.send_buffer + 2
        assert conn.recv_available <= conn.config.recv_buffer
        if conn.state is State.CLOSED:
            assert conn.next_deadline() is None

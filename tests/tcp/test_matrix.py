"""Every state x every kind of segment: the exact reply and the next state.

One table, read from RFC 9293 3.10.7 and RFC 5961, with a row per
(state, segment kind). Each row builds a fresh connection in the state, feeds
one segment, and checks the reply as (flags, seq, ack, payload length) and the
new state. Kinds: an in-window SYN, SYN-ACK, pure ACK, data, FIN, RST, a
segment outside the window, and an ACK of data never sent ("bad ACK").
"""

from __future__ import annotations

from typing import Any

import pytest

from synack.tcp.state import State
from synack.wire.tcp import ACK, FIN, PSH, RST, SYN
from tests.tcp.helpers import BUILDERS, LOCAL_ISS, REMOTE_ISS, feed, out

S = State
L, R = LOCAL_ISS, REMOTE_ISS

# (SND.NXT, RCV.NXT) each builder leaves; LISTEN and SYN-SENT have no RCV.NXT yet.
POSITION = {
    S.LISTEN: (L, R),
    S.SYN_SENT: (L + 1, R),
    S.SYN_RECEIVED: (L + 1, R + 1),
    S.ESTABLISHED: (L + 1, R + 1),
    S.FIN_WAIT_1: (L + 2, R + 1),
    S.FIN_WAIT_2: (L + 2, R + 1),
    S.CLOSE_WAIT: (L + 1, R + 2),
    S.CLOSING: (L + 2, R + 2),
    S.LAST_ACK: (L + 2, R + 2),
    S.TIME_WAIT: (L + 2, R + 2),
}

KINDS = ["syn", "syn-ack", "ack", "data", "fin", "rst", "out-of-window", "bad-ack"]


def segment(kind: str, snd_nxt: int, rcv_nxt: int) -> dict[str, Any]:
    """Fields of the test segment of ``kind`` for a connection at this position."""
    base: dict[str, Any] = {"seq": rcv_nxt, "ack": snd_nxt, "flags": ACK}
    table: dict[str, dict[str, Any]] = {
        "syn": {**base, "flags": SYN, "ack": 0},
        "syn-ack": {**base, "flags": SYN | ACK},
        "ack": base,
        "data": {**base, "flags": ACK | PSH, "payload": b"abc"},
        "fin": {**base, "flags": FIN | ACK},
        "rst": {**base, "flags": RST, "ack": 0},
        "out-of-window": {**base, "seq": (rcv_nxt + 200_000) & 0xFFFFFFFF, "payload": b"x"},
        "bad-ack": {**base, "ack": snd_nxt + 1000},
    }
    return table[kind]


# Replies: "" none; "ACK" <SEQ=SND.NXT><ACK=RCV.NXT(+advance)>; "RST" <SEQ=SEG.ACK><CTL=RST>;
# "SYN-ACK" <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. Advance: octets of RCV.NXT consumed.
EXPECT: dict[tuple[State, str], tuple[str, int, State]] = {
    # RFC 9293 3.10.7.2 LISTEN
    (S.LISTEN, "syn"): ("SYN-ACK", 1, S.SYN_RECEIVED),
    (S.LISTEN, "syn-ack"): ("RST", 0, S.LISTEN),
    (S.LISTEN, "ack"): ("RST", 0, S.LISTEN),
    (S.LISTEN, "data"): ("RST", 0, S.LISTEN),
    (S.LISTEN, "fin"): ("RST", 0, S.LISTEN),
    (S.LISTEN, "rst"): ("", 0, S.LISTEN),
    (S.LISTEN, "out-of-window"): ("RST", 0, S.LISTEN),
    (S.LISTEN, "bad-ack"): ("RST", 0, S.LISTEN),
    # RFC 9293 3.10.7.3 SYN-SENT
    (S.SYN_SENT, "syn"): ("SYN-ACK", 1, S.SYN_RECEIVED),
    (S.SYN_SENT, "syn-ack"): ("ACK", 1, S.ESTABLISHED),
    (S.SYN_SENT, "ack"): ("", 0, S.SYN_SENT),
    (S.SYN_SENT, "data"): ("", 0, S.SYN_SENT),
    (S.SYN_SENT, "fin"): ("", 0, S.SYN_SENT),
    (S.SYN_SENT, "rst"): ("", 0, S.SYN_SENT),
    (S.SYN_SENT, "out-of-window"): ("", 0, S.SYN_SENT),
    (S.SYN_SENT, "bad-ack"): ("RST", 0, S.SYN_SENT),
    # RFC 9293 3.10.7.4 SYN-RECEIVED (passive open)
    (S.SYN_RECEIVED, "syn"): ("", 0, S.LISTEN),
    (S.SYN_RECEIVED, "syn-ack"): ("", 0, S.LISTEN),
    (S.SYN_RECEIVED, "ack"): ("", 0, S.ESTABLISHED),
    (S.SYN_RECEIVED, "data"): ("ACK", 3, S.ESTABLISHED),
    (S.SYN_RECEIVED, "fin"): ("ACK", 1, S.CLOSE_WAIT),
    (S.SYN_RECEIVED, "rst"): ("", 0, S.LISTEN),
    (S.SYN_RECEIVED, "out-of-window"): ("ACK", 0, S.SYN_RECEIVED),
    (S.SYN_RECEIVED, "bad-ack"): ("RST", 0, S.SYN_RECEIVED),
    # Synchronized states: RFC 9293 3.10.7.4 with RFC 5961 challenge ACKs
    (S.ESTABLISHED, "syn"): ("ACK", 0, S.ESTABLISHED),
    (S.ESTABLISHED, "syn-ack"): ("ACK", 0, S.ESTABLISHED),
    (S.ESTABLISHED, "ack"): ("", 0, S.ESTABLISHED),
    (S.ESTABLISHED, "data"): ("ACK", 3, S.ESTABLISHED),
    (S.ESTABLISHED, "fin"): ("ACK", 1, S.CLOSE_WAIT),
    (S.ESTABLISHED, "rst"): ("", 0, S.CLOSED),
    (S.ESTABLISHED, "out-of-window"): ("ACK", 0, S.ESTABLISHED),
    (S.ESTABLISHED, "bad-ack"): ("ACK", 0, S.ESTABLISHED),
    (S.FIN_WAIT_1, "syn"): ("ACK", 0, S.FIN_WAIT_1),
    (S.FIN_WAIT_1, "syn-ack"): ("ACK", 0, S.FIN_WAIT_1),
    (S.FIN_WAIT_1, "ack"): ("", 0, S.FIN_WAIT_2),
    (S.FIN_WAIT_1, "data"): ("ACK", 3, S.FIN_WAIT_2),
    (S.FIN_WAIT_1, "fin"): ("ACK", 1, S.TIME_WAIT),
    (S.FIN_WAIT_1, "rst"): ("", 0, S.CLOSED),
    (S.FIN_WAIT_1, "out-of-window"): ("ACK", 0, S.FIN_WAIT_1),
    (S.FIN_WAIT_1, "bad-ack"): ("ACK", 0, S.FIN_WAIT_1),
    (S.FIN_WAIT_2, "syn"): ("ACK", 0, S.FIN_WAIT_2),
    (S.FIN_WAIT_2, "syn-ack"): ("ACK", 0, S.FIN_WAIT_2),
    (S.FIN_WAIT_2, "ack"): ("", 0, S.FIN_WAIT_2),
    (S.FIN_WAIT_2, "data"): ("ACK", 3, S.FIN_WAIT_2),
    (S.FIN_WAIT_2, "fin"): ("ACK", 1, S.TIME_WAIT),
    (S.FIN_WAIT_2, "rst"): ("", 0, S.CLOSED),
    (S.FIN_WAIT_2, "out-of-window"): ("ACK", 0, S.FIN_WAIT_2),
    (S.FIN_WAIT_2, "bad-ack"): ("ACK", 0, S.FIN_WAIT_2),
    # CLOSE-WAIT: the peer already sent FIN, so text is ignored (3.10.7.4 seventh).
    (S.CLOSE_WAIT, "syn"): ("ACK", 0, S.CLOSE_WAIT),
    (S.CLOSE_WAIT, "syn-ack"): ("ACK", 0, S.CLOSE_WAIT),
    (S.CLOSE_WAIT, "ack"): ("", 0, S.CLOSE_WAIT),
    (S.CLOSE_WAIT, "data"): ("", 0, S.CLOSE_WAIT),
    (S.CLOSE_WAIT, "fin"): ("ACK", 0, S.CLOSE_WAIT),
    (S.CLOSE_WAIT, "rst"): ("", 0, S.CLOSED),
    (S.CLOSE_WAIT, "out-of-window"): ("ACK", 0, S.CLOSE_WAIT),
    (S.CLOSE_WAIT, "bad-ack"): ("ACK", 0, S.CLOSE_WAIT),
    (S.CLOSING, "syn"): ("ACK", 0, S.CLOSING),
    (S.CLOSING, "syn-ack"): ("ACK", 0, S.CLOSING),
    (S.CLOSING, "ack"): ("", 0, S.TIME_WAIT),
    (S.CLOSING, "data"): ("", 0, S.TIME_WAIT),
    (S.CLOSING, "fin"): ("", 0, S.TIME_WAIT),
    (S.CLOSING, "rst"): ("", 0, S.CLOSED),
    (S.CLOSING, "out-of-window"): ("ACK", 0, S.CLOSING),
    (S.CLOSING, "bad-ack"): ("ACK", 0, S.CLOSING),
    (S.LAST_ACK, "syn"): ("ACK", 0, S.LAST_ACK),
    (S.LAST_ACK, "syn-ack"): ("ACK", 0, S.LAST_ACK),
    (S.LAST_ACK, "ack"): ("", 0, S.CLOSED),
    (S.LAST_ACK, "data"): ("", 0, S.CLOSED),
    (S.LAST_ACK, "fin"): ("", 0, S.CLOSED),
    (S.LAST_ACK, "rst"): ("", 0, S.CLOSED),
    (S.LAST_ACK, "out-of-window"): ("ACK", 0, S.LAST_ACK),
    (S.LAST_ACK, "bad-ack"): ("ACK", 0, S.LAST_ACK),
    (S.TIME_WAIT, "syn"): ("ACK", 0, S.TIME_WAIT),
    (S.TIME_WAIT, "syn-ack"): ("ACK", 0, S.TIME_WAIT),
    (S.TIME_WAIT, "ack"): ("", 0, S.TIME_WAIT),
    (S.TIME_WAIT, "data"): ("", 0, S.TIME_WAIT),
    (S.TIME_WAIT, "fin"): ("ACK", 0, S.TIME_WAIT),
    (S.TIME_WAIT, "rst"): ("", 0, S.CLOSED),
    (S.TIME_WAIT, "out-of-window"): ("ACK", 0, S.TIME_WAIT),
    (S.TIME_WAIT, "bad-ack"): ("ACK", 0, S.TIME_WAIT),
}


def test_matrix_covers_every_state_and_kind() -> None:
    assert set(EXPECT) == {(s, k) for s in BUILDERS for k in KINDS}


@pytest.mark.parametrize(("state", "kind"), list(EXPECT), ids=lambda v: str(v))
def test_reply_and_next_state(state: State, kind: str) -> None:
    reply, advance, next_state = EXPECT[(state, kind)]
    conn = BUILDERS[state]()
    snd_nxt, rcv_nxt = POSITION[state]
    assert (conn.snd_nxt, conn.state) == (snd_nxt, state)
    fields = segment(kind, snd_nxt, rcv_nxt)
    feed(conn, 1_000, **fields)
    got = [(s.flags, s.seq, s.ack, len(s.payload)) for s in out(conn, 1_000)]
    want: list[tuple[int, int, int, int]]
    if reply == "":
        want = []
    elif reply == "ACK":
        # <SEQ=SND.NXT><ACK=RCV.NXT>: SND.NXT as the builder left it, never what the
        # connection under test says it is now.
        want = [(ACK, snd_nxt, rcv_nxt + advance, 0)]
    elif reply == "RST":
        want = [(RST, fields["ack"], 0, 0)]
    else:  # SYN-ACK
        want = [(SYN | ACK, LOCAL_ISS, fields["seq"] + advance, 0)]
    assert got == want
    assert conn.state is next_state
    # Nothing from the network ever raises, and every drop is counted with a reason.
    if reply in ("", "RST") and next_state is state and kind not in ("ack", "rst"):
        assert any(k.startswith("drop.") for k in conn.counters)

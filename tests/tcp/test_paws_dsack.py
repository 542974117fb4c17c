"""A PAWS-rejected duplicate is reported in a D-SACK block (RFC 2883 4, RFC 7323 5.3).

On a path that reorders, the original of a segment often arrives after its
retransmission: TS.Recent has moved past the original's TSval, so PAWS rejects
it (RFC 7323 5.3 R1). It is still a duplicate the receiver got, and only a
D-SACK tells the sender that its retransmission was needless (RFC 3708 undo,
RFC 8985 6.2 step 4's wider reordering window).
"""

from __future__ import annotations

from synack.wire.tcp import ACK, PSH, Sack
from tests.tcp.helpers import MSS, feed, out
from tests.tcp.test_timestamps import PEER_TS, L, R, peer_ts, ts_established


def sack_blocks(seg: object) -> list[tuple[int, int]]:
    for opt in getattr(seg, "options", ()):
        if isinstance(opt, Sack):
            return list(opt.blocks)
    return []


def test_paws_rejected_old_data_is_dsacked() -> None:
    conn, _ = ts_established()
    data = b"d" * MSS
    # The retransmission (newer TSval) arrives first and is delivered ...
    feed(conn, 20_000, seq=R, ack=L, flags=ACK | PSH, options=peer_ts(PEER_TS + 5), payload=data)
    assert conn.recv() == data
    out(conn, 20_000)
    # ... then the delayed original, with an older TSval: PAWS drops it.
    feed(conn, 21_000, seq=R, ack=L, flags=ACK | PSH, options=peer_ts(PEER_TS + 2), payload=data)
    assert conn.counters["drop.paws"] == 1
    (reply,) = out(conn, 21_000)
    # RFC 2883 4 (1): "A D-SACK block is used only to report a duplicate
    # contiguous sequence of data received by the receiver in the most recent packet."
    assert reply.ack == R + MSS
    assert sack_blocks(reply) == [(R, R + MSS)]


def test_paws_rejected_segment_beyond_rcv_nxt_is_not_dsacked() -> None:
    conn, _ = ts_established()
    feed(conn, 20_000, seq=R, ack=L, flags=ACK, options=peer_ts(PEER_TS + 5))
    out(conn, 20_000)
    # New data with an old TSval: not a duplicate of anything we hold.
    feed(conn, 21_000, seq=R, ack=L, flags=ACK | PSH, options=peer_ts(PEER_TS + 2), payload=b"x")
    assert conn.counters["drop.paws"] == 1
    (reply,) = out(conn, 21_000)
    assert sack_blocks(reply) == []


def test_new_data_one_tick_older_than_ts_recent_passes_paws() -> None:
    conn, _ = ts_established()
    a, b = b"a" * MSS, b"b" * MSS
    # The peer sent b (TSval +2) and then, a tick later, retransmitted a (TSval +3);
    # the path held b back, so a filled the hole first and set TS.Recent.
    feed(conn, 20_000, seq=R, ack=L, flags=ACK, options=peer_ts(PEER_TS + 3), payload=a)
    out(conn, 20_000)
    feed(conn, 21_000, seq=R + MSS, ack=L, flags=ACK, options=peer_ts(PEER_TS + 2), payload=b)
    # One tick (Linux's TCP_PAWS_WINDOW) is no sign of a wrapped sequence space.
    assert conn.counters["drop.paws"] == 0
    assert conn.recv() == a + b


def test_two_ticks_older_than_ts_recent_fails_paws() -> None:
    conn, _ = ts_established()
    feed(conn, 20_000, seq=R, ack=L, flags=ACK, options=peer_ts(PEER_TS + 3), payload=b"a")
    feed(conn, 21_000, seq=R + 1, ack=L, flags=ACK, options=peer_ts(PEER_TS + 1), payload=b"b")
    # RFC 7323 5.3 R1: "SEG.TSval < TS.Recent": not acceptable.
    assert conn.counters["drop.paws"] == 1
    assert conn.recv() == b"a"

"""D-SACK blocks get a range check too (RFC 2883 4, RFC 3708 2, RFC 8985 6.2).

A first SACK block below the cumulative ACK, or inside the second block, reports
a duplicate (D-SACK). Such a block used to be believed whatever its range, while
the other blocks were checked against the data in flight: a forged or broken one
widened RACK's reordering window, and one naming a retransmission from long ago
undid a congestion response. A D-SACK block must lie inside what was sent: above
SND.UNA and at most SND.NXT, or wholly below SND.UNA but no more than the largest
window the peer offered (MAX.SND.WND) below it (Linux: tcp_is_sackblock_valid).
"""

from __future__ import annotations

import pytest

from tests.tcp.helpers import MSS, PEER_WINDOW, feed, out
from tests.tcp.test_sack import L, sack, sack_established, send_segments, sent_seqs


@pytest.mark.parametrize(
    "blocks",
    [
        # beyond SND.NXT (10 segments were sent), "inside" a second block beyond it too
        ((L + 20 * MSS, L + 21 * MSS), (L + 20 * MSS, L + 30 * MSS)),
        # below the cumulative ACK but empty / reversed
        ((L + MSS, L + MSS),),
        ((L + 2 * MSS, L + MSS),),
        # below SND.UNA by far more than any window the peer offered (60,000 octets)
        ((L - 200_000, L - 199_000),),
        # straddling SND.UNA: a duplicate is wholly below it or wholly in flight
        ((L + MSS, L + 3 * MSS), (L, L + 5 * MSS)),
    ],
    ids=["beyond-snd-nxt", "empty", "reversed", "too-old", "straddles-snd-una"],
)
def test_a_forged_dsack_block_changes_neither_reo_wnd_nor_the_counters(
    blocks: tuple[tuple[int, int], ...],
) -> None:
    conn = sack_established()
    send_segments(conn, 10)
    rec = conn.snd.rec
    feed(conn, 20_000, ack=L + 2 * MSS)
    feed(conn, 20_100, ack=L + 2 * MSS, options=sack(*blocks))
    # RFC 8985 6.2 step 4 widens reo_wnd only for a D-SACK: none was received.
    assert rec.reo_wnd_mult == 1
    assert rec.reo_wnd_persist == 0
    assert conn.counters["dsack_received"] == 0
    assert conn.counters["drop.sack_block_invalid"] >= 1
    # The ACK itself still counts: nothing else went wrong.
    assert conn.snd_una == L + 2 * MSS


def test_a_genuine_dsack_block_below_snd_una_still_widens_reo_wnd() -> None:
    # The check keeps what RFC 8985 6.2 needs: a duplicate of the segment just
    # acknowledged, one MSS below SND.UNA.
    conn = sack_established()
    send_segments(conn, 10)
    rec = conn.snd.rec
    feed(conn, 20_000, ack=L + 2 * MSS)
    feed(conn, 20_100, ack=L + 2 * MSS, options=sack((L + MSS, L + 2 * MSS)))
    assert conn.counters["dsack_received"] == 1
    assert rec.reo_wnd_mult == 2


def test_a_dsack_for_a_retransmission_older_than_any_window_does_not_undo() -> None:
    # A recovery episode retransmits segment 1; no D-SACK comes back for it. Far
    # more than MAX.SND.WND later, a "D-SACK" for that retransmission arrives: no
    # duplicate can be that old (the receiver would have reported it while the
    # data was within its window), so it must not undo the episode (RFC 3708 2
    # undoes only on evidence).
    conn = sack_established(rack=False, congestion_control="cubic")
    send_segments(conn, 10)
    for k in (2, 3, 4):
        feed(conn, 20_000 + k, ack=L, options=sack((L + MSS, L + k * MSS)))
    assert sent_seqs(out(conn, 20_004)) == [1]
    feed(conn, 21_000, ack=L + 10 * MSS)
    assert not conn.in_recovery
    # 70 more segments, each batch acknowledged: SND.UNA moves 80,000 octets past
    # segment 1, more than the 60,000 the peer ever offered.
    una = L + 10 * MSS
    now = 30_000
    pending = 70 * MSS
    while una < L + 80 * MSS:
        pending -= conn.send(b"n" * pending)
        sent = out(conn, now)
        assert sent
        una = max(s.seq + len(s.payload) for s in sent)
        now += 10_000
        feed(conn, now, ack=una)
    assert una - L > PEER_WINDOW
    cwnd = conn.cwnd
    feed(conn, now + 1_000, ack=una, options=sack((L, L + MSS)))
    assert conn.counters["recovery.spurious"] == 0
    assert conn.counters["dsack_received"] == 0
    assert conn.cwnd == cwnd

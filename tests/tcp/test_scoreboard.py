"""The sender's SACK scoreboard (RFC 6675 2-4) and the receiver's SACK blocks (RFC 2018 4, RFC 2883)."""

from __future__ import annotations

from synack.tcp.reassembly import Reassembler
from synack.tcp.sack import EVER_RETRANS, LOST, RETRANS, SACKED, SackReceiver, Scoreboard, TxSeg

MSS = 1000


def board(n: int, *, now: int = 0) -> Scoreboard:
    """``n`` full segments sent back to back from offset 0."""
    sb = Scoreboard()
    for i in range(n):
        sb.add(TxSeg(i * MSS, (i + 1) * MSS, now, False))
    return sb


def test_pipe_is_flight_size_without_sack_or_loss() -> None:
    sb = board(10)
    assert sb.outstanding == sb.pipe == 10 * MSS


def test_sacked_segments_leave_the_pipe_and_are_reported_once() -> None:
    sb = board(10)
    newly: list[TxSeg] = []
    sb.sack(2 * MSS, 5 * MSS, newly)
    assert [s.start for s in newly] == [2000, 3000, 4000]
    assert sb.sacked == 3 * MSS
    assert sb.sacked_segs == 3
    assert sb.high_sacked == 5 * MSS
    assert sb.pipe == 7 * MSS
    newly.clear()
    sb.sack(2 * MSS, 5 * MSS, newly)  # the same block again: nothing new
    assert newly == []
    assert sb.pipe == 7 * MSS


def test_partial_block_coverage_marks_only_whole_segments() -> None:
    sb = board(4)
    newly: list[TxSeg] = []
    sb.sack(1500, 3000, newly)
    assert [s.start for s in newly] == [2000]


def test_lost_then_retransmitted_segment_counts_once_in_pipe() -> None:
    sb = board(5)
    first = sb.first()
    assert first is not None
    assert sb.mark_lost(first, "rack")
    assert not sb.mark_lost(first, "rack")  # already waiting for retransmission
    assert sb.pipe == 4 * MSS  # RFC 6675 SetPipe: a lost segment is not in the pipe
    assert sb.next_lost() is first
    sb.on_retransmit(first, 100)
    assert first.flags == LOST | RETRANS | EVER_RETRANS
    assert sb.pipe == 5 * MSS  # ... but its retransmission is
    assert sb.next_lost() is None
    # RACK may find the retransmission lost too: it leaves the pipe and is queued again.
    assert sb.mark_lost(first, "rack")
    assert sb.pipe == 4 * MSS
    assert sb.next_lost() is first


def test_next_lost_returns_the_lowest_sequence_first() -> None:
    sb = board(6)
    segs = list(sb)
    for i in (4, 1, 3):
        sb.mark_lost(segs[i], "rack")
    order = []
    while (s := sb.next_lost()) is not None:
        order.append(s.start)
        sb.on_retransmit(s, 1)
    assert order == [1000, 3000, 4000]


def test_cumulative_ack_removes_segments_and_their_totals() -> None:
    sb = board(6)
    segs = list(sb)
    newly: list[TxSeg] = []
    sb.sack(3 * MSS, 4 * MSS, newly)
    sb.mark_lost(segs[0], "rack")
    sb.on_retransmit(segs[0], 5)
    acked: list[TxSeg] = []
    sb.advance(4 * MSS, acked)
    assert [s.start for s in acked] == [0, 1000, 2000, 3000]
    assert (sb.sacked, sb.lost, sb.retrans) == (0, 0, 0)
    assert sb.una == 4 * MSS
    assert sb.pipe == 2 * MSS
    assert sb.first() is segs[4]


def test_ack_inside_a_segment_trims_it() -> None:
    sb = board(2)
    acked: list[TxSeg] = []
    sb.advance(1500, acked)
    assert [s.start for s in acked] == [0]
    first = sb.first()
    assert first is not None
    assert (first.start, first.end) == (1500, 2000)
    assert sb.pipe == 500


def test_lost_segments_acknowledged_before_retransmission_are_skipped() -> None:
    sb = board(3)
    segs = list(sb)
    sb.mark_lost(segs[0], "rack")
    sb.mark_lost(segs[1], "rack")
    sb.advance(MSS, [])
    assert sb.next_lost() is segs[1]


def test_mark_all_lost_skips_sacked_segments() -> None:
    sb = board(5)
    sb.sack(MSS, 2 * MSS, [])
    assert sb.mark_all_lost("rto_recovery") == 4
    assert sb.pipe == 0
    assert [s.start for s in sb if s.flags & SACKED] == [1000]


def test_clear_sacks_after_reneging() -> None:
    sb = board(3)
    sb.sack(MSS, 3 * MSS, [])
    sb.clear_sacks()
    assert sb.sacked == 0
    assert sb.pipe == 3 * MSS
    assert not any(s.flags & SACKED for s in sb)


def test_split_keeps_totals_and_queues_a_lost_tail() -> None:
    sb = board(2)
    first = sb.first()
    assert first is not None
    sb.mark_lost(first, "rack")
    tail = sb.split(first, 600)
    assert (first.start, first.end, tail.start, tail.end) == (0, 600, 600, 1000)
    assert sb.lost == MSS
    assert sb.next_lost() is first
    sb.on_retransmit(first, 1)
    assert sb.next_lost() is tail


def test_compaction_keeps_lookups_right() -> None:
    sb = board(2000)
    sb.advance(1500 * MSS, [])
    newly: list[TxSeg] = []
    sb.sack(1700 * MSS, 1701 * MSS, newly)
    assert [s.start for s in newly] == [1700 * MSS]
    assert len(sb) == 500


# ------------------------------------------------------------------ receiver


def holding(*ranges: tuple[int, int]) -> Reassembler:
    """A receive queue holding exactly ``ranges``."""
    r = Reassembler()
    for start, end in ranges:
        r.insert(start, bytes(end - start))
    return r


def test_receiver_reports_the_newest_block_first_then_older_ones() -> None:
    rx = SackReceiver()
    rx.note_received((2000, 3000))
    rx.note_received((5000, 6000))
    held = holding((2000, 3000), (5000, 6000))
    assert rx.blocks(1000, held, 4) == [(5000, 6000), (2000, 3000)]
    held.insert(3000, bytes(1000))
    rx.note_received((2000, 4000))  # the first block grew: it is the newest again
    assert rx.blocks(1000, held, 4) == [(2000, 4000), (5000, 6000)]


def test_receiver_limits_blocks_and_fills_with_highest_held_ranges() -> None:
    rx = SackReceiver()
    ranges = [(i * 2000, i * 2000 + 1000) for i in range(1, 7)]
    rx.note_received(ranges[0])
    assert rx.blocks(0, holding(*ranges), 3) == [ranges[0], ranges[5], ranges[4]]


def test_receiver_drops_blocks_delivered_in_order() -> None:
    rx = SackReceiver()
    rx.note_received((2000, 3000))
    assert rx.blocks(3000, holding(), 4) == []


def test_dsack_block_comes_first_and_only_once() -> None:
    rx = SackReceiver()
    held = holding((5000, 6000))
    rx.note_received((5000, 6000))
    rx.note_duplicate(1000, 2000)
    assert rx.pending_dsack
    # RFC 2883 4: the D-SACK block first, then the usual blocks.
    assert rx.blocks(3000, held, 3) == [(1000, 2000), (5000, 6000)]
    assert rx.blocks(3000, held, 3) == [(5000, 6000)]

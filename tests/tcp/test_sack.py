"""SACK at the connection: negotiation and blocks (RFC 2018), D-SACK (RFC 2883), and
SACK-based loss recovery (RFC 6675) with RACK (RFC 8985 6) and PRR (RFC 6937)."""

from __future__ import annotations

from typing import Any

from synack.sim import LinkConfig
from synack.sim.rules import DropRule, is_data
from synack.sim.scenario import run_transfer
from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.wire.tcp import ACK, FIN, SYN, MaxSegmentSize, NoOperation, Sack, SackPermitted, Segment
from tests.tcp.helpers import LOCAL_ISS, MSS, REMOTE_ISS, events, feed, new_conn, out

L = LOCAL_ISS + 1
R = REMOTE_ISS + 1
RTT = 10_000


def sack_established(**config: Any) -> Connection:
    """ESTABLISHED with SACK (no timestamps), a 10 ms handshake RTT, at t = 10 ms."""
    conn = new_conn(sack=True, **config)
    conn.connect(0)
    out(conn)
    feed(
        conn,
        RTT,
        seq=REMOTE_ISS,
        ack=L,
        flags=SYN | ACK,
        options=(MaxSegmentSize(MSS), SackPermitted()),
    )
    out(conn, RTT)
    events(conn)
    assert conn.state is State.ESTABLISHED
    assert conn.sack_ok
    return conn


def sack(*blocks: tuple[int, int]) -> tuple[Sack]:
    return (Sack(tuple(blocks)),)


def seg_block(i: int, j: int | None = None) -> tuple[int, int]:
    """Our segments i..j (1-based, MSS each) as a SACK block."""
    j = i if j is None else j
    return (L + (i - 1) * MSS, L + j * MSS)


def send_segments(conn: Connection, n: int, now: int = RTT, extra: int = 0) -> list[Segment]:
    conn.send(b"s" * (n + extra) * MSS)
    segs = out(conn, now)
    assert len(segs) == n
    return segs


def sent_seqs(segs: list[Segment]) -> list[int]:
    return [(s.seq - L) // MSS + 1 for s in segs]


# -------------------------------------------------------------- negotiation


def test_no_sack_unless_both_syns_carry_sack_permitted() -> None:
    conn = new_conn(sack=True)
    conn.connect(0)
    out(conn)
    feed(conn, seq=REMOTE_ISS, ack=L, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    assert not conn.sack_ok
    feed(conn, seq=R + 500, ack=L, flags=ACK, payload=b"ooo")
    (dupack,) = out(conn)
    assert dupack.sack_blocks == ()


def test_sack_off_in_config_never_offers_it() -> None:
    conn = new_conn(sack=False)
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS), SackPermitted()))
    (synack,) = out(conn)
    assert not synack.sack_permitted


# -------------------------------------------------------------- receiver


def test_out_of_order_data_is_reported_newest_block_first() -> None:
    conn = sack_established()
    feed(conn, seq=R + 1000, ack=L, payload=b"a" * 1000)
    (first,) = out(conn)
    assert first.ack == R
    assert first.sack_blocks == ((R + 1000, R + 2000),)
    feed(conn, seq=R + 3000, ack=L, payload=b"b" * 1000)
    (second,) = out(conn)
    # RFC 2018 4: the block holding the segment that triggered the ACK comes first.
    assert second.sack_blocks == ((R + 3000, R + 4000), (R + 1000, R + 2000))
    feed(conn, seq=R + 2000, ack=L, payload=b"c" * 1000)  # joins the two
    (third,) = out(conn)
    assert third.sack_blocks == ((R + 1000, R + 4000),)
    feed(conn, seq=R, ack=L, payload=b"d" * 1000)  # fills the hole
    (full,) = out(conn)
    assert full.ack == R + 4000
    assert full.sack_blocks == ()


def test_a_fin_held_out_of_order_is_inside_its_block() -> None:
    # RFC 2018 3: the right edge is "the sequence number immediately following the
    # last sequence number of this block"; the FIN has one (RFC 9293 3.4), so the
    # block of a segment with data and FIN ends after the FIN, as Linux's do.
    conn = sack_established()
    feed(conn, seq=R + 1000, ack=L, flags=ACK | FIN, payload=b"a" * 1000)
    (reply,) = out(conn)
    assert reply.ack == R
    assert reply.sack_blocks == ((R + 1000, R + 2001),)
    feed(conn, seq=R, ack=L, payload=b"d" * 1000)  # fills the hole: data and FIN in order
    (full,) = out(conn)
    assert full.ack == R + 2001
    assert full.sack_blocks == ()


def test_a_bare_fin_held_out_of_order_is_a_block_of_one() -> None:
    conn = sack_established()
    feed(conn, seq=R + 1000, ack=L, flags=ACK | FIN)
    (reply,) = out(conn)
    assert reply.ack == R
    assert reply.sack_blocks == ((R + 1000, R + 1001),)


def test_a_loss_just_before_the_fin_is_repaired_without_a_timeout() -> None:
    # The last data segments carry the FIN; one lost before it used to wait for
    # the RTO (1 s here) because the FIN's segment could never be seen SACKed.
    link = LinkConfig(delay=10_000, rules=(DropRule.nth(is_data, 69),))
    result = run_transfer(100_000, link)
    assert result.verified
    assert result.counters.get("conn.retransmit.rto", 0) == 0
    assert result.sim_seconds < 0.5


def test_blocks_come_most_recent_first_whatever_order_the_data_arrives_in() -> None:
    # RFC 2018 4: "The first SACK block ... MUST specify the contiguous block of data
    # containing the segment which triggered this ACK"; the others "SHOULD ...
    # repeat the most recently reported SACK blocks". Arrivals that are not in
    # ascending order tell "most recent" apart from "highest" or "lowest".
    conn = sack_established()
    expected = {
        5000: ((R + 5000, R + 6000),),
        1000: ((R + 1000, R + 2000), (R + 5000, R + 6000)),
        3000: ((R + 3000, R + 4000), (R + 1000, R + 2000), (R + 5000, R + 6000)),
        6000: ((R + 5000, R + 7000), (R + 3000, R + 4000), (R + 1000, R + 2000)),
        2000: ((R + 1000, R + 4000), (R + 5000, R + 7000)),
    }
    for offset, blocks in expected.items():
        feed(conn, seq=R + offset, ack=L, payload=b"o" * 1000)
        (ack,) = out(conn)
        assert (ack.ack, ack.sack_blocks) == (R, blocks), offset


def test_at_most_four_blocks_without_timestamps() -> None:
    conn = sack_established()
    for i in range(6):
        feed(conn, seq=R + 1000 + 2000 * i, ack=L, payload=b"x" * 1000)
        out(conn)
    feed(conn, seq=R + 1000, ack=L, payload=b"x" * 1000)  # a duplicate of a held block
    (ack,) = out(conn)
    assert len(ack.sack_blocks) == 4


def test_duplicate_below_rcv_nxt_is_reported_by_dsack_once() -> None:
    conn = sack_established()
    feed(conn, seq=R, ack=L, payload=b"p" * 100)
    out(conn)
    feed(conn, seq=R, ack=L, payload=b"p" * 100)  # the same segment again
    (ack,) = out(conn)
    # RFC 2883 4 (1): the first block is the duplicate, below the cumulative ACK.
    assert ack.ack == R + 100
    assert ack.sack_blocks == ((R, R + 100),)
    feed(conn, seq=R + 100, ack=L, payload=b"q")
    (next_ack,) = out(conn)
    assert next_ack.sack_blocks == ()


def test_partly_old_segment_reports_its_old_part() -> None:
    conn = sack_established()
    feed(conn, seq=R, ack=L, payload=b"p" * 100)
    out(conn)
    feed(conn, seq=R + 50, ack=L, payload=b"p" * 100)
    (ack,) = out(conn)
    assert ack.ack == R + 150
    assert ack.sack_blocks == ((R + 50, R + 100),)


def test_duplicate_of_queued_data_is_followed_by_its_block() -> None:
    conn = sack_established()
    feed(conn, seq=R + 1000, ack=L, payload=b"a" * 1000)
    feed(conn, seq=R + 2000, ack=L, payload=b"a" * 500)
    out(conn)
    feed(conn, seq=R + 1000, ack=L, payload=b"a" * 1000)
    (ack,) = out(conn)
    # RFC 2883 4 (3): the D-SACK block, then the (larger) block that holds it.
    assert ack.sack_blocks == ((R + 1000, R + 2000), (R + 1000, R + 2500))


def test_dsack_can_be_switched_off() -> None:
    conn = sack_established(dsack=False)
    feed(conn, seq=R, ack=L, payload=b"p" * 100)
    out(conn)
    feed(conn, seq=R, ack=L, payload=b"p" * 100)
    (ack,) = out(conn)
    assert ack.sack_blocks == ()


def test_full_data_segment_leaves_no_room_for_blocks() -> None:
    conn = sack_established(nodelay=True)
    feed(conn, seq=R + 1000, ack=L, payload=b"a" * 1000)
    out(conn)
    conn.send(b"z" * (MSS + 100))
    full, short = out(conn)
    # RFC 6691: options come out of the MSS; a full segment has none to spare.
    assert full.sack_blocks == ()
    assert short.sack_blocks == ((R + 1000, R + 2000),)


# -------------------------------------------------------------- sender: RACK


def test_rack_waits_a_quarter_rtt_before_calling_a_lone_hole_lost() -> None:
    conn = sack_established()
    send_segments(conn, 10)
    feed(conn, 20_000, ack=L, options=sack(seg_block(2)))
    assert out(conn, 20_000) == []
    # RFC 8985 6.2: reo_wnd = min_RTT / 4 (10 ms / 4) while fewer than DupThresh
    # segments are SACKed and no reordering was seen.
    assert conn.next_deadline() == 20_000 + 2_500
    conn.handle_timer(22_500)
    (rtx,) = out(conn, 22_500)
    assert sent_seqs([rtx]) == [1]
    assert conn.in_recovery
    assert conn.counters["rack.lost"] == 1


def test_three_sacked_segments_mark_the_hole_lost_at_once() -> None:
    conn = sack_established()
    send_segments(conn, 10)
    feed(conn, 20_000, ack=L, options=sack(seg_block(2)))
    feed(conn, 20_100, ack=L, options=sack(seg_block(2, 3)))
    assert out(conn, 20_100) == []
    feed(conn, 20_200, ack=L, options=sack(seg_block(2, 4)))
    (rtx,) = out(conn, 20_200)
    assert sent_seqs([rtx]) == [1]
    # NewReno's reduction: ssthresh = FlightSize / 2.
    assert conn.ssthresh == 5 * MSS
    assert conn.counters["fast_retransmit"] == 1


def test_sack_blocks_count_when_padding_follows_the_option() -> None:
    # RFC 2018 3 does not fix where the SACK option goes: "sack ..., nop, nop"
    # (how packetdrill scripts write it) reports the same blocks as "nop, nop, sack".
    conn = sack_established()
    send_segments(conn, 4)
    nop = NoOperation()
    for n, now in ((2, 20_000), (3, 20_100), (4, 20_200)):
        feed(conn, now, ack=L, options=(Sack((seg_block(2, n),)), nop, nop))
    (rtx,) = out(conn, 20_200)
    assert sent_seqs([rtx]) == [1]
    assert conn.counters["fast_retransmit"] == 1


def test_rfc6675_is_lost_when_rack_is_off() -> None:
    conn = sack_established(rack=False)
    send_segments(conn, 10)
    feed(conn, 20_000, ack=L, options=sack(seg_block(2)))
    feed(conn, 20_100, ack=L, options=sack(seg_block(2, 3)))
    assert out(conn, 20_100) == []
    assert conn.next_deadline() != 22_500  # no reordering timer without RACK
    feed(conn, 20_200, ack=L, options=sack(seg_block(2, 4)))
    (rtx,) = out(conn, 20_200)
    assert sent_seqs([rtx]) == [1]
    assert conn.in_recovery


def test_sack_recovery_retransmits_every_hole_once_and_ends_at_the_recovery_point() -> None:
    conn = sack_established(rack=False)
    send_segments(conn, 10)
    # segments 1 and 5 lost; the rest SACKed one ACK at a time
    blocks: list[tuple[int, int]] = []
    resent: list[int] = []
    for i, b in enumerate([2, 3, 4, 6, 7, 8, 9, 10]):
        blocks = [seg_block(2, b)] if b < 5 else [seg_block(6, b), seg_block(2, 4)]
        feed(conn, 20_000 + i * 100, ack=L, options=sack(*blocks))
        resent += sent_seqs(out(conn, 20_000 + i * 100))
    assert sorted(resent) == [1, 5]
    feed(conn, 30_000, ack=L + 10 * MSS)
    assert not conn.in_recovery
    assert conn.cwnd <= conn.ssthresh


def test_sacked_segments_are_not_resent_after_an_rto() -> None:
    conn = sack_established(rack=False)
    send_segments(conn, 5)
    feed(conn, 20_000, ack=L, options=sack(seg_block(3, 4)))
    assert out(conn, 20_000) == []
    rto_at = conn.next_deadline()
    assert rto_at is not None
    conn.handle_timer(rto_at)
    (first,) = out(conn, rto_at)  # cwnd is one segment
    assert sent_seqs([first]) == [1]
    feed(conn, rto_at + RTT, ack=L + MSS, options=sack(seg_block(3, 4)))
    assert sent_seqs(out(conn, rto_at + RTT)) == [2, 5]


def test_head_sacked_at_rto_means_reneging_and_sacks_are_forgotten() -> None:
    conn = sack_established(rack=False)
    send_segments(conn, 3)
    feed(conn, 20_000, ack=L, options=sack(seg_block(1)))
    rto_at = conn.next_deadline()
    assert rto_at is not None
    conn.handle_timer(rto_at)
    assert conn.counters["sack.reneging"] == 1
    assert sent_seqs(out(conn, rto_at)) == [1]


def test_reordering_seen_keeps_the_reordering_window_open() -> None:
    conn = sack_established()
    send_segments(conn, 10)
    # segment 2 arrives before 1 (reordering, not loss)
    feed(conn, 20_000, ack=L, options=sack(seg_block(2)))
    feed(conn, 20_500, ack=L + 2 * MSS)
    assert conn.counters["reordering_seen"] == 1
    feed(conn, 21_000, ack=L + 2 * MSS, options=sack(seg_block(4, 6)))
    # three SACKed segments above segment 3, but reordering was seen: wait reo_wnd
    assert out(conn, 21_000) == []
    assert not conn.in_recovery


# -------------------------------------------------------------- PRR


def test_prr_spreads_sending_then_holds_pipe_at_ssthresh() -> None:
    conn = sack_established(rack=False, nodelay=True)
    send_segments(conn, 10, extra=30)
    rec = conn.snd.rec
    for k in range(2, 11):
        feed(conn, 20_000 + k * 100, ack=L, options=sack(seg_block(2, k)))
        pipe_before = rec.pipe
        out(conn, 20_000 + k * 100)
        if not rec.in_recovery:
            continue
        if pipe_before > conn.ssthresh:
            # RFC 6937 3, proportional part: prr_out never passes
            # CEIL(prr_delivered * ssthresh / RecoverFS), but for the fast retransmit.
            bound = -(-rec.prr_delivered * conn.ssthresh // rec.recover_fs)
            assert rec.prr_out <= max(bound, MSS)
        else:
            # slow start reduction bound: pipe is brought up to ssthresh, no further
            assert rec.pipe == conn.ssthresh
    assert rec.in_recovery
    # FlightSize was 12 segments (two sent as SACKs shrank the pipe), cwnd 10: the
    # decrease starts from the smaller (Recovery.reduction_base).
    assert conn.ssthresh == 5 * MSS
    assert rec.pipe == conn.ssthresh


def test_without_prr_cwnd_is_ssthresh_during_recovery() -> None:
    conn = sack_established(rack=False, prr=False, nodelay=True)
    send_segments(conn, 10, extra=30)
    for k in range(2, 5):
        feed(conn, 20_000 + k * 100, ack=L, options=sack(seg_block(2, k)))
    assert conn.in_recovery
    assert conn.cwnd == conn.ssthresh  # RFC 6675 (4.2)


def test_an_ack_that_both_advances_and_sacks_is_not_reordering() -> None:
    # A delayed-ACK receiver holds segment 1, then 2 is lost and 3 arrives: its
    # immediate ACK acknowledges 1 and SACKs 3 at once. That is loss, not reordering.
    conn = sack_established()
    send_segments(conn, 6)
    feed(conn, 20_000, ack=L + MSS, options=sack(seg_block(3)))
    assert conn.counters["reordering_seen"] == 0
    feed(conn, 20_100, ack=L + MSS, options=sack(seg_block(3, 5), seg_block(6)))
    assert conn.counters["reordering_seen"] == 0


def test_retransmission_and_new_data_sent_in_one_microsecond_keep_their_order() -> None:
    # With an unlimited-rate link a whole flight of ACKs arrives in one virtual
    # microsecond: new data (on the first SACKs) and then the fast retransmit
    # leave at the same time. When that new data is SACKed first, RACK must not
    # call the retransmission lost: "sent after" is decided by transmission order
    # (RFC 8985 breaks timestamp ties by sequence, which gets this one wrong).
    conn = sack_established(nodelay=True)
    send_segments(conn, 10, extra=20)
    sent = []
    for k in range(2, 5):
        feed(conn, 20_000, ack=L, options=sack(seg_block(2, k)))
        sent += sent_seqs(out(conn, 20_000))
    assert sent == [11, 12, 1]
    feed(conn, 30_000, ack=L, options=sack(seg_block(2, 12)))
    assert 1 not in sent_seqs(out(conn, 30_000))
    assert conn.counters["retransmit.segments"] == 1


def test_decrease_starts_from_cwnd_when_losses_inflate_flight_size() -> None:
    # SACKs shrink the pipe, so new data goes out while the holes stay below
    # HighData: FlightSize outgrows cwnd, and halving it would leave ssthresh
    # above anything the path carried.
    conn = sack_established(rack=False, nodelay=True)
    send_segments(conn, 10, extra=40)
    feed(conn, 20_000, ack=L, options=sack(seg_block(2), seg_block(4)))  # 1 and 3 lost
    out(conn, 20_000)
    flight, cwnd = conn.in_flight, conn.cwnd
    assert flight > cwnd
    feed(conn, 20_010, ack=L, options=sack(seg_block(6), seg_block(4), seg_block(2)))
    assert conn.in_recovery
    assert conn.ssthresh == cwnd // 2


def test_leaving_recovery_sets_cwnd_to_ssthresh() -> None:
    # RFC 6937 3: "On exiting recovery: cwnd = ssthresh" (not RFC 6582's
    # min(ssthresh, FlightSize + SMSS), which a short flight would collapse).
    conn = sack_established(rack=False)
    send_segments(conn, 10)
    for k in range(2, 5):
        feed(conn, 20_000 + k, ack=L, options=sack(seg_block(2, k)))
    out(conn, 20_004)
    assert conn.in_recovery
    feed(conn, 30_000, ack=L + 10 * MSS)
    assert not conn.in_recovery
    assert conn.in_flight == 0
    assert conn.cwnd == conn.ssthresh == 5 * MSS


def test_dsack_of_a_segment_never_retransmitted_does_not_undo() -> None:
    # RFC 3708 2: only a D-SACK for a retransmission shows it was needless; a
    # duplicate the network made says nothing about the loss.
    conn = sack_established(rack=False)
    send_segments(conn, 10)
    for k in range(2, 5):
        feed(conn, 20_000 + k, ack=L, options=sack(seg_block(2, k)))
    out(conn, 20_004)
    feed(conn, 30_000, ack=L + 10 * MSS)
    reduced = conn.cwnd
    feed(conn, 31_000, ack=L + 10 * MSS, options=sack(seg_block(7)))
    assert conn.counters["recovery.spurious"] == 0
    assert conn.cwnd == reduced
    feed(conn, 32_000, ack=L + 10 * MSS, options=sack(seg_block(1)))
    assert conn.counters["recovery.spurious"] == 1
    assert conn.cwnd == 10 * MSS  # NewReno's window before the decrease (RFC 4015)


def test_dsack_widens_racks_reordering_window() -> None:
    # RFC 8985 6.2 step 4: reo_wnd_mult grows once per round that sees a D-SACK.
    conn = sack_established()
    send_segments(conn, 10)
    rec = conn.snd.rec
    feed(conn, 20_000, ack=L + 2 * MSS)
    assert rec.reo_wnd_mult == 1
    feed(conn, 20_100, ack=L + 2 * MSS, options=sack(seg_block(1)))
    assert rec.reo_wnd_mult == 2
    feed(conn, 20_200, ack=L + 2 * MSS, options=sack(seg_block(2)))
    assert rec.reo_wnd_mult == 2  # same round
    assert rec.reo_wnd_persist == 16


def test_no_fast_retransmit_for_duplicate_acks_below_the_rto_recovery_point() -> None:
    # RFC 6582 4: after a timeout recover = the highest sequence number sent, and
    # duplicate ACKs for data sent before it do not start a fast retransmit.
    conn = new_conn()
    conn.connect(0)
    out(conn)
    feed(conn, RTT, seq=REMOTE_ISS, ack=L, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    out(conn, RTT)
    send_segments(conn, 10)
    rto_at = conn.next_deadline()
    assert rto_at is not None
    conn.handle_timer(rto_at)
    out(conn, rto_at)
    feed(conn, rto_at + RTT, ack=L + MSS)  # the retransmission arrived
    out(conn, rto_at + RTT)
    for i in range(3):
        feed(conn, rto_at + RTT + 1 + i, ack=L + MSS)
    assert conn.counters["fast_retransmit"] == 0
    assert not conn.in_recovery

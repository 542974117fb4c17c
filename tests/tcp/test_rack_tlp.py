"""Tail loss probes (RFC 8985 7), limited transmit (RFC 3042), undoing a spurious
recovery (RFC 2883 / RFC 9438 4.9.2) and pacing (the deadline drivers honour)."""

from __future__ import annotations

import itertools

from synack.cc.base import INFINITE_SSTHRESH
from synack.sim import LinkConfig
from synack.sim.rules import DropRule, is_data
from synack.sim.scenario import run_transfer
from tests.tcp.helpers import MSS, established, feed, out
from tests.tcp.test_sack import RTT, L, sack, sack_established, send_segments, sent_seqs


def test_tail_loss_probe_resends_the_last_segment_after_two_srtt() -> None:
    conn = sack_established()
    send_segments(conn, 5)
    feed(conn, 20_000, ack=L + 3 * MSS)  # segments 4 and 5 are lost at the tail
    assert conn.srtt == RTT
    # RFC 8985 7.2: PTO = 2 * SRTT (two segments out: no delayed-ACK allowance).
    assert conn.next_deadline() == 20_000 + 2 * RTT
    conn.handle_timer(40_000)
    (probe,) = out(conn, 40_000)
    assert sent_seqs([probe]) == [5]
    assert conn.counters["tlp"] == 1
    # RFC 8985 7.3: after the probe the RTO, not another PTO, is armed.
    assert conn.next_deadline() == 40_000 + conn.rto


def test_pto_for_a_single_segment_allows_for_a_delayed_ack() -> None:
    # With RFC 6298's 1 s RTO floor, so that the RTO does not come first.
    conn = sack_established(min_rto=1_000_000)
    send_segments(conn, 5)
    feed(conn, 20_000, ack=L + 4 * MSS)
    # RFC 8985 7.2: "If FlightSize is one segment, PTO = max(PTO, 2*SRTT + WCDelAckT)",
    # where "WCDelAckT stands for worst case delayed ACK timer ... 200 ms".
    assert conn.next_deadline() == 20_000 + 2 * RTT + 200_000


def test_a_pto_later_than_the_rto_is_the_rto() -> None:
    # RFC 8985 7.2 (TLP_calc_PTO): the PTO never ends after the RTO would expire;
    # 2*SRTT + 200 ms is after the RTO's 200 ms floor, restarted by the ACK.
    conn = sack_established(min_rto=200_000)
    send_segments(conn, 5)
    feed(conn, 20_000, ack=L + 4 * MSS)
    assert conn.next_deadline() == 20_000 + 200_000


def test_tail_loss_probe_sends_new_data_when_there_is_some() -> None:
    conn = sack_established(nodelay=True)
    send_segments(conn, 10, extra=20)
    feed(conn, 20_000, ack=L + 2 * MSS)  # slow start: cwnd 11, three more go out
    assert sent_seqs(out(conn, 20_000)) == [11, 12, 13]
    conn.handle_timer(40_000)
    # cwnd is full, yet the probe is a new segment (RFC 8985 7.3).
    assert sent_seqs(out(conn, 40_000)) == [14]


def test_no_probe_without_sack() -> None:
    conn = established()
    conn.send(b"x" * 3 * MSS)
    out(conn, 0)
    feed(conn, 10_000, ack=L + MSS)
    assert conn.next_deadline() == 10_000 + conn.rto


def test_probe_that_repaired_a_loss_reduces_the_window() -> None:
    conn = sack_established(nodelay=True)
    send_segments(conn, 5)
    feed(conn, 20_000, ack=L + 3 * MSS)
    conn.handle_timer(40_000)
    out(conn, 40_000)
    assert conn.ssthresh == INFINITE_SSTHRESH
    conn.send(b"n" * MSS)
    out(conn, 41_000)
    # the ACK goes beyond the probe without a D-SACK: the original was lost
    feed(conn, 60_000, ack=L + 6 * MSS)
    assert conn.counters["tlp.recovered_loss"] == 1
    assert conn.ssthresh < INFINITE_SSTHRESH


def test_probe_reported_duplicate_means_nothing_was_lost() -> None:
    conn = sack_established()
    send_segments(conn, 5)
    feed(conn, 20_000, ack=L + 3 * MSS)
    conn.handle_timer(40_000)
    out(conn, 40_000)
    feed(conn, 50_000, ack=L + 5 * MSS, options=sack((L + 4 * MSS, L + 5 * MSS)))
    assert conn.counters["tlp.recovered_loss"] == 0
    assert conn.ssthresh == INFINITE_SSTHRESH


def test_limited_transmit_sends_new_data_on_the_first_two_duplicate_acks() -> None:
    conn = established(nodelay=True)
    conn.send(b"t" * 15 * MSS)
    assert len(out(conn, 0)) == 10
    feed(conn, 10_000, ack=L)
    assert sent_seqs(out(conn, 10_000)) == [11]  # RFC 3042 2
    feed(conn, 10_100, ack=L)
    assert sent_seqs(out(conn, 10_100)) == [12]
    feed(conn, 10_200, ack=L)
    assert sent_seqs(out(conn, 10_200)) == [1]  # the third: fast retransmit


def test_limited_transmit_can_be_switched_off() -> None:
    conn = established(nodelay=True, limited_transmit=False)
    conn.send(b"t" * 15 * MSS)
    out(conn, 0)
    feed(conn, 10_000, ack=L)
    assert out(conn, 10_000) == []


def test_dsack_of_every_retransmission_undoes_a_cubic_reduction() -> None:
    conn = sack_established(rack=False, congestion_control="cubic")
    send_segments(conn, 10)
    before = conn.cwnd
    for k in (2, 3, 4):
        feed(conn, 20_000 + k, ack=L, options=sack((L + MSS, L + k * MSS)))
    assert sent_seqs(out(conn, 20_004)) == [1]
    assert conn.ssthresh == 7 * MSS
    # segment 1 was only late: everything is acknowledged, then the
    # retransmission is reported as a duplicate
    feed(conn, 21_000, ack=L + 10 * MSS)
    assert not conn.in_recovery
    assert conn.cwnd < before
    feed(conn, 22_000, ack=L + 10 * MSS, options=sack((L, L + MSS)))
    assert conn.counters["recovery.spurious"] == 1
    assert conn.cwnd == before  # RFC 9438 4.9.2


def test_bbr_paces_segments_at_its_pacing_rate() -> None:
    conn = sack_established(congestion_control="bbr", nodelay=True)
    rate = conn.cc.pacing_rate()
    # BBR's startup gain 2/ln(2) (2.885, draft-cardwell-iccrg-bbr-congestion-control
    # 4.3.1.1) times the initial window, over 1 ms while there is no RTT yet.
    assert rate == int(2.885 * 10 * MSS * 1_000_000 / 1_000)
    gap = MSS * 1_000_000 // rate
    conn.send(b"p" * 5 * MSS)
    now = RTT
    times = []
    for _ in range(5):
        segs = out(conn, now)
        assert len(segs) == 1
        times.append(now)
        deadline = conn.next_deadline()
        assert deadline is not None
        now = deadline
        conn.handle_timer(now)
    assert [b - a for a, b in itertools.pairwise(times)] == [gap] * 4


def test_pacing_can_be_switched_off() -> None:
    conn = sack_established(congestion_control="bbr", pacing=False)
    conn.send(b"p" * 5 * MSS)
    assert len(out(conn, RTT)) == 5


def test_a_sack_of_a_probe_retransmission_counts_for_rack_despite_an_older_tsecr() -> None:
    # Three segments lost at the tail, the first two of them before the last: the
    # TLP resends the last, and its ACK SACKs it while echoing the TSval of the last
    # in-order segment (RFC 7323 4.3: TS.Recent moves only at the left edge). Taking
    # that TSecr to mean "for the original" (RFC 8985 6.2 step 2) taught RACK
    # nothing and the holes waited for the RTO (1.17 s); Linux's RACK keeps only
    # the min_rtt test, and here TSecr counts for cumulatively ACKed segments only.
    link = LinkConfig(delay=10_000, rules=(DropRule.span(is_data, 68, 70),))
    result = run_transfer(100_000, link)
    assert result.verified
    assert result.counters.get("conn.retransmit.rto", 0) == 0
    assert result.counters["conn.retransmit.rack"] >= 1
    assert result.sim_seconds < 0.5

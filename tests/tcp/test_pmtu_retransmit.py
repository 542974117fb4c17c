"""A path MTU drop with data in flight: the too-big segments go again at once.

RFC 8201 5.4 / RFC 1191 6.5: the hop that sent "packet too big" / "fragmentation
needed" dropped the segment; waiting for the RTO costs a second or more per step
of the discovery, so the retransmission may be "done in immediate response",
sized to the new PMTU, and it "should not change the congestion window". Linux
does this in tcp_simple_retransmit(). synack used to lower its MSS and then wait
for the retransmission timer.
"""

from __future__ import annotations

from synack.tcp.connection import Connection
from synack.wire.tcp import ACK, SYN, MaxSegmentSize, Sack, SackPermitted, Segment
from tests.tcp.helpers import LOCAL_ISS, MSS, REMOTE_ISS, established, events, feed, new_conn, out

L = LOCAL_ISS + 1
# "Fragmentation needed, MTU 600": 560 octets of data per segment (600 - 40).
MTU = 600
NEW_MSS = MTU - 40


def pieces(segs: list[Segment]) -> list[tuple[int, int]]:
    return [(s.seq - L, len(s.payload)) for s in segs]


def flight(conn: Connection, n: int, now: int) -> list[Segment]:
    conn.send(b"d" * n * MSS)
    segs = out(conn, now)
    assert pieces(segs) == [(i * MSS, MSS) for i in range(n)]
    return segs


def test_too_big_segments_in_flight_are_resent_at_once_cut_to_the_new_mss() -> None:
    conn = established()
    flight(conn, 5, 1_000)
    cwnd, ssthresh = conn.cwnd, conn.ssthresh
    rto_at = conn.next_deadline()
    assert rto_at is not None and rto_at >= 201_000  # the RTO, at least its 200 ms floor
    conn.icmp_error(2_000, kind="frag_needed", seq=L, mtu=MTU)
    assert conn.mss == NEW_MSS
    # At once, not at the RTO: each 1000-octet segment as 560 + 440.
    resent = out(conn, 2_000)
    assert pieces(resent) == [
        (i * MSS + off, size) for i in range(5) for off, size in ((0, NEW_MSS), (NEW_MSS, 440))
    ]
    assert conn.counters["pmtu_retransmit"] == 5
    assert conn.counters["retransmit.pmtu"] == 10  # the segments sent: 5 cut in two
    # RFC 1191 6.5: no congestion response.
    assert (conn.cwnd, conn.ssthresh) == (cwnd, ssthresh)
    # Everything is acknowledged long before the RTO would have fired.
    feed(conn, 12_000, ack=L + 5 * MSS)
    assert conn.snd_una == L + 5 * MSS
    assert conn.in_flight == 0
    assert conn.counters["retransmit.rto"] == 0
    assert conn.cwnd >= cwnd and conn.ssthresh == ssthresh
    assert not conn.in_recovery
    # New data goes out at the new size (Nagle holds the 440-octet rest back).
    conn.send(b"n" * 1_000)
    assert pieces(out(conn, 12_000)) == [(5 * MSS, NEW_MSS)]


def test_segments_that_still_fit_or_were_sacked_are_not_resent() -> None:
    conn = new_conn(sack=True, nodelay=True)
    conn.connect(0)
    out(conn)
    feed(
        conn,
        10_000,
        seq=REMOTE_ISS,
        ack=L,
        flags=SYN | ACK,
        options=(MaxSegmentSize(MSS), SackPermitted()),
    )
    out(conn, 10_000)
    events(conn)
    conn.send(b"d" * (3 * MSS + 500))
    sent = out(conn, 10_000)
    assert pieces(sent) == [(0, MSS), (MSS, MSS), (2 * MSS, MSS), (3 * MSS, 500)]
    # The peer SACKs the second segment (the first is still on its way).
    feed(conn, 20_000, ack=L, options=(Sack(((L + MSS, L + 2 * MSS),)),))
    assert out(conn, 20_000) == []
    cwnd = conn.cwnd
    conn.icmp_error(20_500, kind="frag_needed", seq=L, mtu=MTU)
    # Segments 1 and 3 are too big and not SACKed; 2 was SACKed; the last
    # (500 octets) fits the new MSS.
    assert pieces(out(conn, 20_500)) == [
        (0, NEW_MSS),
        (NEW_MSS, 440),
        (2 * MSS, NEW_MSS),
        (2 * MSS + NEW_MSS, 440),
    ]
    assert conn.counters["pmtu_retransmit"] == 2
    assert conn.cwnd == cwnd
    assert not conn.in_recovery
    assert conn.counters["fast_retransmit"] == 0


def test_an_mtu_that_does_not_lower_the_mss_resends_nothing() -> None:
    conn = established()
    flight(conn, 3, 1_000)
    conn.icmp_error(2_000, kind="frag_needed", seq=L, mtu=1500)  # larger than ours
    assert out(conn, 2_000) == []
    assert conn.counters["pmtu_retransmit"] == 0

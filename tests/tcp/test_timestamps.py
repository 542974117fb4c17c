"""RFC 7323 3-5: the Timestamps option negotiated, on every segment, RTTM and PAWS."""

from __future__ import annotations

from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.wire.tcp import (
    ACK,
    PSH,
    RST,
    SYN,
    MaxSegmentSize,
    NoOperation,
    SackPermitted,
    Segment,
    Timestamps,
)
from tests.tcp.helpers import LOCAL_ISS, MSS, REMOTE_ISS, events, feed, new_conn, out

L = LOCAL_ISS + 1
R = REMOTE_ISS + 1
PEER_TS = 5_000
NOP = NoOperation()


def ts_of(seg: Segment) -> Timestamps:
    tso = seg.timestamps
    assert tso is not None, seg
    return tso


def ts_established(*, rtt: int = 10_000, **config: object) -> tuple[Connection, int]:
    """ESTABLISHED with timestamps (and SACK) negotiated; returns our SYN's TSval too."""
    conn = new_conn(timestamps=True, sack=True, **config)
    conn.connect(0)
    (syn,) = out(conn)
    feed(
        conn,
        rtt,
        seq=REMOTE_ISS,
        ack=L,
        flags=SYN | ACK,
        options=(MaxSegmentSize(MSS), SackPermitted(), Timestamps(PEER_TS, ts_of(syn).tsval)),
    )
    out(conn, rtt)
    events(conn)
    assert conn.state is State.ESTABLISHED
    return conn, ts_of(syn).tsval


def peer_ts(tsval: int, tsecr: int = 0) -> tuple[NoOperation, NoOperation, Timestamps]:
    return (NOP, NOP, Timestamps(tsval, tsecr))


def test_syn_offers_sack_permitted_and_timestamps_with_tsecr_zero() -> None:
    conn = new_conn(timestamps=True, sack=True)
    conn.connect(0)
    (syn,) = out(conn)
    assert syn.options[:2] == (MaxSegmentSize(MSS), SackPermitted())
    # RFC 7323 3.2: "TSecr ... MUST be zero" when the ACK bit is not set.
    assert ts_of(syn).tsecr == 0


def test_negotiated_timestamps_ride_on_every_segment_and_echo_ts_recent() -> None:
    conn, _ = ts_established(nodelay=True)
    assert conn.timestamps_ok
    # RFC 6691: the option's 12 octets come out of the data.
    assert conn.mss == MSS - 12
    conn.send(b"d" * 3 * MSS)
    segs = out(conn, 20_000)
    assert [len(s.payload) for s in segs] == [988, 988, 988, 36]
    for s in segs:
        assert s.options[:2] == (NOP, NOP)
        # RFC 7323 4.3: TSecr is TS.Recent, the SYN-ACK's TSval.
        assert ts_of(s).tsecr == PEER_TS
        assert ts_of(s).tsval == conn.ts.tsval(20_000)


def test_tsval_ticks_once_per_millisecond() -> None:
    conn, syn_tsval = ts_established()
    conn.send(b"a")
    (seg,) = out(conn, 1_234_567)
    assert ts_of(seg).tsval == (syn_tsval + 1234) % (1 << 32)


def test_no_timestamps_unless_the_syn_ack_has_them() -> None:
    conn = new_conn(timestamps=True, sack=True)
    conn.connect(0)
    out(conn)
    feed(conn, 10_000, seq=REMOTE_ISS, ack=L, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    (ack,) = out(conn, 10_000)
    assert ack.options == ()
    assert not conn.timestamps_ok
    assert not conn.sack_ok
    assert conn.mss == MSS


def test_passive_open_answers_timestamps_with_the_syns_tsval() -> None:
    conn = new_conn(timestamps=True, sack=True)
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS), *peer_ts(777)))
    (synack,) = out(conn)
    assert ts_of(synack).tsecr == 777
    assert not synack.sack_permitted  # the SYN did not offer SACK


def test_passive_open_without_timestamps_in_the_syn_sends_none() -> None:
    conn = new_conn(timestamps=True, sack=True)
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS), SackPermitted()))
    (synack,) = out(conn)
    assert synack.timestamps is None
    assert synack.sack_permitted


def test_paws_drops_an_old_timestamp_and_acknowledges() -> None:
    conn, _ = ts_established()
    feed(conn, 20_000, seq=R, ack=L, flags=ACK | PSH, options=peer_ts(PEER_TS - 2), payload=b"old")
    (reply,) = out(conn, 20_000)
    assert (reply.seq, reply.ack, reply.payload) == (L, R, b"")
    assert conn.counters["drop.paws"] == 1
    assert conn.recv() == b""


def test_paws_accepts_equal_and_newer_timestamps() -> None:
    conn, _ = ts_established()
    feed(conn, 20_000, seq=R, ack=L, flags=ACK, options=peer_ts(PEER_TS), payload=b"a")
    feed(conn, 20_000, seq=R + 1, ack=L, flags=ACK, options=peer_ts(PEER_TS + 9), payload=b"b")
    assert conn.recv() == b"ab"


def test_paws_wraps_modulo_2_to_the_32() -> None:
    conn = new_conn(timestamps=True)
    conn.connect(0)
    (syn,) = out(conn)
    feed(
        conn,
        seq=REMOTE_ISS,
        ack=L,
        flags=SYN | ACK,
        options=(MaxSegmentSize(MSS), Timestamps(0xFFFF_FFF0, ts_of(syn).tsval)),
    )
    out(conn)
    feed(conn, seq=R, ack=L, flags=ACK, options=peer_ts(5), payload=b"w")  # after the wrap
    assert conn.recv() == b"w"


def test_rst_needs_no_timestamp() -> None:
    conn, _ = ts_established()
    feed(conn, 20_000, seq=R, ack=L, flags=RST)
    assert conn.state is State.CLOSED


def test_segment_without_timestamp_is_dropped_silently() -> None:
    conn, _ = ts_established()
    feed(conn, 20_000, seq=R, ack=L, flags=ACK, payload=b"bare")
    assert out(conn, 20_000) == []
    assert conn.recv() == b""
    assert conn.counters["drop.missing_timestamp"] == 1


def test_ts_recent_follows_only_segments_at_or_below_last_ack_sent() -> None:
    conn, _ = ts_established()
    # out of order (SEG.SEQ > Last.ACK.sent): TS.Recent stays
    feed(conn, 20_000, seq=R + 10, ack=L, flags=ACK, options=peer_ts(PEER_TS + 50), payload=b"z")
    (dupack,) = out(conn, 20_000)
    assert ts_of(dupack).tsecr == PEER_TS
    # in sequence: TS.Recent takes its TSval (RFC 7323 4.3 (1))
    feed(conn, 21_000, seq=R, ack=L, flags=ACK, options=peer_ts(PEER_TS + 60), payload=b"y" * 10)
    (ack,) = out(conn, 21_000)
    assert ts_of(ack).tsecr == PEER_TS + 60


def test_paws_test_is_skipped_after_24_days_idle() -> None:
    # RFC 7323 5.5: "If TS.Recent is older than 24 days ... the PAWS test is
    # skipped": 24 days of microseconds, counted from when TS.Recent was taken.
    days_24 = 24 * 24 * 3600 * 1_000_000
    conn, _ = ts_established()
    old = peer_ts(PEER_TS - 1000)
    feed(conn, 10_000 + days_24, seq=R, ack=L, flags=ACK, options=old, payload=b"x")
    assert conn.counters["drop.paws"] == 1  # 24 days exactly: still valid
    feed(conn, 10_000 + days_24 + 1, seq=R, ack=L, flags=ACK, options=old, payload=b"x")
    assert conn.recv() == b"x"
    assert conn.counters["drop.paws"] == 1


def test_after_24_days_idle_an_out_of_window_segment_cannot_reset_ts_recent() -> None:
    # RFC 7323 5.5: past 24 days the PAWS test is skipped, but the segment must
    # still be "acceptable by sequence number" before its TSval counts: TS.Recent is
    # only ever taken from an acceptable segment (5.3 R2 then R3, 4.3). Before the
    # fix the 24-day branch stored the TSval of whatever segment failed PAWS first,
    # so a blind attacker who knew only the 4-tuple (any SEQ) could plant a TSval
    # ahead of the peer's clock; every segment of the real peer then failed PAWS
    # until its clock caught up (here 2**30 ms, 12 days): the connection was dead.
    days_25 = 25 * 24 * 3600 * 1_000_000
    conn, _ = ts_established()
    t = 10_000 + days_25
    peer_now = (PEER_TS + days_25 // 1000) & 0xFFFFFFFF  # the peer's 1 ms clock, 25 days on
    planted = peer_ts((peer_now + (1 << 30)) & 0xFFFFFFFF)
    feed(conn, t, seq=R + 10_000_000, ack=L, flags=ACK, options=planted, payload=b"evil")
    assert conn.counters["drop.out_of_window"] == 1
    feed(conn, t + 1, seq=R, ack=L, flags=ACK, options=peer_ts(peer_now), payload=b"real")
    assert conn.recv() == b"real"
    assert conn.counters["drop.paws"] == 0
    (ack,) = out(conn, t + 1)
    assert ts_of(ack).tsecr == peer_now  # TS.Recent now from the real peer
    # ... and PAWS is in force again from there.
    feed(conn, t + 2, seq=R + 4, ack=L, flags=ACK, options=peer_ts(peer_now - 5), payload=b"o")
    assert conn.counters["drop.paws"] == 1


def test_rttm_samples_a_retransmitted_segment_through_tsecr() -> None:
    conn, _ = ts_established(rtt=10_000)
    assert conn.srtt == 10_000
    conn.send(b"r" * 100)
    out(conn, 20_000)
    rtx_time = 20_000 + conn.rto
    conn.handle_timer(rtx_time)
    (rtx,) = out(conn, rtx_time)
    # The ACK echoes the retransmission's TSval: 50 ms later, so R = 50 ms even
    # though Karn's rule would forbid timing a retransmitted segment.
    feed(
        conn,
        rtx_time + 50_000,
        seq=R,
        ack=L + 100,
        flags=ACK,
        options=peer_ts(PEER_TS + 1, ts_of(rtx).tsval),
    )
    assert conn.srtt == (7 * 10_000 + 50_000) // 8


def test_rttm_per_ack_samples_are_weighted_by_appendix_g() -> None:
    conn, _ = ts_established(rtt=10_000)
    conn.send(b"w" * 10 * conn.mss)
    segs = out(conn, 20_000)
    assert len(segs) == 10
    srtt, rttvar = conn.srtt, conn.rtt.rttvar
    assert srtt is not None and rttvar is not None
    # an ACK of two segments 30 ms later: FlightSize 10 segments, so
    # ExpectedSamples = ceil(10 / 2) = 5 and alpha' = 1/40, beta' = 1/20
    feed(
        conn,
        50_000,
        seq=R,
        ack=L + 2 * conn.mss,
        flags=ACK,
        options=peer_ts(PEER_TS + 1, ts_of(segs[1]).tsval),
    )
    r = 30_000
    assert conn.rtt.rttvar == rttvar + (abs(srtt - r) - rttvar) // 20
    assert conn.srtt == srtt + (r - srtt) // 40

"""The three-way handshake (RFC 9293 3.5) with exact segments and states."""

from __future__ import annotations

from synack.tcp.connection import Connection
from synack.tcp.events import Connected, Reset, StateChanged, TimedOut
from synack.tcp.state import State
from synack.wire.tcp import ACK, RST, SYN, MaxSegmentSize, Segment
from tests.tcp.helpers import (
    LOCAL,
    LOCAL_ISS,
    MSS,
    PEER_WINDOW,
    REMOTE,
    REMOTE_ISS,
    events,
    feed,
    new_conn,
    out,
    syn_received,
    syn_sent,
    us,
)

SYN_OUT = us(seq=LOCAL_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS),))


def test_active_open_sends_syn_and_enters_syn_sent() -> None:
    conn = new_conn()
    conn.connect(0)
    assert out(conn) == [SYN_OUT]
    assert conn.state is State.SYN_SENT
    assert events(conn) == [StateChanged(State.CLOSED, State.SYN_SENT, "active open")]
    assert (conn.snd_una, conn.snd_nxt) == (LOCAL_ISS, LOCAL_ISS + 1)


def test_syn_ack_completes_active_open_with_ack_of_peer_isn() -> None:
    conn = syn_sent()
    feed(conn, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    # RFC 9293 3.10.7.3: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    assert out(conn) == [us(seq=LOCAL_ISS + 1, ack=REMOTE_ISS + 1)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [
        StateChanged(State.SYN_SENT, State.ESTABLISHED, "rcv SYN,ACK"),
        Connected(),
    ]
    assert (conn.irs, conn.rcv_nxt, conn.snd_una) == (REMOTE_ISS, REMOTE_ISS + 1, LOCAL_ISS + 1)
    assert conn.snd_wnd == PEER_WINDOW


def test_passive_open_answers_syn_with_syn_ack() -> None:
    conn = new_conn()
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS),))
    assert out(conn) == [
        us(seq=LOCAL_ISS, ack=REMOTE_ISS + 1, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    ]
    assert conn.state is State.SYN_RECEIVED
    assert events(conn) == [
        StateChanged(State.CLOSED, State.LISTEN, "passive open"),
        StateChanged(State.LISTEN, State.SYN_RECEIVED, "rcv SYN"),
    ]


def test_ack_of_syn_ack_establishes_passive_side() -> None:
    conn = syn_received()
    feed(conn, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 1)
    assert conn.state is State.ESTABLISHED
    assert out(conn) == []
    assert events(conn) == [
        StateChanged(State.SYN_RECEIVED, State.ESTABLISHED, "rcv ACK of SYN"),
        Connected(),
    ]


def test_simultaneous_open_goes_through_syn_received() -> None:
    a = Connection(LOCAL, REMOTE, iss=LOCAL_ISS)
    b = Connection(REMOTE, LOCAL, iss=REMOTE_ISS)
    a.connect(0)
    b.connect(0)
    syn_a, syn_b = out(a), out(b)
    # The SYNs cross: each side moves SYN-SENT -> SYN-RECEIVED and sends SYN,ACK.
    a.receive_segment(syn_b[0], 10)
    b.receive_segment(syn_a[0], 10)
    assert a.state is b.state is State.SYN_RECEIVED
    synack_a, synack_b = out(a, 10), out(b, 10)
    assert synack_a[0].flags == SYN | ACK and synack_a[0].seq == LOCAL_ISS
    assert synack_a[0].ack == REMOTE_ISS + 1
    a.receive_segment(synack_b[0], 20)
    b.receive_segment(synack_a[0], 20)
    for seg in out(a, 20):
        b.receive_segment(seg, 30)
    for seg in out(b, 20):
        a.receive_segment(seg, 30)
    assert a.state is b.state is State.ESTABLISHED
    assert (a.snd_una, a.rcv_nxt) == (LOCAL_ISS + 1, REMOTE_ISS + 1)
    assert (b.snd_una, b.rcv_nxt) == (REMOTE_ISS + 1, LOCAL_ISS + 1)


def test_peer_mss_is_honoured() -> None:
    conn = syn_sent(mss=1460, nodelay=True)
    feed(conn, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK, options=(MaxSegmentSize(700),))
    assert conn.mss == 700
    out(conn)
    conn.send(b"x" * 2000)
    assert [len(s.payload) for s in out(conn)] == [700, 700, 600]


def test_missing_mss_option_defaults_to_536_on_ipv4() -> None:
    conn = syn_sent(mss=1460)
    feed(conn, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK, options=())
    assert conn.mss == 536


def test_missing_mss_option_defaults_to_1220_on_ipv6() -> None:
    v6_local = (bytes(15) + b"\x01", 80)
    v6_remote = (bytes(15) + b"\x02", 49152)
    conn = Connection(v6_local, v6_remote, iss=LOCAL_ISS)
    conn.connect(0)
    out(conn)
    conn.receive_segment(Segment(49152, 80, REMOTE_ISS, LOCAL_ISS + 1, SYN | ACK, PEER_WINDOW), 10)
    assert conn.mss == 1220


def test_lost_syn_is_retransmitted_at_1_3_and_7_seconds() -> None:
    conn = syn_sent()
    times = []
    for _ in range(3):
        deadline = conn.next_deadline()
        assert deadline is not None
        conn.handle_timer(deadline - 1)
        assert out(conn, deadline - 1) == []  # not a microsecond early
        conn.handle_timer(deadline)
        assert out(conn, deadline) == [SYN_OUT]
        times.append(deadline)
    assert times == [1_000_000, 3_000_000, 7_000_000]


def test_syn_retries_exhausted_times_out_and_closes() -> None:
    conn = syn_sent(syn_retries=2)
    events(conn)
    for _ in range(3):
        deadline = conn.next_deadline()
        assert deadline is not None
        conn.handle_timer(deadline)
        out(conn, deadline)
    assert conn.state is State.CLOSED
    evs = events(conn)
    assert TimedOut("syn_retries") in evs
    assert conn.next_deadline() is None


def test_handshake_completes_after_lost_syn_ack() -> None:
    server = syn_received()
    deadline = server.next_deadline()
    assert deadline == 1_000_000
    server.handle_timer(deadline)
    assert out(server, deadline) == [
        us(seq=LOCAL_ISS, ack=REMOTE_ISS + 1, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    ]
    feed(server, deadline + 5, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 1)
    assert server.state is State.ESTABLISHED


def test_retransmitted_syn_in_syn_received_gets_syn_ack_again() -> None:
    server = syn_received()
    feed(server, 500_000, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS),))
    assert out(server, 500_000) == [
        us(seq=LOCAL_ISS, ack=REMOTE_ISS + 1, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    ]
    assert server.state is State.SYN_RECEIVED


def test_rst_ack_to_syn_means_connection_refused() -> None:
    conn = syn_sent()
    events(conn)
    feed(conn, seq=0, ack=LOCAL_ISS + 1, flags=RST | ACK)
    assert conn.state is State.CLOSED
    assert Reset(refused=True) in events(conn)
    assert out(conn) == []


def test_bad_ack_in_syn_sent_gets_reset() -> None:
    conn = syn_sent()
    feed(conn, seq=REMOTE_ISS, ack=LOCAL_ISS + 7, flags=SYN | ACK)
    # RFC 9293 3.10.7.3: <SEQ=SEG.ACK><CTL=RST>
    assert out(conn) == [Segment(LOCAL[1], REMOTE[1], LOCAL_ISS + 7, 0, RST)]
    assert conn.state is State.SYN_SENT
    assert conn.counters["drop.bad_ack_in_syn_sent"] == 1


def test_rst_without_ack_in_syn_sent_is_dropped() -> None:
    conn = syn_sent()
    feed(conn, seq=REMOTE_ISS, ack=0, flags=RST)
    assert conn.state is State.SYN_SENT
    assert out(conn) == []


def test_ack_in_listen_gets_reset() -> None:
    conn = new_conn()
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=1234, flags=ACK)
    assert out(conn) == [Segment(LOCAL[1], REMOTE[1], 1234, 0, RST)]
    assert conn.state is State.LISTEN


def test_syn_window_is_never_scaled() -> None:
    conn = new_conn(recv_buffer=1_000_000, window_scaling=True)
    conn.connect(0)
    (syn,) = out(conn)
    assert syn.window == 0xFFFF
    assert syn.wscale == 4  # 1_000_000 >> 4 fits 16 bits


def test_window_scale_applies_only_when_both_sides_offer_it() -> None:
    conn = new_conn(recv_buffer=1_000_000, window_scaling=True)
    conn.connect(0)
    out(conn)
    # The peer does not offer the option: no scaling either way (RFC 7323 2.2).
    feed(conn, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK, window=30_000)
    assert (conn.snd_wscale, conn.rcv_wscale) == (0, 0)
    (ack,) = out(conn)
    assert ack.window == 0xFFFF


def test_window_field_scaled_after_negotiation() -> None:
    from synack.wire.tcp import WindowScale

    conn = new_conn(recv_buffer=1_000_000, window_scaling=True)
    conn.connect(0)
    out(conn)
    feed(
        conn,
        seq=REMOTE_ISS,
        ack=LOCAL_ISS + 1,
        flags=SYN | ACK,
        window=30_000,
        options=(MaxSegmentSize(MSS), WindowScale(2)),
    )
    assert (conn.snd_wscale, conn.rcv_wscale) == (2, 4)
    assert conn.snd_wnd == 30_000  # the SYN-ACK's own window is not scaled
    (ack,) = out(conn)
    assert ack.window == 1_000_000 >> 4
    feed(conn, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 1, window=1000)
    assert conn.snd_wnd == 4000


def test_data_queued_in_syn_sent_goes_after_establishment() -> None:
    conn = syn_sent()
    assert conn.send(b"hello") == 5
    assert out(conn) == []
    feed(conn, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    assert out(conn) == [us(flags=ACK | 0x08, payload=b"hello")]


def test_simultaneous_open_is_established_when_the_syn_acks_cross() -> None:
    # RFC 9293 Figure 8: each side, in SYN-RECEIVED, takes the other's SYN,ACK as
    # the ACK of its SYN and is ESTABLISHED without a further round trip.
    a = Connection(LOCAL, REMOTE, iss=LOCAL_ISS)
    b = Connection(REMOTE, LOCAL, iss=REMOTE_ISS)
    a.connect(0)
    b.connect(0)
    (syn_a,), (syn_b,) = out(a), out(b)
    a.receive_segment(syn_b, 10)
    b.receive_segment(syn_a, 10)
    (synack_a,), (synack_b,) = out(a, 10), out(b, 10)
    a.receive_segment(synack_b, 20)
    b.receive_segment(synack_a, 20)
    assert a.state is b.state is State.ESTABLISHED
    assert out(a, 20) == out(b, 20) == []
    assert a.counters["drop.out_of_window"] == b.counters["drop.out_of_window"] == 0

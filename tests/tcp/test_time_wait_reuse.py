"""RFC 9293 3.6.1 (MAY-2): a new SYN may reopen a connection that is in TIME-WAIT."""

from __future__ import annotations

from synack.tcp import Connected, Endpoint, State
from synack.tcp.connection import Connection
from synack.wire.ip import emit_tcp_packet, parse_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, FIN, SYN, MaxSegmentSize, NoOperation, Segment, Timestamps

SERVER = str_to_addr("10.0.0.5")
CLIENT = str_to_addr("10.0.0.9")


def server_in_time_wait(data: int = 0) -> tuple[Endpoint, int, int]:
    """A server that sent ``data`` octets, closed first and sits in TIME-WAIT.

    Returns (endpoint, snd_max, rcv_nxt).
    """
    ep = Endpoint([SERVER], isn_secret=b"k" * 32)
    lst = ep.listen(80)

    def send(seg: Segment, t: int) -> None:
        ep.receive_packet(emit_tcp_packet(CLIENT, SERVER, seg), t)

    send(Segment(40000, 80, 100, 0, SYN, 65535), 0)
    (synack,) = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(0)]
    send(Segment(40000, 80, 101, synack.seq + 1, ACK, 65535), 10)
    ep.packets_to_send(10)
    conn = lst.accept()
    assert conn is not None
    conn.send(b"d" * data)
    conn.close(20)
    *_, fin = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(20)]
    assert fin.flags & FIN
    send(Segment(40000, 80, 101, fin.seq + len(fin.payload) + 1, FIN | ACK, 65535), 30)
    ep.packets_to_send(30)
    assert conn.state is State.TIME_WAIT
    return ep, conn.snd_max, conn.rcv_nxt


def test_new_syn_above_old_sequence_space_reopens_from_time_wait() -> None:
    ep, snd_max, rcv_nxt = server_in_time_wait()
    while ep.next_event():
        pass
    ep.receive_packet(
        emit_tcp_packet(CLIENT, SERVER, Segment(40000, 80, rcv_nxt + 5000, 0, SYN, 65535)), 40
    )
    (reply,) = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(40)]
    assert reply.flags == SYN | ACK
    assert reply.ack == rcv_nxt + 5001
    # The new ISS lies above everything the old incarnation sent.
    assert 0 < (reply.seq - snd_max) & 0xFFFFFFFF < 1 << 31
    assert ep.counters["time_wait_reuse"] == 1
    ep.receive_packet(
        emit_tcp_packet(
            CLIENT, SERVER, Segment(40000, 80, rcv_nxt + 5001, reply.seq + 1, ACK, 65535)
        ),
        50,
    )
    ep.packets_to_send(50)
    evs = []
    while (e := ep.next_event()) is not None:
        evs.append(e[1])
    assert Connected() in evs


def test_old_duplicate_syn_in_time_wait_gets_ack_not_a_new_connection() -> None:
    ep, _, rcv_nxt = server_in_time_wait()
    ep.receive_packet(
        emit_tcp_packet(CLIENT, SERVER, Segment(40000, 80, rcv_nxt - 10, 0, SYN, 65535)), 40
    )
    (reply,) = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(40)]
    assert reply.flags == ACK  # challenge ACK from TIME-WAIT (RFC 5961 4.2)
    assert ep.counters["time_wait_reuse"] == 0


def test_reopened_connection_starts_above_all_the_old_one_sent() -> None:
    # RFC 9293 3.6.1 (MAY-2) reopens from TIME-WAIT only if the new connection's
    # sequence numbers cannot be mistaken for the old one's. Here the old
    # incarnation sent 5,000 octets: the RFC 6528 clock (4 us per tick) has moved
    # 10 since its ISS, so the generator alone would give an ISS inside the old
    # sequence space. The floor puts it 2**16 above the old SND.NXT (Linux: 65537).
    ep, snd_max, rcv_nxt = server_in_time_wait(data=5_000)
    iss_old = (snd_max - 5_002) & 0xFFFFFFFF
    ep.receive_packet(
        emit_tcp_packet(CLIENT, SERVER, Segment(40000, 80, rcv_nxt + 5000, 0, SYN, 65535)), 40
    )
    (reply,) = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(40)]
    assert reply.flags == SYN | ACK
    assert ep.counters["time_wait_reuse"] == 1
    assert 0 < (snd_max - (iss_old + 10)) & 0xFFFFFFFF < 1 << 31  # the clock alone: too low
    assert reply.seq == (snd_max + 65536) & 0xFFFFFFFF


# ------------------------------------------- RFC 6191: reuse decided by timestamps

CLIENT_TS = 1_000_000


def ts(tsval: int, tsecr: int = 0) -> tuple[NoOperation, NoOperation, Timestamps]:
    return (NoOperation(), NoOperation(), Timestamps(tsval, tsecr))


def server_in_time_wait_with_timestamps() -> tuple[Endpoint, Connection]:
    """As :func:`server_in_time_wait`, with Timestamps on both SYNs (TS.Recent = CLIENT_TS + 3)."""
    ep = Endpoint([SERVER], isn_secret=b"k" * 32)
    lst = ep.listen(80)

    def send(seg: Segment, t: int) -> list[Segment]:
        ep.receive_packet(emit_tcp_packet(CLIENT, SERVER, seg), t)
        return [parse_tcp_packet(p)[1] for p in ep.packets_to_send(t)]

    syn_opts = (MaxSegmentSize(1460), *ts(CLIENT_TS))
    (synack,) = send(Segment(40000, 80, 100, 0, SYN, 65535, options=syn_opts), 0)
    assert synack.timestamps is not None
    mine = synack.timestamps.tsval
    send(Segment(40000, 80, 101, synack.seq + 1, ACK, 65535, options=ts(CLIENT_TS + 1, mine)), 10)
    conn = lst.accept()
    assert conn is not None and conn.neg.timestamps
    conn.close(20)
    (fin,) = ep.packets_to_send(20)
    fin_seg = parse_tcp_packet(fin)[1]
    send(Segment(40000, 80, 101, fin_seg.seq + 1, ACK, 65535, options=ts(CLIENT_TS + 2, mine)), 30)
    send(Segment(40000, 80, 101, fin_seg.seq + 1, FIN | ACK, 65535, options=ts(CLIENT_TS + 3)), 40)
    assert conn.state is State.TIME_WAIT
    assert conn.ts.ts_recent == CLIENT_TS + 3
    while ep.next_event():
        pass
    return ep, conn


def test_syn_with_newer_timestamp_reopens_time_wait_even_below_the_old_sequence_space() -> None:
    # RFC 6191 2: "If the previous incarnation of the connection used Timestamps,
    # then: if TCP Timestamps would be enabled for the new incarnation of the
    # connection, and the timestamp contained in the incoming SYN segment is greater
    # than the last timestamp seen on the previous incarnation of the connection
    # ..., honor the connection request". Its sequence number may be anything:
    # PAWS, not the sequence space, tells the incarnations apart. Before the fix
    # synack asked for a SYN above the old sequence space (RFC 9293 MAY-2's rule
    # without timestamps) and answered this one with a challenge ACK.
    ep, old = server_in_time_wait_with_timestamps()
    syn = Segment(40000, 80, 50, 0, SYN, 65535, options=(MaxSegmentSize(1460), *ts(CLIENT_TS + 9)))
    ep.receive_packet(emit_tcp_packet(CLIENT, SERVER, syn), 50)
    (reply,) = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(50)]
    assert reply.flags == SYN | ACK
    assert reply.ack == 51
    assert ep.counters["time_wait_reuse"] == 1
    assert old not in ep.connections()


def test_syn_with_older_timestamp_leaves_time_wait_even_above_the_old_sequence_space() -> None:
    # RFC 6191 2: with timestamps on both incarnations, a SYN whose timestamp is
    # below the last one seen is an old duplicate whatever its sequence number:
    # "Otherwise, silently drop the incoming SYN segment, thus leaving the previous
    # incarnation of the connection in the TIME-WAIT state."
    ep, old = server_in_time_wait_with_timestamps()
    syn_opts = (MaxSegmentSize(1460), *ts(CLIENT_TS - 100))
    syn = Segment(40000, 80, old.rcv_nxt + 5000, 0, SYN, 65535, options=syn_opts)
    ep.receive_packet(emit_tcp_packet(CLIENT, SERVER, syn), 50)
    replies = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(50)]
    assert all(not r.flags & SYN for r in replies)
    assert ep.counters["time_wait_reuse"] == 0
    assert old.state is State.TIME_WAIT and old in ep.connections()


def test_syn_with_equal_timestamp_needs_a_higher_sequence_number() -> None:
    # RFC 6191 2: "the timestamp ... is equal to the last timestamp seen ..., and
    # the Sequence Number of the incoming SYN segment is greater than the last
    # sequence number seen": honoured; equal timestamp and a lower one: not.
    for seq, reopens in ((50, False), (5000, True)):
        ep, _ = server_in_time_wait_with_timestamps()
        syn_opts = (MaxSegmentSize(1460), *ts(CLIENT_TS + 3))
        ep.receive_packet(
            emit_tcp_packet(
                CLIENT, SERVER, Segment(40000, 80, seq, 0, SYN, 65535, options=syn_opts)
            ),
            50,
        )
        replies = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(50)]
        assert any(r.flags & SYN for r in replies) is reopens
        assert ep.counters["time_wait_reuse"] == int(reopens)


def test_syn_without_timestamps_after_an_incarnation_with_them_uses_the_sequence_rule() -> None:
    # RFC 6191 2: "If TCP Timestamps would not be enabled for the new incarnation
    # of the connection, but the Sequence Number of the incoming SYN segment is
    # greater than the last sequence number seen ..., honor the connection request".
    for seq, reopens in ((50, False), (5000, True)):
        ep, _ = server_in_time_wait_with_timestamps()
        syn = Segment(40000, 80, seq, 0, SYN, 65535, options=(MaxSegmentSize(1460),))
        ep.receive_packet(emit_tcp_packet(CLIENT, SERVER, syn), 50)
        replies = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(50)]
        assert any(r.flags & SYN for r in replies) is reopens

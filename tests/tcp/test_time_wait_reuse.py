"""RFC 9293 3.6.1 (MAY-2): a new SYN may reopen a connection that is in TIME-WAIT."""

from __future__ import annotations

from synack.tcp import Connected, Endpoint, State
from synack.wire.ip import emit_tcp_packet, parse_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, FIN, SYN, Segment

SERVER = str_to_addr("10.0.0.5")
CLIENT = str_to_addr("10.0.0.9")


def server_in_time_wait() -> tuple[Endpoint, int, int]:
    """A server that closed first and sits in TIME-WAIT; returns (endpoint, snd_max, rcv_nxt)."""
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
    conn.close(20)
    (fin,) = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(20)]
    send(Segment(40000, 80, 101, fin.seq + 1, FIN | ACK, 65535), 30)
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

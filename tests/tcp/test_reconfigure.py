"""Run-time settings (``Connection.reconfigure``, what setsockopt drives) and ``info()``."""

from __future__ import annotations

import pytest

from synack.tcp.endpoint import Endpoint
from synack.tcp.errors import InvalidStateError
from synack.tcp.events import SendBufferSpace
from synack.tcp.state import State
from synack.wire.ip import emit_tcp_packet, parse_tcp_packet, str_to_addr
from synack.wire.seq import add
from synack.wire.tcp import ACK, PSH, SYN, Segment
from tests.tcp.helpers import (
    LOCAL_ISS,
    MSS,
    REMOTE_ISS,
    established,
    events,
    feed,
    new_conn,
    out,
    us,
)


def test_nodelay_set_after_connect_sends_the_held_small_segment() -> None:
    conn = established()
    conn.send(b"a" * 10)
    assert [s.seq for s in out(conn)] == [LOCAL_ISS + 1]
    conn.send(b"b" * 10)
    # RFC 9293 3.7.4 Nagle: a small segment waits while data is unacknowledged.
    assert out(conn) == []
    conn.reconfigure(0, nodelay=True)
    assert out(conn) == [us(seq=LOCAL_ISS + 11, flags=ACK | PSH, payload=b"b" * 10)]


def test_keepalive_switched_on_when_established_arms_the_idle_timer() -> None:
    conn = established()
    assert conn.next_deadline() is None
    conn.reconfigure(5_000, keepalive=True, keepalive_idle=30_000_000)
    assert conn.next_deadline() == 5_000 + 30_000_000
    conn.reconfigure(6_000, keepalive=False)
    assert conn.next_deadline() is None


def test_keepalive_set_through_an_endpoint_reaches_its_timer() -> None:
    # An endpoint keeps its connections' deadlines in a heap, refreshed when a
    # connection wakes it: a setting that arms a timer must wake it too.
    ep = Endpoint(["10.0.0.1"], isn_secret=b"k" * 16, port_seed=1)
    conn = ep.connect("10.0.0.2", 80, 0)
    (syn,) = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(0)]
    synack = Segment(80, syn.src_port, 7000, add(syn.seq, 1), SYN | ACK, 65535)
    ep.receive_packet(emit_tcp_packet(str_to_addr("10.0.0.2"), str_to_addr("10.0.0.1"), synack), 1)
    ep.packets_to_send(1)
    assert conn.state is State.ESTABLISHED and ep.next_deadline() is None
    conn.reconfigure(2, keepalive=True, keepalive_idle=1_000_000)
    assert ep.next_deadline() == 1_000_002
    ep.handle_timer(1_000_002)
    (probe,) = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(1_000_002)]
    # RFC 9293 3.8.4: the keep-alive carries SEG.SEQ = SND.NXT - 1.
    assert probe.seq == syn.seq and probe.flags == ACK


def test_user_timeout_set_while_data_is_outstanding_restarts_the_user_timer() -> None:
    conn = established()
    conn.send(b"x" * 100)
    out(conn)
    conn.reconfigure(1_000, user_timeout=500_000)
    conn.handle_timer(501_000)
    assert conn.state is State.CLOSED


def test_negotiated_settings_are_fixed_once_the_syn_is_sent() -> None:
    conn = new_conn()
    conn.reconfigure(0, mss=500)  # before connect: allowed
    conn.connect(0)
    assert out(conn)[0].mss == 500
    with pytest.raises(InvalidStateError):
        conn.reconfigure(0, mss=600)
    with pytest.raises(InvalidStateError):
        conn.reconfigure(0, sack=True)


def test_unknown_and_invalid_settings_raise() -> None:
    conn = established()
    with pytest.raises(TypeError):
        conn.reconfigure(0, no_such_setting=1)
    with pytest.raises(ValueError):
        conn.reconfigure(0, keepalive=True, keepalive_probes=1)


def test_larger_send_buffer_reports_space_to_a_waiting_writer() -> None:
    conn = established(send_buffer=100)
    assert conn.send(b"x" * 150) == 100
    events(conn)
    conn.reconfigure(0, send_buffer=1000)
    assert SendBufferSpace(900) in events(conn)
    assert conn.send(b"y" * 50) == 50


def test_congestion_control_swapped_keeps_the_window() -> None:
    conn = established()
    cwnd = conn.cwnd
    conn.reconfigure(0, congestion_control="cubic")
    assert conn.cc.name == "cubic"
    assert conn.cwnd == cwnd
    with pytest.raises(ValueError):
        conn.reconfigure(0, congestion_control="nosuch")


def test_info_reports_the_tcb() -> None:
    conn = established()
    conn.send(b"z" * 300)
    out(conn)
    feed(conn, 10_000, ack=LOCAL_ISS + 101, payload=b"hello")
    info = conn.info()
    assert info.state is State.ESTABLISHED
    assert info.snd_una == LOCAL_ISS + 101
    assert info.snd_nxt == LOCAL_ISS + 301
    assert info.rcv_nxt == REMOTE_ISS + 6
    assert info.bytes_acked == 100
    assert info.bytes_received == 5
    assert info.in_flight == 200
    assert info.mss == MSS
    assert info.retransmits == 0
    assert info.congestion_control == "newreno"
    conn.handle_timer(conn.next_deadline() or 0)
    assert conn.info().retransmits == 1

"""ICMP errors for a connection (RFC 9293 3.9.2.2, RFC 5927, RFC 5461, RFC 6633)."""

from __future__ import annotations

from synack.tcp.events import Reset, SoftError
from synack.tcp.state import State
from tests.tcp.helpers import LOCAL_ISS, established, events, out, syn_sent


def test_port_unreachable_while_opening_is_a_refusal() -> None:
    # SHLD-26: codes 2-4 are hard errors; for a connection still opening synack
    # treats port/protocol unreachable like a RST to its SYN.
    conn = syn_sent()
    conn.icmp_error(500, kind="port_unreachable", seq=LOCAL_ISS)
    assert conn.state is State.CLOSED
    assert Reset(refused=True) in events(conn)


def test_port_unreachable_when_established_is_soft() -> None:
    # RFC 5461: in a synchronized state it does not abort the connection.
    conn = established()
    conn.icmp_error(500, kind="port_unreachable", seq=LOCAL_ISS + 1)
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [SoftError("port_unreachable")]


def test_source_quench_is_discarded_silently() -> None:
    # MUST-55 (and RFC 6633): no event, no state change, only a counter.
    conn = established()
    conn.icmp_error(500, kind="source_quench", seq=LOCAL_ISS + 1)
    assert events(conn) == []
    assert conn.counters["icmp.source_quench_ignored"] == 1


def test_icmp_quoting_a_sequence_number_we_did_not_send_is_ignored() -> None:
    # RFC 5927 4.1: a blind attacker must also guess an outstanding sequence number.
    conn = established(nodelay=True)
    conn.send(b"data")
    out(conn)
    conn.icmp_error(500, kind="frag_needed", seq=LOCAL_ISS + 100_000, mtu=600)
    assert conn.mss == 1000
    assert conn.counters["icmp.out_of_window"] == 1
    conn.icmp_error(500, kind="frag_needed", seq=LOCAL_ISS + 1, mtu=600)
    assert conn.mss == 560


def test_r1_syn_retransmissions_give_soft_error() -> None:
    # MUST-22: the R1 threshold applies to SYN retransmissions as well.
    conn = syn_sent(data_retries_r1=2)
    for _ in range(2):
        t = conn.next_deadline()
        assert t is not None
        conn.handle_timer(t)
        out(conn, t)
    assert SoftError("r1_reached") in events(conn)
    assert conn.state is State.SYN_SENT

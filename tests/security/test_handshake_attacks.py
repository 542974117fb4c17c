"""Attacks on the handshake, seen from the endpoint's packets (public behaviour only)."""

from __future__ import annotations

from synack.tcp import DataReceived, Endpoint, State
from synack.wire.ip import parse_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, SYN
from tests.security.fuzzer import TCP_HEADER, ip_packet

CLIENT = str_to_addr("192.0.2.1")
SERVER = str_to_addr("192.0.2.2")


def test_text_in_a_blind_syn_to_a_connecting_client_is_neither_acked_nor_delivered() -> None:
    # Found by tests/security/test_stateful.py. A client in SYN-SENT that gets a
    # SYN without ACK enters SYN-RECEIVED (simultaneous open, RFC 9293 3.10.7.3),
    # which a blind attacker who knows the 4-tuple can cause. The SYN's text must
    # wait for ESTABLISHED ("queue them for processing after the ESTABLISHED state
    # has been reached"), which the attacker cannot reach without our ISS: the
    # application must not read it, and our SYN-ACK must not acknowledge it.
    client = Endpoint([CLIENT], isn_secret=b"c" * 32, port_seed=1)
    conn = client.connect(SERVER, 80, 0)
    client.packets_to_send(0)  # our SYN leaves (and is lost)
    attacker_isn = 7_000_000
    tcp = TCP_HEADER.pack(80, conn.local[1], attacker_isn, 0, 5 << 4, SYN, 65535, 0, 0)
    client.receive_packet(ip_packet(SERVER, CLIENT, tcp + b"injected"), 1_000)

    assert conn.state is State.SYN_RECEIVED
    (answer,) = client.packets_to_send(1_000)
    _, seg = parse_tcp_packet(answer)
    assert seg.flags == SYN | ACK
    assert seg.ack == attacker_isn + 1  # the SYN only, not its 8 octets
    assert conn.recv() == b""
    events = []
    while (item := client.next_event()) is not None:
        events.append(item[1])
    assert not any(isinstance(ev, DataReceived) for ev in events)

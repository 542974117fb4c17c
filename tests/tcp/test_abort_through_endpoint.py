"""A user ABORT reaches the wire through the endpoint (found by the TAP driver, now fixed)."""

from __future__ import annotations

from synack.tcp.endpoint import Endpoint
from synack.tcp.state import State
from synack.wire.ip import parse_tcp_packet
from synack.wire.tcp import RST


def _established_pair() -> tuple[Endpoint, Endpoint]:
    a = Endpoint(["10.0.0.1"], isn_secret=b"a" * 32, port_seed=1)
    b = Endpoint(["10.0.0.2"], isn_secret=b"b" * 32, port_seed=2)
    b.listen(80)
    a.connect("10.0.0.2", 80, 0)
    for _ in range(4):
        for p in a.packets_to_send(0):
            b.receive_packet(p, 0)
        for p in b.packets_to_send(0):
            a.receive_packet(p, 0)
    return a, b


def test_user_abort_on_an_idle_connection_sends_rst_through_the_endpoint() -> None:
    a, _b = _established_pair()
    (conn,) = a.connections()
    assert conn.state is State.ESTABLISHED
    conn.abort(1000)
    packets = a.packets_to_send(1000)
    flags = [parse_tcp_packet(p)[1].flags for p in packets]
    assert any(f & RST for f in flags)
    # and the CLOSED connection is forgotten
    assert a.connections() == []

"""``Connection.reconfigure`` on a connection an :class:`Endpoint` drives: new timers reach its heap."""

from __future__ import annotations

from synack.tcp.endpoint import Endpoint
from synack.tcp.state import State


def _established_pair() -> tuple[Endpoint, Endpoint]:
    client = Endpoint(["10.0.0.1"], isn_secret=b"c" * 32, port_seed=1)
    server = Endpoint(["10.0.0.2"], isn_secret=b"s" * 32, port_seed=2)
    server.listen(80)
    client.connect("10.0.0.2", 80, 0)
    for _ in range(3):
        for src, dst in ((client, server), (server, client)):
            for packet in src.packets_to_send(0):
                dst.receive_packet(packet, 0)
    return client, server


def test_keepalive_set_at_run_time_arms_the_endpoints_timer() -> None:
    client, _ = _established_pair()
    (conn,) = client.connections()
    assert conn.state is State.ESTABLISHED
    assert client.next_deadline() is None
    # RFC 9293 3.8.4: keep-alives are off until the application turns them on.
    conn.reconfigure(1_000, keepalive=True, keepalive_idle=2_000_000)
    assert client.next_deadline() == 1_000 + 2_000_000
    client.handle_timer(2_001_000)
    probes = client.packets_to_send(2_001_000)
    assert len(probes) == 1  # the first keep-alive probe

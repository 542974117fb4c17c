"""End to end on the simulator: handshakes with a lost segment, half-close,
simultaneous close, RST from a closed port, and 100 connections to one listener."""

from __future__ import annotations

import pytest

from synack.sim import HostSpec, LinkConfig, Simulator, TwoHosts, two_hosts
from synack.sim.apps import AppGroup, BulkSender, EndpointApp, Sink
from synack.sim.demo import GREETING, REPLY, run_demo
from synack.sim.scenario import endpoint_secret
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import (
    Closed,
    Connected,
    DataReceived,
    Event,
    PeerClosed,
    Reset,
    StateChanged,
)
from synack.tcp.state import State

CLIENT = "192.168.1.100"
SERVER = "10.0.0.5"


def endpoints(seed: int = 0) -> tuple[Endpoint, Endpoint]:
    client = Endpoint(
        [CLIENT], isn_secret=endpoint_secret(seed, "c"), port_seed=seed, name="client"
    )
    server = Endpoint(
        [SERVER], isn_secret=endpoint_secret(seed, "s"), port_seed=seed, name="server"
    )
    return client, server


def network(
    client: Endpoint, server: Endpoint, capp: EndpointApp, sapp: EndpointApp, delay: int = 10_000
) -> tuple[Simulator, TwoHosts]:
    sim = Simulator()
    net = two_hosts(
        sim,
        HostSpec(client, "client", (CLIENT,), capp),
        HostSpec(server, "server", (SERVER,), sapp),
        LinkConfig(delay=delay),
    )
    return sim, net


class Recorder(EndpointApp):
    """Keeps every event and reads all data as it arrives."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self.events: list[tuple[int, Connection, Event]] = []
        self.data: dict[Connection, bytearray] = {}
        self.conns: list[Connection] = []

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        self.events.append((now, conn, event))
        if conn not in self.conns:
            self.conns.append(conn)
        if isinstance(event, DataReceived):
            self.data.setdefault(conn, bytearray()).extend(conn.recv())

    def states(self, conn: Connection) -> list[str]:
        return [str(e.new) for _, c, e in self.events if c is conn and isinstance(e, StateChanged)]

    def kinds(self, conn: Connection) -> list[type]:
        return [type(e) for _, c, e in self.events if c is conn and not isinstance(e, StateChanged)]


@pytest.mark.parametrize(
    ("lose", "resent"),
    [
        ("syn", "1.000000  Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000"),
        (
            "syn-ack",
            "1.010000  Server (10.0.0.5:80) -> Client (192.168.1.100)   [SYN, ACK] Seq=5000 Ack=1001",
        ),
        (
            "ack",
            "1.010000  Server (10.0.0.5:80) -> Client (192.168.1.100)   [SYN, ACK] Seq=5000 Ack=1001",
        ),
    ],
)
def test_handshake_completes_after_losing_any_one_of_its_segments(lose: str, resent: str) -> None:
    r = run_demo(lose=lose)
    assert r.ok
    assert r.client_received == GREETING
    assert r.server_received == REPLY
    assert sum("x lost (scripted)" in line for line in r.ladder) == 1
    # RFC 6298 (2.1): the segment whose timer runs is resent after the initial RTO of 1 s.
    assert f" {resent}   (retransmission)" in r.ladder
    assert any(line.endswith("retransmission timeout") for line in r.ladder)
    assert "server: SYN-RECEIVED -> ESTABLISHED" in "\n".join(r.ladder)


def test_demo_without_loss_shows_the_seed_handshake_and_every_state() -> None:
    r = run_demo(timestamps=False)
    assert r.ok
    segments = [line for line in r.ladder if " -> " in line and "[" in line]
    assert segments[:3] == [
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000",
        "Server (10.0.0.5:80) -> Client (192.168.1.100)   [SYN, ACK] Seq=5000 Ack=1001",
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [ACK] Seq=1001 Ack=5001",
    ]
    for state_line in (
        "server: CLOSED -> LISTEN",
        "client: CLOSED -> SYN-SENT",
        "server: LISTEN -> SYN-RECEIVED",
        "client: SYN-SENT -> ESTABLISHED",
        "server: SYN-RECEIVED -> ESTABLISHED",
        "client: ESTABLISHED -> FIN-WAIT-1",
        "server: ESTABLISHED -> CLOSE-WAIT",
        "server: CLOSE-WAIT -> LAST-ACK",
        "server: LAST-ACK -> CLOSED",
        "client: TIME-WAIT -> CLOSED",
    ):
        assert state_line in r.ladder


def test_half_close_lets_the_server_keep_sending_after_the_client_s_fin() -> None:
    client, server = endpoints()
    capp, sapp = Recorder(client), Recorder(server)
    listener = server.listen(80)
    reply = bytes(range(256)) * 800  # 204,800 bytes, several windows

    class Server(Recorder):
        def on_event(self, conn: Connection, event: Event, now: int) -> None:
            super().on_event(conn, event, now)
            if isinstance(event, Connected):
                listener.accept()
            if isinstance(event, PeerClosed):
                self.pending = memoryview(reply)
                self.conn = conn

        def on_step(self, now: int) -> None:
            pending = getattr(self, "pending", None)
            if pending is not None and len(pending):
                n = self.conn.send(pending)
                self.pending = pending[n:]
                if not len(self.pending):
                    self.conn.close(now)

    sapp = Server(server)

    class Client(Recorder):
        def on_event(self, conn: Connection, event: Event, now: int) -> None:
            super().on_event(conn, event, now)
            if isinstance(event, Connected):
                conn.send(b"request" * 100)
                conn.close(now)  # half-close: nothing more to send, still reading

    capp = Client(client)
    sim, net = network(client, server, capp, sapp)
    net.a.call(0, lambda now: client.connect(SERVER, 80, now))
    sim.run()
    (cconn,) = capp.conns
    (sconn,) = sapp.conns
    assert bytes(sapp.data[sconn]) == b"request" * 100
    assert bytes(capp.data[cconn]) == reply
    assert capp.states(cconn) == [
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "TIME-WAIT",
        "CLOSED",
    ]
    assert sapp.states(sconn)[-3:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert PeerClosed in capp.kinds(cconn)


def test_simultaneous_close_goes_through_closing_on_both_sides() -> None:
    client, server = endpoints()
    listener = server.listen(80)
    capp, sapp = Recorder(client), Recorder(server)
    sim, net = network(client, server, capp, sapp)
    net.a.call(0, lambda now: client.connect(SERVER, 80, now))
    sim.run(until=500_000)
    cconn = capp.conns[0]
    sconn = listener.accept()
    assert sconn is not None
    assert cconn.state is State.ESTABLISHED
    assert sconn.state is State.ESTABLISHED
    # Both users close at the same instant: the FINs cross on the link.
    net.a.call(600_000, cconn.close)
    net.b.call(600_000, sconn.close)
    sim.run()
    for app, conn in ((capp, cconn), (sapp, sconn)):
        assert app.states(conn)[-4:] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]
        assert Closed in app.kinds(conn)


def test_a_syn_to_a_closed_port_is_refused_with_a_reset() -> None:
    client, server = endpoints()
    server.listen(80)
    capp, sapp = Recorder(client), Recorder(server)
    sim, net = network(client, server, capp, sapp)
    net.a.call(0, lambda now: client.connect(SERVER, 81, now))
    sim.run()
    (conn,) = capp.conns
    assert conn.state is State.CLOSED
    assert any(isinstance(e, Reset) and e.refused for _, _, e in capp.events)
    assert capp.events[-1][0] == 20_000  # one round trip: SYN out, RST back
    assert server.counters["drop.no_connection"] == 1
    assert server.counters["rst_sent"] == 1


@pytest.mark.slow
def test_one_hundred_concurrent_connections_to_one_listener_all_verify() -> None:
    client, server = endpoints()
    senders = [BulkSender(client, SERVER, 80, 20_000 + 1_000 * i, seed=i) for i in range(100)]
    sink = Sink(server, 80, backlog=128)
    sim = Simulator()
    net = two_hosts(
        sim,
        HostSpec(client, "client", (CLIENT,), AppGroup(client, list(senders))),
        HostSpec(server, "server", (SERVER,), sink),
        LinkConfig(delay=5_000, bandwidth=100_000_000, queue_packets=1_000),
    )
    for i, s in enumerate(senders):
        net.a.call(i * 100, s.start)
    sim.run()
    assert len(sink.received) == 100
    by_port = {conn.remote[1]: conn for conn in sink.received}
    for s in senders:
        assert s.conn is not None
        assert s.error is None
        conn = by_port[s.conn.local[1]]
        assert sink.received[conn] == s.source.total
        assert sink.digests[conn].digest() == s.source.sha256.digest()
        assert s.closed_at is not None
    assert len(sink.closed) == 100
    assert not sink.errors


def test_a_simulated_hour_of_an_idle_connection_with_keepalives_takes_few_events() -> None:
    import dataclasses

    from synack.tcp.config import Config

    client, server = endpoints()
    cfg = dataclasses.replace(Config(), keepalive=True, keepalive_idle=60_000_000)
    server.listen(80)
    capp, sapp = Recorder(client), Recorder(server)
    sim, net = network(client, server, capp, sapp)
    net.a.call(0, lambda now: client.connect(SERVER, 80, now, config=cfg))
    sim.run(until=3_600_000_000)
    (conn,) = capp.conns
    assert conn.state is State.ESTABLISHED
    assert sim.now == 3_600_000_000
    # One probe a minute, each answered: about 60 round trips in the hour.
    assert 55 <= conn.counters["keepalive_probe"] <= 61
    assert sim.events_run < 1_000

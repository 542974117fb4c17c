"""A SYN flood of 10,000 spoofed SYNs per virtual second while legitimate clients connect (simulator).

The server listens with a backlog of 128 and the default ``syn_cookies="auto"``.
For two virtual seconds an attacker delivers 20,000 SYNs from random sources;
meanwhile 40 clients connect across the same link (5 ms each way) and each
sends 10 KB. Every client must connect in one round trip (no SYN retransmission)
and every byte must arrive; the server must hold no more than its backlog in
half-open state. Costs about 2 s.
"""

from __future__ import annotations

import random

from synack.sim import HostSpec, LinkConfig, Simulator, two_hosts
from synack.sim.apps import EndpointApp
from synack.tcp import Connected, Connection, DataReceived, Endpoint, Event
from synack.wire.ip import str_to_addr
from tests.security.fuzzer import TCP_HEADER, ip_packet

CLIENT = str_to_addr("192.0.2.1")
SERVER = str_to_addr("192.0.2.2")
RATE = 10_000  # spoofed SYNs per virtual second
FLOOD = 2_000_000  # microseconds
CLIENTS = 40
DATA = 10_000


class Clients(EndpointApp):
    """Opens connections at given times; each sends DATA octets once connected."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self.started: dict[Connection, int] = {}
        self.connected: dict[Connection, int] = {}

    def start(self, now: int) -> None:
        conn = self.endpoint.connect(SERVER, 80, now)
        self.started[conn] = now

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if isinstance(event, Connected):
            self.connected[conn] = now
            conn.send(bytes([len(self.connected) % 256]) * DATA)
            conn.close(now)


class Server(EndpointApp):
    """Accepts and reads everything."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self.listener = endpoint.listen(80, backlog=128)
        self.received: dict[Connection, bytearray] = {}
        self.most_half_open = 0

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if isinstance(event, Connected):
            while self.listener.accept() is not None:
                pass
            self.received[conn] = bytearray()
        if isinstance(event, DataReceived | Connected):
            self.received.setdefault(conn, bytearray()).extend(conn.recv())

    def on_step(self, now: int) -> None:
        self.most_half_open = max(self.most_half_open, len(self.listener.pending))


def test_legitimate_clients_connect_at_once_through_a_10k_per_second_syn_flood() -> None:
    sim = Simulator()
    client = Endpoint([CLIENT], isn_secret=b"c" * 32, port_seed=1, name="client")
    server = Endpoint([SERVER], isn_secret=b"s" * 32, port_seed=2, name="server")
    clients, app = Clients(client), Server(server)
    net = two_hosts(
        sim,
        HostSpec(client, "client", (CLIENT,), clients),
        HostSpec(server, "server", (SERVER,), app),
        LinkConfig(delay=5_000, bandwidth=100_000_000),
    )
    rng = random.Random(4)

    def spoofed(now: int) -> None:
        src = bytes((198, 18, rng.randrange(256), rng.randrange(1, 255)))
        tcp = TCP_HEADER.pack(
            rng.randrange(1024, 65536), 80, rng.getrandbits(32), 0, 5 << 4, 0x02, 64240, 0, 0
        )
        net.b.deliver(ip_packet(src, SERVER, tcp), now)

    for i in range(RATE * FLOOD // 1_000_000):
        sim.at(i * 1_000_000 // RATE, spoofed)
    for i in range(CLIENTS):
        net.a.call(50_000 + i * (FLOOD - 100_000) // CLIENTS, clients.start)
    sim.run(until=FLOOD + 5_000_000)

    assert len(clients.connected) == CLIENTS
    # One round trip (10 ms, and a little serialization) each: no SYN was
    # retransmitted (the first retransmission would come after 1 s).
    assert all(clients.connected[c] - clients.started[c] < 11_000 for c in clients.connected)
    assert len(app.received) == CLIENTS
    assert sorted(len(data) for data in app.received.values()) == [DATA] * CLIENTS
    c = server.counters
    assert c["syncookies.sent"] >= RATE * FLOOD // 1_000_000 - 128
    assert c["syncookies.validated"] == CLIENTS
    assert app.most_half_open <= 128

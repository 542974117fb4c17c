"""A Hypothesis state machine over two endpoints and a hostile network between them.

Hypothesis chooses the steps: user calls on either side (connect, write, close,
abort), the network's doing (deliver any packet in flight, so out of order;
drop, duplicate or corrupt one), time passing (timers fire), and blind
injection of segments with sequence and acknowledgment numbers it picks itself
at the live 4-tuples. After every step the invariants must hold:

* nothing raised out of either endpoint;
* SND.UNA =< SND.NXT on every connection (RFC 9293 3.3.1, modulo 2**32);
* what each application has read is a prefix of what its peer wrote.

The injection is blind (values drawn independently of the connection), so it
may reset a connection but never make an application read bytes its peer did
not write, short of a 2**-32-scale guess.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from synack.tcp import Config, Connection, ConnectionClosedError, Endpoint, State
from synack.wire.seq import le
from tests.security.fuzzer import TCP_HEADER, ip_packet
from tests.security.lab import CLIENT_V4, CLIENT_V6, PORT, SERVER_V4, SERVER_V6

CONFIG = Config(recv_buffer=8192, send_buffer=8192, mss=536, delayed_ack=40_000)


@dataclass
class Side:
    """One direction's bytes: written by one application, read by the other."""

    written: bytearray = field(default_factory=bytearray)
    read: bytearray = field(default_factory=bytearray)


class TwoEndpoints(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.client = Endpoint(
            [CLIENT_V4, CLIENT_V6], config=CONFIG, isn_secret=b"c" * 32, port_seed=1
        )
        self.server = Endpoint(
            [SERVER_V4, SERVER_V6], config=CONFIG, isn_secret=b"s" * 32, port_seed=2
        )
        self.listener = self.server.listen(PORT, backlog=4)
        self.to_server: list[bytes] = []
        self.to_client: list[bytes] = []
        # Keyed by (client addr, client port, server addr, server port).
        self.up: dict[tuple[bytes, int, bytes, int], Side] = {}
        self.down: dict[tuple[bytes, int, bytes, int], Side] = {}
        self.server_conns: list[Connection] = []
        self.counter = 0

    # ------------------------------------------------------------- helpers
    @staticmethod
    def key(conn: Connection, *, server: bool) -> tuple[bytes, int, bytes, int]:
        (la, lp), (ra, rp) = conn.local, conn.remote
        return (ra, rp, la, lp) if server else (la, lp, ra, rp)

    def data(self, n: int) -> bytes:
        self.counter += 1
        return bytes((self.counter + i) & 0xFF for i in range(n))

    def settle(self) -> None:
        """Applications act (accept, read everything); packets go onto the wire."""
        for ep in (self.client, self.server):
            while ep.next_event() is not None:
                pass
        while (conn := self.listener.accept()) is not None:
            self.server_conns.append(conn)
        for conn in self.client.connections():
            side = self.down.setdefault(self.key(conn, server=False), Side())
            side.read += conn.recv()
        for conn in self.server_conns:
            side = self.up.setdefault(self.key(conn, server=True), Side())
            side.read += conn.recv()
        self.to_server += self.client.packets_to_send(self.now)
        self.to_client += self.server.packets_to_send(self.now)

    def live(self, which: str) -> list[Connection]:
        if which == "client":
            return [c for c in self.client.connections() if c.state is not State.CLOSED]
        return [c for c in self.server_conns if c.state is not State.CLOSED]

    # --------------------------------------------------------------- users
    @precondition(lambda self: len(self.client.connections()) < 3)
    @rule(v6=st.booleans())
    def connect(self, v6: bool) -> None:
        self.client.connect(SERVER_V6 if v6 else SERVER_V4, PORT, self.now)
        self.settle()

    @rule(
        which=st.sampled_from(["client", "server"]),
        i=st.integers(0, 3),
        n=st.sampled_from([1, 100, 536, 3000, 9000]),
    )
    def write(self, which: str, i: int, n: int) -> None:
        conns = self.live(which)
        if not conns:
            return
        conn = conns[i % len(conns)]
        data = self.data(n)
        with contextlib.suppress(ConnectionClosedError):
            taken = conn.send(data)
            streams = self.up if which == "client" else self.down
            side = streams.setdefault(self.key(conn, server=which == "server"), Side())
            side.written += data[:taken]
        self.settle()

    @rule(which=st.sampled_from(["client", "server"]), i=st.integers(0, 3), abort=st.booleans())
    def close(self, which: str, i: int, abort: bool) -> None:
        conns = self.live(which)
        if not conns:
            return
        conn = conns[i % len(conns)]
        if abort:
            conn.abort(self.now)
        else:
            with contextlib.suppress(ConnectionClosedError):
                conn.close(self.now)
        self.settle()

    # ------------------------------------------------------------- network
    @rule(
        to_server=st.booleans(),
        i=st.integers(0, 30),
        how=st.sampled_from(["deliver", "deliver", "deliver", "drop", "duplicate", "corrupt"]),
        bit=st.integers(0, 8 * 60 - 1),
    )
    def network(self, to_server: bool, i: int, how: str, bit: int) -> None:
        queue = self.to_server if to_server else self.to_client
        if not queue:
            return
        packet = queue[i % len(queue)]
        if how != "duplicate":
            del queue[i % len(queue)]
        if how == "drop":
            return
        if how == "corrupt":
            b = bytearray(packet)
            b[(bit // 8) % len(b)] ^= 1 << (bit % 8)
            packet = bytes(b)
        (self.server if to_server else self.client).receive_packet(packet, self.now)
        self.settle()

    @rule(dt=st.sampled_from([1_000, 40_000, 200_000, 1_000_000, 10_000_000]))
    def time_passes(self, dt: int) -> None:
        self.now += dt
        for ep in (self.client, self.server):
            deadline = ep.next_deadline()
            if deadline is not None and deadline <= self.now:
                ep.handle_timer(self.now)
        self.settle()

    @rule(
        to_server=st.booleans(),
        i=st.integers(0, 5),
        seq=st.integers(0, 2**32 - 1),
        ack=st.integers(0, 2**32 - 1),
        flags=st.sampled_from([0x02, 0x04, 0x10, 0x11, 0x12, 0x14, 0x18, 0x01, 0x3F]),
        size=st.sampled_from([0, 1, 100]),
    )
    def blind_injection(
        self, to_server: bool, i: int, seq: int, ack: int, flags: int, size: int
    ) -> None:
        conns = self.server.connections() if to_server else self.client.connections()
        if not conns:
            return
        conn = conns[i % len(conns)]
        (la, lp), (ra, rp) = conn.local, conn.remote
        tcp = TCP_HEADER.pack(rp, lp, seq, ack, 5 << 4, flags, 65535, 0, 0) + b"\xee" * size
        (self.server if to_server else self.client).receive_packet(ip_packet(ra, la, tcp), self.now)
        self.settle()

    # ---------------------------------------------------------- invariants
    @invariant()
    def snd_una_never_passes_snd_nxt(self) -> None:
        for conn in [*self.client.connections(), *self.server.connections()]:
            info = conn.info()
            assert le(info.snd_una, info.snd_nxt), (conn, info)

    @invariant()
    def applications_read_a_prefix_of_what_their_peer_wrote(self) -> None:
        for streams in (self.up, self.down):
            for key, side in streams.items():
                assert side.written[: len(side.read)] == side.read, key


TwoEndpoints.TestCase.settings = settings(max_examples=300, stateful_step_count=80, deadline=None)
test_two_endpoints_under_attack = pytest.mark.slow(TwoEndpoints.TestCase)

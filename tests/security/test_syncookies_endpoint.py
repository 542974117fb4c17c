"""SYN cookies in the listener (issue 16 finding 1), and the bounds on half-open and TIME-WAIT state.

130 spoofed SYNs used to fill a listener's 128 slots for minutes: legitimate
clients then got 0 of 30 handshakes. Now a SYN that finds the SYN queue full
is answered with a cookie (RFC 4987 3.6, ``Config.syn_cookies="auto"``), the
connection is made from a valid cookie ACK with its options restored, and the
state an attacker can make the endpoint hold is bounded: half-open connections
per listener (the backlog) and per endpoint, SYN-ACK retries
(``Config.synack_retries``), TIME-WAIT connections per endpoint.
"""

from __future__ import annotations

import random

import pytest

from synack.tcp import Config, Connection, Endpoint, State
from synack.wire.ip import emit_tcp_packet, parse_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, FIN, RST, SYN, MaxSegmentSize, NoOperation, Segment, Timestamps
from tests.security.fuzzer import TCP_HEADER, ip_packet

CLIENT4, SERVER4 = str_to_addr("192.0.2.10"), str_to_addr("192.0.2.80")
CLIENT6, SERVER6 = str_to_addr("2001:db8::10"), str_to_addr("2001:db8::80")


class Wire:
    """Client and server endpoints joined directly; time moves only when asked."""

    def __init__(self, *, max_half_open: int = 1024, max_time_wait: int = 4096) -> None:
        self.now = 0
        self.client = Endpoint([CLIENT4, CLIENT6], isn_secret=b"c" * 32, port_seed=1)
        self.server = Endpoint(
            [SERVER4, SERVER6],
            isn_secret=b"s" * 32,
            port_seed=2,
            max_half_open=max_half_open,
            max_time_wait=max_time_wait,
        )
        self.seen: list[Segment] = []  # every segment the server sent

    def pump(self) -> None:
        for _ in range(100):
            a = self.client.packets_to_send(self.now)
            b = self.server.packets_to_send(self.now)
            if not a and not b:
                return
            for p in b:
                self.seen.append(parse_tcp_packet(p)[1])
                self.client.receive_packet(p, self.now)
            for p in a:
                self.server.receive_packet(p, self.now)

    def advance(self, dt: int) -> None:
        end = self.now + dt
        while True:
            due = [d for d in (self.client.next_deadline(), self.server.next_deadline()) if d]
            step = min((d for d in due if d <= end), default=None)
            if step is None:
                break
            self.now = max(self.now, step)
            self.client.handle_timer(self.now)
            self.server.handle_timer(self.now)
            self.pump()
        self.now = end

    def spoof_syns(self, n: int, port: int = 80, seed: int = 9) -> None:
        """``n`` SYNs from random (spoofed) sources; their SYN-ACKs go nowhere."""
        rng = random.Random(seed)
        for _ in range(n):
            src = bytes((198, 51, rng.randrange(256), rng.randrange(1, 255)))
            tcp = TCP_HEADER.pack(
                rng.randrange(1024, 65536), port, rng.getrandbits(32), 0, 5 << 4, SYN, 65535, 0, 0
            )
            self.server.receive_packet(ip_packet(src, SERVER4, tcp), self.now)
        self.server.packets_to_send(self.now)  # the answers are lost


def accepted(lst: object) -> list[Connection]:
    out = []
    while (conn := lst.accept()) is not None:  # type: ignore[attr-defined]
        out.append(conn)
    return out


def exchange(wire: Wire, client: Connection, server: Connection) -> None:
    """Data both ways arrives exactly."""
    client.send(b"ping " * 1000)
    server.send(b"pong " * 2000)
    wire.pump()
    wire.advance(1_000_000)
    assert server.recv() == b"ping " * 1000
    assert client.recv() == b"pong " * 2000


def test_with_cookies_always_the_handshake_keeps_no_state_and_restores_the_options() -> None:
    wire = Wire()
    lst = wire.server.listen(80, config=Config(syn_cookies="always"))
    conn = wire.client.connect(SERVER4, 80, 0)
    syn = wire.client.packets_to_send(0)
    for p in syn:
        wire.server.receive_packet(p, 0)
    assert wire.server.connections() == []  # nothing kept for the SYN
    (synack_packet,) = wire.server.packets_to_send(0)
    synack = parse_tcp_packet(synack_packet)[1]
    assert synack.flags == SYN | ACK
    assert synack.sack_permitted and synack.timestamps is not None and synack.wscale is not None
    wire.client.receive_packet(synack_packet, 0)
    wire.pump()
    assert conn.state is State.ESTABLISHED
    (server,) = accepted(lst)
    assert server.state is State.ESTABLISHED
    assert server.iss == synack.seq
    c = wire.server.counters
    assert (c["syncookies.sent"], c["syncookies.validated"], c["syncookies.failed"]) == (1, 1, 0)
    info, peer = server.info(), conn.info()
    assert info.timestamps and info.sack
    assert info.snd_wscale == peer.rcv_wscale and info.rcv_wscale == peer.snd_wscale
    assert info.mss == peer.mss  # 1460 is in the cookie's MSS table, less 12 for timestamps
    exchange(wire, conn, server)


def test_without_timestamps_a_cookie_restores_only_the_mss() -> None:
    # Window scale and SACK-permitted ride in TSval; without the option they are
    # lost, so the cookie SYN-ACK does not offer them (RFC 4987 3.6's cost).
    wire = Wire()
    lst = wire.server.listen(80, config=Config(syn_cookies="always"))
    conn = wire.client.connect(SERVER4, 80, 0, config=Config(timestamps=False))
    wire.pump()
    (server,) = accepted(lst)
    assert conn.state is State.ESTABLISHED and server.state is State.ESTABLISHED
    info = server.info()
    assert not info.timestamps and not info.sack
    assert info.snd_wscale == info.rcv_wscale == 0
    assert info.peer_mss == 1460
    exchange(wire, conn, server)


def test_a_cookie_connection_over_ipv6_uses_the_ipv6_mss_table() -> None:
    wire = Wire()
    lst = wire.server.listen(80, config=Config(syn_cookies="always"))
    conn = wire.client.connect(SERVER6, 80, 0, config=Config(mss=1400))  # 1380 on IPv6
    wire.pump()
    (server,) = accepted(lst)
    assert server.info().peer_mss == 1360  # the largest IPv6 table value not above 1380
    exchange(wire, conn, server)


def test_a_flood_that_fills_the_syn_queue_no_longer_keeps_clients_out() -> None:
    # The reproduction: 130 spoofed SYNs, then 30 legitimate clients.
    wire = Wire()
    lst = wire.server.listen(80, backlog=128)
    wire.spoof_syns(130)
    assert len(lst.pending) == 128  # the SYN queue is full ...
    assert wire.server.counters["syncookies.sent"] == 2  # ... and the last two got cookies
    clients = [wire.client.connect(SERVER4, 80, wire.now) for _ in range(30)]
    wire.pump()
    assert all(c.state is State.ESTABLISHED for c in clients)
    assert len(accepted(lst)) == 30
    assert wire.server.counters["syncookies.validated"] == 30


def test_without_cookies_the_same_flood_keeps_clients_out() -> None:
    wire = Wire()
    lst = wire.server.listen(80, backlog=128, config=Config(syn_cookies="never"))
    wire.spoof_syns(130)
    clients = [wire.client.connect(SERVER4, 80, wire.now) for _ in range(30)]
    wire.pump()
    assert all(c.state is State.SYN_SENT for c in clients)
    assert accepted(lst) == []
    assert wire.server.counters["syncookies.sent"] == 0


def test_spoofed_half_open_connections_are_given_up_after_five_syn_ack_retries() -> None:
    # Config.synack_retries (Linux's tcp_synack_retries): 1 + 2 + 4 + 8 + 16 s of
    # retransmissions, then 32 s more for the last one: gone at 63 s, not at 183 s.
    wire = Wire()
    lst = wire.server.listen(80, backlog=128)
    wire.spoof_syns(10)
    wire.advance(62_999_999)
    assert len(lst.pending) == 10
    wire.advance(1)
    assert len(lst.pending) == 0
    assert sum(1 for seg in wire.seen if seg.flags == SYN | ACK) == 50  # 5 retries each


def test_half_open_connections_are_bounded_per_endpoint_too() -> None:
    wire = Wire(max_half_open=20)
    a = wire.server.listen(80, backlog=128)
    b = wire.server.listen(81, backlog=128, config=Config(syn_cookies="never"))
    wire.spoof_syns(15, port=80)
    wire.spoof_syns(15, port=81, seed=10)
    assert (len(a.pending), len(b.pending)) == (15, 5)
    assert wire.server.counters["drop.backlog_full"] == 10


def test_forged_cookie_acks_fail_and_are_reset() -> None:
    wire = Wire()
    wire.server.listen(80, config=Config(syn_cookies="always"))
    rng = random.Random(3)
    answers = []
    for _ in range(1000):
        tcp = TCP_HEADER.pack(
            40000, 80, rng.getrandbits(32), rng.getrandbits(32), 5 << 4, ACK, 65535, 0, 0
        )
        wire.server.receive_packet(ip_packet(CLIENT4, SERVER4, tcp), 0)
        answers += [parse_tcp_packet(p)[1] for p in wire.server.packets_to_send(0)]
    assert wire.server.connections() == []
    assert wire.server.counters["syncookies.failed"] == 1000
    assert [s.flags for s in answers] == [RST] * 1000  # RFC 9293 3.10.7.2: an ACK in LISTEN


def test_outside_a_flood_acks_are_not_even_checked_as_cookies() -> None:
    wire = Wire()
    wire.server.listen(80)  # auto, and no cookie sent yet
    tcp = TCP_HEADER.pack(40000, 80, 1, 2, 5 << 4, ACK, 65535, 0, 0)
    wire.server.receive_packet(ip_packet(CLIENT4, SERVER4, tcp), 0)
    assert wire.server.counters["syncookies.failed"] == 0
    assert wire.server.counters["drop.ack_in_listen"] == 1


def test_a_cookie_returned_too_late_fails() -> None:
    wire = Wire()
    wire.server.listen(80, config=Config(syn_cookies="always"))
    conn = wire.client.connect(SERVER4, 80, 0)
    for p in wire.client.packets_to_send(0):
        wire.server.receive_packet(p, 0)
    (synack,) = wire.server.packets_to_send(0)
    wire.now = 129_000_000  # RFC 4987 3.6: the counter ticks every 64 s; two ticks live
    wire.client.receive_packet(synack, wire.now)
    wire.pump()
    assert wire.server.counters["syncookies.failed"] == 1
    assert conn.state is State.CLOSED  # the server's RST: connection refused


def test_time_wait_connections_are_capped_oldest_first() -> None:
    wire = Wire(max_time_wait=3)
    lst = wire.server.listen(80)
    clients = []
    for i in range(5):
        clients.append(wire.client.connect(SERVER4, 80, wire.now))
        wire.pump()
        (server,) = accepted(lst)
        server.close(wire.now)  # the server closes first: it keeps TIME-WAIT
        wire.pump()
        clients[-1].close(wire.now)
        wire.pump()
        wire.advance(1_000_000 * (i + 1))
    time_wait = [c for c in wire.server.connections() if c.state is State.TIME_WAIT]
    assert len(time_wait) == 3
    assert wire.server.counters["time_wait.evicted"] == 2
    kept = {c.remote[1] for c in time_wait}
    assert kept == {c.local[1] for c in clients[2:]}  # the three newest


def test_a_syn_the_listener_does_not_take_leaves_time_wait_in_place() -> None:
    # Issue 16 finding 7: a SYN that may reopen a TIME-WAIT connection (RFC 9293
    # 3.6.1, MAY-2) destroyed it even when the full listener then dropped the
    # SYN, and the old connection's retransmitted FIN met a RST.
    wire = Wire()
    lst = wire.server.listen(80, backlog=1, config=Config(syn_cookies="never"))
    client = wire.client.connect(SERVER4, 80, 0)
    wire.pump()
    (server,) = accepted(lst)
    server.close(wire.now)
    wire.pump()
    client.close(wire.now)
    wire.pump()
    assert server.state is State.TIME_WAIT
    wire.spoof_syns(1)  # the backlog (1) is now full
    (laddr, lport), (raddr, rport) = client.local, client.remote
    seq = (server.rcv_nxt + 100_000) & 0xFFFFFFFF
    syn = Segment(lport, rport, seq, 0, SYN, 65535, 0, (MaxSegmentSize(1460),))
    wire.server.receive_packet(emit_tcp_packet(laddr, raddr, syn), wire.now)
    assert server.state is State.TIME_WAIT
    assert wire.server.counters["drop.backlog_full"] == 1
    # The client's last FIN again (its ACK was lost): acknowledged, not reset.
    fin_seq = (server.rcv_nxt - 1) & 0xFFFFFFFF
    newer = (NoOperation(), NoOperation(), Timestamps(0x7FFFFFFF, 0))  # passes PAWS
    fin = Segment(lport, rport, fin_seq, server.snd_nxt, FIN | ACK, 65535, 0, newer)
    wire.server.receive_packet(emit_tcp_packet(laddr, raddr, fin), wire.now)
    answers = [parse_tcp_packet(p)[1] for p in wire.server.packets_to_send(wire.now)]
    assert answers and not any(s.flags & RST for s in answers)


@pytest.mark.parametrize("mode", ["auto", "always"])
def test_cookie_mode_is_a_config_switch(mode: str) -> None:
    assert Config(syn_cookies=mode).syn_cookies == mode  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Config(syn_cookies="sometimes")  # type: ignore[arg-type]

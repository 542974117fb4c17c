"""The Endpoint: demultiplexing, listeners, ephemeral ports, RSTs, bad input, ICMP, cleanup.

Two (or more) endpoints are joined by :class:`Net`, a tiny zero-latency loop in
virtual time: it hands each endpoint's packets to the owner of the destination
address and, when nothing is in flight, jumps to the earliest deadline.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import EPHEMERAL_PORTS, Endpoint
from synack.tcp.errors import PortInUseError
from synack.tcp.events import Closed, Connected, DataReceived, Event, Reset, SoftError, StateChanged
from synack.tcp.state import State
from synack.wire.ip import (
    PROTO_UDP,
    IPv4Header,
    IPv6Header,
    emit_tcp_packet,
    parse_ip,
    parse_tcp_packet,
    str_to_addr,
)
from synack.wire.seq import MASK
from synack.wire.tcp import ACK, FIN, PSH, RST, SYN, MaxSegmentSize, Segment

CLIENT4, SERVER4 = "10.0.0.1", "10.0.0.2"
CLIENT6, SERVER6 = "fd00::1", "fd00::2"
SECRET_A = bytes(range(32))
SECRET_B = bytes(range(32, 64))
MSL = Config().msl


class Net:
    """Zero-latency delivery between endpoints by destination address, in virtual time."""

    def __init__(self, *endpoints: Endpoint, drop: Callable[[bytes], bool] | None = None) -> None:
        self.endpoints = endpoints
        self.route = {a: ep for ep in endpoints for a in ep.addresses}
        self.drop = drop
        self.now = 0
        self.log: list[bytes] = []

    def flush(self) -> None:
        """Deliver packets until every endpoint is quiet (no time passes)."""
        for _ in range(1_000_000):
            moved = False
            for ep in self.endpoints:
                for pkt in ep.packets_to_send(self.now):
                    moved = True
                    self.log.append(pkt)
                    if self.drop is not None and self.drop(pkt):
                        continue
                    ip, _ = parse_ip(pkt)
                    dst = self.route.get(bytes(ip.dst))
                    if dst is not None:
                        dst.receive_packet(pkt, self.now)
            if not moved:
                return
        raise AssertionError("the endpoints never went quiet")

    def next_deadline(self) -> int | None:
        deadlines = [d for ep in self.endpoints if (d := ep.next_deadline()) is not None]
        return min(deadlines) if deadlines else None

    def step(self) -> bool:
        """Jump to the earliest deadline and fire it; False when no timer is pending."""
        self.flush()
        t = self.next_deadline()
        if t is None:
            return False
        self.now = max(self.now, t)
        for ep in self.endpoints:
            ep.handle_timer(self.now)
        self.flush()
        return True

    def advance_to(self, t: int) -> None:
        """Fire every deadline up to ``t``, then set the clock to ``t``."""
        self.flush()
        while (d := self.next_deadline()) is not None and d <= t:
            self.step()
        self.now = max(self.now, t)
        self.flush()

    def run_until(self, cond: Callable[[], bool], limit: int = 600_000_000) -> None:
        self.flush()
        while not cond():
            if self.now > limit or not self.step():
                raise AssertionError(f"condition not reached by t={self.now}")


def drain(ep: Endpoint) -> list[tuple[Connection, Event]]:
    evs = []
    while (ev := ep.next_event()) is not None:
        evs.append(ev)
    return evs


def pair(family: int = 4) -> tuple[Endpoint, Endpoint, Net]:
    client_addr, server_addr = (CLIENT4, SERVER4) if family == 4 else (CLIENT6, SERVER6)
    client = Endpoint([client_addr], isn_secret=SECRET_A, port_seed=1, name="client")
    server = Endpoint([server_addr], isn_secret=SECRET_B, port_seed=2, name="server")
    return client, server, Net(client, server)


def parsed(packets: list[bytes]) -> list[tuple[bytes, bytes, Segment]]:
    out = []
    for pkt in packets:
        ip, seg = parse_tcp_packet(pkt)
        out.append((bytes(ip.src), bytes(ip.dst), seg))
    return out


# ---------------------------------------------------------------- handshakes


@pytest.mark.parametrize("family", [4, 6])
def test_three_way_handshake(family: int) -> None:
    client, server, net = pair(family)
    lst = server.listen(80)
    conn = client.connect(SERVER4 if family == 4 else SERVER6, 80, 0)
    assert conn.state is State.SYN_SENT
    net.flush()
    assert conn.state is State.ESTABLISHED
    accepted = lst.accept()
    assert accepted is not None
    assert accepted.state is State.ESTABLISHED
    assert accepted.remote == conn.local
    assert accepted.local == conn.remote
    # RFC 9293 3.5 Figure 6: <SEQ=ISS><CTL=SYN>, <SEQ=ISS'><ACK=ISS+1><CTL=SYN,ACK>,
    # <SEQ=ISS+1><ACK=ISS'+1><CTL=ACK>.
    (c, s, syn), (s2, c2, synack), (c3, s3, ack) = parsed(net.log)
    assert (c, s) == (c3, s3) == (conn.local[0], conn.remote[0])
    assert (s2, c2) == (conn.remote[0], conn.local[0])
    assert len(c) == (4 if family == 4 else 16)
    # MUST-67: MSS = MTU - 40 on IPv4, MTU - 60 on IPv6.
    assert (syn.flags, syn.seq, syn.mss) == (SYN, conn.iss, 1460 if family == 4 else 1440)
    assert (synack.flags, synack.seq, synack.ack) == (SYN | ACK, accepted.iss, conn.iss + 1)
    assert (ack.flags, ack.seq, ack.ack) == (ACK, conn.iss + 1, accepted.iss + 1)
    assert [ev for c_, ev in drain(client) if not isinstance(ev, StateChanged)] == [Connected()]
    assert [ev for c_, ev in drain(server) if not isinstance(ev, StateChanged)] == [Connected()]


def test_ipv6_packets_carry_ipv6_headers_and_transfer_data() -> None:
    client, server, net = pair(6)
    lst = server.listen(443)
    conn = client.connect(SERVER6, 443, 0)
    net.flush()
    accepted = lst.accept()
    assert accepted is not None
    for pkt in net.log:
        ip, _ = parse_ip(pkt)
        assert isinstance(ip, IPv6Header)
        assert bytes(ip.src) in (str_to_addr(CLIENT6), str_to_addr(SERVER6))
    data = bytes(i % 253 for i in range(50_000))
    conn.send(data)
    got = bytearray()

    def done() -> bool:
        got.extend(accepted.recv())
        return len(got) == len(data)

    net.run_until(done)
    assert bytes(got) == data


def test_accept_returns_none_until_established_then_each_connection_once() -> None:
    client, server, net = pair()
    lst = server.listen(80)
    assert lst.accept() is None
    first = client.connect(SERVER4, 80, 0)
    second = client.connect(SERVER4, 80, 0)
    (syn1, syn2) = client.packets_to_send(0)
    server.receive_packet(syn1, 0)
    server.receive_packet(syn2, 0)
    assert lst.accept() is None  # half-open: SYN-RECEIVED is not acceptable yet
    assert len(lst) == 2
    net.flush()
    a1, a2 = lst.accept(), lst.accept()
    assert a1 is not None
    assert a2 is not None
    assert (a1.remote, a2.remote) == (first.local, second.local)  # in order of completion
    assert lst.accept() is None


def test_listen_twice_on_a_port_is_refused() -> None:
    server = Endpoint([SERVER4])
    server.listen(80)
    with pytest.raises(PortInUseError):
        server.listen(80)
    with pytest.raises(ValueError, match="port"):
        server.listen(0)


def test_closed_listener_no_longer_accepts_syns() -> None:
    client, server, net = pair()
    lst = server.listen(80)
    lst.close()
    conn = client.connect(SERVER4, 80, 0)
    net.flush()
    assert conn.state is State.CLOSED
    assert server.counters["rst_sent"] == 1


# ------------------------------------------------------------------- backlog


def test_syns_beyond_the_backlog_are_dropped_and_counted() -> None:
    # Without SYN cookies (tests/security/test_syncookies_endpoint.py has them).
    client, server, net = pair()
    lst = server.listen(80, backlog=2, config=Config(syn_cookies="never"))
    conns = [client.connect(SERVER4, 80, 0) for _ in range(3)]
    syns = client.packets_to_send(0)
    assert len(syns) == 3
    for pkt in syns:
        server.receive_packet(pkt, 0)
    assert server.counters["drop.backlog_full"] == 1
    assert len(lst) == 2
    synacks = parsed(server.packets_to_send(0))
    assert [seg.flags for _, _, seg in synacks] == [SYN | ACK, SYN | ACK]
    for pkt in [emit_tcp_packet(s, c, seg) for s, c, seg in synacks]:
        client.receive_packet(pkt, 0)
    net.flush()
    assert [c.state for c in conns] == [State.ESTABLISHED, State.ESTABLISHED, State.SYN_SENT]
    assert len(server.connections()) == 2
    assert len(lst) == 2  # both completed, neither accepted: still full


def test_backlog_counts_unaccepted_connections_until_accept() -> None:
    client, server, net = pair()
    lst = server.listen(80, backlog=2, config=Config(syn_cookies="never"))
    conns = [client.connect(SERVER4, 80, 0) for _ in range(3)]
    net.flush()
    assert conns[2].state is State.SYN_SENT
    # Still full at the first SYN retransmission (1 s): dropped again.
    net.advance_to(1_000_000)
    assert server.counters["drop.backlog_full"] == 2
    assert conns[2].state is State.SYN_SENT
    assert lst.accept() is not None
    # The next retransmission (RTO backed off to 2 s) finds room.
    net.advance_to(2_999_999)
    assert conns[2].state is State.SYN_SENT
    net.advance_to(3_000_000)
    assert conns[2].state is State.ESTABLISHED
    assert server.counters["drop.backlog_full"] == 2


# ----------------------------------------------------------- ephemeral ports


def test_ephemeral_ports_are_distinct_and_in_the_dynamic_range() -> None:
    # RFC 6335 6: 49152-65535; RFC 6056: a fresh port for each connection.
    client = Endpoint([CLIENT4], port_seed=7)
    ports = [client.connect(SERVER4, 80, 0).local[1] for _ in range(3000)]
    assert len(set(ports)) == len(ports)
    assert all(49152 <= p <= 65535 for p in ports)
    assert range(49152, 65536) == EPHEMERAL_PORTS


def test_ephemeral_ports_are_reproducible_with_port_seed() -> None:
    def ports(seed: int) -> list[int]:
        ep = Endpoint([CLIENT4], port_seed=seed)
        return [ep.connect(SERVER4, 80 + i % 3, 0).local[1] for i in range(50)]

    assert ports(11) == ports(11)
    assert ports(11) != ports(12)


def test_ephemeral_port_is_not_sequential_from_the_range_start() -> None:
    # RFC 6056 3: port selection is obfuscated, not simply 49152, 49153, ...
    firsts = {Endpoint([CLIENT4], port_seed=s).connect(SERVER4, 80, 0).local[1] for s in range(20)}
    assert len(firsts) > 10


def test_explicit_local_port_in_use_is_refused() -> None:
    client = Endpoint([CLIENT4])
    client.connect(SERVER4, 80, 0, local_port=5000)
    with pytest.raises(PortInUseError):
        client.connect(SERVER4, 80, 0, local_port=5000)
    # Another remote port is another 4-tuple.
    assert client.connect(SERVER4, 81, 0, local_port=5000).local[1] == 5000


def test_connect_to_other_family_without_address_is_refused() -> None:
    client = Endpoint([CLIENT4])
    with pytest.raises(ValueError, match="family"):
        client.connect(SERVER6, 80, 0)


# ------------------------------------------------- RST for no connection (CLOSED)


def probe_closed_port(
    seg: Segment, family: int = 4, listen: int | None = None
) -> tuple[Endpoint, list[tuple[bytes, bytes, Segment]]]:
    client_addr, server_addr = (CLIENT4, SERVER4) if family == 4 else (CLIENT6, SERVER6)
    server = Endpoint([server_addr])
    if listen is not None:
        server.listen(listen)
    pkt = emit_tcp_packet(str_to_addr(client_addr), str_to_addr(server_addr), seg)
    server.receive_packet(pkt, 0)
    return server, parsed(server.packets_to_send(0))


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize(
    ("seg", "rst"),
    [
        # RFC 9293 3.10.7.1: "If the ACK bit is off, sequence number zero is used,
        # <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>".
        (Segment(40_000, 81, 1234, 0, SYN, 1000), Segment(81, 40_000, 0, 1235, RST | ACK)),
        (
            Segment(40_000, 81, 1234, 0, SYN, 1000, payload=b"hello"),
            Segment(81, 40_000, 0, 1240, RST | ACK),
        ),
        (Segment(40_000, 81, MASK, 0, SYN, 1000), Segment(81, 40_000, 0, 0, RST | ACK)),
        (
            Segment(40_000, 81, 100, 0, FIN, 1000, payload=b"abc"),
            Segment(81, 40_000, 0, 104, RST | ACK),
        ),
        (Segment(40_000, 81, 100, 0, 0, 1000), Segment(81, 40_000, 0, 100, RST | ACK)),
        # "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>".
        (Segment(40_000, 81, 500, 777, ACK, 1000), Segment(81, 40_000, 777, 0, RST)),
        (
            Segment(40_000, 81, 500, 777, ACK | PSH, 1000, payload=b"data"),
            Segment(81, 40_000, 777, 0, RST),
        ),
        (Segment(40_000, 81, 500, 777, SYN | ACK, 1000), Segment(81, 40_000, 777, 0, RST)),
        (Segment(40_000, 81, 500, 777, FIN | ACK, 1000), Segment(81, 40_000, 777, 0, RST)),
    ],
)
def test_segment_to_a_port_without_listener_gets_exact_rst(
    seg: Segment, rst: Segment, family: int
) -> None:
    server, replies = probe_closed_port(seg, family, listen=80)
    client_addr, server_addr = (CLIENT4, SERVER4) if family == 4 else (CLIENT6, SERVER6)
    assert replies == [(str_to_addr(server_addr), str_to_addr(client_addr), rst)]
    assert server.counters["drop.no_connection"] == 1
    assert server.counters["rst_sent"] == 1
    assert server.connections() == []


@pytest.mark.parametrize("flags", [RST, RST | ACK, RST | SYN, RST | FIN])
def test_rst_to_a_port_without_listener_gets_nothing(flags: int) -> None:
    # RFC 9293 3.10.7.1: "An incoming segment containing a RST is discarded."
    server, replies = probe_closed_port(Segment(40_000, 81, 500, 777, flags, 1000))
    assert replies == []
    assert server.counters["drop.no_connection"] == 1
    assert server.counters["rst_sent"] == 0


def test_ack_to_a_listener_gets_rst_with_seq_seg_ack() -> None:
    # RFC 9293 3.10.7.2: "Any acknowledgment is bad if it arrives on a connection
    # still in the LISTEN state ... <SEQ=SEG.ACK><CTL=RST>".
    server, replies = probe_closed_port(Segment(40_000, 80, 500, 777, ACK, 1000), listen=80)
    assert [seg for _, _, seg in replies] == [Segment(80, 40_000, 777, 0, RST)]
    assert server.connections() == []


def test_rst_to_a_listener_is_ignored() -> None:
    server, replies = probe_closed_port(Segment(40_000, 80, 500, 0, RST, 1000), listen=80)
    assert replies == []
    assert server.connections() == []


@pytest.mark.parametrize("family", [4, 6])
def test_connect_to_closed_port_reports_refused_then_closed(family: int) -> None:
    client, _server, net = pair(family)
    conn = client.connect(SERVER4 if family == 4 else SERVER6, 80, 0)
    net.flush()
    assert conn.state is State.CLOSED
    evs = [(c, ev) for c, ev in drain(client) if not isinstance(ev, StateChanged)]
    assert evs == [(conn, Reset(refused=True)), (conn, Closed())]
    assert client.connections() == []
    assert client.next_deadline() is None


# ------------------------------------------------------------ bad packets


def good_syn(dst: str = SERVER4, port: int = 80) -> bytes:
    return emit_tcp_packet(
        str_to_addr(CLIENT4 if ":" not in dst else CLIENT6),
        str_to_addr(dst),
        Segment(40_000, port, 1000, 0, SYN, 8000, options=(MaxSegmentSize(1460),)),
    )


def flip(pkt: bytes, index: int) -> bytes:
    b = bytearray(pkt)
    b[index] ^= 0x5A
    return bytes(b)


def udp_packet() -> bytes:
    udp = (
        (40_000).to_bytes(2, "big")
        + (53).to_bytes(2, "big")
        + (12).to_bytes(2, "big")
        + b"\0\0ping"
    )
    src, dst = str_to_addr(CLIENT4), str_to_addr(SERVER4)
    return IPv4Header(src, dst, PROTO_UDP).emit(len(udp)) + udp


def truncated_tcp() -> bytes:
    src, dst = str_to_addr(CLIENT4), str_to_addr(SERVER4)
    return IPv4Header(src, dst).emit(10) + good_syn()[20:30]


BAD_PACKETS: list[tuple[str, Callable[[], bytes], str]] = [
    ("bad_tcp_checksum", lambda: flip(good_syn(), 20 + 14), "bad_checksum"),
    ("bad_payload_checksum", lambda: flip(good_syn(), len(good_syn()) - 1), "bad_checksum"),
    ("bad_ip_checksum", lambda: flip(good_syn(), 8), "bad_ip_checksum"),
    ("empty", lambda: b"", "truncated"),
    ("short_ip_header", lambda: good_syn()[:10], "truncated"),
    ("cut_after_ip_length", lambda: good_syn()[:30], "bad_length"),
    ("truncated_tcp_header", truncated_tcp, "truncated"),
    ("not_our_address", lambda: good_syn(dst="10.0.0.99"), "not_for_us"),
    ("not_our_family", lambda: good_syn(dst="fd00::99"), "not_for_us"),
    ("udp", udp_packet, "not_tcp"),
    ("ip_version_5", lambda: bytes([0x50]) + good_syn()[1:], "bad_version"),
]


@pytest.mark.parametrize(("name", "build", "reason"), BAD_PACKETS, ids=[b[0] for b in BAD_PACKETS])
def test_bad_packet_is_dropped_and_counted_with_its_reason(
    name: str, build: Callable[[], bytes], reason: str
) -> None:
    server = Endpoint([SERVER4])
    lst = server.listen(80)
    server.receive_packet(build(), 0)
    assert server.counters["drop." + reason] == 1, dict(server.counters)
    assert server.counters["packets_in"] == 1
    assert server.packets_to_send(0) == []
    assert server.connections() == []
    assert len(lst) == 0


def test_the_good_packet_used_above_is_accepted() -> None:
    server = Endpoint([SERVER4])
    lst = server.listen(80)
    server.receive_packet(good_syn(), 0)
    assert len(lst) == 1
    assert not [k for k in server.counters if k.startswith("drop.")]


def test_random_bytes_never_raise_and_replies_are_well_formed() -> None:
    rng = random.Random(20240601)
    client, server, net = pair()
    lst = server.listen(80)
    conn = client.connect(SERVER4, 80, 0)
    net.flush()
    accepted = lst.accept()
    assert accepted is not None
    src, dst = str_to_addr(CLIENT4), str_to_addr(SERVER4)
    template = good_syn()
    before = server.counters["packets_in"]
    n = 4000
    for i in range(n):
        kind = i % 4
        if kind == 0:  # noise
            pkt = rng.randbytes(rng.randrange(0, 120))
        elif kind == 1:  # a valid IPv4 header for us, random TCP bytes
            body = rng.randbytes(rng.randrange(0, 80))
            pkt = IPv4Header(src, dst).emit(len(body)) + body
        elif kind == 2:  # a valid packet with a few octets changed
            b = bytearray(template)
            for _ in range(rng.randrange(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            pkt = bytes(b)
        else:  # a well-formed segment with random fields, to the listener or the connection
            seg = Segment(
                rng.choice([conn.local[1], rng.randrange(65536)]),
                rng.choice([80, rng.randrange(65536)]),
                rng.randrange(1 << 32),
                rng.randrange(1 << 32),
                rng.randrange(1 << 12),
                rng.randrange(65536),
                payload=rng.randbytes(rng.randrange(0, 40)),
            )
            pkt = emit_tcp_packet(src, dst, seg)
        server.receive_packet(pkt, i)
        for reply in server.packets_to_send(i):
            parse_tcp_packet(reply)  # everything we emit is a valid TCP packet
    assert server.counters["packets_in"] == before + n
    drops = sum(v for k, v in server.counters.items() if k.startswith("drop."))
    assert drops >= n // 2


def test_endpoint_still_works_after_garbage() -> None:
    rng = random.Random(5)
    client, server, net = pair()
    lst = server.listen(80)
    for _ in range(500):
        server.receive_packet(rng.randbytes(rng.randrange(0, 60)), 0)
    conn = client.connect(SERVER4, 80, 0)
    net.flush()
    assert conn.state is State.ESTABLISHED
    assert lst.accept() is not None


# ---------------------------------------------------------------------- ICMP


def established_pair(family: int = 4) -> tuple[Endpoint, Endpoint, Net, Connection, Connection]:
    client, server, net = pair(family)
    lst = server.listen(80)
    conn = client.connect(SERVER4 if family == 4 else SERVER6, 80, 0)
    net.flush()
    accepted = lst.accept()
    assert accepted is not None
    drain(client)
    drain(server)
    net.log.clear()
    return client, server, net, conn, accepted


def test_port_unreachable_is_a_soft_error_and_does_not_close() -> None:
    # RFC 9293 3.9 (MUST-56 / SHLD-26): soft errors are reported, not fatal.
    client, _server, net, conn, accepted = established_pair()
    conn.send(b"hello")
    net.flush()
    quoted = next(p for p in net.log if parse_ip(p)[0].src == str_to_addr(CLIENT4))[:28]
    client.handle_icmp_error(net.now, kind="port_unreachable", original=quoted)
    assert drain(client) == [(conn, SoftError("port_unreachable"))]
    assert conn.state is State.ESTABLISHED
    assert client.counters["icmp.port_unreachable"] == 1
    conn.send(b" world")
    got = bytearray()

    def done() -> bool:
        got.extend(accepted.recv())
        return len(got) == 11

    net.run_until(done)
    assert bytes(got) == b"hello world"


def test_frag_needed_lowers_the_mss_to_mtu_minus_headers() -> None:
    client, _server, net, conn, accepted = established_pair()
    # RFC 6691: the Timestamps option (12 octets, negotiated by default) comes
    # out of the MSS.
    opts = 12 if conn.timestamps_ok else 0
    assert conn.mss == 1460 - opts
    conn.send(b"x")
    net.flush()
    quoted = next(p for p in net.log if parse_ip(p)[0].src == str_to_addr(CLIENT4))[:28]
    accepted.recv()
    net.log.clear()
    client.handle_icmp_error(net.now, kind="frag_needed", original=quoted, mtu=1000)
    assert conn.mss == 1000 - 40 - opts
    assert conn.cc.mss == 960 - opts
    conn.send(bytes(5000))
    got = bytearray()

    def done() -> bool:
        got.extend(accepted.recv())
        return len(got) == 5000

    net.run_until(done)
    sizes = [len(seg.payload) for s, _, seg in parsed(net.log) if s == str_to_addr(CLIENT4)]
    assert sizes and max(sizes) == 960 - opts


def test_packet_too_big_on_ipv6_lowers_the_mss() -> None:
    client, _server, net, conn, _accepted = established_pair(6)
    conn.send(b"x")
    net.flush()
    quoted = next(p for p in net.log if parse_ip(p)[0].src == str_to_addr(CLIENT6))[:48]
    client.handle_icmp_error(net.now, kind="packet_too_big", original=quoted, mtu=1280)
    assert conn.mss == 1280 - 60 - (12 if conn.timestamps_ok else 0)


def test_icmp_for_unknown_connection_or_malformed_quote_is_counted() -> None:
    client, _server, _net, conn, _ = established_pair()
    other = emit_tcp_packet(str_to_addr(CLIENT4), str_to_addr(SERVER4), Segment(1, 2, 0, 0, ACK))[
        :28
    ]
    client.handle_icmp_error(0, kind="port_unreachable", original=other)
    client.handle_icmp_error(0, kind="port_unreachable", original=b"\x45\x00")
    client.handle_icmp_error(0, kind="port_unreachable", original=b"")
    assert client.counters["icmp.no_connection"] == 1
    assert client.counters["icmp.malformed"] == 2
    assert drain(client) == []
    assert conn.state is State.ESTABLISHED


# ----------------------------------------------------------------- cleanup


def test_closed_connections_are_removed_after_time_wait_of_exactly_2msl() -> None:
    client, server, net, conn, accepted = established_pair()
    net.advance_to(5_000_000)
    conn.close(net.now)
    net.flush()
    assert conn.state is State.FIN_WAIT_2
    assert accepted.state is State.CLOSE_WAIT
    accepted.close(net.now)
    net.flush()
    assert accepted.state is State.CLOSED
    assert server.connections() == []
    assert conn.state is State.TIME_WAIT
    assert client.connections() == [conn]
    # RFC 9293 3.10.7.4 / 3.10.8: TIME-WAIT lasts 2 MSL.
    assert client.next_deadline() == 5_000_000 + 2 * MSL
    net.advance_to(5_000_000 + 2 * MSL - 1)
    assert client.connections() == [conn]
    net.advance_to(5_000_000 + 2 * MSL)
    assert conn.state is State.CLOSED
    assert client.connections() == []
    assert client.next_deadline() is None


def test_aborted_connection_is_removed() -> None:
    client, server, net, conn, accepted = established_pair()
    conn.abort(0)
    net.flush()
    assert client.connections() == []
    assert accepted.state is State.CLOSED
    assert server.connections() == []
    assert [ev for _, ev in drain(server) if not isinstance(ev, StateChanged)] == [
        Reset(refused=False),
        Closed(),
    ]


def test_close_in_syn_sent_deletes_the_connection() -> None:
    # RFC 9293 3.10.4 SYN-SENT STATE: "Delete the TCB".
    client, _server, net = pair()
    conn = client.connect(SERVER4, 80, 0, local_port=5000)
    net.log.clear()
    client.packets_to_send(0)
    conn.close(0)
    net.flush()
    assert conn.state is State.CLOSED
    assert client.connections() == []
    assert client.next_deadline() is None
    # The 4-tuple is free again.
    assert client.connect(SERVER4, 80, 0, local_port=5000).local[1] == 5000


def test_time_wait_uses_the_configured_msl() -> None:
    client = Endpoint([CLIENT4], config=Config(msl=1_000_000), isn_secret=SECRET_A)
    server = Endpoint([SERVER4], isn_secret=SECRET_B)
    net = Net(client, server)
    lst = server.listen(80)
    conn = client.connect(SERVER4, 80, 0)
    net.flush()
    accepted = lst.accept()
    assert accepted is not None
    conn.close(0)
    net.flush()
    accepted.close(0)
    net.flush()
    assert conn.state is State.TIME_WAIT
    net.advance_to(1_999_999)
    assert client.connections() == [conn]
    net.advance_to(2_000_000)
    assert client.connections() == []


# ------------------------------------------------------------------- scale


def test_hundred_concurrent_connections_complete_and_transfer() -> None:
    client, server, net = pair()
    lst = server.listen(80, backlog=128)
    conns = [client.connect(SERVER4, 80, 0) for _ in range(100)]
    net.flush()
    assert all(c.state is State.ESTABLISHED for c in conns)
    accepted: dict[int, Connection] = {}
    while (a := lst.accept()) is not None:
        accepted[a.remote[1]] = a
    assert sorted(accepted) == sorted(c.local[1] for c in conns)
    payloads = {c.local[1]: bytes([i]) * (3_000 + 97 * i) for i, c in enumerate(conns)}
    for c in conns:
        assert c.send(payloads[c.local[1]]) == len(payloads[c.local[1]])
    got: dict[int, bytearray] = {p: bytearray() for p in accepted}

    def all_in() -> bool:
        for port, a in accepted.items():
            got[port] += a.recv()
        return all(len(got[p]) == len(payloads[p]) for p in got)

    net.run_until(all_in)
    assert {p: bytes(b) for p, b in got.items()} == payloads
    # And back: each server side answers with the length it received.
    for port, a in accepted.items():
        a.send(str(len(got[port])).encode())
    net.run_until(lambda: all(c.recv_available for c in conns))
    for c in conns:
        assert c.recv() == str(len(payloads[c.local[1]])).encode()
    assert len(server.connections()) == 100
    data_events = [ev for _, ev in drain(server) if isinstance(ev, DataReceived)]
    assert data_events

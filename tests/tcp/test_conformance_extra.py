"""RFC 9293 Appendix B requirements not covered elsewhere, one test per claim in docs/conformance.md.

Each test names the requirement IDs it proves. Connection-level tests use the
exact-segment builders of :mod:`tests.tcp.helpers`; host-level ones (options and
checksums on the wire, addresses, ICMP) drive an :class:`Endpoint` with IP packets.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.errors import PortInUseError
from synack.tcp.events import Connected, DataReceived, Event, Reset, SoftError, TimedOut
from synack.tcp.state import State
from synack.wire.checksum import internet_checksum, ones_sum
from synack.wire.icmp import IcmpKind
from synack.wire.ip import (
    IPV4_DF,
    IPv4Header,
    emit_tcp_packet,
    parse_ip,
    parse_tcp_packet,
    pseudo_sum,
    str_to_addr,
)
from synack.wire.tcp import (
    ACK,
    FIN,
    PSH,
    RST,
    SYN,
    EndOfOptions,
    MaxSegmentSize,
    NoOperation,
    Option,
    Segment,
    Timestamps,
    UnknownOption,
    parse_segment,
)
from tests.tcp.helpers import (
    LOCAL_ISS,
    MSS,
    REMOTE_ISS,
    established,
    events,
    feed,
    new_conn,
    out,
    syn_sent,
    us,
)

L = LOCAL_ISS + 1  # SND.NXT of established()
R = REMOTE_ISS + 1  # RCV.NXT of established()

HOST = "10.0.0.1"
PEER = "10.0.0.2"
PEER_PORT = 40_000
PORT = 80
HOST_CONFIG = Config(mss=MSS, fixed_iss=LOCAL_ISS, window_scaling=False, delayed_ack=0)


# ------------------------------------------------------------------ helpers


def packet(seg: Segment, src: str = PEER, dst: str = HOST) -> bytes:
    """An IP packet carrying ``seg`` from ``src`` to ``dst``."""
    return emit_tcp_packet(str_to_addr(src), str_to_addr(dst), seg)


def sent(ep: Endpoint, now: int = 0) -> list[tuple[str, Segment]]:
    """What the endpoint sends now, as (source address, parsed segment) pairs."""
    result = []
    for pkt in ep.packets_to_send(now):
        ip, seg = parse_tcp_packet(pkt)  # also verifies every checksum
        result.append((str(ip.src.hex()), seg))
    return result


def drain(ep: Endpoint) -> list[tuple[Connection, Event]]:
    evs = []
    while (ev := ep.next_event()) is not None:
        evs.append(ev)
    return evs


def peer_seg(
    seq: int, ack: int, flags: int, payload: bytes = b"", options: tuple[Option, ...] = ()
) -> Segment:
    return Segment(PEER_PORT, PORT, seq, ack, flags, 60_000, 0, options, payload)


def server(*addresses: str, config: Config = HOST_CONFIG) -> Endpoint:
    ep = Endpoint(addresses or (HOST,), config=config, isn_secret=bytes(32))
    ep.listen(PORT)
    return ep


def established_server(config: Config = HOST_CONFIG) -> tuple[Endpoint, Connection]:
    """An endpoint listening on port 80 with one connection from PEER established."""
    ep = server(config=config)
    ep.receive_packet(packet(peer_seg(REMOTE_ISS, 0, SYN, options=(MaxSegmentSize(MSS),))), 0)
    ep.packets_to_send(0)
    ep.receive_packet(packet(peer_seg(R, L, ACK)), 0)
    ep.packets_to_send(0)
    (conn,) = ep.connections()
    assert conn.state is State.ESTABLISHED
    drain(ep)
    return ep, conn


def raw_tcp_with_options(option_bytes: bytes, payload: bytes, seq: int, ack: int) -> bytes:
    """A PEER -> HOST IPv4 packet whose TCP options are exactly ``option_bytes``."""
    assert len(option_bytes) % 4 == 0
    hlen = 20 + len(option_bytes)
    head = bytearray(Segment(PEER_PORT, PORT, seq, ack, ACK | PSH, 60_000).emit()[:20])
    head[12] = (hlen // 4) << 4
    head[16:18] = b"\x00\x00"
    tcp = bytearray(bytes(head) + option_bytes + payload)
    src, dst = str_to_addr(PEER), str_to_addr(HOST)
    tcp[16:18] = internet_checksum(tcp, pseudo_sum(src, dst, len(tcp))).to_bytes(2, "big")
    return IPv4Header(src, dst).emit(len(tcp)) + bytes(tcp)


def addr_hex(text: str) -> str:
    return str_to_addr(text).hex()


# ------------------------------------------------------------------ PUSH flag


def test_psh_is_set_only_on_the_last_segment_of_the_queued_data() -> None:
    # MUST-61 (PSH on the last buffered segment), SHLD-27 (successive sends' pushes
    # collapse into one PSH), SHLD-28 (full-sized segments whenever possible).
    conn = established(nodelay=True)
    conn.send(b"a" * 1200)
    conn.send(b"b" * 800)
    assert out(conn) == [
        us(flags=ACK, payload=b"a" * MSS),
        us(seq=L + MSS, flags=ACK | PSH, payload=b"a" * 200 + b"b" * 800),
    ]


def test_successive_small_sends_are_aggregated_into_one_segment() -> None:
    # MAY-16: data of several SEND calls is combined (here Nagle holds it until the ACK).
    conn = established()
    conn.send(b"a")
    assert out(conn) == [us(flags=ACK | PSH, payload=b"a")]
    conn.send(b"b")
    conn.send(b"c")
    conn.send(b"d")
    assert out(conn) == []
    feed(conn, ack=L + 1)
    assert out(conn) == [us(seq=L + 1, flags=ACK | PSH, payload=b"bcd")]


# ------------------------------------------------------------------ windows


def test_window_field_is_an_unsigned_number() -> None:
    # MUST-1: 0xFFFF on the wire is 65,535 octets, not -1.
    seg = parse_segment(Segment(PEER_PORT, PORT, R, L, ACK, 0xFFFF).emit())
    assert seg.window == 65_535
    conn = established()
    feed(conn, window=seg.window)
    assert conn.snd_wnd == 65_535


def test_advertised_right_edge_never_moves_left_without_scaling() -> None:
    # SHLD-14 (unscaled windows): RCV.NXT + RCV.WND as advertised never decreases while
    # data of random sizes arrives and the application reads random amounts.
    conn = established(recv_buffer=20_000)
    rng = random.Random(9293)
    right = R + 20_000
    for _ in range(3000):
        if rng.random() < 0.6:
            feed(conn, seq=conn.rcv_nxt, flags=ACK, payload=b"x" * rng.randrange(1, 1000))
        else:
            conn.recv(rng.randrange(1, 3000))
        for seg in out(conn):
            edge = seg.ack + seg.window
            assert edge >= right
            right = edge


def test_shrunk_window_sends_no_new_data_and_retransmits_only_inside_it() -> None:
    # MUST-34 (robust to shrinking), SHLD-15 (no new data), SHLD-16 (retransmit old data
    # between SND.UNA and SND.UNA+SND.WND).
    conn = established(nodelay=True)
    conn.send(b"z" * 5 * MSS)
    assert len(out(conn)) == 5
    # The peer acknowledges one segment and moves its right edge from
    # L+60,000 back to L+2,000, below SND.NXT = L+5,000: the usable window is negative.
    feed(conn, 10, ack=L + MSS, window=MSS)
    conn.send(b"y" * MSS)
    assert out(conn, 10) == []
    assert conn.next_deadline() == 10 + 200_000  # the RTO, at its 200 ms floor
    conn.handle_timer(200_010)
    assert out(conn, 200_010) == [us(seq=L + MSS, flags=ACK, payload=b"z" * MSS)]
    assert conn.state is State.ESTABLISHED


def test_window_shrunk_to_zero_is_probed_and_the_connection_never_times_out() -> None:
    # MUST-35 (a window shrunk to zero is probed the standard way) and SHLD-17 (no
    # timeout for data beyond the right edge while the peer answers).
    conn = established(nodelay=True, data_retries_r2=3)
    conn.send(b"z" * 5 * MSS)
    out(conn)
    feed(conn, 10, ack=L + MSS, window=0)
    assert conn.next_deadline() == 10 + 200_000  # persist timer: one RTO (its 200 ms floor)
    probes = []
    for _ in range(12):  # far more than R2 = 3 retransmissions
        t = conn.next_deadline()
        assert t is not None
        conn.handle_timer(t)
        probes += out(conn, t)
        feed(conn, t + 10, ack=L + MSS, window=0)
    assert probes == [us(seq=L + MSS, payload=b"z")] * 12
    assert conn.counters["window_probe"] == 12
    assert conn.state is State.ESTABLISHED


def test_receive_window_may_stay_closed_while_probes_are_answered() -> None:
    # MAY-8: our window stays zero for hours while the application does not read;
    # every probe gets an ACK with RCV.NXT and window 0, and no timer closes us.
    conn = established(recv_buffer=MSS)
    feed(conn, seq=R, flags=ACK, payload=b"x" * MSS)
    assert out(conn) == [us(ack=R + MSS, window=0)]
    for hour in range(1, 6):
        t = hour * 3_600_000_000
        feed(conn, t, seq=R + MSS, flags=ACK, payload=b"p")
        assert out(conn, t) == [us(ack=R + MSS, window=0)]
    assert conn.next_deadline() is None
    assert conn.state is State.ESTABLISHED


def test_exact_rst_is_processed_with_a_zero_receive_window() -> None:
    # MUST-66 (the RST half: synack does not support URG, see docs/conformance.md).
    conn = established(recv_buffer=1)
    feed(conn, seq=R, flags=ACK | PSH, payload=b"z")
    out(conn)
    assert conn.rcv_wnd == 0
    feed(conn, seq=R + 1, ack=0, flags=RST)
    assert conn.state is State.CLOSED
    assert Reset() in events(conn)


def test_small_reads_do_not_open_the_window_until_an_mss_is_free() -> None:
    # MUST-39: receiver SWS avoidance; the update waits for min(RCV.BUFF/2, MSS) = 1000.
    conn = established(recv_buffer=4 * MSS)
    for i in range(4):
        feed(conn, seq=R + i * MSS, flags=ACK, payload=b"y" * MSS)
    assert out(conn)[-1].window == 0
    assert len(conn.recv(100)) == 100
    assert out(conn) == []
    assert len(conn.recv(899)) == 899
    assert out(conn) == []
    assert len(conn.recv(1)) == 1
    assert out(conn) == [us(ack=R + 4 * MSS, window=MSS)]


def test_segments_sent_anyway_keep_the_window_shut_until_an_mss_is_free() -> None:
    # MUST-39, RFC 9293 3.8.6.2.2: "keep RCV.NXT+RCV.WND fixed until the reduction
    # satisfies RCV.BUFF - RCV.USER - RCV.WND >= min(Fr * RCV.BUFF, Eff.snd.MSS)",
    # Fr = 1/2: 1000 octets here. Data we send meanwhile carries the old edge.
    conn = established(recv_buffer=4 * MSS, nodelay=True)
    for i in range(4):
        feed(conn, seq=R + i * MSS, flags=ACK, payload=b"y" * MSS)
    assert out(conn)[-1].window == 0
    assert len(conn.recv(999)) == 999
    conn.send(b"d")
    assert out(conn) == [us(ack=R + 4 * MSS, flags=ACK | PSH, payload=b"d", window=0)]
    assert len(conn.recv(1)) == 1  # 1000 free: the window opens, and says so
    assert out(conn) == [us(seq=L + 1, ack=R + 4 * MSS, window=MSS)]


# ------------------------------------------------------------------ options


def test_mandatory_options_are_understood_at_any_alignment() -> None:
    # MUST-4 (EOL, NOP, MSS) and MUST-64: the MSS option starts at an odd offset.
    ep = server()
    opts = (NoOperation(), MaxSegmentSize(700), NoOperation(), EndOfOptions())
    ep.receive_packet(packet(peer_seg(REMOTE_ISS, 0, SYN, options=opts)), 0)
    ((_, synack),) = sent(ep)
    assert synack.flags == SYN | ACK
    (conn,) = ep.connections()
    assert conn.peer_mss == 700
    assert conn.mss == 700


def test_unknown_options_are_ignored_in_any_segment() -> None:
    # MUST-5 (options in any segment) and MUST-6 (unsupported options ignored).
    ep = server()
    syn_opts = (MaxSegmentSize(MSS), UnknownOption(254, b"\x12\x34"))
    ep.receive_packet(packet(peer_seg(REMOTE_ISS, 0, SYN, options=syn_opts)), 0)
    sent(ep)
    ep.receive_packet(packet(peer_seg(R, L, ACK, options=(UnknownOption(253, b"xy"),))), 0)
    data_opts = (NoOperation(), NoOperation(), Timestamps(1, 2), UnknownOption(30, b""))
    ep.receive_packet(packet(peer_seg(R, L, ACK | PSH, b"hello", data_opts)), 0)
    ((_, ack),) = sent(ep)
    assert ack.ack == R + 5
    (conn,) = ep.connections()
    assert conn.state is State.ESTABLISHED
    assert conn.recv() == b"hello"


@pytest.mark.parametrize(
    "option_bytes",
    [b"\xfe\x00\x00\x00", b"\xfe\x28\x00\x00", b"\x02\x03\x05\xb4"],
    ids=["length-zero", "length-past-header", "mss-wrong-length"],
)
def test_illegal_option_length_drops_the_segment_without_raising(option_bytes: bytes) -> None:
    # MUST-7: an illegal option length is handled: the segment is dropped and counted
    # (RFC 9293 suggests a reset; synack drops), the connection carries on.
    ep, conn = established_server()
    ep.receive_packet(raw_tcp_with_options(option_bytes, b"evil", R, L), 0)
    assert ep.counters["drop.bad_option_length"] == 1
    assert sent(ep) == []
    assert conn.recv() == b""
    assert conn.state is State.ESTABLISHED
    ep.receive_packet(packet(peer_seg(R, L, ACK | PSH, b"good")), 0)
    assert conn.recv() == b"good"


def test_options_we_send_have_lengths_and_are_padded_with_zeros() -> None:
    # MUST-68 (every option but EOL and NOP has a length) and MUST-69 (zero padding).
    conn = new_conn(recv_buffer=1_000_000, window_scaling=True)
    conn.connect(0)
    (syn,) = out(conn)
    raw = syn.emit()
    hlen = (raw[12] >> 4) * 4
    # MSS: kind 2, length 4, 1000; Window Scale: kind 3, length 3, shift 4; one zero pad.
    assert raw[20:hlen] == b"\x02\x04\x03\xe8" + b"\x03\x03\x04" + b"\x00"


def test_syn_on_ipv6_carries_the_mss_option() -> None:
    # SHLD-5 (IPv6) / MAY-3: the MSS option is sent in every SYN, whatever its value.
    conn = Connection(
        (bytes(15) + b"\x01", 80), (bytes(15) + b"\x02", 49152), iss=LOCAL_ISS, config=Config()
    )
    conn.connect(0)
    (syn,) = out(conn)
    assert syn.flags == SYN
    # MUST-67: on IPv6 the MSS is the MTU minus 60 (1500 - 60 = 1440 by default).
    assert syn.options[0] == MaxSegmentSize(1440)
    assert syn.wscale == Config().recv_wscale


def test_effective_send_mss_is_the_smaller_of_ours_and_the_peers() -> None:
    # MUST-16: the peer offers 1000, we are limited to 500 octets of data per segment.
    conn = established(mss=500, nodelay=True)
    assert (conn.peer_mss, conn.mss) == (MSS, 500)
    conn.send(b"q" * 1200)
    assert [len(s.payload) for s in out(conn)] == [500, 500, 200]


# ------------------------------------------------------------------ checksums


def test_sent_segments_carry_a_correct_checksum() -> None:
    # MUST-2: the checksum covers the pseudo-header, header and data (IPv4 and IPv6).
    for local, remote in ((HOST, PEER), ("fd00::1", "fd00::2")):
        ep = Endpoint([local], config=HOST_CONFIG, isn_secret=bytes(32))
        conn = ep.connect(remote, PORT, 0)
        ep.packets_to_send(0)
        feed_syn_ack = Segment(PORT, conn.local[1], REMOTE_ISS, L, SYN | ACK, 60_000)
        ep.receive_packet(packet(feed_syn_ack, src=remote, dst=local), 0)
        ep.packets_to_send(0)
        conn.send(b"odd length")
        (pkt,) = ep.packets_to_send(0)
        ip, tcp = parse_ip(pkt)
        assert ones_sum(tcp, pseudo_sum(ip.src, ip.dst, len(tcp))) == 0xFFFF
        assert parse_tcp_packet(pkt)[1].payload == b"odd length"


# ------------------------------------------------------------------ opening


def test_rst_in_active_syn_received_closes_instead_of_returning_to_listen() -> None:
    # MUST-11: a SYN-RECEIVED reached by simultaneous open (active) goes to CLOSED on
    # RST, with "connection refused"; a passive one returns to LISTEN (test_teardown).
    conn = syn_sent()
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS),))
    assert conn.state is State.SYN_RECEIVED
    assert not conn.passive
    out(conn)
    events(conn)
    feed(conn, seq=R, ack=0, flags=RST)
    assert conn.state is State.CLOSED
    assert Reset(refused=True) in events(conn)


def test_listen_beside_a_connection_in_syn_sent_on_the_same_port() -> None:
    # MUST-42: LISTEN on a port while a connection from that port is in SYN-SENT;
    # both work.
    ep = Endpoint([HOST], config=HOST_CONFIG, isn_secret=bytes(32))
    active = ep.connect(PEER, 443, 0, local_port=PORT)
    ep.packets_to_send(0)
    assert active.state is State.SYN_SENT
    ep.listen(PORT)
    # A SYN from another peer port makes a new passive connection (SYN-RECEIVED) ...
    ep.receive_packet(packet(peer_seg(REMOTE_ISS, 0, SYN)), 0)
    ((_, synack),) = sent(ep)
    assert synack.flags == SYN | ACK
    # ... and the active connection still gets its SYN-ACK.
    ep.receive_packet(packet(Segment(443, PORT, 7_000, L, SYN | ACK, 60_000)), 0)
    assert active.state is State.ESTABLISHED
    assert len(ep.connections()) == 2


def test_second_passive_open_fails_without_disturbing_existing_ones() -> None:
    # MUST-41: a passive OPEN creates a listener or returns an error; nothing else changes.
    ep, conn = established_server()
    with pytest.raises(PortInUseError):
        ep.listen(PORT)
    ep.receive_packet(packet(peer_seg(R, L, ACK | PSH, b"still")), 0)
    assert conn.recv() == b"still"
    ep.receive_packet(packet(Segment(PEER_PORT + 1, PORT, 5, 0, SYN, 60_000)), 0)
    assert [seg.flags for _, seg in sent(ep)] == [ACK, SYN | ACK]
    assert len(ep.connections()) == 2


def test_connect_uses_the_local_address_given() -> None:
    # MUST-43: the optional local IP address of OPEN; an address not ours is refused.
    ep = Endpoint([HOST, "10.0.0.3"], config=HOST_CONFIG, isn_secret=bytes(32))
    conn = ep.connect(PEER, PORT, 0, local_addr="10.0.0.3")
    assert conn.local[0] == str_to_addr("10.0.0.3")
    ((src, syn),) = sent(ep)
    assert (src, syn.flags) == (addr_hex("10.0.0.3"), SYN)
    with pytest.raises(ValueError, match="not an address"):
        ep.connect(PEER, PORT, 0, local_addr="10.0.0.9")


def test_source_address_is_chosen_before_the_syn_by_family() -> None:
    # MUST-44 (partly): without a local address, one is selected before the first SYN.
    ep = Endpoint([HOST, "fd00::1"], config=HOST_CONFIG, isn_secret=bytes(32))
    v6 = ep.connect("fd00::2", PORT, 0)
    v4 = ep.connect(PEER, PORT, 0)
    assert v6.local[0] == str_to_addr("fd00::1")
    assert v4.local[0] == str_to_addr(HOST)
    assert sorted(src for src, _ in sent(ep)) == sorted([addr_hex("fd00::1"), addr_hex(HOST)])


def test_passive_connection_answers_from_the_address_the_syn_was_sent_to() -> None:
    # MUST-45: every segment of the connection uses the local address of its SYN.
    ep = server(HOST, "10.0.0.3")
    ep.receive_packet(packet(peer_seg(REMOTE_ISS, 0, SYN), dst="10.0.0.3"), 0)
    ((src, synack),) = sent(ep)
    assert (src, synack.flags) == (addr_hex("10.0.0.3"), SYN | ACK)
    ep.receive_packet(packet(peer_seg(R, L, ACK | PSH, b"hi"), dst="10.0.0.3"), 0)
    ((src, ack),) = sent(ep)
    assert (src, ack.ack) == (addr_hex("10.0.0.3"), R + 2)


@pytest.mark.parametrize("dst", ["224.0.0.1", "255.255.255.255", "10.0.0.255", "ff02::1"])
def test_segments_to_broadcast_or_multicast_addresses_are_silently_dropped(dst: str) -> None:
    # MUST-57: a SYN (or anything) to a broadcast or multicast address gets no answer.
    src = "fd00::2" if ":" in dst else PEER
    ep = server(HOST, "fd00::1")
    ep.receive_packet(packet(peer_seg(REMOTE_ISS, 0, SYN), src=src, dst=dst), 0)
    assert ep.packets_to_send(0) == []
    assert ep.connections() == []
    assert ep.counters["drop.not_for_us"] == 1


# ------------------------------------------------------------------ closing


def test_rst_carrying_data_is_processed() -> None:
    # SHLD-2: a RST may carry (diagnostic) data; it still resets, the data is not delivered.
    conn = established()
    feed(conn, seq=R, ack=0, flags=RST, payload=b"why: out of memory")
    assert conn.state is State.CLOSED
    evs = events(conn)
    assert Reset() in evs
    assert not any(isinstance(ev, DataReceived) for ev in evs)


# ------------------------------------------------------------------ retransmission


def test_retransmitted_syn_is_byte_identical_including_ip_identification() -> None:
    # MAY-4: retransmissions reuse the IP Identification (always 0: synack's IPv4
    # datagrams are atomic, DF set, RFC 6864 4.1). Without timestamps: a
    # retransmitted SYN carries the clock's current TSval (RFC 7323 3.2).
    ep = Endpoint([HOST], config=replace(HOST_CONFIG, timestamps=False), isn_secret=bytes(32))
    ep.connect(PEER, PORT, 0, local_port=PEER_PORT)
    (first,) = ep.packets_to_send(0)
    deadline = ep.next_deadline()
    assert deadline == 1_000_000
    ep.handle_timer(deadline)
    (again,) = ep.packets_to_send(deadline)
    assert again == first
    ip, _ = parse_ip(again)
    assert isinstance(ip, IPv4Header)
    assert (ip.ident, ip.flags) == (0, IPV4_DF)


def test_default_r1_reports_after_the_third_retransmission() -> None:
    # SHLD-10 (R1 is at least 3 retransmissions) and SHLD-9 (the application hears of it).
    assert Config().data_retries_r1 == 3
    conn = established()
    conn.send(b"abc")
    out(conn, 0)
    events(conn)
    for n in range(1, 5):
        t = conn.next_deadline()
        assert t is not None
        conn.handle_timer(t)
        out(conn, t)
        reported = SoftError("r1_reached") in events(conn)
        assert reported == (n == 3)


def test_default_r2_keeps_retransmitting_for_more_than_100_seconds() -> None:
    # SHLD-11: "R2 SHOULD correspond to at least 100 seconds": 15 retransmissions,
    # the RTO doubling from its 200 ms floor to the 60 s cap.
    conn = established()
    conn.send(b"abc")
    out(conn, 0)
    events(conn)
    times = []
    while conn.state is State.ESTABLISHED:
        t = conn.next_deadline()
        assert t is not None
        conn.handle_timer(t)
        out(conn, t)
        times.append(t)
    assert conn.counters["retransmit.rto"] == Config().data_retries_r2 == 15
    assert TimedOut("retransmissions") in events(conn)
    assert times[-1] > 100_000_000
    assert [t for t in times if t <= 100_000_000] == [
        200_000,
        600_000,
        1_400_000,
        3_000_000,
        6_200_000,
        12_600_000,
        25_400_000,
        51_000_000,
    ]


# ------------------------------------------------------------------ ACK generation


def test_burst_of_in_order_segments_gets_one_ack_per_two() -> None:
    # MUST-58 / MUST-59 (partly): four full segments handed over at once produce two
    # ACKs, one per pair (synack does not stretch ACKs over a whole burst).
    ep, conn = established_server(replace(HOST_CONFIG, delayed_ack=40_000))
    for i in range(4):
        ep.receive_packet(packet(peer_seg(R + MSS * i, L, ACK, b"d" * MSS)), 0)
    acks = [seg for _, seg in sent(ep)]
    assert [(a.flags, a.ack) for a in acks] == [(ACK, R + 2 * MSS), (ACK, R + 4 * MSS)]
    assert conn.recv() == b"d" * 4 * MSS


# ------------------------------------------------------------------ IP layer


def test_ipv4_options_are_ignored() -> None:
    # MUST-50 (IPv4): a SYN in a datagram with IP options (NOP, NOP, NOP, EOL) is served.
    ep = server()
    src, dst = str_to_addr(PEER), str_to_addr(HOST)
    tcp = peer_seg(REMOTE_ISS, 0, SYN).emit(pseudo_sum(src, dst, 20))
    pkt = IPv4Header(src, dst, options=b"\x01\x01\x01\x00").emit(len(tcp)) + tcp
    ep.receive_packet(pkt, 0)
    ((_, synack),) = sent(ep)
    assert (synack.flags, synack.ack) == (SYN | ACK, REMOTE_ISS + 1)


@pytest.mark.parametrize(
    "kind", ["net_unreachable", "host_unreachable", "time_exceeded", "parameter_problem"]
)
def test_icmp_soft_errors_reach_the_application_and_do_not_abort(kind: IcmpKind) -> None:
    # MUST-54 (ICMP errors go to the connection they quote), SHLD-25 (the application
    # is told), MUST-56 (no abort for unreachable 0/1/5, time exceeded, parameter problem).
    ep = Endpoint([HOST], config=HOST_CONFIG, isn_secret=bytes(32))
    conn = ep.connect(PEER, PORT, 0, local_port=PEER_PORT)
    other = ep.connect(PEER, PORT + 1, 0, local_port=PEER_PORT)
    syn_pkt = ep.packets_to_send(0)[0]
    drain(ep)
    ep.handle_icmp_error(10, kind=kind, original=syn_pkt[:28])
    assert ep.next_event() == (conn, SoftError(kind))
    assert ep.next_event() is None
    assert conn.state is other.state is State.SYN_SENT
    # The handshake then completes normally.
    ep.receive_packet(packet(Segment(PORT, PEER_PORT, REMOTE_ISS, L, SYN | ACK, 60_000)), 20)
    assert conn.state is State.ESTABLISHED
    assert (conn, Connected()) in drain(ep)


def test_mss_option_is_sent_only_on_syn_segments() -> None:
    # MUST-65: the SYN carries MSS; data, FIN and pure ACK segments carry no options.
    conn = new_conn()
    conn.connect(0)
    (syn,) = out(conn)
    assert syn.mss == MSS
    feed(conn, seq=REMOTE_ISS, ack=L, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    segs = out(conn)
    feed(conn, seq=R, flags=ACK | PSH, payload=b"in")
    segs += out(conn)
    conn.send(b"data")
    conn.close(0)
    segs += out(conn)
    assert [s.flags for s in segs] == [ACK, ACK, ACK | PSH | FIN]
    assert all(s.options == () for s in segs)

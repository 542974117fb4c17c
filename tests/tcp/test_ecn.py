"""ECN in TCP (RFC 3168 6.1): negotiation, ECT(0) on data, CE -> ECE until CWR, the sender's
once-per-window reaction, and the fallback of a retransmitted SYN (6.1.1.1).

The flag values are pinned by their literal bits (RFC 3168 23.2 assigns bit 8 of
the TCP flags to CWR and bit 9 to ECE: 0x80 and 0x40), the ECN field by its
codepoints (RFC 3168 5: ECT(0) is 0b10, CE is 0b11).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.wire.ecn import Ecn, packet_ecn, with_ecn
from synack.wire.ip import parse_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, SYN, MaxSegmentSize, Segment
from tests.tcp.helpers import (
    LOCAL_ISS,
    MSS,
    REMOTE_ISS,
    established,
    feed,
    new_conn,
    out,
    syn_sent,
)

CWR = 0x80
ECE = 0x40
ECT0 = 0b10
CE = 0b11


def ecn_established(**config: Any) -> Connection:
    """ESTABLISHED, active open, ECN agreed (ECN-setup SYN and SYN-ACK); ``config``: more Config."""
    conn = syn_sent(ecn=True, **config)
    feed(
        conn,
        seq=REMOTE_ISS,
        ack=LOCAL_ISS + 1,
        flags=SYN | ACK | ECE,
        options=(MaxSegmentSize(MSS),),
    )
    out(conn)
    assert conn.neg.ecn
    return conn


# ------------------------------------------------------------------ negotiation


def test_an_ecn_setup_syn_has_ece_and_cwr() -> None:
    conn = new_conn(ecn=True)
    conn.connect(0)
    (syn,) = out(conn)
    assert syn.flags == SYN | ECE | CWR  # RFC 3168 6.1.1


def test_without_ecn_the_syn_has_neither() -> None:
    conn = new_conn()
    conn.connect(0)
    (syn,) = out(conn)
    assert syn.flags == SYN


def test_a_server_answers_an_ecn_setup_syn_with_ece_alone() -> None:
    conn = new_conn(ecn=True)
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN | ECE | CWR, options=(MaxSegmentSize(MSS),))
    (syn_ack,) = out(conn)
    assert syn_ack.flags == SYN | ACK | ECE  # RFC 3168 6.1.1: ECE set, CWR clear
    assert conn.neg.ecn


def test_no_ecn_unless_both_ask() -> None:
    # A server without ECN ignores the request.
    plain = new_conn()
    plain.listen(0)
    feed(plain, seq=REMOTE_ISS, ack=0, flags=SYN | ECE | CWR, options=(MaxSegmentSize(MSS),))
    assert out(plain)[0].flags == SYN | ACK and not plain.neg.ecn
    # A server with ECN answers a plain SYN plainly.
    ecn = new_conn(ecn=True)
    ecn.listen(0)
    feed(ecn, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS),))
    assert out(ecn)[0].flags == SYN | ACK and not ecn.neg.ecn
    # A SYN-ACK with both ECE and CWR is not an ECN-setup SYN-ACK.
    client = syn_sent(ecn=True)
    feed(client, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK | ECE | CWR)
    assert not client.neg.ecn


def test_a_retransmitted_syn_is_not_ecn_setup() -> None:
    conn = new_conn(ecn=True, initial_rto=1_000_000)
    conn.connect(0)
    assert out(conn)[0].flags == SYN | ECE | CWR
    conn.handle_timer(1_000_000)  # the SYN was lost
    (again,) = out(conn, 1_000_000)
    # RFC 3168 6.1.1.1: resent as a non-ECN-setup SYN ...
    assert again.flags == SYN
    # ... so even an ECN-setup SYN-ACK does not turn ECN on.
    feed(conn, 1_100_000, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK | ECE)
    assert not conn.neg.ecn


def test_a_server_falls_back_when_the_peer_resends_a_plain_syn() -> None:
    conn = new_conn(ecn=True)
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN | ECE | CWR, options=(MaxSegmentSize(MSS),))
    assert out(conn)[0].flags == SYN | ACK | ECE
    # Our SYN-ACK was lost; the peer's SYN comes again, now without ECN.
    feed(conn, 1_000_000, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS),))
    assert out(conn, 1_000_000)[0].flags == SYN | ACK
    assert not conn.neg.ecn


def test_without_fallback_a_retransmitted_syn_asks_for_ecn_again() -> None:
    conn = new_conn(ecn=True, ecn_fallback=False, initial_rto=1_000_000)
    conn.connect(0)
    out(conn)
    conn.handle_timer(1_000_000)
    # RFC 3168 6.1.1.1's fallback is a MAY; Linux's net.ipv4.tcp_ecn_fallback=0 keeps asking.
    assert [s.flags for s in out(conn, 1_000_000)] == [SYN | ECE | CWR]
    feed(conn, 1_100_000, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK | ECE)
    assert conn.neg.ecn


def test_after_a_fallback_syn_an_ecn_setup_syn_ack_gets_ce_echoed_but_no_ect() -> None:
    # RFC 3168 6.1.1, scenario of 6.1.1.1: the first SYN offered ECN, the resent one
    # did not, and the peer's answer to the first arrives (it was only delayed).
    conn = new_conn(ecn=True, initial_rto=1_000_000)
    conn.connect(0)
    out(conn)
    conn.handle_timer(1_000_000)
    assert [s.flags for s in out(conn, 1_000_000)] == [SYN]
    feed(
        conn,
        1_100_000,
        seq=REMOTE_ISS,
        ack=LOCAL_ISS + 1,
        flags=SYN | ACK | ECE,
        options=(MaxSegmentSize(MSS),),
    )
    out(conn, 1_100_000)
    # "A host MUST NOT set ECT on data packets unless it ... has sent no non-ECN-setup
    # SYN": our data is Not-ECT ...
    assert not conn.neg.ecn
    conn.send(bytes(MSS))
    assert [len(s.payload) for s in out(conn, 1_100_000)] == [MSS]
    assert conn.out_ect == [False]
    # ... but "If a host has sent at least one ECN-setup SYN ..., and has received no
    # non-ECN-setup SYN or non-ECN-setup SYN-ACK packet, then if that host receives
    # TCP data packets with ECT and CE codepoints set ..., then that host MUST process
    # these packets as specified for an ECN-capable connection": CE is echoed.
    seg = Segment(49152, 80, REMOTE_ISS + 1, LOCAL_ISS + 1, ACK, 60_000, payload=b"a")
    conn.receive_segment(seg, 1_200_000, ecn=CE)
    assert out(conn, 1_200_000)[-1].flags & ECE
    assert conn.counters["ecn.ce_received"] == 1


def test_a_non_ecn_setup_syn_ack_turns_the_echo_off_too() -> None:
    conn = syn_sent(ecn=True)
    feed(conn, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK)
    out(conn)
    assert not conn.neg.ecn and not conn.neg.ecn_echo
    seg = Segment(49152, 80, REMOTE_ISS + 1, LOCAL_ISS + 1, ACK, 60_000, payload=b"a")
    conn.receive_segment(seg, 0, ecn=CE)
    assert not out(conn)[-1].flags & ECE


def test_a_server_that_fell_back_still_echoes_ce() -> None:
    conn = new_conn(ecn=True)
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN | ECE | CWR, options=(MaxSegmentSize(MSS),))
    out(conn)
    feed(conn, 1_000_000, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(MSS),))
    assert [s.flags for s in out(conn, 1_000_000)] == [SYN | ACK]
    # The peer got our first, ECN-setup, SYN-ACK (Linux then sends ECT data although
    # its last SYN was not ECN-setup): a CE mark on its data is echoed all the same.
    feed(conn, 1_100_000, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 1)
    seg = Segment(49152, 80, REMOTE_ISS + 1, LOCAL_ISS + 1, ACK, 60_000, payload=b"a")
    conn.receive_segment(seg, 1_200_000, ecn=CE)
    assert out(conn, 1_200_000)[-1].flags & ECE
    # Our own data stays Not-ECT (6.1.1: we sent a non-ECN-setup SYN-ACK).
    assert not conn.neg.ecn
    conn.send(bytes(MSS))
    out(conn, 1_200_000)
    assert conn.out_ect == [False]


def test_a_syn_ack_resent_on_its_timeout_still_agrees_to_ecn() -> None:
    # RFC 3168 has no fallback for the SYN-ACK; Linux resends it with ECE (tcp_ecn_make_synack).
    conn = new_conn(ecn=True, initial_rto=1_000_000)
    conn.listen(0)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN | ECE | CWR, options=(MaxSegmentSize(MSS),))
    assert [s.flags for s in out(conn)] == [SYN | ACK | ECE]
    conn.handle_timer(1_000_000)
    assert [s.flags for s in out(conn, 1_000_000)] == [SYN | ACK | ECE]
    feed(conn, 1_100_000, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 1)
    assert conn.neg.ecn


# ------------------------------------------------------------------ the echo


def test_ce_is_echoed_on_every_ack_until_cwr() -> None:
    conn = ecn_established()
    conn.receive_segment(
        Segment(49152, 80, REMOTE_ISS + 1, LOCAL_ISS + 1, ACK, 60_000, payload=b"a"), 0, ecn=CE
    )
    (ack1,) = out(conn)
    assert ack1.flags == ACK | ECE and ack1.ack == REMOTE_ISS + 2
    # Unmarked data: ECE stays on (RFC 3168 6.1.3) ...
    feed(conn, seq=REMOTE_ISS + 2, payload=b"b")
    assert out(conn)[0].flags == ACK | ECE
    # ... until the peer's CWR.
    feed(conn, seq=REMOTE_ISS + 3, flags=ACK | CWR, payload=b"c")
    assert out(conn)[0].flags == ACK


def test_a_plain_connection_ignores_ce() -> None:
    conn = established()
    conn.receive_segment(
        Segment(49152, 80, REMOTE_ISS + 1, LOCAL_ISS + 1, ACK, 60_000, payload=b"a"), 0, ecn=CE
    )
    assert out(conn)[0].flags == ACK


def test_dctcp_echoes_each_segments_own_mark() -> None:
    conn = syn_sent(ecn=True, congestion_control="dctcp")
    feed(
        conn,
        seq=REMOTE_ISS,
        ack=LOCAL_ISS + 1,
        flags=SYN | ACK | ECE,
        options=(MaxSegmentSize(MSS),),
    )
    out(conn)
    got = []
    for i, mark in enumerate((CE, 0, CE)):
        seg = Segment(49152, 80, REMOTE_ISS + 1 + i, LOCAL_ISS + 1, ACK, 60_000, payload=b"x")
        conn.receive_segment(seg, 0, ecn=mark)
        got.append(out(conn)[0].flags & ECE)
    assert got == [ECE, 0, ECE]  # RFC 8257 3.2: no waiting for CWR


# ------------------------------------------------------------------ the reaction


def test_ece_halves_the_window_once_per_window_and_the_next_data_carries_cwr() -> None:
    conn = ecn_established()
    conn.send(bytes(20 * MSS))
    sent = out(conn)
    assert sent and all(not s.flags & CWR for s in sent)
    cwnd = conn.cwnd
    in_flight = conn.in_flight
    # The first ACK echoes CE: NewReno halves what is in flight after it (RFC 3168
    # 6.1.2: as for a loss, RFC 5681's ssthresh = FlightSize / 2).
    feed(conn, 1000, ack=LOCAL_ISS + 1 + MSS, flags=ACK | ECE)
    assert conn.counters["ecn.reductions"] == 1
    assert conn.cwnd == conn.ssthresh == (in_flight - MSS) // 2 < cwnd
    # More ECE for data of the same window: no second cut.
    feed(conn, 2000, ack=LOCAL_ISS + 1 + 2 * MSS, flags=ACK | ECE)
    assert conn.counters["ecn.reductions"] == 1
    # Once the window has room, the next new data segment says Congestion Window
    # Reduced, and only that one.
    feed(conn, 3000, ack=LOCAL_ISS + 1 + len(sent) * MSS)
    new = [s for s in out(conn, 3000) if s.payload]
    assert len(new) >= 2
    assert new[0].flags & CWR and not any(s.flags & CWR for s in new[1:])


# ------------------------------------------------------------------ the IP field


def _pair(ecn_client: bool, ecn_server: bool) -> tuple[Endpoint, Endpoint]:
    cfg = Config(mss=MSS, delayed_ack=0)
    client = Endpoint(["192.168.1.100"], config=dataclasses.replace(cfg, ecn=ecn_client))
    server = Endpoint(["10.0.0.5"], config=dataclasses.replace(cfg, ecn=ecn_server))
    server.listen(80)
    return client, server


def _shuttle(a: Endpoint, b: Endpoint, now: int, seen: list[tuple[str, bytes]]) -> None:
    for _ in range(20):
        moved = False
        for src, dst, name in ((a, b, "a"), (b, a, "b")):
            for p in src.packets_to_send(now):
                seen.append((name, bytes(p)))
                dst.receive_packet(p, now)
                moved = True
        if not moved:
            return


def test_only_new_data_goes_out_ect0() -> None:
    client, server = _pair(True, True)
    seen: list[tuple[str, bytes]] = []
    conn = client.connect("10.0.0.5", 80, 0)
    _shuttle(client, server, 0, seen)
    conn.send(bytes(3 * MSS))
    _shuttle(client, server, 1000, seen)
    data = [p for who, p in seen if who == "a" and parse_tcp_packet(p)[1].payload]
    control = [p for _, p in seen if not parse_tcp_packet(p)[1].payload]
    assert sum(len(parse_tcp_packet(p)[1].payload) for p in data) == 3 * MSS
    assert all(packet_ecn(p) == ECT0 for p in data)
    # SYN, SYN-ACK and pure ACKs are Not-ECT (RFC 3168 6.1.1, 6.1.4).
    assert control and all(packet_ecn(p) == 0 for p in control)


def test_ce_in_the_ip_header_reaches_the_connection() -> None:
    client, server = _pair(True, True)
    seen: list[tuple[str, bytes]] = []
    conn = client.connect("10.0.0.5", 80, 0)
    _shuttle(client, server, 0, seen)
    conn.send(bytes(MSS))
    (data,) = client.packets_to_send(1000)
    server.receive_packet(with_ecn(bytes(data), Ecn.CE), 1000)  # a router marked it
    acks = [parse_tcp_packet(p)[1] for p in server.packets_to_send(1000)]
    assert acks and acks[-1].flags & ECE


def test_without_agreement_nothing_is_ect() -> None:
    client, server = _pair(True, False)
    seen: list[tuple[str, bytes]] = []
    conn = client.connect("10.0.0.5", 80, 0)
    _shuttle(client, server, 0, seen)
    conn.send(bytes(2 * MSS))
    _shuttle(client, server, 1000, seen)
    assert all(packet_ecn(p) == 0 for _, p in seen)
    assert str_to_addr("10.0.0.5") in {parse_tcp_packet(p)[0].dst for _, p in seen}


def test_retransmissions_are_not_ect() -> None:
    conn = ecn_established()
    conn.send(bytes(MSS))
    out(conn)
    assert conn.out_ect == [True]
    conn.handle_timer(conn.timers.rtx or 0)  # RTO: the segment goes again
    again = out(conn, conn.timers.rtx or 0)
    assert [s.payload for s in again] == [bytes(MSS)]
    assert conn.out_ect == [False]  # RFC 3168 6.1.5


def test_a_fast_retransmit_is_a_reduction_too_the_next_new_data_says_cwr() -> None:
    # RFC 3168 6.1.2: "When an ECN-Capable TCP sender reduces its congestion window
    # for any reason (because of a retransmit timeout, a Fast Retransmit, or in
    # response to an ECN Notification), the TCP sender sets the CWR flag in the TCP
    # header of the first new data packet sent after the window reduction."
    conn = ecn_established()
    conn.send(bytes(6 * MSS))
    sent = out(conn)
    assert len(sent) == 6 and not any(s.flags & CWR for s in sent)
    for t in (1000, 2000, 3000):  # the first segment was lost: three duplicate ACKs
        feed(conn, t, ack=LOCAL_ISS + 1)
    rtx = out(conn, 3000)
    assert [s.seq for s in rtx] == [LOCAL_ISS + 1]
    assert not rtx[0].flags & CWR and conn.out_ect == [False]  # 6.1.5: not ECT, no CWR
    feed(conn, 4000, ack=LOCAL_ISS + 1 + 6 * MSS)  # all repaired
    conn.send(bytes(2 * MSS))
    new = out(conn, 4000)
    assert len(new) == 2 and conn.out_ect == [True, True]
    assert new[0].flags & CWR and not new[1].flags & CWR  # once, on the first only


def test_without_a_reduction_no_data_says_cwr() -> None:
    conn = ecn_established()
    for t in (0, 1000, 2000):
        conn.send(bytes(MSS))
        (seg,) = out(conn, t)
        assert not seg.flags & CWR
        feed(conn, t + 500, ack=seg.seq + MSS)

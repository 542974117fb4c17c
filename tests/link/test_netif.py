"""NetInterface without a device: ARP, neighbour discovery, ICMP and routing, with explicit time."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from synack.link.neighbors import NeighborConfig, NeighborState
from synack.link.netif import NetInterface, solicited_node
from synack.wire.ether import (
    ARP_REPLY,
    ARP_REQUEST,
    BROADCAST_MAC,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    ArpPacket,
    emit_ethernet,
    parse_arp,
    parse_ethernet,
)
from synack.wire.icmp import (
    Icmp4DestUnreachable,
    Icmp4Echo,
    Icmp6Echo,
    Icmp6PacketTooBig,
    NeighborAdvertisement,
    NeighborSolicitation,
    parse_icmp4,
    parse_icmp6,
)
from synack.wire.ip import PROTO_ICMPV6, IPv4Header, IPv6Header, parse_ip, str_to_addr
from synack.wire.tcp import Segment

OUR_MAC = bytes.fromhex("02534b000005")
KERNEL_MAC = bytes.fromhex("0a0000000001")
OUR4, KERNEL4 = str_to_addr("10.0.0.5"), str_to_addr("10.0.0.1")
OUR6, KERNEL6 = str_to_addr("fd00::5"), str_to_addr("fd00::1")
SEC = 1_000_000


@dataclass
class FakeEndpoint:
    packets: list[bytes] = field(default_factory=list)
    errors: list[tuple[str, bytes, int | None]] = field(default_factory=list)
    segments: list[tuple[bytes, bytes, Segment]] = field(default_factory=list)

    def receive_packet(self, packet: bytes, now: int) -> None:
        self.packets.append(bytes(packet))

    def handle_icmp_error(
        self, now: int, *, kind: str, original: bytes, mtu: int | None = None
    ) -> None:
        self.errors.append((kind, bytes(original), mtu))

    def receive_segment(self, src: bytes, dst: bytes, seg: Segment, now: int) -> None:
        self.segments.append((src, dst, seg))


def make(**kwargs: object) -> tuple[NetInterface, FakeEndpoint]:
    ep = FakeEndpoint()
    nif = NetInterface(ep, ["10.0.0.5/24", "fd00::5/64"], **kwargs)  # type: ignore[arg-type]
    return nif, ep


def frames(nif: NetInterface) -> list[bytes]:
    out = []
    for h, p in nif.frames_to_send():
        assert isinstance(p, bytes)
        out.append(h + p)
    return out


def tcp_packet(dst: str = "10.0.0.1", src: str = "10.0.0.5", payload: bytes = b"") -> bytes:
    return bytes(IP(src=src, dst=dst) / TCP(sport=40000, dport=80, flags="S") / payload)


def arp_frame(
    op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes, dst: bytes = BROADCAST_MAC
) -> bytes:
    return emit_ethernet(dst, sha, ETHERTYPE_ARP, ArpPacket(op, sha, spa, tha, tpa).emit())


def resolve_kernel(nif: NetInterface, now: int = 0) -> None:
    nif.receive_frame(arp_frame(ARP_REQUEST, KERNEL_MAC, KERNEL4, bytes(6), OUR4), now)
    nif.frames_to_send()


# --------------------------------------------------------------------------- ARP


def test_arp_request_for_our_address_is_answered_and_teaches_the_sender() -> None:
    nif, _ = make()
    nif.receive_frame(arp_frame(ARP_REQUEST, KERNEL_MAC, KERNEL4, bytes(6), OUR4), 0)
    (out,) = frames(nif)
    eth, payload = parse_ethernet(out)
    assert (eth.dst, eth.src, eth.ethertype) == (KERNEL_MAC, OUR_MAC, ETHERTYPE_ARP)
    assert parse_arp(payload) == ArpPacket(ARP_REPLY, OUR_MAC, OUR4, KERNEL_MAC, KERNEL4)
    assert nif.neighbors.lookup(KERNEL4) == KERNEL_MAC


def test_arp_request_for_another_address_is_not_answered_nor_learned() -> None:
    nif, _ = make()
    nif.receive_frame(
        arp_frame(ARP_REQUEST, KERNEL_MAC, KERNEL4, bytes(6), str_to_addr("10.0.0.9")), 0
    )
    assert frames(nif) == []
    assert nif.neighbors.get(KERNEL4) is None


def test_first_packet_waits_for_arp_then_leaves_in_order() -> None:
    nif, _ = make()
    first, second = tcp_packet(payload=b"1"), tcp_packet(payload=b"2")
    nif.send_ip(first, 0)
    nif.send_ip(second, 10)
    (request,) = frames(nif)
    eth, payload = parse_ethernet(request)
    assert eth.dst == BROADCAST_MAC
    assert parse_arp(payload) == ArpPacket(ARP_REQUEST, OUR_MAC, OUR4, bytes(6), KERNEL4)
    assert nif.next_deadline() == SEC  # RFC 1122 2.3.2.1: one request per second
    nif.receive_frame(arp_frame(ARP_REPLY, KERNEL_MAC, KERNEL4, OUR_MAC, OUR4, dst=OUR_MAC), 500)
    out = frames(nif)
    assert out == [
        KERNEL_MAC + OUR_MAC + b"\x08\x00" + first,
        KERNEL_MAC + OUR_MAC + b"\x08\x00" + second,
    ]
    assert nif.next_deadline() is None
    # Now resolved: the next packet goes at once.
    nif.send_ip(first, 600)
    assert frames(nif) == [KERNEL_MAC + OUR_MAC + b"\x08\x00" + first]


def test_unanswered_arp_retries_then_reports_host_unreachable() -> None:
    nif, ep = make()
    packet = tcp_packet()
    nif.send_ip(packet, 0)
    assert len(frames(nif)) == 1
    for t in (SEC, 2 * SEC):
        assert nif.next_deadline() == t
        nif.handle_timer(t)
        (again,) = frames(nif)
        assert parse_ethernet(again)[0].ethertype == ETHERTYPE_ARP
    assert nif.next_deadline() == 3 * SEC
    nif.handle_timer(3 * SEC)
    assert frames(nif) == []
    assert ep.errors == [("host_unreachable", packet, None)]
    assert nif.neighbors.get(KERNEL4) is None
    assert nif.counters["drop.neighbor_unresolved"] == 1


def test_resolution_queue_is_bounded_and_drops_the_oldest() -> None:
    nif, _ = make(neighbor_config=NeighborConfig(queue_bytes=300))
    packets = [tcp_packet(payload=bytes([i]) * 60) for i in range(5)]  # 100 bytes each
    for p in packets:
        nif.send_ip(p, 0)
    nif.frames_to_send()
    nif.receive_frame(arp_frame(ARP_REPLY, KERNEL_MAC, KERNEL4, OUR_MAC, OUR4, dst=OUR_MAC), 1)
    sent = [p for _h, p in nif.frames_to_send()]
    assert sent == packets[2:]
    assert nif.counters["drop.neighbor_queue_full"] == 2


def test_old_entry_is_reprobed_by_unicast_and_forgotten_without_answer() -> None:
    nif, _ = make()
    resolve_kernel(nif, 0)
    later = 31 * SEC  # past REACHABLE_TIME (RFC 4861 10: 30 s)
    nif.send_ip(tcp_packet(), later)
    out = frames(nif)
    assert out[0] == KERNEL_MAC + OUR_MAC + b"\x08\x00" + tcp_packet()  # still sent, to the old MAC
    eth, payload = parse_ethernet(out[1])
    assert eth.dst == KERNEL_MAC  # a unicast probe
    assert parse_arp(payload).op == ARP_REQUEST
    entry = nif.neighbors.get(KERNEL4)
    assert entry is not None
    assert entry.state is NeighborState.PROBE
    nif.handle_timer(later + SEC)
    nif.handle_timer(later + 2 * SEC)
    nif.handle_timer(later + 3 * SEC)
    assert nif.neighbors.get(KERNEL4) is None


def test_gratuitous_arp_updates_an_existing_entry_only() -> None:
    nif, _ = make()
    resolve_kernel(nif)
    new_mac = bytes.fromhex("0a00000000ff")
    nif.receive_frame(arp_frame(ARP_REQUEST, new_mac, KERNEL4, bytes(6), KERNEL4), 5)
    assert nif.neighbors.lookup(KERNEL4) == new_mac
    stranger = str_to_addr("10.0.0.7")
    nif.receive_frame(arp_frame(ARP_REQUEST, new_mac, stranger, bytes(6), stranger), 6)
    assert nif.neighbors.get(stranger) is None
    assert frames(nif) == []


# ----------------------------------------------------------------------- routing


def test_off_link_destinations_use_the_gateway_or_are_dropped() -> None:
    nif, ep = make()
    packet = tcp_packet(dst="192.0.2.1")
    nif.send_ip(packet, 0)
    assert frames(nif) == []
    assert nif.counters["drop.no_route"] == 1
    # TCP hears "network unreachable" at once, as from an ICMP error (Linux: ENETUNREACH).
    assert ep.errors == [("net_unreachable", packet, None)]
    nif.send_ip(bytes(IP(src="10.0.0.5", dst="192.0.2.1") / UDP(sport=1, dport=2)), 1)
    assert nif.counters["drop.no_route"] == 2
    assert len(ep.errors) == 1  # about TCP only
    gw, _ = make(gateways=["10.0.0.1"])
    gw.send_ip(tcp_packet(dst="192.0.2.1"), 0)
    (request,) = frames(gw)
    assert parse_arp(parse_ethernet(request)[1]).tpa == KERNEL4


def test_tcp_for_us_goes_to_the_endpoint_and_other_addresses_are_dropped() -> None:
    nif, ep = make()
    packet = tcp_packet(dst="10.0.0.5", src="10.0.0.1")
    nif.receive_frame(emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, packet), 0)
    nif.receive_frame(
        emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, tcp_packet(dst="10.0.0.6")), 0
    )
    nif.receive_frame(
        emit_ethernet(KERNEL_MAC, KERNEL_MAC, ETHERTYPE_IPV4, packet), 0
    )  # not our MAC
    assert ep.packets == [packet]
    assert nif.counters["drop.not_our_address"] == 1
    assert nif.counters["drop.not_our_mac"] == 1


def test_trusted_checksums_skip_verification_and_hand_over_parsed_segments() -> None:
    nif, ep = make()
    packet = bytearray(tcp_packet(dst="10.0.0.5", src="10.0.0.1", payload=b"data"))
    packet[36:38] = b"\x12\x34"  # a partial checksum, as the kernel leaves it with offloads
    frame = emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, bytes(packet))
    nif.receive_frame(frame, 0, checksum_trusted=True)
    assert ep.packets == []
    ((src, dst, seg),) = ep.segments
    assert (src, dst, seg.payload, seg.dst_port) == (KERNEL4, OUR4, b"data", 80)
    # Untrusted, the same bytes go to the endpoint to be checked (and dropped there).
    nif.receive_frame(frame, 1)
    assert ep.packets == [bytes(packet)]


def test_tun_mode_has_no_link_header_and_no_resolution() -> None:
    ep = FakeEndpoint()
    nif = NetInterface(ep, ["10.0.0.5/24"], ethernet=False)
    nif.send_ip(tcp_packet(), 0)
    assert nif.frames_to_send() == [(b"", tcp_packet())]
    nif.receive_ip(tcp_packet(dst="10.0.0.5", src="10.0.0.1"), 0)
    assert len(ep.packets) == 1


# -------------------------------------------------------------------------- ICMP


def test_ping_gets_an_echo_reply() -> None:
    nif, _ = make()
    resolve_kernel(nif)
    request = bytes(
        IP(src="10.0.0.1", dst="10.0.0.5", id=7) / ICMP(type=8, id=0x77, seq=3) / b"payload"
    )
    nif.receive_frame(emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, request), 0)
    (reply,) = frames(nif)
    ip, payload = parse_ip(parse_ethernet(reply)[1])
    assert (ip.src, ip.dst) == (OUR4, KERNEL4)
    assert parse_icmp4(payload) == Icmp4Echo(0x77, 3, b"payload", reply=True)
    assert IP(parse_ethernet(reply)[1].tobytes())[ICMP].type == 0


def test_broadcast_ping_is_not_answered() -> None:
    nif, _ = make()
    request = bytes(IP(src="10.0.0.1", dst="10.0.0.255") / ICMP(type=8))
    nif.receive_frame(emit_ethernet(BROADCAST_MAC, KERNEL_MAC, ETHERTYPE_IPV4, request), 0)
    assert frames(nif) == []


def test_icmp_errors_about_tcp_reach_the_endpoint_with_their_kind() -> None:
    nif, ep = make()
    quoted = tcp_packet()[:28]
    for code, mtu in ((3, 0), (4, 1400), (1, 0)):
        icmp = Icmp4DestUnreachable(code, quoted, mtu).emit()
        packet = IPv4Header(KERNEL4, OUR4, 1).emit(len(icmp)) + icmp
        nif.receive_frame(emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, packet), 0)
    assert ep.errors == [
        ("port_unreachable", quoted, None),
        ("frag_needed", quoted, 1400),
        ("host_unreachable", quoted, None),
    ]


def test_icmp_errors_about_other_protocols_are_ignored() -> None:
    nif, ep = make()
    quoted = bytes(IP(src="10.0.0.5", dst="10.0.0.1") / UDP(sport=1, dport=2))[:28]
    icmp = Icmp4DestUnreachable(3, quoted).emit()
    nif.receive_ip(IPv4Header(KERNEL4, OUR4, 1).emit(len(icmp)) + icmp, 0)
    assert ep.errors == []
    assert nif.counters["icmp_error_not_tcp"] == 1


def test_udp_gets_protocol_unreachable_at_a_limited_rate() -> None:
    nif, _ = make()
    resolve_kernel(nif)
    udp = bytes(IP(src="10.0.0.1", dst="10.0.0.5") / UDP(sport=5000, dport=53) / b"q")
    for _ in range(150):
        nif.receive_frame(emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, udp), 0)
    out = frames(nif)
    assert len(out) == 100
    msg = parse_icmp4(parse_ip(parse_ethernet(out[0])[1])[1])
    assert msg == Icmp4DestUnreachable(2, udp)
    nif.receive_frame(emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, udp), SEC)
    assert len(frames(nif)) == 1


# ----------------------------------------------------------------------- IPv6/NDP


def ns_frame(target: bytes, *, hlim: int = 255, src: str = "fd00::1") -> bytes:
    pkt = IPv6(src=src, dst="ff02::1:ff00:5", hlim=hlim) / ICMPv6ND_NS(tgt="fd00::5")
    if src != "::":
        pkt = pkt / ICMPv6NDOptSrcLLAddr(lladdr="0a:00:00:00:00:01")
    return emit_ethernet(bytes.fromhex("3333ff000005"), KERNEL_MAC, ETHERTYPE_IPV6, bytes(pkt))


def test_neighbor_solicitation_for_us_gets_a_solicited_advertisement() -> None:
    nif, _ = make()
    nif.receive_frame(ns_frame(OUR6), 0)
    (out,) = frames(nif)
    eth, payload = parse_ethernet(out)
    assert eth.dst == KERNEL_MAC
    ip, body = parse_ip(payload)
    assert isinstance(ip, IPv6Header)
    assert (ip.src, ip.dst, ip.hop_limit) == (OUR6, KERNEL6, 255)
    na = parse_icmp6(body, ip.src, ip.dst)
    assert isinstance(na, NeighborAdvertisement)
    assert (na.target, na.solicited, na.override, na.target_mac) == (OUR6, True, True, OUR_MAC)
    assert nif.neighbors.lookup(KERNEL6) == KERNEL_MAC


def test_neighbor_solicitation_through_a_router_is_dropped() -> None:
    nif, _ = make()
    nif.receive_frame(ns_frame(OUR6, hlim=64), 0)
    assert frames(nif) == []
    assert nif.counters["drop.ndp_hop_limit"] == 1


def test_duplicate_address_detection_is_answered_to_all_nodes() -> None:
    nif, _ = make()
    nif.receive_frame(ns_frame(OUR6, src="::"), 0)
    (out,) = frames(nif)
    eth, payload = parse_ethernet(out)
    assert eth.dst == bytes.fromhex("333300000001")
    ip, body = parse_ip(payload)
    na = parse_icmp6(body, ip.src, ip.dst)
    assert isinstance(na, NeighborAdvertisement)
    assert not na.solicited


def test_ipv6_next_hop_is_resolved_with_a_solicitation_to_its_group() -> None:
    nif, _ = make()
    packet = bytes(IPv6(src="fd00::5", dst="fd00::1") / TCP(sport=1, dport=2))
    nif.send_ip(packet, 0)
    (out,) = frames(nif)
    eth, payload = parse_ethernet(out)
    assert eth.dst == bytes.fromhex("3333ff000001")
    ip, body = parse_ip(payload)
    assert ip.dst == solicited_node(KERNEL6)
    ns = parse_icmp6(body, ip.src, ip.dst)
    assert isinstance(ns, NeighborSolicitation)
    assert (ns.target, ns.source_mac) == (KERNEL6, OUR_MAC)
    na = NeighborAdvertisement(KERNEL6, solicited=True, override=True, options=((2, KERNEL_MAC),))
    body6 = na.emit(KERNEL6, OUR6)
    reply = IPv6Header(KERNEL6, OUR6, PROTO_ICMPV6, 255).emit(len(body6)) + body6
    nif.receive_frame(emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV6, reply), 1)
    assert frames(nif) == [KERNEL_MAC + OUR_MAC + b"\x86\xdd" + packet]


def test_ipv6_ping_and_packet_too_big() -> None:
    nif, ep = make()
    nif.receive_frame(ns_frame(OUR6), 0)
    nif.frames_to_send()
    echo = bytes(IPv6(src="fd00::1", dst="fd00::5") / ICMPv6EchoRequest(id=1, seq=2, data=b"hi"))
    nif.receive_frame(emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV6, echo), 0)
    (out,) = frames(nif)
    ip, body = parse_ip(parse_ethernet(out)[1])
    assert parse_icmp6(body, ip.src, ip.dst) == Icmp6Echo(1, 2, b"hi", reply=True)
    quoted = bytes(IPv6(src="fd00::5", dst="fd00::1") / TCP(sport=1, dport=2))[:48]
    ptb = Icmp6PacketTooBig(1280, quoted).emit(KERNEL6, OUR6)
    nif.receive_ip(IPv6Header(KERNEL6, OUR6, PROTO_ICMPV6).emit(len(ptb)) + ptb, 0)
    assert ep.errors == [("packet_too_big", quoted, 1280)]


# ------------------------------------------------------------------------ safety


def test_random_frames_never_raise() -> None:
    nif, _ = make(gateways=["10.0.0.1", "fd00::1"])
    rng = random.Random(826)
    seeds = [
        arp_frame(ARP_REQUEST, KERNEL_MAC, KERNEL4, bytes(6), OUR4),
        ns_frame(OUR6),
        emit_ethernet(
            OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, bytes(IP(src="10.0.0.1", dst="10.0.0.5") / ICMP())
        ),
        emit_ethernet(
            OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, bytes(IP(src="10.0.0.1", dst="10.0.0.5") / UDP())
        ),
    ]
    for i in range(20000):
        frame = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 4)):
            frame[rng.randrange(len(frame))] = rng.randrange(256)
        frame = frame[: rng.randrange(len(frame) + 1)] if rng.random() < 0.3 else frame
        nif.receive_frame(bytes(frame), i)
        nif.send_ip(bytes(frame[14:]), i)
        nif.handle_timer(i)
        nif.frames_to_send()


def test_bad_configuration_raises() -> None:
    with pytest.raises(ValueError, match="address"):
        NetInterface(FakeEndpoint(), [])
    with pytest.raises(ValueError, match="unicast"):
        NetInterface(FakeEndpoint(), ["10.0.0.5/24"], mac="01:00:00:00:00:01")


def test_scapy_reads_our_arp_reply() -> None:
    nif, _ = make()
    nif.receive_frame(arp_frame(ARP_REQUEST, KERNEL_MAC, KERNEL4, bytes(6), OUR4), 0)
    (out,) = frames(nif)
    frame = Ether(out)
    assert frame[ARP].op == 2
    assert frame[ARP].hwsrc == "02:53:4b:00:00:05"
    assert frame[ARP].psrc == "10.0.0.5"


@pytest.mark.parametrize(
    "src", ["224.0.0.1", "255.255.255.255", "10.0.0.255", "127.0.0.1", "0.0.0.0", "10.0.0.5"]
)
def test_no_icmp_error_or_echo_reply_to_a_source_that_is_not_one_host(src: str) -> None:
    # RFC 1122 3.2.2: "An ICMP error message MUST NOT be sent as the result of
    # receiving ... a datagram whose source address does not define a single host
    # -- e.g., a zero address, a loopback address, a broadcast address, a multicast
    # address". Before the fix a UDP packet "from" 255.255.255.255 drew a protocol
    # unreachable to the whole link (a smurf amplifier), one "from" ourselves or
    # from 127.0.0.1 an ARP request to send it back over the wire.
    nif, _ = make()
    resolve_kernel(nif)
    udp = bytes(IP(src=src, dst="10.0.0.5") / UDP(sport=5000, dport=53) / b"q")
    ping = bytes(IP(src=src, dst="10.0.0.5") / ICMP(type=8, id=1, seq=1))
    for packet in (udp, ping):
        nif.receive_frame(emit_ethernet(OUR_MAC, KERNEL_MAC, ETHERTYPE_IPV4, packet), 0)
    assert frames(nif) == []
    assert nif.counters["icmp_error_not_to_single_host"] == 1
    assert nif.counters["icmp_echo_ignored"] == 1


@pytest.mark.parametrize("src", ["ff02::1", "::1", "::", "::ffff:10.0.0.1", "fd00::5"])
def test_no_icmpv6_error_or_echo_reply_to_a_source_that_is_not_one_node(src: str) -> None:
    # RFC 4443 2.4 (e.6): no ICMPv6 error for "a packet whose source address does
    # not uniquely identify a single node -- e.g., the IPv6 Unspecified Address, an
    # IPv6 multicast address"; loopback and our own address are not a peer either.
    nif, _ = make()
    udp = bytes(IPv6(src=src, dst="fd00::5") / UDP(sport=5000, dport=53) / b"q")
    ping = bytes(IPv6(src=src, dst="fd00::5") / ICMPv6EchoRequest(id=1, seq=1))
    for packet in (udp, ping):
        nif.receive_ip(packet, 0)
    assert frames(nif) == []
    assert nif.counters["icmp_error_not_to_single_host"] == 1
    assert nif.counters["icmp_echo_ignored"] == 1

"""ICMPv4 and ICMPv6 messages: round trips, checksums, error kinds, fuzzing and scapy agreement."""

from __future__ import annotations

import random

import pytest
from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6PacketTooBig,
    IPv6,
)

from synack.wire.errors import MalformedPacket
from synack.wire.icmp import (
    NDP_OPT_SOURCE_LLADDR,
    NDP_OPT_TARGET_LLADDR,
    UNREACH_FRAG_NEEDED,
    UNREACH_PORT,
    Icmp4DestUnreachable,
    Icmp4Echo,
    Icmp4Message,
    Icmp4Other,
    Icmp4TimeExceeded,
    Icmp6DestUnreachable,
    Icmp6Echo,
    Icmp6Message,
    Icmp6Other,
    Icmp6PacketTooBig,
    Icmp6ParamProblem,
    Icmp6TimeExceeded,
    NeighborAdvertisement,
    NeighborSolicitation,
    QuotedTcp,
    error_kind,
    parse_icmp4,
    parse_icmp6,
    parse_quoted_tcp,
    quote_for_error,
)
from synack.wire.ip import IPv4Header, emit_tcp_packet
from synack.wire.tcp import ACK, Segment

SRC6 = bytes.fromhex("fd000000000000000000000000000001")
DST6 = bytes.fromhex("fd000000000000000000000000000005")
MAC = bytes.fromhex("020000000005")
QUOTE = bytes(IP(src="10.0.0.5", dst="10.0.0.1") / TCP(sport=40000, dport=80, seq=7))[:28]

V4_MESSAGES: list[Icmp4Message] = [
    Icmp4Echo(0x1234, 7, b"ping data"),
    Icmp4Echo(0x1234, 7, b"ping data", reply=True),
    Icmp4Echo(1, 2, b"odd"),
    Icmp4DestUnreachable(UNREACH_PORT, QUOTE),
    Icmp4DestUnreachable(UNREACH_FRAG_NEEDED, QUOTE, next_hop_mtu=1280),
    Icmp4TimeExceeded(0, QUOTE),
    Icmp4Other(13, 0, b"\x00\x01\x00\x02", bytes(12)),
]

V6_MESSAGES: list[Icmp6Message] = [
    Icmp6Echo(9, 1, b"x" * 33),
    Icmp6Echo(9, 1, b"", reply=True),
    Icmp6DestUnreachable(4, QUOTE),
    Icmp6PacketTooBig(1280, QUOTE),
    Icmp6TimeExceeded(0, QUOTE),
    Icmp6ParamProblem(1, 6, QUOTE),
    NeighborSolicitation(DST6, ((NDP_OPT_SOURCE_LLADDR, MAC),)),
    NeighborSolicitation(DST6),
    NeighborAdvertisement(
        DST6, solicited=True, override=True, options=((NDP_OPT_TARGET_LLADDR, MAC),)
    ),
    NeighborAdvertisement(DST6, router=True),
    Icmp6Other(133, 0, bytes(4), b""),
]


@pytest.mark.parametrize("msg", V4_MESSAGES, ids=lambda m: type(m).__name__)
def test_icmp4_round_trip(msg: Icmp4Message) -> None:
    assert parse_icmp4(msg.emit()) == msg


@pytest.mark.parametrize("msg", V6_MESSAGES, ids=lambda m: type(m).__name__)
def test_icmp6_round_trip(msg: Icmp6Message) -> None:
    assert parse_icmp6(msg.emit(SRC6, DST6), SRC6, DST6) == msg


def test_echo_answer_keeps_identifier_sequence_and_data() -> None:
    req = Icmp4Echo(0xBEEF, 3, b"abc")
    assert req.answer() == Icmp4Echo(0xBEEF, 3, b"abc", reply=True)
    assert Icmp6Echo(1, 2, b"d").answer() == Icmp6Echo(1, 2, b"d", reply=True)


def test_icmp4_bad_checksum_is_rejected() -> None:
    raw = bytearray(Icmp4Echo(1, 1, b"hello").emit())
    raw[-1] ^= 0x40
    with pytest.raises(MalformedPacket) as exc:
        parse_icmp4(raw)
    assert exc.value.reason == "bad_icmp_checksum"


def test_icmp6_checksum_covers_the_pseudo_header() -> None:
    raw = Icmp6Echo(1, 1, b"hello").emit(SRC6, DST6)
    with pytest.raises(MalformedPacket) as exc:
        parse_icmp6(raw, SRC6, SRC6)
    assert exc.value.reason == "bad_icmp_checksum"


def test_truncated_headers() -> None:
    for parse in (parse_icmp4, lambda b: parse_icmp6(b, SRC6, DST6)):
        with pytest.raises(MalformedPacket) as exc:
            parse(b"\x08\x00\x00")
        assert exc.value.reason == "truncated"


def test_ndp_option_with_length_zero_is_discarded() -> None:
    # RFC 4861 4.6: options of length 0 make the whole message invalid.
    msg = NeighborSolicitation(DST6)
    raw = Icmp6Other(135, 0, bytes(4), DST6 + b"\x01\x00" + bytes(6)).emit(SRC6, DST6)
    assert parse_icmp6(msg.emit(SRC6, DST6), SRC6, DST6) == msg
    with pytest.raises(MalformedPacket) as exc:
        parse_icmp6(raw, SRC6, DST6)
    assert exc.value.reason == "ndp_bad_option"


def test_ndp_with_nonzero_code_is_discarded() -> None:
    raw = Icmp6Other(136, 1, bytes(4), DST6).emit(SRC6, DST6)
    with pytest.raises(MalformedPacket) as exc:
        parse_icmp6(raw, SRC6, DST6)
    assert exc.value.reason == "ndp_bad_code"


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (Icmp4DestUnreachable(3, QUOTE), ("port_unreachable", QUOTE, None)),
        (Icmp4DestUnreachable(2, QUOTE), ("proto_unreachable", QUOTE, None)),
        (Icmp4DestUnreachable(1, QUOTE), ("host_unreachable", QUOTE, None)),
        (Icmp4DestUnreachable(0, QUOTE), ("net_unreachable", QUOTE, None)),
        (Icmp4DestUnreachable(13, QUOTE), ("host_unreachable", QUOTE, None)),
        (Icmp4DestUnreachable(4, QUOTE, 1400), ("frag_needed", QUOTE, 1400)),
        (Icmp4DestUnreachable(4, QUOTE, 0), ("frag_needed", QUOTE, None)),
        (Icmp4TimeExceeded(0, QUOTE), ("time_exceeded", QUOTE, None)),
        (Icmp6DestUnreachable(4, QUOTE), ("port_unreachable", QUOTE, None)),
        (Icmp6DestUnreachable(3, QUOTE), ("host_unreachable", QUOTE, None)),
        (Icmp6PacketTooBig(1280, QUOTE), ("packet_too_big", QUOTE, 1280)),
        (Icmp6TimeExceeded(0, QUOTE), ("time_exceeded", QUOTE, None)),
        (Icmp6ParamProblem(1, 6, QUOTE), ("proto_unreachable", QUOTE, None)),
        (Icmp6ParamProblem(0, 6, QUOTE), ("parameter_problem", QUOTE, None)),
        (Icmp4Other(12, 0, b"\x14\x00\x00\x00", QUOTE), ("parameter_problem", QUOTE, None)),
        (Icmp4Other(4, 0, bytes(4), QUOTE), None),
        (Icmp4DestUnreachable(8, QUOTE), None),
        (Icmp4Echo(1, 1), None),
        (NeighborSolicitation(DST6), None),
    ],
)
def test_error_kind_maps_errors_to_endpoint_kinds(
    msg: Icmp4Message | Icmp6Message, expected: tuple[str, bytes, int | None] | None
) -> None:
    assert error_kind(msg) == expected


def test_fuzz_parsers_raise_only_malformed_packet() -> None:
    rng = random.Random(58)
    bases4 = [m.emit() for m in V4_MESSAGES]
    bases6 = [m.emit(SRC6, DST6) for m in V6_MESSAGES]
    for i in range(20000):
        base = rng.choice(bases4 if i & 1 else bases6)
        data = bytearray(base[: rng.randrange(len(base) + 1)])
        for _ in range(rng.randrange(4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            if i & 1:
                parse_icmp4(data)
            else:
                parse_icmp6(data, SRC6, DST6)
        except MalformedPacket:
            pass


def test_fuzz_valid_checksums_reach_the_type_decoders() -> None:
    # Random bodies with a correct checksum exercise every type/code branch.
    rng = random.Random(4443)
    reasons: set[str] = set()
    for _ in range(5000):
        kind = rng.choice([0, 3, 8, 11, 1, 2, 4, 128, 129, 135, 136, rng.randrange(256)])
        body = rng.randbytes(rng.randrange(40))
        other6 = Icmp6Other(kind, rng.choice([0, 0, 1, 4]), rng.randbytes(4), body)
        other4 = Icmp4Other(kind, rng.choice([0, 0, 1, 4]), rng.randbytes(4), body)
        for raw, parse in (
            (other6.emit(SRC6, DST6), lambda b: parse_icmp6(b, SRC6, DST6)),
            (other4.emit(), parse_icmp4),
        ):
            try:
                msg = parse(raw)
            except MalformedPacket as exc:
                reasons.add(exc.reason)
            else:
                error_kind(msg)
    assert reasons <= {"ndp_bad_option", "ndp_bad_code", "truncated"}


def test_scapy_echo_request_parses() -> None:
    raw = bytes(ICMP(type=8, id=0x4242, seq=9) / b"abcdefgh")
    assert parse_icmp4(raw) == Icmp4Echo(0x4242, 9, b"abcdefgh")


def test_scapy_agrees_on_our_echo_reply_checksum() -> None:
    ours = Icmp4Echo(0x4242, 9, b"abcdefg", reply=True).emit()
    theirs = ICMP(ours)
    assert theirs.type == 0
    assert theirs.chksum == ICMP(bytes(ICMP(type=0, id=0x4242, seq=9) / b"abcdefg")).chksum


def test_scapy_frag_needed_carries_mtu() -> None:
    raw = bytes(ICMP(type=3, code=4, nexthopmtu=1400) / QUOTE)
    assert parse_icmp4(raw) == Icmp4DestUnreachable(4, QUOTE, 1400)


def _scapy_icmp6(pkt: IPv6) -> bytes:
    return bytes(pkt)[40:]


def test_scapy_icmp6_messages_parse() -> None:
    src, dst = "fd00::1", "fd00::5"
    echo = _scapy_icmp6(IPv6(src=src, dst=dst) / ICMPv6EchoRequest(id=5, seq=6, data=b"hi"))
    assert parse_icmp6(echo, SRC6, DST6) == Icmp6Echo(5, 6, b"hi")
    ns = _scapy_icmp6(
        IPv6(src=src, dst=dst)
        / ICMPv6ND_NS(tgt="fd00::5")
        / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:05")
    )
    parsed = parse_icmp6(ns, SRC6, DST6)
    assert isinstance(parsed, NeighborSolicitation)
    assert parsed.target == DST6
    assert parsed.source_mac == MAC
    ptb = _scapy_icmp6(IPv6(src=src, dst=dst) / ICMPv6PacketTooBig(mtu=1280) / QUOTE)
    assert parse_icmp6(ptb, SRC6, DST6) == Icmp6PacketTooBig(1280, QUOTE)


def test_scapy_parses_our_icmp6_with_good_checksums() -> None:
    na = NeighborAdvertisement(
        DST6, solicited=True, override=True, options=((NDP_OPT_TARGET_LLADDR, MAC),)
    )
    ours = na.emit(DST6, SRC6)
    pkt = IPv6(bytes(IPv6(src="fd00::5", dst="fd00::1", nh=58, plen=len(ours))) + ours)
    assert pkt[ICMPv6ND_NA].S == 1
    assert pkt[ICMPv6ND_NA].O == 1
    assert pkt[ICMPv6ND_NA].R == 0
    assert pkt[ICMPv6NDOptDstLLAddr].lladdr == "02:00:00:00:00:05"
    rebuilt = (
        IPv6(src="fd00::5", dst="fd00::1")
        / ICMPv6ND_NA(tgt="fd00::5", S=1, O=1, R=0)
        / ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:05")
    )
    assert bytes(rebuilt)[40:] == ours
    reply = Icmp6Echo(5, 6, b"hi", reply=True).emit(DST6, SRC6)
    assert (
        bytes(IPv6(src="fd00::5", dst="fd00::1") / ICMPv6EchoReply(id=5, seq=6, data=b"hi"))[40:]
        == reply
    )


# ------------------------------------------------------ the quoted TCP packet


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_the_quote_of_an_error_gives_the_connection_and_sequence_number(v6: bool) -> None:
    src = bytes.fromhex("fd00" + "00" * 13 + "05") if v6 else bytes([10, 0, 0, 5])
    dst = bytes.fromhex("fd00" + "00" * 13 + "01") if v6 else bytes([10, 0, 0, 1])
    packet = emit_tcp_packet(src, dst, Segment(40000, 80, 0xDEADBEEF, 7, ACK, payload=b"x" * 100))
    # RFC 792: "the internet header plus the first 64 bits of the original datagram".
    quote = quote_for_error(packet)
    assert len(quote) == (40 if v6 else 20) + 8
    assert parse_quoted_tcp(quote) == QuotedTcp(src, dst, 40000, 80, 0xDEADBEEF)
    assert parse_quoted_tcp(packet) == parse_quoted_tcp(quote)


def test_a_quote_with_ip_options_or_too_short_or_not_tcp() -> None:
    src, dst = bytes([10, 0, 0, 5]), bytes([10, 0, 0, 1])
    tcp = Segment(1, 2, 3).emit()
    with_options = IPv4Header(src, dst, options=b"\x01" * 4).emit(len(tcp)) + tcp
    assert parse_quoted_tcp(with_options[:32]).seq == 3
    for bad, reason in (
        (with_options[:31], "truncated"),
        (IPv4Header(src, dst, proto=17).emit(8) + bytes(8), "not_tcp"),
        (b"\x75" + bytes(40), "bad_version"),
    ):
        with pytest.raises(MalformedPacket) as e:
            parse_quoted_tcp(bad)
        assert e.value.reason == reason

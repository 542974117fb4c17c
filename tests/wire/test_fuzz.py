"""Fuzz: no byte string makes a parse function raise anything but MalformedPacket.

A seeded generator mutates valid packets (truncations, bit flips, random bytes,
bad IHL / total length / data offset / payload length, option lengths of 0, 1
and past the end, inserted and deleted bytes) and adds purely random strings.
Half the mutated segments get correct checksums again, so the parser gets past
the checksum and into the options. Every input goes through ``parse_ip``,
``parse_tcp_packet``, ``parse_segment`` (with and without verification) and
``parse_options``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from synack.wire.checksum import ones_sum
from synack.wire.errors import REASONS, MalformedPacket
from synack.wire.ip import IPv4Header, IPv6Header, emit_tcp_packet, parse_ip, parse_tcp_packet
from synack.wire.ip import pseudo_sum as pseudo_sum_of
from synack.wire.tcp import (
    ACK,
    PSH,
    SYN,
    EndOfOptions,
    MaxSegmentSize,
    NoOperation,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    parse_options,
    parse_segment,
)

# Every reason parse_ip, parse_tcp_packet, parse_segment and parse_options give.
IP_TCP_REASONS = (
    "truncated",
    "bad_version",
    "bad_ihl",
    "bad_length",
    "bad_ip_checksum",
    "fragment",
    "ipv6_extension",
    "not_tcp",
    "bad_data_offset",
    "bad_checksum",
    "bad_option_length",
)
SEED = 0x5EED
ROUNDS = 26_000  # four inputs a round: 104,000 byte strings
V4 = (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
V6 = (bytes(range(16)), bytes(range(16, 32)))

SEEDS = [
    Segment(1, 2, 3, 0, SYN, 65535, 0, (MaxSegmentSize(1460), SackPermitted(), Timestamps(1, 0))),
    Segment(1, 2, 3, 4, ACK, 100, 0, (NoOperation(), NoOperation(), Timestamps(5, 6)), b"x" * 30),
    Segment(1, 2, 3, 4, ACK, 100, 0, (NoOperation(), WindowScale(7), Sack(((1, 2), (3, 4))))),
    Segment(1, 2, 3, 4, ACK | PSH, 9, 0, (UnknownOption(254, b"\xf9\x89ab"), EndOfOptions())),
    Segment(1, 2, 3, 4, ACK, 9, 0, (Sack(((1, 2), (3, 4), (5, 6), (7, 8))),), bytes(1460)),
    Segment(1, 2, 3, 4, ACK, 9),
]


def valid_packets() -> list[bytes]:
    return [emit_tcp_packet(*addrs, seg) for seg in SEEDS for addrs in (V4, V6)]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One random damaging change to ``data``."""
    buf = bytearray(data)
    n = len(buf)
    op = rng.randrange(9)
    if op == 0 and n:
        return bytes(buf[: rng.randrange(n)])  # truncation
    if op == 1 and n:
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(n)] ^= 1 << rng.randrange(8)  # bit flips
    elif op == 2 and n:
        buf[rng.randrange(n)] = rng.choice([0, 1, 2, 0x7F, 0x80, 0xFE, 0xFF, rng.randrange(256)])
    elif op == 3:
        at = rng.randrange(n + 1)
        buf[at:at] = rng.randbytes(rng.randint(1, 8))  # insertion
    elif op == 4 and n:
        at = rng.randrange(n)
        del buf[at : at + rng.randint(1, 8)]  # deletion
    elif op == 5:
        buf += rng.randbytes(rng.randint(1, 64))  # trailing junk
    else:
        return set_length_field(rng, bytes(buf))
    return bytes(buf)


def set_length_field(rng: random.Random, data: bytes) -> bytes:
    """Put an interesting value into one of the length fields, wherever it is."""
    buf = bytearray(data)
    n = len(buf)
    if n < 20:
        return data
    version = buf[0] >> 4
    ip_len = (buf[0] & 0x0F) * 4 if version == 4 else 40
    interesting = [0, 1, 19, 20, 39, 40, 59, 60, n - 1, n, n + 1, 0xFFFF]
    choice = rng.randrange(4)
    if choice == 0 and version == 4:
        buf[0] = 0x40 | rng.randrange(16)  # IHL
    elif choice == 1 and version == 4:
        buf[2:4] = (rng.choice(interesting) & 0xFFFF).to_bytes(2, "big")  # total length
    elif choice == 1 and version == 6:
        buf[4:6] = (rng.choice(interesting) & 0xFFFF).to_bytes(2, "big")  # payload length
    elif choice == 2 and ip_len + 13 < n:
        buf[ip_len + 12] = (rng.randrange(16) << 4) | (buf[ip_len + 12] & 0x0F)  # data offset
    elif ip_len + 22 < n:
        # An option length byte: 0, 1, or past the end of the header.
        at = rng.randrange(ip_len + 21, min(n, ip_len + 60))
        buf[at] = rng.choice([0, 1, 2, 40, 41, 255, rng.randrange(256)])
    return bytes(buf)


def rechecksum_segment(tcp: bytes, src: bytes, dst: bytes) -> bytes:
    """``tcp`` with a correct checksum for its (possibly damaged) bytes."""
    if len(tcp) < 18:
        return tcp
    zeroed = tcp[:16] + b"\x00\x00" + tcp[18:]
    csum = ~ones_sum(zeroed, pseudo_sum_of(src, dst, len(tcp))) & 0xFFFF
    return zeroed[:16] + csum.to_bytes(2, "big") + zeroed[18:]


def wrap(tcp: bytes, v6: bool) -> bytes:
    src, dst = V6 if v6 else V4
    header = IPv6Header(src, dst) if v6 else IPv4Header(src, dst)
    return header.emit(len(tcp)) + tcp


@pytest.mark.slow
def test_parsers_raise_only_malformed_packet_for_any_bytes() -> None:
    rng = random.Random(SEED)
    packets = valid_packets()
    segments = [p[(20 if p[0] >> 4 == 4 else 40) :] for p in packets]
    reasons: Counter[str] = Counter()
    v4_sum = pseudo_sum_of(*V4, 0)
    inputs = 0

    def parse_segment_verified(data: bytes) -> object:
        return parse_segment(data, v4_sum + len(data))

    parsers: tuple[Callable[[bytes], object], ...] = (
        parse_ip,
        parse_tcp_packet,
        parse_segment,
        parse_segment_verified,
        parse_options,
    )

    for _ in range(ROUNDS):
        # 1. A whole packet, damaged (usually caught by a checksum or a length).
        pkt = mutate(rng, rng.choice(packets))
        # 2. A damaged TCP segment in a good IP packet, half of them re-checksummed.
        v6 = rng.random() < 0.5
        seg = mutate(rng, rng.choice(segments))
        for _ in range(rng.randrange(3)):
            seg = mutate(rng, seg)
        if rng.random() < 0.5:
            seg = rechecksum_segment(seg, *(V6 if v6 else V4))
        wrapped = wrap(seg, v6)
        # 3. Random bytes, as both a packet and options.
        noise = rng.randbytes(rng.randrange(80))
        # 4. Option bytes: a damaged option area from a valid segment.
        opts = mutate(rng, rng.choice(segments)[20:60])

        for data in (pkt, wrapped, noise, opts):
            inputs += 1
            for parse in parsers:
                try:
                    parse(data)
                except MalformedPacket as e:
                    reasons[e.reason] += 1
                except Exception as e:
                    raise AssertionError(f"{parse.__name__}({data.hex()}): {e!r}") from e
                else:
                    reasons["ok"] += 1

    assert inputs >= 100_000
    assert set(reasons) - {"ok"} <= set(REASONS)
    # The fuzzer reached every kind of rejection the IP and TCP parsers have, and
    # some damaged inputs still parse.
    for reason in IP_TCP_REASONS:
        assert reasons[reason] > 0, (reason, reasons)
    assert reasons["ok"] > 10_000

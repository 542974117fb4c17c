"""Independent cross-check: scapy and dpkt read what synack writes, and the reverse.

A seeded generator makes a few thousand random valid segments (every flag and
reserved bit, every option kind, payloads up to a full MSS, IPv4 and IPv6). For
each, scapy and dpkt must agree with synack on every header field, the options
and both checksums; and packets that scapy builds must parse identically in
synack and re-emit byte for byte.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import dpkt
import pytest
from scapy.layers.inet import IP, TCP, in4_chksum
from scapy.layers.inet6 import IPv6, in6_chksum
from scapy.packet import Packet, Raw
from scapy.utils import checksum as scapy_checksum

from synack.wire.ip import (
    PROTO_TCP,
    IPv4Header,
    IPv6Header,
    addr_to_str,
    emit_tcp_packet,
    parse_tcp_packet,
    pseudo_sum,
)
from synack.wire.tcp import (
    EndOfOptions,
    MaxSegmentSize,
    NoOperation,
    Option,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    pad_options,
)

COUNT = 2000  # segments per direction and per library
# Kinds that scapy decodes into its own named forms; synack keeps them raw, so
# the random unknown kinds avoid them to compare like with like.
SCAPY_NAMED_KINDS = frozenset({0, 1, 2, 3, 4, 5, 8, 14, 15, 19, 25, 28, 29, 34})


def random_option(rng: random.Random) -> Option:
    pick = rng.randrange(7)
    if pick == 0:
        return NoOperation()
    if pick == 1:
        return MaxSegmentSize(rng.randrange(1 << 16))
    if pick == 2:
        return WindowScale(rng.randrange(15))
    if pick == 3:
        return SackPermitted()
    if pick == 4:
        n = rng.randint(1, 4)
        return Sack(tuple((rng.getrandbits(32), rng.getrandbits(32)) for _ in range(n)))
    if pick == 5:
        return Timestamps(rng.getrandbits(32), rng.getrandbits(32))
    kind = rng.choice([k for k in range(6, 256) if k not in SCAPY_NAMED_KINDS])
    return UnknownOption(kind, rng.randbytes(rng.randrange(9)))


def random_options(rng: random.Random) -> tuple[Option, ...]:
    opts: list[Option] = []
    used = 0
    for _ in range(rng.randrange(7)):
        o = random_option(rng)
        n = len(o.emit())
        if used + n > 40:
            break
        opts.append(o)
        used += n
    if used < 40 and rng.random() < 0.2:
        opts.append(EndOfOptions(bytes(rng.randrange(40 - used))))
    return tuple(opts)


def random_segment(rng: random.Random) -> Segment:
    payload_len = rng.choice([0, 0, 1, rng.randrange(1, 1461), 1460])
    return Segment(
        src_port=rng.randrange(1 << 16),
        dst_port=rng.randrange(1 << 16),
        seq=rng.getrandbits(32),
        ack=rng.getrandbits(32),
        flags=rng.getrandbits(12),
        window=rng.randrange(1 << 16),
        urgent=rng.randrange(1 << 16),
        options=random_options(rng),
        payload=rng.randbytes(payload_len),
    )


def random_addresses(rng: random.Random) -> tuple[bytes, bytes]:
    size = rng.choice([4, 16])
    return rng.randbytes(size), rng.randbytes(size)


def cases(seed: int) -> list[tuple[bytes, bytes, Segment]]:
    rng = random.Random(seed)
    return [(*random_addresses(rng), random_segment(rng)) for _ in range(COUNT)]


# ---------------------------------------------------------------------- scapy


def scapy_options(
    options: tuple[Option, ...], *, eol_padding: bool = False
) -> list[tuple[Any, Any]]:
    """synack options in scapy's notation.

    scapy stops reading at EOL, so for comparison with what it parsed an
    EndOfOptions is one ("EOL", None); to build with scapy (``eol_padding``),
    each zero byte of its padding becomes one more EOL.
    """
    out: list[tuple[Any, Any]] = []
    for o in options:
        match o:
            case NoOperation():
                out.append(("NOP", None))
            case EndOfOptions(padding=padding):
                out += [("EOL", None)] * (1 + (len(padding) if eol_padding else 0))
            case MaxSegmentSize(mss=mss):
                out.append(("MSS", mss))
            case WindowScale(shift=shift):
                out.append(("WScale", shift))
            case SackPermitted():
                out.append(("SAckOK", b""))
            case Sack(blocks=blocks):
                out.append(("SAck", tuple(edge for block in blocks for edge in block)))
            case Timestamps(tsval=tsval, tsecr=tsecr):
                out.append(("Timestamp", (tsval, tsecr)))
            case UnknownOption(kind=kind, data=data):
                out.append((kind, data))
    return out


def scapy_parse(packet: bytes) -> Packet:
    return IP(packet) if packet[0] >> 4 == 4 else IPv6(packet)


@pytest.mark.slow
def test_scapy_reads_what_synack_writes() -> None:
    for src, dst, seg in cases(seed=1):
        packet = emit_tcp_packet(src, dst, seg, ttl=77, ident=0x4242)
        pkt = scapy_parse(packet)
        tcp = pkt[TCP]
        assert (tcp.sport, tcp.dport, tcp.seq, tcp.ack) == (
            seg.src_port,
            seg.dst_port,
            seg.seq,
            seg.ack,
        )
        assert (tcp.reserved << 9) | int(tcp.flags) == seg.flags
        assert (tcp.window, tcp.urgptr) == (seg.window, seg.urgent)
        assert tcp.dataofs * 4 == seg.header_len
        # scapy stops reading options at EOL; synack keeps the bytes after it.
        assert tcp.options == scapy_options(pad_options(seg.options))
        assert bytes(tcp.payload) == seg.payload
        # Both checksums as scapy computes them, pseudo-header included.
        tcp_bytes = packet[len(packet) - len(seg.payload) - seg.header_len :]
        zeroed = tcp_bytes[:16] + b"\x00\x00" + tcp_bytes[18:]
        if isinstance(pkt, IP):
            assert tcp.chksum == in4_chksum(PROTO_TCP, pkt, zeroed)
            assert pkt.chksum == scapy_checksum(packet[:10] + b"\x00\x00" + packet[12:20])
        else:
            assert tcp.chksum == in6_chksum(PROTO_TCP, tcp, zeroed)  # type: ignore[no-untyped-call]
        # scapy rebuilds the same bytes, unless it dropped the bytes after an EOL.
        if not any(isinstance(o, EndOfOptions) for o in pad_options(seg.options)):
            del tcp.chksum
            if pkt.version == 4:
                del pkt.chksum
            assert bytes(pkt) == packet


@pytest.mark.slow
def test_synack_reads_what_scapy_writes() -> None:
    for src, dst, seg in cases(seed=2):
        ip: Packet
        if len(src) == 4:
            ip = IP(src=addr_to_str(src), dst=addr_to_str(dst), ttl=33, tos=2, id=7, flags="DF")
        else:
            ip = IPv6(src=addr_to_str(src), dst=addr_to_str(dst), hlim=33, tc=2, fl=0x12345)
        tcp = TCP(
            sport=seg.src_port,
            dport=seg.dst_port,
            seq=seg.seq,
            ack=seg.ack,
            reserved=seg.flags >> 9,
            flags=seg.flags & 0x1FF,
            window=seg.window,
            urgptr=seg.urgent,
            options=scapy_options(seg.options, eol_padding=True),
        )
        packet = bytes(ip / tcp / Raw(seg.payload)) if seg.payload else bytes(ip / tcp)
        parsed_ip, parsed = parse_tcp_packet(packet)
        assert parsed == replace(seg, options=pad_options(seg.options))
        assert parsed.checksum == scapy_parse(packet)[TCP].chksum
        if isinstance(parsed_ip, IPv4Header):
            assert (parsed_ip.ttl, parsed_ip.tos, parsed_ip.ident, parsed_ip.flags) == (33, 2, 7, 2)
        else:
            assert isinstance(parsed_ip, IPv6Header)
            assert (parsed_ip.hop_limit, parsed_ip.traffic_class, parsed_ip.flow_label) == (
                33,
                2,
                0x12345,
            )
        # And synack writes the same bytes back.
        tcp_bytes = parsed.emit(pseudo_sum(src, dst, len(packet) - parsed_ip.header_len))
        assert parsed_ip.emit(len(tcp_bytes)) + tcp_bytes == packet


# ----------------------------------------------------------------------- dpkt


def dpkt_options(options: tuple[Option, ...]) -> list[tuple[int, bytes]]:
    """synack options as dpkt lists them: (kind, data), with each EOL byte on its own."""
    out: list[tuple[int, bytes]] = []
    for o in options:
        if isinstance(o, EndOfOptions):
            out += [(0, b"")] * (1 + len(o.padding))
        else:
            raw = o.emit()
            out.append((raw[0], raw[2:] if len(raw) > 1 else b""))
    return out


@pytest.mark.parametrize("seed", [3])
def test_dpkt_reads_what_synack_writes(seed: int) -> None:
    for src, dst, seg in cases(seed):
        packet = emit_tcp_packet(src, dst, seg)
        ip = dpkt.ip.IP(packet) if len(src) == 4 else dpkt.ip6.IP6(packet)
        tcp = ip.data
        assert isinstance(tcp, dpkt.tcp.TCP)
        assert (tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.win, tcp.urp) == (
            seg.src_port,
            seg.dst_port,
            seg.seq,
            seg.ack,
            seg.window,
            seg.urgent,
        )
        assert tcp._off_flags & 0xFFF == seg.flags
        assert tcp.off * 4 == seg.header_len
        assert dpkt.tcp.parse_opts(tcp.opts) == dpkt_options(pad_options(seg.options))
        assert bytes(tcp.data) == seg.payload
        # dpkt fills in a zero TCP checksum when it packs the IP packet.
        sent = tcp.sum
        tcp.sum = 0
        if len(src) == 4:
            ip.sum = 0
        assert bytes(ip) == packet
        assert tcp.sum == sent

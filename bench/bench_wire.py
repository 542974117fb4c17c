"""Wire-format costs: parse, verify and emit of TCP segments and IP packets, in microseconds.

Every payload is 1460 random bytes (a full Ethernet MSS; random so the checksum
does real work). "opts" is NOP, NOP, Timestamps: what Linux puts on every
segment of an established connection. The last lines compare ways to compute
the ones'-complement sum, which is most of the cost.
"""

from __future__ import annotations

import array
import random
import timeit
from collections.abc import Callable
from functools import partial

from synack.wire.checksum import ones_sum
from synack.wire.ip import emit_tcp_packet, parse_tcp_packet, pseudo_sum, str_to_addr
from synack.wire.tcp import (
    ACK,
    PSH,
    SYN,
    MaxSegmentSize,
    NoOperation,
    SackPermitted,
    Segment,
    Timestamps,
    WindowScale,
    parse_options,
    parse_segment,
)

TARGET_US = 10.0  # parse + verify + emit of a full-size segment
NUMBER = 20_000
REPEATS = 5


def per_call_us(fn: Callable[[], object]) -> float:
    """Best of several runs, in microseconds per call."""
    return min(timeit.repeat(fn, number=NUMBER, repeat=REPEATS)) / NUMBER * 1e6


def line(label: str, us: float) -> None:
    print(f"  {label:<58} {us:6.2f} us")


def segment_round_trip(wire: bytes, pseudo: int) -> bytes:
    return parse_segment(wire, pseudo).emit(pseudo)


def packet_round_trip(packet: bytes, src: bytes, dst: bytes) -> bytes:
    return emit_tcp_packet(src, dst, parse_tcp_packet(packet)[1])


def sum_array(data: bytes) -> int:
    return sum(array.array("H", data))


def sum_memoryview(data: bytes) -> int:
    return sum(memoryview(data).cast("H"))


def modulo_only(data: bytes) -> int:
    return int.from_bytes(data, "big") % 0xFFFF


def run() -> None:
    rng = random.Random(1)
    payload = rng.randbytes(1460)
    v4 = str_to_addr("192.168.1.100"), str_to_addr("10.0.0.5")
    v6 = str_to_addr("2001:db8::1"), str_to_addr("2001:db8::2")
    ts_opts = (NoOperation(), NoOperation(), Timestamps(123456789, 987654321))
    syn_opts = (
        MaxSegmentSize(1460),
        SackPermitted(),
        Timestamps(1, 0),
        NoOperation(),
        WindowScale(7),
    )
    bare = Segment(40000, 80, 1000, 5000, ACK | PSH, 502, payload=payload)
    with_ts = Segment(40000, 80, 1000, 5000, ACK | PSH, 502, options=ts_opts, payload=payload)
    syn = Segment(40000, 80, 1000, 0, SYN, 65535, options=syn_opts)

    print("TCP segment, 1460-byte payload (checksum with an IPv4 pseudo-header)")
    rounds = {}
    for name, seg in (("no opts", bare), ("opts", with_ts)):
        ps = pseudo_sum(*v4, seg.header_len + len(seg.payload))
        wire = seg.emit(ps)
        line(f"emit, {name}", per_call_us(partial(seg.emit, ps)))
        line(f"parse, no checksum check, {name}", per_call_us(partial(parse_segment, wire)))
        line(f"parse + verify, {name}", per_call_us(partial(parse_segment, wire, ps)))
        rounds[name] = per_call_us(partial(segment_round_trip, wire, ps))
        line(f"parse + verify + emit, {name}", rounds[name])
    ps_syn = pseudo_sum(*v4, syn.header_len)
    syn_wire = syn.emit(ps_syn)
    line(
        "SYN <mss,sackOK,TS,nop,wscale>: parse + verify + emit",
        per_call_us(partial(segment_round_trip, syn_wire, ps_syn)),
    )

    print("IP packet carrying the segment with opts (both checksums)")
    for family, (src, dst) in (("IPv4", v4), ("IPv6", v6)):
        packet = emit_tcp_packet(src, dst, with_ts)
        line(f"{family} emit_tcp_packet", per_call_us(partial(emit_tcp_packet, src, dst, with_ts)))
        line(f"{family} parse_tcp_packet", per_call_us(partial(parse_tcp_packet, packet)))
        line(
            f"{family} parse_tcp_packet + emit_tcp_packet",
            per_call_us(partial(packet_round_trip, packet, src, dst)),
        )

    print("Options")
    nop_nop_ts = b"\x01\x01\x08\x0a" + bytes(8)
    ts_nop_nop = b"\x08\x0a" + bytes(8) + b"\x01\x01"
    line("parse_options NOP,NOP,TS (fast path)", per_call_us(partial(parse_options, nop_nop_ts)))
    line("parse_options TS,NOP,NOP (general loop)", per_call_us(partial(parse_options, ts_nop_nop)))
    line(
        "parse_options mss,sackOK,TS,nop,wscale", per_call_us(partial(parse_options, syn_wire[20:]))
    )

    print("Ones'-complement sum of 1480 bytes: alternatives")
    data = payload + rng.randbytes(20)
    line("ones_sum: int.from_bytes, folded, % 0xFFFF (used)", per_call_us(partial(ones_sum, data)))
    line("int.from_bytes % 0xFFFF, no folding", per_call_us(partial(modulo_only, data)))
    line("sum(array('H')), before byte swap and fold", per_call_us(partial(sum_array, data)))
    line(
        "sum(memoryview.cast('H')), before byte swap and fold",
        per_call_us(partial(sum_memoryview, data)),
    )

    worst = max(rounds.values())
    verdict = "met" if worst < TARGET_US else "NOT met"
    print(
        f"Target: parse + verify + emit of a full-size segment < {TARGET_US:g} us: "
        f"{verdict} ({worst:.2f} us)"
    )

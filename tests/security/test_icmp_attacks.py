"""Forged ICMP: a "fragmentation needed" for a tiny MTU must not shrink segments to nothing.

Issue 16 finding 10: one ICMP "fragmentation needed, MTU 68" (or an IPv6 "packet
too big" below 1280) from an on-path host cut segments to 28 octets of data and
throughput 6.5 times. The path MTU now has a floor: 552 on IPv4 (Linux's
min_pmtu), 1280 on IPv6 (RFC 8201 4: "MUST NOT reduce its estimate of the Path
MTU below the IPv6 minimum link MTU").
"""

from __future__ import annotations

import pytest

from synack.wire.errors import MalformedPacket
from synack.wire.icmp import IcmpKind
from synack.wire.ip import parse_tcp_packet
from tests.security.lab import Lab


@pytest.mark.parametrize(
    ("v6", "kind", "mtu", "payload"),
    [
        # 552 - 20 (IP) - 20 (TCP) - 12 (Timestamps, RFC 6691) = 500 octets of data
        (False, "frag_needed", 68, 500),
        (False, "frag_needed", 300, 500),
        (False, "frag_needed", 1000, 1000 - 40 - 12),  # above the floor: taken as given
        # 1280 - 40 (IPv6) - 20 (TCP) - 12 = 1208
        (True, "packet_too_big", 600, 1208),
        (True, "packet_too_big", 1280, 1208),
    ],
)
def test_icmp_cannot_push_the_path_mtu_below_its_floor(
    v6: bool, kind: IcmpKind, mtu: int, payload: int
) -> None:
    lab = Lab(seed=3)
    captured: list[bytes] = []

    def keep(p: bytes) -> bytes:
        captured.append(p)
        return p

    lab.tap = keep
    conn = lab.open(v6=v6)
    lab.write(conn, 1)
    lab.pump()
    quoted = captured[-2][: 48 if v6 else 28]  # the client's data segment, as ICMP quotes it
    lab.client.handle_icmp_error(lab.now, kind=kind, original=quoted, mtu=mtu)
    captured.clear()
    lab.write(conn, 20_000)
    lab.advance(1_000_000)
    sizes = set()
    for p in captured:
        try:
            ip, seg = parse_tcp_packet(p)
        except MalformedPacket:
            continue
        if ip.src == conn.local[0] and seg.payload:
            sizes.add(len(seg.payload))
    assert max(sizes) == payload
    assert lab.accepted and all(s.read_is_prefix() for s in lab.accepted.values())
    assert sum(len(s.read) for s in lab.accepted.values()) == 20_001

"""Queue managers on a simulated link: step marking, RED, CoDel, ECN marking; trace-driven rates.

Each test drives one link with packets at known times and checks what leaves
it: which packets are marked or dropped, and when.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from synack.sim import LinkConfig, TwoHosts
from synack.sim.aqm import CoDel, Red, StepMark
from synack.sim.link import load_trace
from synack.sim.scripted import ScriptedHost
from synack.wire.checksum import internet_checksum
from synack.wire.ecn import Ecn, mark_ce, packet_ecn, with_ecn
from synack.wire.ip import IPv6Header, parse_ip, str_to_addr
from tests.sim.helpers import queue_at, scripted_pair, send_all, sized_packet

MS = 1000


def ect(size: int = 1500, seq: int = 0) -> bytes:
    return with_ecn(sized_packet(size, seq), Ecn.ECT0)


# ------------------------------------------------------------------ the ECN field


def test_marking_ce_keeps_the_ipv4_header_checksum_valid() -> None:
    p = with_ecn(sized_packet(100), Ecn.ECT0)
    assert packet_ecn(p) is Ecn.ECT0
    marked = mark_ce(p)
    assert marked is not None and packet_ecn(marked) is Ecn.CE
    assert internet_checksum(marked[:20]) == 0  # RFC 1624: the incremental update is exact
    assert parse_ip(marked)[0].ecn == 0b11
    assert marked[20:] == p[20:] and marked[0] == p[0] and marked[1] >> 2 == p[1] >> 2


def test_ipv6_ecn_bits_sit_in_the_traffic_class() -> None:
    h = IPv6Header(str_to_addr("fd00::1"), str_to_addr("fd00::2"), traffic_class=0xB8 | 0b10)
    p = h.emit(0)
    assert packet_ecn(p) is Ecn.ECT0
    marked = mark_ce(p)
    assert marked is not None
    header = parse_ip(marked)[0]
    assert isinstance(header, IPv6Header) and header.traffic_class == 0xB8 | 0b11


def test_a_not_ect_packet_cannot_be_marked() -> None:
    assert mark_ce(sized_packet(100)) is None  # RFC 3168 5: the router drops it instead


# ------------------------------------------------------------------ step threshold


@pytest.mark.parametrize("ecn_capable", [True, False])
def test_step_threshold_marks_arrivals_above_k(ecn_capable: bool) -> None:
    # 30 packets at once, k = 5: packet i (from 1) finds i - 2 waiting (the first
    # goes straight to the wire), so packets 8..30 find more than 5: 23 signals.
    cfg = LinkConfig(bandwidth=12_000_000, queue_packets=100, aqm=StepMark(k=5))
    sim, net, a, b = scripted_pair(cfg)
    make = ect if ecn_capable else sized_packet
    send_all(sim, net, a, [make(1500, seq=i) for i in range(30)])
    sim.run()
    got = [packet_ecn(p) for _, p in b.received]
    if ecn_capable:
        assert got == [Ecn.ECT0] * 7 + [Ecn.CE] * 23
        assert net.ab.drops == {} and net.ab.marks == 23
    else:  # a Not-ECT packet is dropped where an ECT one would be marked
        assert len(got) == 7 and net.ab.drops == {"step": 23}


# ------------------------------------------------------------------ RED


def _overload(
    cfg: LinkConfig, make: Callable[[int, int], bytes], until: int, every: int
) -> tuple[TwoHosts, ScriptedHost]:
    sim, net, a, b = scripted_pair(cfg)
    for i, t in enumerate(range(0, until, every)):
        queue_at(net.a, a, t, make(1500, i))
    net.ab.sojourn = []
    sim.run()
    return net, b


def test_red_holds_the_queue_well_below_its_limit_under_overload() -> None:
    # Twice the link rate for 2 s: drop-tail would fill all 200 places.
    red = Red(min_th=5, max_th=15, max_p=0.1, weight=0.02, packet_time=1000)
    cfg = LinkConfig(bandwidth=12_000_000, queue_packets=200, aqm=red)
    net, _ = _overload(cfg, sized_packet, 2_000 * MS, 500)
    drops = net.ab.drops
    assert set(drops) == {"red"}
    assert 0.4 < drops["red"] / 4000 < 0.6  # about half must go
    waits = net.ab.sojourn
    assert waits is not None
    assert max(waits[1000:]) < 40 * MS  # under 40 packets of 1 ms, far from 200


def test_red_with_ecn_marks_ect_packets_instead_of_dropping() -> None:
    red = Red(min_th=5, max_th=15, max_p=0.1, weight=0.02, packet_time=1000, ecn=True)
    cfg = LinkConfig(bandwidth=12_000_000, queue_packets=2000, aqm=red)
    net, b = _overload(cfg, ect, 500 * MS, 500)
    assert net.ab.drops == {}
    assert net.ab.marks > 100
    assert sum(packet_ecn(p) is Ecn.CE for _, p in b.received) == net.ab.marks


# ------------------------------------------------------------------ CoDel


def _codel_signals(ecn: bool) -> tuple[list[int], int]:
    # 1500-octet packets every 0.5 ms into a link that sends one per ms: packet n
    # (from 0) arrives at n/2 ms and would start at n ms, after waiting n/2 ms.
    cfg = LinkConfig(bandwidth=12_000_000, queue_packets=5000, aqm=CoDel(ecn=ecn))
    sim, net, a, b = scripted_pair(cfg)
    times: list[int] = []
    net.ab.observers.append(
        lambda now, link, what, packet, detail: (
            times.append(now) if what == "drop" and detail == "codel" else None
        )
    )
    make = ect if ecn else sized_packet
    for i in range(900):
        queue_at(net.a, a, i * 500, make(1500, i))
    sim.run()
    if ecn:
        times = [t - 1000 for t, p in b.received if packet_ecn(p) is Ecn.CE]  # sent 1 ms earlier
    return times, len(b.received)


def test_codel_waits_an_interval_above_target_then_drops_ever_faster() -> None:
    drops, delivered = _codel_signals(ecn=False)
    # The wait reaches the 5 ms TARGET (no longer below it) with packet 10 at 10 ms;
    # it is still above one INTERVAL (100 ms) later, at 110 ms: the first drop.
    assert drops[0] == 110 * MS
    # RFC 8289's control law: the next drop INTERVAL / sqrt(count) after the last.
    for k in range(1, 5):
        gap = drops[k] - drops[k - 1]
        assert abs(gap - 100 * MS / math.sqrt(k)) <= 1 * MS, (k, gap)
    assert delivered == 900 - len(drops)


def test_codel_with_ecn_marks_at_the_same_moments_and_loses_nothing() -> None:
    drops, _ = _codel_signals(ecn=False)
    marks, delivered = _codel_signals(ecn=True)
    assert delivered == 900
    assert marks[:3] == drops[:3]


# ------------------------------------------------------------------ traces


def test_mahimahi_traces_parse_and_reject_bad_lines() -> None:
    assert load_trace("1\n2\n\n2\n5\n") == (1, 2, 2, 5)
    with pytest.raises(ValueError, match="line 2"):
        load_trace("3\n2\n")
    with pytest.raises(ValueError, match="line 1"):
        load_trace("x\n")
    with pytest.raises(ValueError, match="at least one"):
        load_trace("0\n")


def test_a_trace_link_sends_at_its_delivery_opportunities() -> None:
    # Opportunities at 1, 2, 3, 4 ms, repeating every 4 ms; 1500 octets each.
    cfg = LinkConfig(trace=(1, 2, 3, 4), delay=10 * MS, queue_packets=100)
    sim, net, a, b = scripted_pair(cfg)
    send_all(sim, net, a, [sized_packet(1500, i) for i in range(6)])
    sim.run()
    assert [t for t, _ in b.received] == [11_000, 12_000, 13_000, 14_000, 15_000, 16_000]


def test_small_packets_share_an_opportunity_and_unused_ones_are_lost() -> None:
    cfg = LinkConfig(trace=(1, 2, 3, 4), queue_packets=100)
    sim, net, a, b = scripted_pair(cfg)
    send_all(sim, net, a, [sized_packet(750, i) for i in range(3)])  # two fit in one slot
    send_all(sim, net, a, [sized_packet(1500, 9)], t=6_500)  # 3, 4, 5, 6 ms went unused
    sim.run()
    assert [t for t, _ in b.received] == [1_000, 1_000, 2_000, 7_000]


def test_a_trace_and_a_bandwidth_together_are_refused() -> None:
    with pytest.raises(ValueError, match="bandwidth or a trace"):
        LinkConfig(trace=(1,), bandwidth=1_000_000)
    with pytest.raises(ValueError, match="needs a bottleneck"):
        LinkConfig(aqm=CoDel())


def test_the_bundled_traces_are_what_the_documented_generator_writes(tmp_path: Path) -> None:
    from synack.sim.traces import BUNDLED, read_trace, trace_path
    from synack.sim.traces.generate import write_all

    for path in write_all(tmp_path):
        assert path.read_text() == trace_path(path.stem).read_text()
    for name in BUNDLED:
        ms = read_trace(name)
        assert ms[-1] == 20_000  # 20 s, then the trace repeats
    # wave: 12 Mbit/s on average is one 1500-octet opportunity per millisecond.
    assert len(read_trace("wave")) == pytest.approx(20_000, abs=2)

"""Seeded impairments: loss rates, bursts, periodic and scripted drops, reordering,
duplication and corruption."""

from __future__ import annotations

import itertools
import math

import pytest

from synack.sim import DropRule, GilbertElliott, LinkConfig, parse_rule
from synack.sim.rules import is_data, is_syn_ack
from synack.wire.errors import MalformedPacket
from synack.wire.ip import parse_tcp_packet
from synack.wire.tcp import ACK, SYN
from tests.sim.helpers import queue_at, scripted_pair, send_all, sized_packet, tcp_packet


def run_numbered(config: LinkConfig, n: int, seed: int = 1, spacing: int = 10) -> list[int]:
    """Send packets 0..n-1 (seq = index), one every ``spacing`` us; return the
    indexes delivered, in arrival order."""
    sim, net, a, b = scripted_pair(config, seed=seed)
    for i in range(n):
        queue_at(net.a, a, i * spacing, tcp_packet(i))
    sim.run()
    out = []
    for _, p in b.received:
        try:
            out.append(parse_tcp_packet(p)[1].seq)
        except MalformedPacket:
            out.append(-1)
    return out


@pytest.mark.slow
def test_bernoulli_loss_rate_is_within_four_sigma() -> None:
    n, p = 20_000, 0.1
    got = run_numbered(LinkConfig(loss=p), n)
    lost = n - len(got)
    sigma = math.sqrt(n * p * (1 - p))
    assert abs(lost - n * p) < 4 * sigma


def test_the_same_seed_loses_the_same_packets_and_another_seed_does_not() -> None:
    one = run_numbered(LinkConfig(loss=0.2), 500, seed=7)
    two = run_numbered(LinkConfig(loss=0.2), 500, seed=7)
    three = run_numbered(LinkConfig(loss=0.2), 500, seed=8)
    assert one == two
    assert one != three


@pytest.mark.slow
def test_gilbert_elliott_loss_comes_in_bursts_of_the_asked_mean_length() -> None:
    ge = GilbertElliott.from_rate(0.05, 4.0)
    assert ge.mean_loss == pytest.approx(0.05)
    n = 40_000
    got = set(run_numbered(LinkConfig(burst=ge), n, spacing=1))
    lost = [i for i in range(n) if i not in got]
    assert 0.035 < len(lost) / n < 0.065
    bursts = 1 + sum(1 for x, y in itertools.pairwise(lost) if y != x + 1)
    assert 3.0 < len(lost) / bursts < 5.0


@pytest.mark.slow
def test_bernoulli_losses_rarely_come_in_bursts() -> None:
    n = 40_000
    got = set(run_numbered(LinkConfig(loss=0.05), n, spacing=1))
    lost = [i for i in range(n) if i not in got]
    bursts = 1 + sum(1 for x, y in itertools.pairwise(lost) if y != x + 1)
    assert len(lost) / bursts < 1.2


def test_periodic_loss_drops_every_nth_packet() -> None:
    got = run_numbered(LinkConfig(periodic_loss=5), 20)
    assert got == [i for i in range(20) if (i + 1) % 5]


def test_scripted_rule_drops_only_the_first_syn_ack() -> None:
    sim, net, a, b = scripted_pair(LinkConfig(rules=(DropRule.nth(is_syn_ack, 1),)))
    syn_ack = tcp_packet(5000, SYN | ACK, ack=1001)
    send_all(sim, net, a, [tcp_packet(1000, SYN), syn_ack, syn_ack, tcp_packet(1001)])
    sim.run()
    assert net.ab.drops == {"scripted": 1}
    kinds = [parse_tcp_packet(p)[1].flags for _, p in b.received]
    assert kinds == [SYN, SYN | ACK, ACK]


def test_scripted_rule_drops_data_segments_five_to_seven() -> None:
    rule = DropRule.span(is_data, 5, 7)
    sim, net, a, b = scripted_pair(LinkConfig(rules=(rule,)))
    packets = [tcp_packet(i, payload=b"x") for i in range(1, 11)]
    packets.insert(3, tcp_packet(99))  # a pure ACK is not a data segment
    send_all(sim, net, a, packets)
    sim.run()
    seqs = [parse_tcp_packet(p)[1].seq for _, p in b.received]
    assert seqs == [1, 2, 3, 99, 4, 8, 9, 10]


@pytest.mark.parametrize(
    ("text", "occurrences"),
    [("syn", {1}), ("syn-ack:2", {2}), ("data:5-7", {5, 6, 7}), ("fin:1,3", {1, 3})],
)
def test_rule_text_form(text: str, occurrences: set[int]) -> None:
    assert parse_rule(text).occurrences == occurrences


@pytest.mark.parametrize("text", ["bogus", "syn:0", "data:7-5", "ack:x"])
def test_bad_rule_text_raises(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rule(text)


def test_reordering_delivers_some_packets_after_later_ones() -> None:
    n = 2_000
    got = run_numbered(LinkConfig(reorder=0.05, reorder_delay=100), n)
    assert sorted(got) == list(range(n))
    assert got != sorted(got)
    late = sum(1 for x, y in itertools.pairwise(got) if y < x)
    assert 50 < late < 150


def test_duplication_delivers_extra_copies() -> None:
    n = 2_000
    got = run_numbered(LinkConfig(duplicate=0.1), n)
    extra = len(got) - n
    assert set(got) == set(range(n))
    assert 140 < extra < 260


def test_corruption_flips_one_bit_after_the_ip_header_and_the_checksum_catches_it() -> None:
    sim, net, a, b = scripted_pair(LinkConfig(corrupt=0.5), seed=3)
    sent = [sized_packet(200 + i, seq=i) for i in range(200)]
    send_all(sim, net, a, sent)
    sim.run()
    bad = 0
    for (_, got), original in zip(b.received, sent, strict=True):
        diff = [i for i in range(len(got)) if got[i] != original[i]]
        if not diff:
            parse_tcp_packet(got)
            continue
        bad += 1
        assert len(diff) == 1
        assert diff[0] >= 20
        assert bin(got[diff[0]] ^ original[diff[0]]).count("1") == 1
        with pytest.raises(MalformedPacket, match="bad_checksum"):
            parse_tcp_packet(got)
    assert bad == net.ab.corrupted
    assert 70 < bad < 130


def test_turning_on_one_impairment_does_not_change_another_one_s_draws() -> None:
    alone = run_numbered(LinkConfig(loss=0.2), 300, seed=5)
    with_dups = run_numbered(LinkConfig(loss=0.2, duplicate=0.3), 300, seed=5)
    assert sorted(set(with_dups)) == alone

"""RFC 6528 initial sequence numbers: keyed per 4-tuple, advancing with a 4-microsecond clock."""

from __future__ import annotations

import itertools
import random

import pytest

from synack.tcp.config import Config
from synack.tcp.endpoint import Endpoint
from synack.tcp.isn import IsnGenerator
from synack.wire.ip import parse_tcp_packet
from synack.wire.seq import MASK, MOD

SECRET = bytes(range(32))
LADDR = bytes([10, 0, 0, 1])
RADDR = bytes([10, 0, 0, 2])
TUPLE = (LADDR, 40_000, RADDR, 80)


def random_tuples(n: int, seed: int) -> list[tuple[bytes, int, bytes, int]]:
    rng = random.Random(seed)
    return [
        (rng.randbytes(4), rng.randrange(1, 65536), rng.randbytes(4), rng.randrange(1, 65536))
        for _ in range(n)
    ]


def chi_square(values: list[int], buckets: int) -> float:
    counts = [0] * buckets
    for v in values:
        counts[v * buckets >> 32] += 1
    expected = len(values) / buckets
    return sum((c - expected) ** 2 / expected for c in counts)


def test_isns_of_different_tuples_spread_over_the_32_bit_space() -> None:
    # RFC 6528 3: F() must make ISNs of different connections unpredictable; at one
    # instant, 2,000 random 4-tuples give ISNs spread evenly over 2**32.
    gen = IsnGenerator(SECRET)
    values = [gen.isn(5_000_000, *t) for t in random_tuples(2000, seed=1)]
    assert len(set(values)) == len(values)
    # 16 buckets, 15 degrees of freedom: mean 15; 60 is far in the tail (p < 1e-6).
    assert chi_square(values, 16) < 60
    # Every byte position is spread too (the top byte alone could hide a bias).
    for shift in (0, 8, 16, 24):
        assert chi_square([((v >> shift) & 0xFF) << 24 for v in values], 16) < 60


def test_adjacent_ports_give_isns_differing_in_about_half_the_bits() -> None:
    gen = IsnGenerator(SECRET)
    values = [gen.isn(0, LADDR, port, RADDR, 80) for port in range(10_000, 12_000)]
    flips = [bin(a ^ b).count("1") for a, b in itertools.pairwise(values)]
    mean = sum(flips) / len(flips)
    # Ideal 16 with standard error sqrt(8)/sqrt(1999) ~ 0.06.
    assert 15.5 < mean < 16.5


def test_isn_bits_each_set_about_half_the_time() -> None:
    gen = IsnGenerator(SECRET)
    values = [gen.isn(0, *t) for t in random_tuples(2000, seed=2)]
    for bit in range(32):
        ones = sum((v >> bit) & 1 for v in values)
        # Binomial(2000, 1/2): standard deviation ~22; allow about 7 of them.
        assert 850 < ones < 1150, f"bit {bit} set {ones} times"


@pytest.mark.parametrize("k", [0, 1, 2, 250_000, 1 << 31, (1 << 32) - 1, (1 << 32) + 5])
def test_isn_advances_by_one_every_four_microseconds(k: int) -> None:
    # RFC 6528 3 / RFC 9293 3.4.1: M is a timer that ticks every 4 microseconds.
    gen = IsnGenerator(SECRET)
    t = 123_456_788
    assert (gen.isn(t + 4 * k, *TUPLE) - gen.isn(t, *TUPLE)) % MOD == k % MOD


def test_isn_is_constant_within_one_tick() -> None:
    gen = IsnGenerator(SECRET)
    base = gen.isn(400, *TUPLE)
    assert [gen.isn(400 + d, *TUPLE) for d in range(4)] == [base] * 4
    assert gen.isn(404, *TUPLE) == (base + 1) & MASK


def test_isn_is_clock_plus_keyed_offset() -> None:
    # RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey).
    gen = IsnGenerator(SECRET)
    f = gen.offset(*TUPLE)
    assert 0 <= f <= MASK
    assert gen.isn(0, *TUPLE) == f
    assert gen.isn(4 * 1000, *TUPLE) == (f + 1000) & MASK


def test_isn_wraps_modulo_2_to_the_32() -> None:
    gen = IsnGenerator(SECRET)
    f = gen.offset(*TUPLE)
    t = 4 * (MOD - f)  # M + F == 2**32 exactly
    assert gen.isn(t, *TUPLE) == 0
    assert gen.isn(t - 4, *TUPLE) == MASK


def test_isn_depends_on_every_element_of_the_tuple() -> None:
    gen = IsnGenerator(SECRET)
    base = gen.isn(0, *TUPLE)
    assert gen.isn(0, bytes([10, 0, 0, 3]), 40_000, RADDR, 80) != base
    assert gen.isn(0, LADDR, 40_001, RADDR, 80) != base
    assert gen.isn(0, LADDR, 40_000, bytes([10, 0, 0, 4]), 80) != base
    assert gen.isn(0, LADDR, 40_000, RADDR, 81) != base
    # Swapping the ends is another connection.
    assert gen.isn(0, RADDR, 80, LADDR, 40_000) != base


def test_same_secret_gives_same_isns() -> None:
    a, b = IsnGenerator(SECRET), IsnGenerator(SECRET)
    assert [a.isn(7, *t) for t in random_tuples(50, 3)] == [
        b.isn(7, *t) for t in random_tuples(50, 3)
    ]


def test_different_secret_gives_different_isns() -> None:
    a, b = IsnGenerator(SECRET), IsnGenerator(bytes(range(1, 33)))
    tuples = random_tuples(100, seed=4)
    diffs = sum(a.isn(0, *t) != b.isn(0, *t) for t in tuples)
    assert diffs == 100


def test_default_secret_is_random_per_generator() -> None:
    # RFC 6528 3: the secret key is random; two generators do not agree.
    a, b = IsnGenerator(), IsnGenerator()
    tuples = random_tuples(8, seed=5)
    assert [a.isn(0, *t) for t in tuples] != [b.isn(0, *t) for t in tuples]


def test_short_secret_is_refused() -> None:
    # RFC 6528 3: the key "SHOULD be of at least 128 bits".
    with pytest.raises(ValueError, match="16 bytes"):
        IsnGenerator(b"x" * 15)
    IsnGenerator(b"x" * 16)


def test_long_secret_is_accepted_and_keyed() -> None:
    a, b = IsnGenerator(b"k" * 100), IsnGenerator(b"k" * 99 + b"j")
    assert a.isn(0, *TUPLE) != b.isn(0, *TUPLE)


# -------------------------------------------------------------- in the endpoint


def test_endpoint_iss_advances_with_the_clock_for_one_tuple() -> None:
    ep = Endpoint(["10.0.0.1"], isn_secret=SECRET)
    first = ep.connect("10.0.0.2", 80, 1_000_000, local_port=40_000)
    first.abort(1_000_000)
    ep.packets_to_send(1_000_000)
    assert ep.connections() == []
    second = ep.connect("10.0.0.2", 80, 1_040_000, local_port=40_000)
    assert (second.iss - first.iss) % MOD == 40_000 // 4


def test_endpoint_iss_is_the_rfc_6528_isn_of_its_tuple() -> None:
    ep = Endpoint(["10.0.0.1"], isn_secret=SECRET)
    conn = ep.connect("10.0.0.2", 80, 8_000, local_port=40_000)
    assert conn.iss == IsnGenerator(SECRET).isn(8_000, *TUPLE)
    (pkt,) = ep.packets_to_send(8_000)
    _, syn = parse_tcp_packet(pkt)
    assert syn.seq == conn.iss


def test_endpoints_with_different_secrets_choose_different_iss() -> None:
    a = Endpoint(["10.0.0.1"], isn_secret=SECRET)
    b = Endpoint(["10.0.0.1"], isn_secret=bytes(range(1, 33)))
    ca = a.connect("10.0.0.2", 80, 0, local_port=40_000)
    cb = b.connect("10.0.0.2", 80, 0, local_port=40_000)
    assert ca.iss != cb.iss


def test_passive_side_iss_comes_from_its_generator_too() -> None:
    client = Endpoint(["10.0.0.2"], isn_secret=SECRET)
    server = Endpoint(["10.0.0.1"], isn_secret=SECRET)
    server.listen(80)
    client.connect("10.0.0.1", 80, 12_000, local_port=40_000)
    (syn,) = client.packets_to_send(12_000)
    server.receive_packet(syn, 12_000)
    (synack,) = server.packets_to_send(12_000)
    _, seg = parse_tcp_packet(synack)
    assert seg.seq == IsnGenerator(SECRET).isn(12_000, LADDR, 80, RADDR, 40_000)


def test_fixed_iss_in_config_overrides_the_generator() -> None:
    ep = Endpoint(["10.0.0.1"], config=Config(fixed_iss=12_345), isn_secret=SECRET)
    conn = ep.connect("10.0.0.2", 80, 999_996)
    assert conn.iss == 12_345
    (pkt,) = ep.packets_to_send(999_996)
    _, syn = parse_tcp_packet(pkt)
    assert syn.seq == 12_345


def test_fixed_iss_per_connect_config() -> None:
    ep = Endpoint(["10.0.0.1"], isn_secret=SECRET)
    conn = ep.connect("10.0.0.2", 80, 0, config=Config(fixed_iss=MASK))
    assert conn.iss == MASK
    assert conn.snd_nxt == 0  # the SYN's sequence number wraps


def test_fixed_iss_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="fixed_iss"):
        Config(fixed_iss=MOD)
    with pytest.raises(ValueError, match="fixed_iss"):
        Config(fixed_iss=-1)


class _Recording:
    """An ISN source that hands out 7, 8, 9, ... and records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bytes, int, bytes, int]] = []

    def isn(self, now: int, laddr: bytes, lport: int, raddr: bytes, rport: int) -> int:
        self.calls.append((now, laddr, lport, raddr, rport))
        return 7 + len(self.calls) - 1


def test_endpoint_takes_its_iss_from_a_supplied_source_once_per_connection() -> None:
    source = _Recording()
    client = Endpoint(["10.0.0.1"], isn=source)
    active = client.connect("10.0.0.2", 80, 5_000, local_port=40_000)
    assert active.iss == 7
    server = Endpoint(["10.0.0.2"], isn=source)
    server.listen(80)
    (syn,) = client.packets_to_send(5_000)
    server.receive_packet(syn, 6_000)
    (syn_ack,) = server.packets_to_send(6_000)
    _, seg = parse_tcp_packet(syn_ack)
    # The passive open asked the same source, with its own view of the tuple.
    assert seg.seq == 8
    assert source.calls == [
        (5_000, bytes([10, 0, 0, 1]), 40_000, bytes([10, 0, 0, 2]), 80),
        (6_000, bytes([10, 0, 0, 2]), 80, bytes([10, 0, 0, 1]), 40_000),
    ]

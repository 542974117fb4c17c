"""The lab's ISN generators: 4.3BSD's counter exactly, RFC 793's bare clock, and the registry."""

from __future__ import annotations

import pytest

from synack.attack.isn import Bsd43Counter, RandomIsn, Rfc793Clock, make_generator
from synack.tcp.endpoint import Endpoint
from synack.tcp.isn import IsnGenerator
from synack.wire.ip import parse_tcp_packet

T = (b"\x0a\x00\x00\x05", 514, b"\xc0\xa8\x01\x64", 1023)


def test_bsd_counter_starts_at_one_and_adds_64000_per_connection() -> None:
    # 4.3BSD tcp_init: "tcp_iss = 1"; tcp_input/tcp_usrreq: "tp->iss = tcp_iss;
    # tcp_iss += TCP_ISSINCR/2" with TCP_ISSINCR = 125*1024.
    gen = Bsd43Counter(uptime=0)
    assert [gen.isn(10, *T) for _ in range(3)] == [1, 64_001, 128_001]


def test_bsd_counter_adds_64000_every_half_second_tick() -> None:
    # tcp_slowtimo, PR_SLOWHZ = 2 times a second: "tcp_iss += TCP_ISSINCR/PR_SLOWHZ".
    gen = Bsd43Counter(uptime=0)
    assert gen.value(499_999) == 1
    assert gen.value(500_000) == 64_001
    assert gen.value(2_250_000) == 1 + 4 * 64_000
    # The phase of the tick comes from the uptime.
    assert Bsd43Counter(uptime=300_000).value(200_000) == 64_001


def test_bsd_counter_wraps_modulo_2_32() -> None:
    gen = Bsd43Counter(uptime=0)
    n = (1 << 32) // 64_000 + 1
    gen.connections = n
    assert gen.isn(0, *T) == 1 + 64_000 * n - (1 << 32)


def test_an_endpoint_with_the_bsd_counter_bumps_it_for_passive_and_active_opens() -> None:
    gen = Bsd43Counter(uptime=0)
    server = Endpoint(["10.0.0.5"], isn=gen)
    server.listen(514)
    client = Endpoint(["192.168.1.100"])
    client.connect("10.0.0.5", 514, 0)
    (syn,) = client.packets_to_send(0)
    server.receive_packet(syn, 0)
    (syn_ack,) = server.packets_to_send(0)
    assert parse_tcp_packet(syn_ack)[1].seq == 1
    active = server.connect("192.168.1.100", 80, 0)
    assert active.iss == 64_001
    assert gen.value(0) == 128_001


def test_the_rfc_793_clock_ticks_every_4_microseconds_whatever_the_tuple() -> None:
    gen = Rfc793Clock(uptime=1_000)
    other = (T[0], 80, T[2], 40_000)
    assert gen.isn(0, *T) == 250
    assert gen.isn(4_000, *other) == 250 + 1_000
    assert Rfc793Clock(uptime=(1 << 34) + 8).isn(0, *T) == 2  # 2**34 us wraps 2**32 ticks


def test_random_isns_differ_per_connection_and_repeat_per_seed() -> None:
    a, b = RandomIsn(7), RandomIsn(7)
    first = [a.isn(0, *T) for _ in range(5)]
    assert first == [b.isn(0, *T) for _ in range(5)]
    assert len(set(first)) == 5
    assert first != [RandomIsn(8).isn(0, *T) for _ in range(5)]


def test_make_generator_by_name() -> None:
    assert isinstance(make_generator("counter", 1), Bsd43Counter)
    assert isinstance(make_generator("clock", 1), Rfc793Clock)
    assert isinstance(make_generator("rfc6528", 1), IsnGenerator)
    assert isinstance(make_generator("random", 1), RandomIsn)
    # The uptime (the counter's value and tick phase) comes from the seed.
    assert make_generator("counter", 1).isn(0, *T) != make_generator("counter", 2).isn(0, *T)
    with pytest.raises(ValueError, match="unknown ISN generator"):
        make_generator("lcg", 1)

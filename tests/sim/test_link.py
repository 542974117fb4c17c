"""Link arithmetic: propagation delay, serialization at a bandwidth, queue, MTU."""

from __future__ import annotations

import pytest

from synack.sim import LinkConfig
from tests.sim.helpers import scripted_pair, send_all, sized_packet


def arrivals(config: LinkConfig, packets: list[bytes], t: int = 0) -> list[int]:
    sim, net, a, b = scripted_pair(config)
    send_all(sim, net, a, packets, t)
    sim.run()
    return [when for when, _ in b.received]


def test_propagation_delay_is_exact() -> None:
    assert arrivals(LinkConfig(delay=10_000), [sized_packet(60)], t=123) == [10_123]


def test_zero_delay_infinite_bandwidth_delivers_at_the_same_instant() -> None:
    assert arrivals(LinkConfig(), [sized_packet(60)] * 3, t=5) == [5, 5, 5]


def test_serialization_delay_is_size_times_eight_over_bandwidth() -> None:
    # 1500 bytes at 12 Mbit/s take exactly 1000 us each, back to back.
    got = arrivals(LinkConfig(delay=5_000, bandwidth=12_000_000), [sized_packet(1500)] * 3)
    assert got == [6_000, 7_000, 8_000]


def test_serialization_does_not_accumulate_rounding() -> None:
    # 1000 bytes at 3 Mbit/s take 2666.67 us: arrivals are the ceilings of the
    # exact times 2666.67, 5333.33, 8000 (rounding each packet up would give 8001).
    got = arrivals(LinkConfig(bandwidth=3_000_000), [sized_packet(1000)] * 3)
    assert got == [2_667, 5_334, 8_000]


def test_an_idle_link_starts_serializing_at_the_send_time() -> None:
    sim, net, a, b = scripted_pair(LinkConfig(bandwidth=8_000_000))  # 1 byte/us
    send_all(sim, net, a, [sized_packet(100)], t=0)
    send_all(sim, net, a, [sized_packet(100)], t=1_000)
    sim.run()
    assert [t for t, _ in b.received] == [100, 1_100]


def test_drop_tail_queue_in_packets_counts_packets_waiting_behind_the_one_on_the_wire() -> None:
    sim, net, a, b = scripted_pair(LinkConfig(bandwidth=12_000_000, queue_packets=2))
    send_all(sim, net, a, [sized_packet(1500, seq=i) for i in range(5)])
    sim.run()
    assert len(b.received) == 3
    assert net.ab.drops == {"queue_full": 2}
    assert [t for t, _ in b.received] == [1_000, 2_000, 3_000]


def test_queue_space_frees_as_packets_start_serializing() -> None:
    sim, net, a, b = scripted_pair(LinkConfig(bandwidth=12_000_000, queue_packets=1))
    # t=0: one on the wire, one waits. t=1000: the waiting one starts, a new one may wait.
    send_all(sim, net, a, [sized_packet(1500)] * 2, t=0)
    send_all(sim, net, a, [sized_packet(1500)] * 2, t=1_000)
    sim.run()
    assert net.ab.drops == {"queue_full": 1}
    assert [t for t, _ in b.received] == [1_000, 2_000, 3_000]


def test_drop_tail_queue_in_bytes() -> None:
    sim, net, a, b = scripted_pair(LinkConfig(bandwidth=12_000_000, queue_bytes=3_500))
    send_all(sim, net, a, [sized_packet(1500)] * 5)
    sim.run()
    assert len(b.received) == 3  # one on the wire + 2 * 1500 waiting; 4500 > 3500
    assert net.ab.drops == {"queue_full": 2}


def test_queue_backlog_reports_waiting_packets_and_bytes() -> None:
    sim, net, a, _b = scripted_pair(LinkConfig(bandwidth=12_000_000))
    send_all(sim, net, a, [sized_packet(1500)] * 4)
    sim.run(until=0)
    assert net.ab.queue_backlog == (3, 4_500)
    sim.run(until=2_500)
    assert net.ab.queue_backlog == (1, 1_500)


def test_packets_larger_than_the_mtu_are_dropped_with_a_reason() -> None:
    sim, net, a, b = scripted_pair(LinkConfig(mtu=1500))
    hook: list[tuple[int, int]] = []
    net.ab.mtu_hook = lambda packet, mtu, now: hook.append((len(packet), mtu))
    send_all(sim, net, a, [sized_packet(1500), sized_packet(1501)])
    sim.run()
    assert [len(p) for _, p in b.received] == [1500]
    assert net.ab.drops == {"mtu": 1}
    assert hook == [(1501, 1500)]


def test_each_direction_has_its_own_configuration() -> None:
    sim, net, a, b = scripted_pair(LinkConfig(delay=1_000), LinkConfig(delay=7_000))
    send_all(sim, net, a, [sized_packet(60)])
    send_all(sim, net, b, [sized_packet(60)])
    sim.run()
    assert [t for t, _ in b.received] == [1_000]
    assert [t for t, _ in a.received] == [7_000]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"delay": -1},
        {"bandwidth": 0},
        {"loss": 1.5},
        {"corrupt": -0.1},
        {"periodic_loss": 1},
        {"queue_packets": -1},
    ],
)
def test_bad_link_parameters_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LinkConfig(**kwargs)  # type: ignore[arg-type]

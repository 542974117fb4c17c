"""The event engine and host timers: ordering, virtual time, lazy timer arming."""

from __future__ import annotations

import pytest

from synack.sim import HostNode, SimulationError, Simulator
from synack.sim.scripted import ScriptedHost


def test_events_at_the_same_time_run_in_scheduling_order() -> None:
    sim = Simulator()
    seen: list[tuple[int, str]] = []
    sim.at(5, lambda now: seen.append((now, "first")))
    sim.at(3, lambda now: seen.append((now, "early")))
    sim.at(5, lambda now: seen.append((now, "second")))
    sim.at(5, lambda now: seen.append((now, "third")))
    assert sim.run() == 4
    assert seen == [(3, "early"), (5, "first"), (5, "second"), (5, "third")]
    assert sim.now == 5


def test_run_until_stops_before_later_events_and_sets_the_clock() -> None:
    sim = Simulator()
    seen: list[int] = []
    for t in (10, 20, 30):
        sim.at(t, seen.append)
    sim.run(until=25)
    assert seen == [10, 20]
    assert sim.now == 25
    sim.run()
    assert seen == [10, 20, 30]


def test_run_until_past_the_last_event_advances_the_clock() -> None:
    sim = Simulator()
    sim.at(7, lambda now: None)
    sim.run(until=3_600_000_000)
    assert sim.now == 3_600_000_000


def test_stop_ends_the_run_after_the_current_event() -> None:
    sim = Simulator()
    seen: list[int] = []

    def stopper(now: int) -> None:
        seen.append(now)
        sim.stop()

    sim.at(1, stopper)
    sim.at(2, seen.append)
    sim.run()
    assert seen == [1]
    sim.run()
    assert seen == [1, 2]


def test_scheduling_in_the_past_raises() -> None:
    sim = Simulator()
    sim.at(10, lambda now: None)
    sim.run()
    with pytest.raises(SimulationError):
        sim.at(9, lambda now: None)


def test_events_scheduled_from_events_run_in_time_order() -> None:
    sim = Simulator()
    seen: list[int] = []

    def chain(now: int) -> None:
        seen.append(now)
        if now < 50:
            sim.after(10, chain)

    sim.at(0, chain)
    sim.run()
    assert seen == [0, 10, 20, 30, 40, 50]


def test_host_timer_fires_exactly_at_the_deadline() -> None:
    sim = Simulator()
    host = ScriptedHost()
    node = HostNode(sim, host, name="h")
    host.set_timer(1_234_567)
    node.step(0)
    sim.run()
    assert host.fired == [1_234_567]
    assert sim.now == 1_234_567


def test_host_timer_moved_earlier_fires_at_the_new_deadline() -> None:
    sim = Simulator()
    host = ScriptedHost()
    node = HostNode(sim, host, name="h")
    host.set_timer(1_000)
    node.step(0)
    node.call(100, lambda now: host.set_timer(500))
    sim.run()
    assert host.fired == [500, 1_000]


def test_host_timer_moved_later_does_not_fire_at_the_old_deadline() -> None:
    sim = Simulator()
    host = ScriptedHost()
    node = HostNode(sim, host, name="h")
    host.set_timer(1_000)
    node.step(0)

    def postpone(now: int) -> None:
        host.cancel_timers()
        host.set_timer(5_000)

    node.call(100, postpone)
    sim.run()
    assert host.fired == [5_000]


def test_a_simulated_hour_of_idle_timers_runs_without_waiting() -> None:
    sim = Simulator()
    host = ScriptedHost()
    node = HostNode(sim, host, name="h")
    host.on_timer = lambda now: host.set_timer(now + 1_000_000)
    host.set_timer(1_000_000)
    node.step(0)
    sim.run(until=3_600_000_000)
    assert len(host.fired) == 3600
    assert host.fired[-1] == 3_600_000_000


def test_a_deadline_that_never_advances_is_reported() -> None:
    class Stuck(ScriptedHost):
        def handle_timer(self, now: int) -> None:
            self.fired.append(now)  # never clears the deadline

    sim = Simulator()
    host = Stuck()
    node = HostNode(sim, host, name="stuck")
    host.set_timer(10)
    node.step(0)
    with pytest.raises(SimulationError, match="stays at"):
        sim.run()

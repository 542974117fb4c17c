"""The TimerSet on its own: one deadline per Timer, the earliest, what is due, what changed."""

from __future__ import annotations

import ast
import inspect

import pytest

from synack.tcp import timers
from synack.tcp.timers import FIRING_ORDER, Timer, TimerSet


def test_the_set_has_one_deadline_per_timer_and_nothing_else() -> None:
    names = {t.value for t in Timer}
    assert set(TimerSet.__slots__) - {"_traced"} == names
    ts = TimerSet()
    assert all(ts.get(t) is None for t in Timer)
    assert sorted(FIRING_ORDER, key=lambda t: t.value) == sorted(Timer, key=lambda t: t.value)


def test_poll_at_is_the_earliest_armed_deadline() -> None:
    ts = TimerSet()
    assert ts.poll_at() is None
    ts.arm(Timer.KEEPALIVE, 900)
    ts.rtx = 500
    ts.arm(Timer.DELACK, 700)
    assert ts.poll_at() == 500
    ts.arm(Timer.RTX, None)
    assert ts.poll_at() == 700
    ts.cancel_all()
    assert ts.poll_at() is None


def test_take_due_turns_off_only_what_is_due() -> None:
    ts = TimerSet()
    ts.rtx, ts.persist = 100, 200
    assert not ts.take_due(Timer.PERSIST, 199)
    assert not ts.take_due(Timer.TLP, 10**9)  # not armed
    assert ts.take_due(Timer.RTX, 100)  # due exactly at its deadline
    assert ts.rtx is None and ts.persist == 200
    assert not ts.take_due(Timer.RTX, 100)


def test_changes_reports_each_arm_move_and_cancel_once() -> None:
    ts = TimerSet()
    assert ts.changes() == []
    ts.rtx, ts.delack = 10, 20
    assert ts.changes() == [(Timer.RTX, 10), (Timer.DELACK, 20)]
    assert ts.changes() == []
    ts.rtx = 15
    ts.delack = None
    assert ts.changes() == [(Timer.RTX, 15), (Timer.DELACK, None)]


def test_the_timer_set_knows_nothing_of_connections() -> None:
    tree = ast.parse(inspect.getsource(timers))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert not {m for m in imported if m.startswith("synack")}


@pytest.mark.parametrize("timer", list(Timer))
def test_arm_and_get_go_through_the_attribute_of_the_same_name(timer: Timer) -> None:
    ts = TimerSet()
    ts.arm(timer, 42)
    assert getattr(ts, timer.value) == 42 == ts.get(timer)

"""Sweep specs: what a [grid] means, and the one-line errors for what it cannot mean."""

from __future__ import annotations

import pytest

from synack.lab.spec import DEFAULTS, SpecError, expand, parse_spec


def test_a_list_is_swept_and_a_scalar_is_fixed() -> None:
    spec = parse_spec(
        """
        [grid]
        cc = ["newreno", "cubic"]
        rtt = [20, 80]
        loss = 0.01
        """
    )
    points = expand(spec)
    assert [(p["cc"], p["rtt"]) for p in points] == [
        ("newreno", 20.0),
        ("newreno", 80.0),
        ("cubic", 20.0),
        ("cubic", 80.0),
    ]
    assert {p["loss"] for p in points} == {0.01}
    assert spec.swept == ["cc", "rtt"]
    # Parameters the spec does not name take their defaults.
    assert {p["bandwidth"] for p in points} == {DEFAULTS["bandwidth"]}


def test_option_names_are_those_of_synack_sim() -> None:
    spec = parse_spec('[grid]\n"burst-loss" = ["0.01:3"]\nperiodic_loss = 100\nbytes = "2M"\n')
    (point,) = expand(spec)
    assert point["burst_loss"] == "0.01:3"
    assert point["periodic_loss"] == 100
    assert point["bytes"] == 2_000_000


def test_seeds_shorthand_and_extra_points() -> None:
    spec = parse_spec(
        """
        [sweep]
        seeds = 3
        [grid]
        cc = "cubic"
        [[points]]
        cc = "bbr"
        seed = 7
        """
    )
    points = expand(spec)
    assert [(p["cc"], p["seed"]) for p in points] == [
        ("cubic", 1),
        ("cubic", 2),
        ("cubic", 3),
        ("bbr", 7),
    ]
    assert spec.seeds == [1, 2, 3, 7]


def test_run_ids_are_stable_and_distinct() -> None:
    a = expand(parse_spec("[grid]\nrtt = [20, 40]\n"))
    b = expand(parse_spec("[grid]\nrtt = [40, 20]\nloss = 0.0\n"))
    assert a[0].run_id == b[1].run_id and a[1].run_id == b[0].run_id
    assert a[0].run_id != a[1].run_id


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[grid]\nspeed = 1\n", "unknown parameter 'speed'"),
        ("[grid]\ncc = 'vegas'\n", "unknown congestion control 'vegas'"),
        ("[grid]\nloss = [0.1, 2]\n", "loss: 2 is not in [0, 1]"),
        ("[grid]\nrtt = []\n", "'rtt' has an empty list"),
        ("[grid]\nqueue = 'lots'\n", "not a count"),
        ("[sweep]\nseeds = 2\n[grid]\nseed = [1]\n", "not both"),
        ("[grid\n", "not valid TOML"),
        ("[sweep]\nname = 'x'\n", "neither a [grid] nor [[points]]"),
        ("[grids]\ncc = 'cubic'\n", "unknown table(s) grids"),
        ("[[points]]\nrtt = [1, 2]\n", "a point takes one value"),
        ("[grid]\naqm = 'pie'\n", "not a queue manager: 'pie'"),
        ("[grid]\naqm = 'red:15:5'\n", "min_th < max_th"),
    ],
)
def test_bad_specs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=None) as err:
        parse_spec(text)
    assert message in str(err.value)


def test_queue_managers_take_their_parameters_after_colons() -> None:
    from synack.lab.units import parse_aqm
    from synack.sim.aqm import CoDel, Red, StepMark

    assert parse_aqm("droptail", ecn=False) is None
    assert parse_aqm("codel", ecn=True) == CoDel(target=5_000, interval=100_000, ecn=True)
    assert parse_aqm("codel:10:200", ecn=False) == CoDel(target=10_000, interval=200_000)
    assert parse_aqm("step:30", ecn=True) == StepMark(k=30, ecn=True)
    red = parse_aqm("red:3:9:0.2", ecn=False)
    assert isinstance(red, Red) and (red.min_th, red.max_th, red.max_p) == (3, 9, 0.2)


def test_red_in_a_sweep_decays_its_average_per_packet_time_of_the_bottleneck() -> None:
    from synack.lab.runner import path_of
    from synack.sim.aqm import Red

    (point,) = expand(parse_spec("[grid]\naqm = 'red'\nbandwidth = 20\n"))
    red = path_of(point.values).aqm
    # 1500 octets at 20 Mbit/s take 600 us.
    assert isinstance(red, Red) and red.packet_time == 600

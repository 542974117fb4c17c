"""synack's packetdrill suite: every script passes on synack, and on Linux too.

``test_on_synack`` runs each script in virtual time (the whole suite takes a
few seconds), with the scripts' own timing tolerance (4 ms). ``test_on_linux``
runs the same scripts against the kernel, each in a network namespace the
runner creates and deletes, several at once since they run in real time. Real
time on a shared machine is late by tens of milliseconds now and then (the
runner's threads wait for a CPU), so there the tolerance is 25 ms (and 12.5 %
of each interval, as in the scripts), the runner's own lateness is only a
warning, and a script that fails is run again, alone, before it counts. Every
script must pass on Linux unless ``LINUX-DEVIATIONS.md`` lists it, with the
RFC text that makes synack's behaviour the right one; a listed script must
still fail on Linux (the list is kept honest both ways).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from synack.packetdrill import RunOptions, find_scripts, run_file, run_many

HERE = Path(__file__).parent
SCRIPTS = find_scripts([HERE])
DEVIATIONS = HERE / "LINUX-DEVIATIONS.md"
# Scripts run side by side on Linux: they mostly sleep, in real time.
LINUX_JOBS = 4
# A failing script is run again, alone, this many times before it counts.
LINUX_RETRIES = 2
# The timing tolerance of real-time runs (the scripts' own is 4 ms).
LINUX = RunOptions(linux=True, tolerance_usecs=25_000)


def rel(path: str) -> str:
    return str(Path(path).relative_to(HERE))


def listed_deviations() -> dict[str, str]:
    """Script (relative path) -> the heading of its entry in LINUX-DEVIATIONS.md."""
    found: dict[str, str] = {}
    for line in DEVIATIONS.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            for name in re.findall(r"`([^`]+\.pkt)`", line):
                found[name] = line[3:]
    return found


def test_the_suite_is_large_and_grouped_by_topic() -> None:
    assert len(SCRIPTS) >= 120
    topics = {Path(rel(p)).parts[0] for p in SCRIPTS}
    assert len(topics) >= 12


@pytest.mark.parametrize("path", SCRIPTS, ids=rel)
def test_on_synack(path: str) -> None:
    result = run_file(path)
    assert result.passed, result.error
    assert not result.warnings, result.warnings


def test_every_listed_deviation_is_a_script() -> None:
    names = {rel(p) for p in SCRIPTS}
    for name in listed_deviations():
        assert name in names, f"LINUX-DEVIATIONS.md lists {name}, which is not a script"


@pytest.mark.netns
def test_on_linux() -> None:
    if os.geteuid() != 0:
        pytest.fail("--linux runs need root (CI runs as root)")
    deviations = listed_deviations()
    results = run_many(SCRIPTS, LINUX, jobs=LINUX_JOBS)
    failed = {rel(r.path): r for r in results if not r.passed}
    for name in sorted(failed):
        for _ in range(LINUX_RETRIES):
            if name in deviations or failed[name].passed:
                break
            # Again, alone: a real-time run on a busy machine may just be late.
            failed[name] = run_file(str(HERE / name), LINUX)
    unexpected = [r for name, r in failed.items() if not r.passed and name not in deviations]
    assert not unexpected, "\n\n".join(r.error or r.path for r in unexpected)
    now_passing = sorted(set(deviations) - {n for n, r in failed.items() if not r.passed})
    assert not now_passing, f"listed in LINUX-DEVIATIONS.md but pass on Linux: {now_passing}"

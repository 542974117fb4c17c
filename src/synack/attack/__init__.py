"""The attack lab: classic attacks on TCP, run on the simulator against synack, and measured.

Each scenario is a function returning an :class:`~synack.attack.lab.AttackResult`
(the ladder diagram with the attacker's segments marked, a summary, and the
``--json`` object):

- :func:`~synack.attack.isn_prediction.run_isn_prediction`: Morris's and
  Mitnick's ISN prediction against a trusting rshd, with the historical ISN
  generators of :mod:`synack.attack.isn`;
- :func:`~synack.attack.blind.run_blind_reset` and
  :func:`~synack.attack.blind.run_blind_inject`: Watson's in-window RSTs and
  data, with RFC 5961 on or off (``Config.rfc5961``);
- :func:`~synack.attack.syn_flood.run_syn_flood`: a SYN flood against the
  listen queue, measured against Erlang's loss formula;
- :func:`~synack.attack.side_channel.run_side_channel`: CVE-2016-5696, a
  host-wide challenge-ACK budget read as a side channel to find RCV.NXT.

The attacker is an off-path host (:mod:`synack.attack.offpath`) running a
program from :mod:`synack.attack.attackers`; neither can import the TCP core
or the simulator (an import-linter contract). :mod:`synack.attack.report`
runs every scenario over many seeds and writes docs/attacks.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synack.attack.lab import AttackResult, Outputs

__all__ = ["SCENARIOS", "AttackResult", "Outputs", "Scenario", "comparison"]


@dataclass(frozen=True)
class Scenario:
    """A scenario of the lab: its name, one help line, its runner, the weak setting."""

    name: str
    help: str
    runner: str
    weak: dict[str, Any]
    weak_label: str

    def run(self, **options: Any) -> AttackResult:
        """Run the scenario with ``options`` (keyword arguments of its runner)."""
        module, _, func = self.runner.rpartition(".")
        fn: Callable[..., AttackResult] = getattr(importlib.import_module(module), func)
        return fn(**options)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "isn-prediction",
            "spoof a trusted host by predicting the ISN of a SYN-ACK you never see",
            "synack.attack.isn_prediction.run_isn_prediction",
            {"isn": "counter"},
            "--isn counter",
        ),
        Scenario(
            "blind-reset",
            "kill a connection with spoofed RSTs one window apart",
            "synack.attack.blind.run_blind_reset",
            {"rfc5961": False},
            "--rfc5961 off",
        ),
        Scenario(
            "blind-inject",
            "inject data into a connection with spoofed segments one window apart",
            "synack.attack.blind.run_blind_inject",
            {"rfc5961": False, "timestamps": False},
            "--rfc5961 off --timestamps off",
        ),
        Scenario(
            "syn-flood",
            "fill the listen queue with half-open connections",
            "synack.attack.syn_flood.run_syn_flood",
            {"cookies": False},
            "--cookies off",
        ),
        Scenario(
            "side-channel",
            "read a host-wide challenge-ACK budget to find RCV.NXT, then reset (CVE-2016-5696)",
            "synack.attack.side_channel.run_side_channel",
            {"per_host": True},
            "--per-host",
        ),
    )
}


def comparison(seed: int = 1) -> tuple[list[str], list[AttackResult]]:
    """Every scenario against its weak setting and against synack's defaults, as a table."""
    rows: list[tuple[str, str, AttackResult]] = []
    for sc in SCENARIOS.values():
        rows.append((sc.name, sc.weak_label, sc.run(seed=seed, **sc.weak)))
        rows.append((sc.name, "(synack's defaults)", sc.run(seed=seed)))
    lines = [
        f"synack attack all: each attack against a weak setting and against synack's "
        f"defaults (seed {seed})",
        "",
        f"  {'scenario':<16} {'setting':<32} {'result':<8} {'attempts':>11} {'expected':>15}",
    ]
    for name, label, r in rows:
        lines.append(
            f"  {name:<16} {label:<32} {'success' if r.success else 'failed':<8} "
            f"{r.attempts:>11,} {r.expected_attempts:>15,.1f}"
        )
    return lines, [r for _, _, r in rows]

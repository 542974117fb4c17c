"""``synack attack``: the attack lab (issue 13): classic TCP attacks on the simulator, measured.

``synack attack SCENARIO [options]`` runs one scenario of :mod:`synack.attack`
and prints its ladder diagram and summary (``--json``: one JSON object last);
``synack attack all`` runs each against its weak setting and synack's
defaults; ``synack attack all --report`` runs them over many seeds and writes
docs/attacks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from synack.cli.base import UsageError
from synack.cli.units import non_negative_float, output_file, parse_count
from synack.cli.view import add_view_option, write_view

__all__ = ["configure", "run"]

NAMES = ("isn-prediction", "blind-reset", "blind-inject", "syn-flood", "side-channel", "all")

# Which options each scenario takes (the rest must not be given).
OPTIONS: dict[str, tuple[str, ...]] = {
    "isn-prediction": ("isn", "probes", "budget", "jitter", "gap", "noise", "trusted"),
    "blind-reset": ("rfc5961", "window", "budget", "rate"),
    "blind-inject": ("rfc5961", "timestamps", "window", "budget", "rate"),
    "syn-flood": ("rate", "backlog", "legit_rate", "duration", "warmup", "cookies"),
    "side-channel": ("per_host", "window", "batch"),
    "all": ("report", "output", "quick", "no_plots"),
}
ALL_OPTIONS = sorted({o for opts in OPTIONS.values() for o in opts})


def _on_off(text: str) -> bool:
    if text in ("on", "off"):
        return text == "on"
    raise argparse.ArgumentTypeError(f"expected on or off, not {text!r}")


def _positive_int(text: str) -> int:
    n = parse_count(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return n


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack attack``."""
    p.add_argument("scenario", choices=NAMES, help="the attack to run, or all of them")
    p.add_argument("--seed", type=int, default=1, help="seed of every random choice")
    out = p.add_argument_group("outputs")
    out.add_argument(
        "--pcap", type=output_file, metavar="FILE", help="every packet as its sender sent it"
    )
    out.add_argument("--trace", type=output_file, metavar="FILE", help="the JSON Lines trace")
    out.add_argument(
        "--plot",
        type=output_file,
        metavar="FILE.png",
        help="a figure of the run (needs matplotlib)",
    )
    out.add_argument("--json", action="store_true", help="a JSON summary on the last line")
    add_view_option(p)
    isn = p.add_argument_group("isn-prediction")
    isn.add_argument(
        "--isn",
        choices=("counter", "clock", "rfc6528", "random"),
        help="the server's ISN generator (rfc6528, synack's default)",
    )
    isn.add_argument("--probes", type=_positive_int, help="connections to learn the ISNs (3)")
    isn.add_argument("--jitter", type=parse_count, metavar="US", help="path jitter, 0..US us (500)")
    isn.add_argument(
        "--gap", type=non_negative_float, metavar="MS", help="last probe to spoofed SYN (100)"
    )
    isn.add_argument(
        "--noise",
        type=non_negative_float,
        metavar="PER_S",
        help="other clients' connections a second (0)",
    )
    isn.add_argument("--trusted", choices=("offline", "online"), help="the trusted host (offline)")
    blind = p.add_argument_group("blind-reset, blind-inject (--window: side-channel too)")
    blind.add_argument(
        "--rfc5961", type=_on_off, metavar="on|off", help="RFC 5961 on the server (on)"
    )
    blind.add_argument(
        "--timestamps", type=_on_off, metavar="on|off", help="RFC 7323 timestamps, PAWS (on)"
    )
    blind.add_argument(
        "--window", type=_positive_int, metavar="BYTES", help="the server's receive window (256Ki)"
    )
    p.add_argument(
        "--budget",
        type=_positive_int,
        help="most guesses (isn-prediction: 1000) or window-sized steps (blind-*: one sweep)",
    )
    p.add_argument(
        "--rate",
        type=non_negative_float,
        help="the attacker's packets a second (blind-*: 100000; syn-flood: SYNs, 10)",
    )
    flood = p.add_argument_group("syn-flood")
    flood.add_argument(
        "--cookies", type=_on_off, metavar="on|off", help="SYN cookies on the server (on)"
    )
    flood.add_argument("--backlog", type=_positive_int, help="the listen queue (128)")
    flood.add_argument(
        "--legit-rate",
        type=non_negative_float,
        metavar="PER_S",
        help="clients' attempts a second (1)",
    )
    flood.add_argument(
        "--warmup",
        type=non_negative_float,
        metavar="S",
        help="flood before measuring (one half-open lifetime, 63)",
    )
    flood.add_argument(
        "--duration",
        type=non_negative_float,
        metavar="S",
        help="measurement window (one more lifetime, 63)",
    )
    side = p.add_argument_group("side-channel")
    side.add_argument(
        "--per-host",
        action="store_true",
        help="one challenge-ACK budget for the whole server, 100 a second (Linux 3.6-4.6)",
    )
    side.add_argument("--batch", type=_positive_int, help="window-sized steps a round tests (4096)")
    rep = p.add_argument_group("all")
    rep.add_argument(
        "--report", action="store_true", help="many seeds per setting; write the Markdown report"
    )
    rep.add_argument("--output", metavar="FILE.md", help="where --report writes (docs/attacks.md)")
    rep.add_argument(
        "--quick", action="store_true", help="--report with fewer seeds (about a minute)"
    )
    rep.add_argument("--no-plots", action="store_true", help="--report without figures")


def run(args: argparse.Namespace) -> int:
    """Run ``synack attack``."""
    given = [o for o in ALL_OPTIONS if getattr(args, o) not in (None, False)]
    wrong = [o for o in given if o not in OPTIONS[args.scenario]]
    if wrong:
        flags = ", ".join("--" + o.replace("_", "-") for o in wrong)
        raise UsageError(f"{flags} does not apply to {args.scenario}")
    if args.plot or (args.scenario == "all" and args.report and not args.no_plots):
        from synack.extras import require_extra

        require_extra("matplotlib", extra="plot", feature="plots")
    if args.scenario == "all":
        return _run_all(args)
    from synack.attack import SCENARIOS, Outputs

    options = _options(args)
    with tempfile.TemporaryDirectory(prefix="synack-attack-") as tmp:
        # --view alone runs with a temporary trace, as demo and sim do.
        trace = args.trace or (Path(tmp) / "attack.jsonl" if args.view else None)
        options["outputs"] = Outputs(pcap=args.pcap, trace=trace, plot=args.plot)
        try:
            result = SCENARIOS[args.scenario].run(seed=args.seed, **options)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if trace != args.trace:  # our temporary trace: not worth a line
            result.summary = [line for line in result.summary if str(trace) not in line]
        sys.stdout.write(result.text())
        if args.view:
            write_view(trace, args.view)
    if args.json:
        print(result.json_line())  # the last line, as promised
    return 0


def _options(args: argparse.Namespace) -> dict[str, Any]:
    o: dict[str, Any] = {}
    name = args.scenario
    if name == "isn-prediction":
        for key in ("isn", "probes", "budget", "jitter", "noise", "trusted"):
            if getattr(args, key) is not None:
                o[key] = getattr(args, key)
        if args.gap is not None:
            o["gap"] = round(args.gap * 1000)
    elif name in ("blind-reset", "blind-inject"):
        for key in ("rfc5961", "timestamps", "window", "budget"):
            if getattr(args, key) is not None:
                o[key] = getattr(args, key)
        if args.rate is not None:
            o["rate"] = round(args.rate)
    elif name == "side-channel":
        for key in ("window", "batch"):
            if getattr(args, key) is not None:
                o[key] = getattr(args, key)
        o["per_host"] = args.per_host
    else:
        if args.rate is not None:
            o["rate"] = args.rate
        for key in ("backlog", "legit_rate", "cookies"):
            if getattr(args, key) is not None:
                o[key] = getattr(args, key)
        for key in ("duration", "warmup"):
            if getattr(args, key) is not None:
                o[key] = round(getattr(args, key) * 1_000_000)
    return o


def _run_all(args: argparse.Namespace) -> int:
    if args.pcap or args.trace or args.plot or args.view:
        raise UsageError("--pcap, --trace, --plot and --view apply to one scenario, not all")
    if not args.report:
        if args.output or args.quick or args.no_plots:
            raise UsageError("--output, --quick and --no-plots go with --report")
        from synack.attack import comparison

        lines, results = comparison(args.seed)
        print("\n".join(lines))
        if args.json:
            print(
                json.dumps(
                    {
                        "scenario": "all",
                        "seed": args.seed,
                        "results": [r.to_json() for r in results],
                    }
                )
            )
        return 0
    if args.seed != 1 or args.json:
        raise UsageError(
            "--report runs seeds 1, 2, 3, ... and writes Markdown: no --seed or --json"
        )
    from synack.attack.report import write_report

    out = Path(args.output or "docs/attacks.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = "synack attack all --report" + (" --quick" if args.quick else "")
    checks = write_report(
        out,
        quick=args.quick,
        plots=not args.no_plots,
        command=cmd,
        log=lambda line: print(line, file=sys.stderr),
    )
    failed = [c for c in checks if not c.ok]
    print(f"wrote {out}: {len(checks) - len(failed)} of {len(checks)} checks pass", file=sys.stderr)
    return 1 if failed else 0

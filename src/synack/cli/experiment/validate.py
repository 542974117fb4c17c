"""``synack experiment validate``: the congestion-control validation report (docs/congestion.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synack.cli.base import UsageError
from synack.extras import require_extra
from synack.sim.validate import DEFAULT_SEEDS, counts, validate

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``synack experiment validate``."""
    p.add_argument("--seed", type=int, default=1, help="the first seed (1)")
    p.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_SEEDS,
        metavar="N",
        help=f"run every experiment with N seeds, from --seed on ({DEFAULT_SEEDS})",
    )
    p.add_argument(
        "--jobs", type=int, default=0, metavar="N", help="worker processes (0: one per core)"
    )
    p.add_argument(
        "--output",
        default="docs/congestion.md",
        metavar="FILE.md",
        help="where to write the report (plots go to img/ beside it)",
    )
    p.add_argument("--quick", action="store_true", help="a smaller set of experiments")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")


def run(args: argparse.Namespace) -> int:
    """``synack experiment validate``: exit status 1 if a check fails."""
    if args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    if args.jobs < 0:
        raise UsageError(f"--jobs must be >= 0, got {args.jobs}")
    if not args.no_plots:
        require_extra("matplotlib", extra="plot", feature="the report's figures")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = "synack experiment validate"
    if args.seed != 1:
        cmd += f" --seed {args.seed}"
    if args.seeds != DEFAULT_SEEDS:
        cmd += f" --seeds {args.seeds}"
    if args.quick:
        cmd += " --quick"
    summaries = validate(
        out,
        seeds=list(range(args.seed, args.seed + args.seeds)),
        quick=args.quick,
        plots=not args.no_plots,
        jobs=args.jobs or None,
        command=cmd,
    )
    passed, checked, reported = counts(summaries)
    print(
        f"wrote {out}: {passed} of {checked} checks pass, {reported} report rows (not counted)",
        file=sys.stderr,
    )
    return 0 if passed == checked else 1

"""``synack experiment validate``: the congestion-control validation report (docs/congestion.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synack.extras import require_extra
from synack.sim.validate import validate

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``synack experiment validate``."""
    p.add_argument("--seed", type=int, default=1, help="seed of every random choice (1)")
    p.add_argument(
        "--output",
        default="docs/congestion.md",
        metavar="FILE.md",
        help="where to write the report (plots go to img/ beside it)",
    )
    p.add_argument("--quick", action="store_true", help="a smaller set (about a minute)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")


def run(args: argparse.Namespace) -> int:
    """``synack experiment validate``: exit status 1 if a check fails."""
    if not args.no_plots:
        require_extra("matplotlib", extra="plot", feature="the report's figures")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = "synack experiment validate" + (f" --seed {args.seed}" if args.seed != 1 else "")
    if args.quick:
        cmd += " --quick"
    rows = validate(out, seed=args.seed, quick=args.quick, plots=not args.no_plots, command=cmd)
    failed = [r for r in rows if not r.ok]
    print(f"wrote {out}: {len(rows) - len(failed)} of {len(rows)} checks pass", file=sys.stderr)
    return 1 if failed else 0

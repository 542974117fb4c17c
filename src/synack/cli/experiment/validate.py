"""``synack experiment validate``: the congestion-control validation report (docs/congestion.md).

The report goes where ``--output`` says; without it, to ``docs/congestion.md``
of the synack checkout the command runs in (as ``make validate`` does), and
nowhere when run outside a checkout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import synack
from synack.cli.base import CommandFailed, UsageError
from synack.extras import require_extra
from synack.sim.validate import DEFAULT_SEEDS, counts, validate

__all__ = ["checkout_report", "configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``synack experiment validate``."""
    p.add_argument("--seed", type=int, default=1, help="the first seed")
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
        "-o",
        "--output",
        metavar="FILE.md",
        help="where to write the report (plots go to img/ beside it); default: "
        "docs/congestion.md of the synack checkout this runs in",
    )
    p.add_argument("--quick", action="store_true", help="a smaller set of experiments")
    p.add_argument(
        "--only",
        action="append",
        metavar="SECTION",
        help="run only this section again (mathis, cubic, fairness, utilisation, aqm, ...), "
        "taking the others from the last run's FILE.md.runs.pickle (repeatable)",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the figures")


def checkout_report(cwd: Path) -> Path | None:
    """``docs/congestion.md`` of the synack source checkout that ``cwd`` is in, if any.

    A checkout is the directory holding the ``src/synack`` this package was
    imported from, with a pyproject.toml and docs/ beside it (an editable
    install, as ``make`` makes); a wheel installed in site-packages has none.
    """
    root = Path(synack.__file__).resolve().parent.parent.parent
    if not ((root / "pyproject.toml").is_file() and (root / "docs").is_dir()):
        return None
    here = cwd.resolve()
    if here != root and root not in here.parents:
        return None
    return root / "docs" / "congestion.md"


def run(args: argparse.Namespace) -> int:
    """``synack experiment validate``: exit status 1 if a check fails."""
    if args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    if args.jobs < 0:
        raise UsageError(f"--jobs must be >= 0, got {args.jobs}")
    if args.output is not None:
        out = Path(args.output)
    else:
        found = checkout_report(Path.cwd())
        if found is None:
            raise UsageError(
                "where should the report go? Give --output FILE.md (the default, "
                "docs/congestion.md, applies inside a synack checkout only)"
            )
        out = found
    if not args.no_plots:
        require_extra("matplotlib", extra="plot", feature="the report's figures")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a"):
            pass
    except OSError as exc:
        raise CommandFailed(f"cannot write {out}: {exc.strerror or exc}") from None
    cmd = "synack experiment validate"
    if args.seed != 1:
        cmd += f" --seed {args.seed}"
    if args.seeds != DEFAULT_SEEDS:
        cmd += f" --seeds {args.seeds}"
    if args.quick:
        cmd += " --quick"
    try:
        summaries = validate(
            out,
            seeds=list(range(args.seed, args.seed + args.seeds)),
            quick=args.quick,
            plots=not args.no_plots,
            jobs=args.jobs or None,
            only=args.only,
            command=cmd,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    passed, checked, reported = counts(summaries)
    print(
        f"wrote {out}: {passed} of {checked} checks pass, {reported} report rows (not counted)",
        file=sys.stderr,
    )
    return 0 if passed == checked else 1

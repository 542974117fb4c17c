"""``synack experiment report RESULTS.parquet``: figures (PNG) and a Markdown table of a sweep."""

from __future__ import annotations

import argparse
from pathlib import Path

from synack.cli.base import CommandFailed, UsageError

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``synack experiment report``."""
    p.add_argument(
        "results", metavar="RESULTS.parquet", help="what `synack experiment sweep` wrote"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="where REPORT.md and the figures go (default: RESULTS-report/ beside the file)",
    )
    p.add_argument("--no-plots", action="store_true", help="only the Markdown table")


def run(args: argparse.Namespace) -> int:
    """Write the report; print where it went."""
    from synack.lab.report import write_report

    if not Path(args.results).is_file():
        raise UsageError(f"{args.results}: no such file (write one with synack experiment sweep)")
    try:
        report = write_report(args.results, args.output, plots=not args.no_plots)
    except (OSError, ValueError) as exc:
        raise CommandFailed(f"{args.results}: {exc}") from None
    print(f"wrote {report.markdown}: {report.groups} settings from {report.runs} runs")
    for path in report.figures:
        print(f"wrote {path}")
    return 0

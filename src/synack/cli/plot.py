"""``synack plot``: PNG plots from a JSON Lines trace file."""

from __future__ import annotations

import argparse
from pathlib import Path

from synack.cli.base import CommandFailed, UsageError
from synack.cli.units import output_file
from synack.extras import require_extra
from synack.trace.jsonl import read_jsonl

__all__ = ["configure", "run"]

_KINDS = ("all", "seq", "cwnd")


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack plot``."""
    p.add_argument("trace", help="a JSON Lines trace (synack sim/demo --trace FILE)")
    p.add_argument(
        "-o",
        "--output",
        type=output_file,
        metavar="FILE.png",
        help="PNG file (default: the trace's name with .png)",
    )
    p.add_argument(
        "--kind",
        choices=_KINDS,
        default="all",
        help="all panels, the sequence graph only, or cwnd/RTT only",
    )
    p.add_argument("--title", help="a title above the plot")


def run(args: argparse.Namespace) -> int:
    """Run ``synack plot``."""
    require_extra("matplotlib", extra="plot", feature="plots")
    from synack.trace.plot import PlotData, cwnd_graph, plot_transfer, stevens_graph

    source = Path(args.trace)
    try:
        data = PlotData.from_records(read_jsonl(source))
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"cannot read {source}: {exc}") from None
    if not data.flows:
        raise UsageError(
            f"{source} has no segments to plot (write one with synack sim --trace FILE)"
        )
    try:
        out = args.output or output_file(str(source.with_suffix(".png")))
    except argparse.ArgumentTypeError as exc:
        raise CommandFailed(f"{exc} (choose another with -o FILE.png)") from None
    draw = {"all": plot_transfer, "seq": stevens_graph, "cwnd": cwnd_graph}[args.kind]
    draw(data, out, title=args.title)
    flows = len(data.flows)
    print(f"wrote {out} ({flows} flow directions, {len(data.conns)} connections traced)")
    return 0

"""``synack plot``: PNG plots from a JSON Lines trace file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synack.extras import require_extra
from synack.trace.jsonl import read_jsonl

__all__ = ["configure", "run"]

_KINDS = ("all", "seq", "cwnd")


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack plot``."""
    p.add_argument("trace", help="a JSON Lines trace (synack sim/demo --trace FILE)")
    p.add_argument("-o", "--output", help="PNG file (default: the trace's name with .png)")
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
    except (OSError, ValueError) as exc:
        print(f"synack plot: cannot read {source}: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output) if args.output else source.with_suffix(".png")
    draw = {"all": plot_transfer, "seq": stevens_graph, "cwnd": cwnd_graph}[args.kind]
    draw(data, out, title=args.title)
    flows = len(data.flows)
    print(f"wrote {out} ({flows} flow directions, {len(data.conns)} connections traced)")
    return 0

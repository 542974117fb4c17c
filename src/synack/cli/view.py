"""``synack view``: one self-contained HTML page of a connection, from a trace or a capture."""

from __future__ import annotations

import argparse
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synack.cli.base import CommandFailed, UsageError
from synack.cli.units import output_file
from synack.view import PageInfo, ViewError, write_page

__all__ = ["add_view_option", "configure", "report", "run", "write_view"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack view``."""
    p.add_argument(
        "source",
        metavar="TRACE.jsonl|CAPTURE.pcap[ng]",
        help="a synack JSON Lines trace (--trace FILE) or a pcap/pcapng capture of any TCP",
    )
    p.add_argument("-o", "--output", metavar="FILE.html", help="the page (default: SOURCE.html)")
    p.add_argument(
        "--connection",
        metavar="N|ADDR:PORT-ADDR:PORT",
        help="which connection: its number in the list printed, or its 4-tuple "
        "(default: the one that carried the most data)",
    )
    p.add_argument("--open", action="store_true", help="open the page in a web browser")


def report(info: PageInfo) -> list[str]:
    """The lines that say what was written (shared with ``demo --view`` and ``sim --view``)."""
    c = info.connections[info.connection]
    kind = "exact values from synack's trace" if info.exact else "reconstructed from packets"
    lines = [
        f"wrote {info.path} ({_size(info.size)}): connection {info.connection}, "
        f"{c.a} <-> {c.b}, {info.segments:,} segments, {kind}"
    ]
    if len(info.connections) > 1:
        lines.append(
            f"{len(info.connections)} connections in the source (choose with --connection N):"
        )
        lines += [f"  {i}: {x.describe()}" for i, x in enumerate(info.connections)]
    return lines


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else f"{n / 1e3:.0f} kB"


def run(args: argparse.Namespace) -> int:
    """Run ``synack view``."""
    source = Path(args.source)
    if source.is_dir():
        raise UsageError(f"{source} is a directory: give a trace or a capture file")
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    try:
        out = output_file(args.output or str(source.with_name(source.name + ".html")))
    except argparse.ArgumentTypeError as exc:
        raise UsageError(str(exc)) from None
    try:
        info = write_page(source, out, connection=args.connection)
    except ViewError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise CommandFailed(f"{exc.filename or out}: {exc.strerror}") from None
    print("\n".join(report(info)))
    if args.open:
        webbrowser.open(info.path.resolve().as_uri())
    return 0


class _PagePath(argparse.Action):
    """``--view [FILE.html]``: the page's path, checked when parsed (as ``--pcap`` is), not
    when the run is over; ``--view`` alone checks its default."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        text = self.const if values is None else values
        try:
            setattr(namespace, self.dest, output_file(str(text)))
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentError(self, str(exc)) from None


def add_view_option(
    p: argparse.ArgumentParser, *, default: str | None = None, check: bool = True
) -> None:
    """``--view FILE.html`` for commands that can show their run as a page.

    With ``default``, ``--view`` alone writes that file. The path is checked
    like every output file (:func:`synack.cli.units.output_file`) unless
    ``check`` is false: then the command checks it itself (``packetdrill``,
    where it is a directory for many scripts).
    """
    action = _PagePath if check else "store"
    if default is None:
        p.add_argument(
            "--view",
            action=action,
            metavar="FILE.html",
            help="write the connection's HTML page (synack view)",
        )
    else:
        p.add_argument(
            "--view",
            action=action,
            metavar="FILE.html",
            nargs="?",
            const=default,
            help=f"write the connection's HTML page (synack view; default {default})",
        )


def write_view(trace: str | Path | None, out: str | Path) -> None:
    """Write the page of the trace a command just wrote, and say so."""
    if trace is None:
        raise CommandFailed("no trace to show")
    try:
        info = write_page(trace, out)
    except ViewError as exc:
        raise CommandFailed(str(exc)) from None
    except OSError as exc:
        raise CommandFailed(f"{exc.filename or out}: {exc.strerror}") from None
    print("\n".join(report(info)))

"""The ``synack`` entry point: builds the parser from the registry and runs one subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from synack import __version__
from synack.cli.base import CliError, Command, Run
from synack.cli.commands import COMMANDS, GROUPS
from synack.extras import MissingExtra

__all__ = ["build_parser", "main"]

_DEBUG = "show the Python traceback of an error"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser, one subparser per entry of :data:`~synack.cli.commands.COMMANDS`.

    Every subcommand is listed, but only the one named ``only`` has its arguments
    added (its module imported); ``None`` adds them all (for help and completion).
    """
    parser = argparse.ArgumentParser(
        prog="synack", description="synack: a user-space TCP (RFC 9293) in Python."
    )
    parser.add_argument("--version", action="version", version=f"synack {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG)
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for cmd in COMMANDS:
        group, _, leaf = cmd.name.rpartition(" ")
        if group:
            if group not in groups:
                gp = top.add_parser(group, help=GROUPS[group], description=GROUPS[group])
                groups[group] = gp.add_subparsers(
                    dest="subcommand", metavar="SUBCOMMAND", required=True
                )
            sub = groups[group]
        else:
            sub = top
        p = sub.add_parser(leaf, help=cmd.help, description=cmd.help)
        p.set_defaults(_command=cmd)
        # Also after the command (`synack get --debug ...`); SUPPRESS keeps the global value.
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG)
        if only is None or only == cmd.name:
            configure, run = cmd.load()
            configure(p)
            p.set_defaults(_run=run)
    return parser


def _named_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (``"sim"``, ``"experiment validate"``), if it is one.

    The global options take no value, so the first word is the command (or group).
    """
    words = [a for a in argv if not a.startswith("-")]
    name = " ".join(words[:2]) if words and words[0] in GROUPS else words[0] if words else ""
    return name if any(cmd.name == name for cmd in COMMANDS) else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``synack`` with ``argv`` (default: the process arguments); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_named_command(argv)).parse_args(argv)
    if not hasattr(args, "_run"):  # the scan and argparse disagree: parse with everything
        args = build_parser().parse_args(argv)
    command: Command = args._command
    run: Run = args._run
    try:
        return run(args)
    except (CliError, MissingExtra) as exc:
        if args.debug:
            raise
        print(f"synack {command.name}: {exc}", file=sys.stderr)
        return exc.status if isinstance(exc, CliError) else 1

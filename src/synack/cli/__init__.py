"""The ``synack`` command line: argparse, one module per subcommand.

Layout: :mod:`synack.cli.commands` is the registry (one line per subcommand),
:mod:`synack.cli.program` builds the parser and runs a command,
:mod:`synack.cli.base` defines :class:`Command` and the errors a command raises
for a one-line report, :mod:`synack.cli.units` and :mod:`synack.cli.tap` hold
the argument types and the TAP options that several commands share. Argument
parsing lives here only; the drivers (``synack.sim``, ``synack.api``, ...)
expose plain functions that these modules call.
"""

from synack.cli.base import CliError, Command, CommandFailed, UsageError
from synack.cli.commands import COMMANDS, GROUPS
from synack.cli.handshake import handshake_lines
from synack.cli.program import build_parser, main

__all__ = [
    "COMMANDS",
    "GROUPS",
    "CliError",
    "Command",
    "CommandFailed",
    "UsageError",
    "build_parser",
    "handshake_lines",
    "main",
]

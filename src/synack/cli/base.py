"""What every subcommand is made of: a :class:`Command` entry and the errors it may raise.

A subcommand is a module with two functions, ``configure(parser)`` that adds its
arguments and ``run(args) -> int`` that does the work and returns the exit
status; :data:`synack.cli.commands.COMMANDS` names the module. ``run`` reports a
mistake the user can fix by raising :class:`UsageError` (exit status 2) or
:class:`CommandFailed` (exit status 1); :func:`synack.cli.main` prints it as one
line on stderr, ``synack NAME: message``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

__all__ = ["CliError", "Command", "CommandFailed", "Configure", "Run", "UsageError"]

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """One subcommand: its name on the command line, the module that implements it, a help line.

    ``name`` is one word (``"demo"``) or a group and a word (``"experiment validate"``:
    the group must be listed in :data:`synack.cli.commands.GROUPS`). The module is
    imported only when the command runs (or when all commands' help is built), so
    a command's dependencies cost nothing to the others.
    """

    name: str
    module: str
    help: str

    def load(self) -> tuple[Configure, Run]:
        """The module's ``configure`` and ``run`` functions."""
        mod = importlib.import_module(self.module)
        return cast(Configure, mod.configure), cast(Run, mod.run)


class CliError(Exception):
    """A failure to report as one line, without a traceback, with exit status ``status``."""

    status = 1


class CommandFailed(CliError):
    """The command could not do its work (exit status 1): unreachable host, unwritable file, ..."""

    status = 1


class UsageError(CliError):
    """The arguments are wrong (exit status 2), found after argparse accepted them."""

    status = 2

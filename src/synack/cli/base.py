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
import contextlib
import errno
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

__all__ = [
    "CliError",
    "Command",
    "CommandFailed",
    "Configure",
    "Run",
    "UsageError",
    "describe_os_error",
    "silence_stdout",
]

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


def describe_os_error(exc: OSError) -> str:
    """An ``OSError`` as words a user can act on: what failed, on which file, and why."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in (errno.EPERM, errno.EACCES) and exc.filename is None:
        reason += " (TAP devices and network namespaces need root or CAP_NET_ADMIN)"
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return reason


def silence_stdout() -> None:
    """After EPIPE on stdout (``synack ... | head``): send what is left to /dev/null.

    Otherwise Python complains about the broken pipe once more when it flushes
    stdout at exit.
    """
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

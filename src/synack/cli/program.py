"""The ``synack`` entry point: builds the parser from the registry and runs one subcommand."""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import NoReturn

from synack import __version__
from synack.cli.base import CliError, Command, Run, describe_os_error, silence_stdout
from synack.cli.commands import COMMANDS, GROUPS
from synack.extras import MissingExtra

__all__ = ["build_parser", "main"]

_DEBUG = "show the Python traceback of an error"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help when it has a default worth saying."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or action.nargs == 0  # a flag
            or "default" in text.lower()
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or default == []
            or (isinstance(default, tuple) and all(d is None for d in default))
        ):
            return action.help
        return f"{text} (default: %(default)s)"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser, one subparser per entry of :data:`~synack.cli.commands.COMMANDS`.

    Every subcommand is listed, but only the one named ``only`` has its arguments
    added (its module imported); ``None`` adds them all (for help and completion).
    """
    parser = _Parser(
        prog="synack",
        description="synack: a user-space TCP (RFC 9293) in Python.",
        epilog="Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted. "
        "Errors are one line; --debug shows the traceback.",
    )
    parser.add_argument("--version", action="version", version=f"synack {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG)
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction[_Parser]] = {}
    for cmd in COMMANDS:
        group, _, leaf = cmd.name.rpartition(" ")
        if group:
            if group not in groups:
                gp = top.add_parser(
                    group,
                    help=GROUPS[group],
                    description=GROUPS[group],
                    formatter_class=_HelpFormatter,
                )
                groups[group] = gp.add_subparsers(
                    dest="subcommand", metavar="SUBCOMMAND", required=True
                )
            sub = groups[group]
        else:
            sub = top
        p = sub.add_parser(
            leaf, help=cmd.help, description=cmd.help, formatter_class=_HelpFormatter
        )
        p.set_defaults(_command=cmd, _parser=p)
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
    """Run ``synack`` with ``argv`` (default: the process arguments); return the exit status.

    SIGTERM is an interruption like Ctrl-C (status 130, clean-up done: no
    namespace or device left behind), from the first moment, parsing included.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    with _terminate_interrupts(), _standard_streams():
        try:
            return _main(argv)
        except KeyboardInterrupt:
            if "--debug" in argv:
                raise
            # Before a command started (while its modules were imported) or after it ended.
            name = _named_command(argv)
            print(f"synack{' ' + name if name else ''}: interrupted", file=sys.stderr, flush=True)
            return 130


def _main(argv: list[str]) -> int:
    args, extra = build_parser(_named_command(argv)).parse_known_args(argv)
    if not hasattr(args, "_run"):  # the scan and argparse disagree: parse with everything
        args, extra = build_parser().parse_known_args(argv)
    if extra:
        # The command's own parser says it, so the line names the command (argparse's
        # top-level parser would say "synack: unrecognized arguments").
        args._parser.error(f"unrecognized arguments: {' '.join(extra)}")
    command: Command = args._command
    run: Run = args._run
    try:
        return run(args)
    except BaseException as exc:
        if args.debug or isinstance(exc, SystemExit | GeneratorExit):
            raise
        status, line = _report(exc)
    if line:
        print(f"synack {command.name}: {line}", file=sys.stderr, flush=True)
    return status


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt while the body runs, so clean-up code runs for it too.

    (Commands on an event loop install their own handlers for both signals.)
    Only the main thread can set handlers; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _ClosedBinary(io.RawIOBase):
    """A binary stream that was closed when synack started: writing raises ``OSError(EBADF)``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise OSError(errno.EBADF, f"cannot write to {self.name}: it is closed")


class _ClosedStream(io.TextIOBase):
    """Stands for a standard stream that was closed when synack started (``synack ... >&-``).

    Writing to it (or its ``buffer``) raises ``OSError(EBADF)``, which the
    command reports in one line.
    """

    def __init__(self, name: str) -> None:
        self.buffer = _ClosedBinary(name)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self.buffer.write(text)


@contextlib.contextmanager
def _standard_streams() -> Iterator[None]:
    """Hold descriptors 0-2 if they were closed, and make writing to a closed stdout an error.

    A closed descriptor 1 would otherwise be the next file opened (a TAP device,
    a pcap) and receive what is printed. Reading a closed stdin gives end of file.
    """
    saved = sys.stdout, sys.stderr
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
    if sys.stdout is None:
        sys.stdout = _ClosedStream("standard output")
    if sys.stderr is None:  # nobody will read our errors; print(file=None) would use stdout
        sys.stderr = io.StringIO()
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _report(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one line for an exception that ends a command."""
    if isinstance(exc, CliError):
        return exc.status, str(exc)
    if isinstance(exc, MissingExtra):
        return 1, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    if isinstance(exc, BrokenPipeError):
        # Whoever read our output has gone (`synack demo | head -1`): stop quietly,
        # and keep Python from complaining about the pipe again at exit.
        silence_stdout()
        return 1, ""
    if isinstance(exc, OSError):
        return 1, describe_os_error(exc)
    if isinstance(exc, Exception):
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return 1, f"internal error: {detail} (--debug shows the traceback)"
    raise exc

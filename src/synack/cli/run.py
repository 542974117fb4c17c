"""``synack run``: run a Python program unchanged, its TCP on synack over a TAP device.

``synack run --tap tap0 --netns lab -- python -m http.server 8000`` opens the
stack the link options describe and runs the program in this process with
:func:`synack.api.patch.patch` active (see that module for what is patched and
what is not). The program ends as under Python (its non-daemon threads, then
its atexit handlers; SIGTERM closes its connections as the kernel would); then
the stack lingers (``--linger``) until its closed connections have delivered
their data; the exit status is the program's.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from synack.api.patch import run_program
from synack.api.runtime import DEFAULT_LINGER
from synack.api.socket import Stack
from synack.cli.base import UsageError
from synack.cli.tap import add_link_options, describe, finish, log, open_runtime
from synack.cli.units import non_negative_float

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack run``."""
    add_link_options(p)
    p.add_argument(
        "--linger",
        type=non_negative_float,
        default=DEFAULT_LINGER,
        metavar="SECONDS",
        help=f"at the end, wait at most this long for data to be delivered (default {DEFAULT_LINGER:g})",
    )
    p.add_argument(
        "program",
        nargs=argparse.REMAINDER,
        help="after --: python -m MODULE ARGS, python SCRIPT ARGS or python -c CODE",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``synack run``."""
    program = list(args.program)
    if program and program[0] == "--":
        program = program[1:]
    if not program:
        raise UsageError("no program: synack run LINK-OPTIONS -- python -m http.server 8000")
    stack = Stack(lambda loop: open_runtime(args, loop))
    try:
        log(args, f"synack run: {describe(stack.runtime)}")
        if threading.current_thread() is threading.main_thread():
            # The program starts as under Python, with SIGTERM's default action
            # (die), not the CLI's "interrupted": run_program then closes its
            # connections before the signal kills the process.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            return run_program(stack, program, as_process=True, linger=args.linger)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    finally:
        sys.stdout.flush()
        stack.close(args.linger)
        finish(stack.runtime)

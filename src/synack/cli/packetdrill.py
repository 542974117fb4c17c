"""``synack packetdrill``: run packetdrill scripts on synack (virtual time) or on Linux.

Each script is parsed and run; the exit status is 0 only if every script
passed. A failure prints packetdrill-style: the file and line, what the script
expected and what the stack did (both packets in script syntax) and when.
``--linux`` runs the same scripts against the kernel in a private namespace.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from synack.cli.base import UsageError
from synack.cli.units import non_negative_float, non_negative_int, output_file
from synack.cli.view import add_view_option, write_view
from synack.packetdrill.backend import RunObserver
from synack.packetdrill.runner import RunOptions, ScriptResult
from synack.packetdrill.suite import describe, find_scripts, report, run_many

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack packetdrill``."""
    p.add_argument("scripts", nargs="+", help="packetdrill scripts (.pkt) or directories of them")
    p.add_argument(
        "--linux",
        action="store_true",
        help="run against the Linux kernel in a private network namespace (root), in real time",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print every packet and call")
    p.add_argument("--ladder", action="store_true", help="print a ladder diagram of each script")
    p.add_argument(
        "--pcap", metavar="PATH", help="write packets to a pcap (a directory for many scripts)"
    )
    p.add_argument(
        "--trace", metavar="PATH", help="write a JSON Lines trace (a directory for many scripts)"
    )
    add_view_option(p, check=False)  # a file for one script, a directory for many
    p.add_argument(
        "--tolerance-usecs",
        type=non_negative_int,
        metavar="N",
        help="override the scripts' timing tolerance",
    )
    p.add_argument(
        "--tolerance-percent",
        type=non_negative_float,
        metavar="P",
        help="override the relative tolerance",
    )
    p.add_argument("--ignore-window", action="store_true", help="do not check outbound windows")
    p.add_argument(
        "--ignore-options", action="store_true", help="do not check outbound TCP options"
    )
    p.add_argument(
        "--allow-shell",
        action="store_true",
        help="with --linux: run backtick commands the runner does not understand (in the namespace)",
    )
    p.add_argument("-j", "--jobs", type=int, default=1, help="scripts to run at once (--linux)")
    p.add_argument("--seed", type=int, default=1, help="synack's ISN and port secret (default 1)")


def _target(option: str, path: str, many: bool, suffix: str) -> Path:
    """The file for one script: the option's path, or a file in its directory."""
    return Path(option) / f"{Path(path).stem}{suffix}" if many else Path(option)


def _check_output(option: str, target: str | None, many: bool) -> None:
    """Check an output path before any script runs: a directory (made now) for many scripts,
    a file that can be written for one."""
    if not target:
        return
    try:
        if many:
            Path(target).mkdir(parents=True, exist_ok=True)
        else:
            output_file(target)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"argument {option}: {exc}") from None
    except OSError as exc:
        raise UsageError(
            f"argument {option}: cannot make directory {target}: {exc.strerror}"
        ) from None


def _views(
    args: argparse.Namespace, path: str, many: bool, trace: Path | None
) -> list[RunObserver]:
    from synack.packetdrill.views import LadderView, PcapView, TraceView, VerboseView

    views: list[RunObserver] = []
    if args.verbose:
        views.append(VerboseView(sys.stdout))
    if args.ladder:
        stack = "linux" if args.linux else "synack"
        views.append(LadderView(sys.stdout, "192.168.0.1", "192.0.2.1", stack))
    if args.pcap:
        views.append(PcapView(_target(args.pcap, path, many, ".pcap")))
    if trace is not None:
        views.append(TraceView(trace))
    return views


def run(args: argparse.Namespace) -> int:
    """Run ``synack packetdrill``."""
    try:
        paths = find_scripts(args.scripts)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    if not paths:
        raise UsageError("no .pkt scripts found")
    if args.allow_shell and not args.linux:
        raise UsageError(
            "--allow-shell only applies with --linux (synack never runs shell commands)"
        )
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.linux:
        from synack.packetdrill.linux import linux_available

        reason = linux_available()
        if reason is not None:
            raise UsageError(reason)
    many = len(paths) > 1
    with_views = args.verbose or args.ladder or args.pcap or args.trace or args.view
    if with_views and args.jobs > 1:
        raise UsageError("--verbose, --ladder, --pcap, --trace and --view need --jobs 1")
    for option in ("pcap", "trace", "view"):
        _check_output(f"--{option}", getattr(args, option), many)
    base = RunOptions(
        linux=args.linux,
        verbose=args.verbose,
        tolerance_usecs=args.tolerance_usecs,
        tolerance_percent=args.tolerance_percent,
        ignore_window=args.ignore_window,
        ignore_options=args.ignore_options,
        allow_shell=args.allow_shell,
        seed=args.seed,
    )

    def show(result: ScriptResult) -> None:
        print(describe(result), flush=True)

    results: list[ScriptResult] = []
    if with_views:
        from dataclasses import replace

        with tempfile.TemporaryDirectory(prefix="synack-pd-") as tmp:
            for path in paths:
                trace: Path | None = None
                if args.trace:
                    trace = _target(args.trace, path, many, ".jsonl")
                elif args.view:
                    trace = Path(tmp) / f"{Path(path).stem}.jsonl"
                opts = replace(base, observers=_views(args, path, many, trace))
                results.extend(run_many([path], opts, on_result=show))
                if args.view:
                    write_view(trace, _target(args.view, path, many, ".html"))
    else:
        results = run_many(paths, base, jobs=args.jobs, on_result=show)
    report(results, sys.stdout)
    return 0 if all(r.passed for r in results) else 1

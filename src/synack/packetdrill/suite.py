"""Running many scripts: finding them, running them (in parallel on Linux), reporting.

:func:`find_scripts` expands files and directories into ``.pkt`` paths,
:func:`run_many` runs them and returns one :class:`ScriptResult` each, and
:func:`report` writes the packetdrill-style summary. Scripts on Linux run in
real time, each in a namespace of its own, so ``jobs`` of them can run side by
side in worker processes; synack runs them in virtual time, one after another.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TextIO

from synack.packetdrill.format import format_time
from synack.packetdrill.runner import RunOptions, ScriptResult, run_file

__all__ = ["find_scripts", "report", "run_many"]


def find_scripts(paths: Iterable[str | Path]) -> list[str]:
    """``.pkt`` files: each file as given, each directory searched recursively (sorted).

    Raises ``FileNotFoundError`` for a path that does not exist.
    """
    found: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(str(f) for f in sorted(p.rglob("*.pkt")))
        elif p.exists():
            found.append(str(p))
        else:
            raise FileNotFoundError(f"no such script or directory: {p}")
    return found


# In a worker process: whether a script is running (see _worker_signal).
_running = False


def _worker_signal(signum: int, frame: FrameType | None) -> None:
    """SIGTERM in a worker: stop the script (its clean-up runs), or exit if there is none."""
    if _running:
        raise KeyboardInterrupt
    os._exit(130)


def _worker_init() -> None:
    # The parent decides when to stop (a terminal's Ctrl-C reaches every process of
    # the group): workers, and the `ip` commands they start, ignore SIGINT, and the
    # parent stops them with SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_signal)


def _run_plain(args: tuple[str, RunOptions]) -> ScriptResult:
    global _running
    path, options = args
    _running = True
    try:
        return run_file(path, options)
    except KeyboardInterrupt:
        os._exit(130)  # the script has cleaned up after itself; take no other
    finally:
        _running = False


def run_many(
    paths: Sequence[str],
    options: RunOptions,
    *,
    jobs: int = 1,
    on_result: Callable[[ScriptResult], None] | None = None,
) -> list[ScriptResult]:
    """Run every script; with ``jobs > 1``, that many at once in worker processes.

    Views (``options.observers``) need ``jobs == 1``: they are objects of this
    process. Results come back in the order of ``paths``.
    """
    if jobs <= 1 or len(paths) <= 1:
        results = []
        for path in paths:
            r = run_file(path, options)
            if on_result is not None:
                on_result(r)
            results.append(r)
        return results
    if options.observers:
        raise ValueError("views (--verbose, --ladder, --pcap, --trace) need one job at a time")
    plain = replace(options, observers=())
    ctx = multiprocessing.get_context("fork")
    others = set(multiprocessing.active_children())
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init) as pool:
        futures = [pool.submit(_run_plain, (path, plain)) for path in paths]
        workers = set(multiprocessing.active_children()) - others
        results = []
        try:
            for f in futures:
                r = f.result()
                if on_result is not None:
                    on_result(r)
                results.append(r)
        except BaseException:
            # Interrupted: no new script starts, and the running ones stop, each
            # deleting its namespace, before the pool is left.
            for f in futures:
                f.cancel()
            for worker in workers:
                worker.terminate()
            raise
    return results


def describe(result: ScriptResult) -> str:
    """One line for a passing script, the failure message indented for a failing one."""
    took = f"{format_time(result.script_time)} s script time"
    if result.stack == "linux" or result.wall_time >= 1.0:
        took += f", {result.wall_time:.2f} s wall"
    if result.passed:
        return f"PASS {result.path} ({result.stack}, {took})"
    body = "\n".join("  " + line for line in (result.error or "").splitlines())
    return f"FAIL {result.path} ({result.stack}, {took})\n{body}"


def report(results: Sequence[ScriptResult], out: TextIO) -> None:
    """Warnings, then the totals (each script's line is printed as it finishes)."""
    for r in results:
        for w in r.warnings:
            print(f"warning: {w}", file=out)
    failed = [r for r in results if not r.passed]
    stack = results[0].stack if results else "synack"
    print(f"{len(results) - len(failed)} of {len(results)} scripts passed on {stack}", file=out)

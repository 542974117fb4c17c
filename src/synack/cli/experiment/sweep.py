"""``synack experiment sweep SPEC.toml -o RESULTS.parquet``: run a grid of simulations.

The spec's ``[grid]`` names ``synack sim`` options (a list is swept, a scalar is
fixed; see :mod:`synack.lab.spec`); every point is one simulator run and one
row of the Parquet output. ``--scheduler`` picks where the runs go: ``local``
(a process pool, one worker per core), ``local-dask`` (a Dask LocalCluster in
this process) or ``tcp://HOST:PORT`` (a running ``dask scheduler``). Run the
same command again to resume an interrupted sweep.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from synack.cli.base import CommandFailed, UsageError

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Options of ``synack experiment sweep``."""
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep: a TOML file with a [grid] table")
    p.add_argument(
        "-o", "--output", required=True, metavar="RESULTS.parquet", help="where the rows go"
    )
    p.add_argument(
        "--scheduler",
        default="local",
        metavar="local|local-dask|tcp://HOST:PORT",
        help="where to run: a local process pool (default), an in-process Dask cluster, "
        "or a Dask scheduler's address",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="worker processes for local and local-dask (0: one per core; 1: in this process)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )


def _bar(total_hint: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
    except ImportError:  # the cli extra is missing: a plain line per tenth
        last = [-1]

        def plain(done: int, total: int) -> None:
            tenth = done * 10 // max(total, 1)
            if tenth != last[0]:
                last[0] = tenth
                print(f"{total_hint}: {done}/{total} runs", file=sys.stderr)

        return plain, lambda: None
    bar = Progress(
        TextColumn(f"[bold]{total_hint}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("runs", total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


def run(args: argparse.Namespace) -> int:
    """Run the sweep; exit status 1 if some runs failed (their rows say why)."""
    from synack.lab.spec import SpecError, load_spec

    if args.jobs < 0:
        raise UsageError(f"--jobs must be >= 0, got {args.jobs}")
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        raise UsageError(f"{args.spec}: {exc}") from None
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    update, stop = _bar("sweep") if show else (None, None)
    t0 = time.perf_counter()
    try:
        from synack.lab.sweep import SchedulerError, check_scheduler, run_sweep

        check_scheduler(args.scheduler)
        result = run_sweep(
            spec, args.output, scheduler=args.scheduler, jobs=args.jobs or None, progress=update
        )
    except SchedulerError as exc:
        raise CommandFailed(str(exc)) from None
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise CommandFailed(f"{args.output}: {exc}") from None
    finally:
        if stop is not None:
            stop()
    wall = time.perf_counter() - t0
    resumed = f" ({result.resumed} from an earlier run)" if result.resumed else ""
    print(
        f"wrote {result.output}: {len(result.rows)} runs{resumed}, {result.ran} run now on "
        f"{result.scheduler} in {wall:.1f} s"
        + (f"; {result.failed} failed (see the error column)" if result.failed else "")
    )
    return 1 if result.failed else 0

"""Running a sweep: every point once, on a process pool or a Dask cluster, resumably.

:func:`run_sweep` expands a spec, skips the points whose rows an earlier run of
the same output already holds, runs the rest on the chosen scheduler and writes
the Parquet file. Schedulers:

- ``local`` (default): a pool of worker processes on this machine, one per core.
  A worker that dies (killed, out of memory) breaks the pool; the sweep starts a
  new one and runs again what had not finished. After three such breaks it runs
  the remaining points one at a time, so a point that kills its worker each time
  is found and recorded as an error row instead of stopping the sweep.
- ``local-dask``: a ``distributed.LocalCluster`` started in this process.
- ``tcp://HOST:PORT``: an existing ``dask.distributed`` scheduler (started with
  ``dask-scheduler``, workers with ``dask-worker tcp://HOST:PORT``). Tasks of a
  worker that dies are rescheduled on the others by Dask itself.

Each finished row is appended to ``OUTPUT.partial.jsonl`` at once, so an
interrupted sweep (Ctrl-C, a crash, a lost cluster) resumes where it stopped:
run the same command again. When every point has its row the Parquet file is
written and the journal removed. A point's row is kept once, whatever the
retries: rows are keyed by the point's ``run_id``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synack.lab.extra import require
from synack.lab.results import read_results, write_results
from synack.lab.runner import METRICS, run_point
from synack.lab.spec import Point, SpecError, SweepSpec, expand

__all__ = ["SchedulerError", "SweepResult", "check_scheduler", "journal_path", "run_sweep"]


class SchedulerError(RuntimeError):
    """The Dask scheduler could not be reached."""


Job = Callable[[dict[str, Any]], dict[str, Any]]
Task = tuple[str, dict[str, Any]]
Progress = Callable[[int, int], None]
"""``progress(done, total)``, after each row."""

MAX_POOL_BREAKS = 3
DASK_RETRIES = 2


@dataclass
class SweepResult:
    """What :func:`run_sweep` did."""

    output: Path
    rows: list[dict[str, Any]]
    ran: int
    """Points run now (the others came from an earlier, interrupted run)."""
    resumed: int
    failed: int
    """Rows whose ``error`` is set."""
    scheduler: str


def journal_path(output: Path) -> Path:
    """Where finished rows wait until the Parquet file is written."""
    return output.with_name(output.name + ".partial.jsonl")


def check_scheduler(scheduler: str) -> None:
    """Raise :class:`SpecError` for a scheduler name that is none of the three kinds."""
    if scheduler in ("local", "local-dask") or scheduler.startswith("tcp://"):
        return
    raise SpecError(f"unknown scheduler {scheduler!r}: use local, local-dask or tcp://HOST:PORT")


def _job(job: Job, run_id: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    row = job(params)
    row["run_id"] = run_id
    return run_id, row


def _error_row(run_id: str, params: dict[str, Any], error: str) -> dict[str, Any]:
    row: dict[str, Any] = dict(params)
    row.update(dict.fromkeys(METRICS))
    row["error"] = error
    row["run_id"] = run_id
    return row


def _local(tasks: list[Task], jobs: int, job: Job) -> Iterator[tuple[str, dict[str, Any]]]:
    pending = dict(tasks)
    breaks = 0
    ctx = multiprocessing.get_context("spawn")
    while pending:
        isolate = breaks >= MAX_POOL_BREAKS
        batch = list(pending.items())[:1] if isolate else list(pending.items())
        pool = ProcessPoolExecutor(max_workers=1 if isolate else jobs, mp_context=ctx)
        try:
            futures = {pool.submit(_job, job, rid, params): rid for rid, params in batch}
            waiting = set(futures)
            while waiting:
                finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for fut in finished:
                    rid = futures[fut]
                    try:
                        _, row = fut.result()
                    except BrokenProcessPool:
                        raise
                    except Exception as exc:  # the job itself could not be sent or run
                        row = _error_row(rid, pending[rid], f"{type(exc).__name__}: {exc}")
                    del pending[rid]
                    yield rid, row
        except BrokenProcessPool:
            breaks += 1
            if isolate:
                rid, params = batch[0]
                del pending[rid]
                yield rid, _error_row(rid, params, "the worker process died running this point")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _serial(tasks: list[Task], job: Job) -> Iterator[tuple[str, dict[str, Any]]]:
    for rid, params in tasks:
        yield _job(job, rid, params)


def _dask(
    tasks: list[Task], scheduler: str, jobs: int, job: Job
) -> Iterator[tuple[str, dict[str, Any]]]:
    require("dask")
    distributed = require("distributed")
    cluster = None
    if scheduler == "local-dask":
        cluster = distributed.LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except OSError as exc:
            raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        params_of = dict(tasks)
        futures = [
            client.submit(_job, job, rid, params, key=f"synack-run-{rid}", retries=DASK_RETRIES)
            for rid, params in tasks
        ]
        for fut in distributed.as_completed(futures):
            rid = fut.key[len("synack-run-") :]
            try:
                _, row = fut.result()
            except Exception as exc:  # KilledWorker after too many deaths, or a lost task
                row = _error_row(rid, params_of[rid], f"{type(exc).__name__}: {exc}")
            fut.release()
            yield rid, row
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _load_done(output: Path) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if output.exists():
        rows, _ = read_results(output)
        for row in rows:
            if row.get("run_id") and row.get("error") is None:
                done[row["run_id"]] = row
    journal = journal_path(output)
    if journal.exists():
        for line in journal.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # the last line of a killed run
                continue
            if isinstance(row, dict) and row.get("run_id") and row.get("error") is None:
                done[row["run_id"]] = row
    return done


def run_sweep(
    spec: SweepSpec,
    output: str | Path,
    *,
    scheduler: str = "local",
    jobs: int | None = None,
    progress: Progress | None = None,
    job: Job = run_point,
) -> SweepResult:
    """Run every point of ``spec`` not yet in ``output``; write ``output`` (Parquet).

    ``jobs`` is the number of worker processes for ``local`` and ``local-dask``
    (default: one per core; ``local`` with 1 runs in this process). Rows with an
    error are kept in the file and run again by the next call. ``job`` is the
    function run per point (tests replace it).
    """
    check_scheduler(scheduler)
    require("pyarrow")
    out = Path(output)
    points: list[Point] = expand(spec)
    done = _load_done(out)
    resumed = sum(p.run_id in done for p in points)
    tasks: list[Task] = [(p.run_id, p.values) for p in points if p.run_id not in done]
    jobs = jobs or os.cpu_count() or 1
    total = len(points)
    if progress is not None:
        progress(resumed, total)
    runner: Iterable[tuple[str, dict[str, Any]]]
    if not tasks:
        runner = []
    elif scheduler == "local":
        runner = _serial(tasks, job) if jobs == 1 else _local(tasks, min(jobs, len(tasks)), job)
    else:
        runner = _dask(tasks, scheduler, jobs, job)
    journal = journal_path(out)
    count = resumed
    with journal.open("a") as log:
        for rid, row in runner:
            if rid in done and done[rid].get("error") is None:
                continue  # a retried task finished twice: keep the first
            done[rid] = row
            log.write(json.dumps(row, separators=(",", ":")) + "\n")
            log.flush()
            count += 1
            if progress is not None:
                progress(count, total)
    rows = [done[p.run_id] for p in points]
    write_results(
        out,
        rows,
        spec_text=spec.text,
        seeds=sorted({p["seed"] for p in points}),
        scheduler=scheduler,
    )
    journal.unlink(missing_ok=True)
    return SweepResult(
        output=out,
        rows=rows,
        ran=len(tasks),
        resumed=resumed,
        failed=sum(r.get("error") is not None for r in rows),
        scheduler=scheduler,
    )

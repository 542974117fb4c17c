"""Sweep throughput: a fixed 200-run sweep in one process, on the local pool, on local Dask.

Run through ``bench/run.py --only sweep`` or directly (``python bench/bench_sweep.py``);
prints a Markdown section for BENCHMARKS.md. Besides wall-clock runs per minute,
it reports the CPU seconds each way spent (this process and its children), so
the pool's own overhead can be read even when other work shares the machine:
with ``n`` idle cores the speed-up is about ``n * serial CPU / pool CPU`` (the
"speed-up (CPU)" column), whatever the load was during the measurement.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

from synack.lab import expand, parse_spec, run_sweep

SPEC = parse_spec(
    """
    [sweep]
    name = "bench"
    seeds = 10
    [grid]
    cc = ["newreno", "cubic"]
    loss = [0.001, 0.005, 0.01, 0.02, 0.05]
    rtt = [20, 40]
    bandwidth = 10
    duration = 2
    """
)


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(scheduler: str, jobs: int) -> tuple[float, float, list[dict[str, object]]]:
    """``(wall seconds, CPU seconds, rows)`` of one full sweep from scratch."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.parquet"
        cpu0, t0 = _cpu(), time.perf_counter()
        result = run_sweep(SPEC, out, scheduler=scheduler, jobs=jobs)
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    assert len(result.rows) == 200 and result.failed == 0
    return wall, cpu, result.rows


def run() -> None:
    n = len(expand(SPEC))
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(f"{n} runs (2 s of simulated time each), {cores} cores, load average {load:.1f} at start")
    print()
    print("| scheduler | workers | wall s | runs/min | speed-up (wall) | CPU s | speed-up (CPU) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    base_wall, base_cpu, base_rows = measure("local", 1)
    rows = [("one process", 1, base_wall, base_cpu)]
    for name, sched in (("local pool", "local"), ("local-dask", "local-dask")):
        wall, cpu, got = measure(sched, cores)
        same = [{k: v for k, v in r.items() if k != "wall_seconds"} for r in got] == [
            {k: v for k, v in r.items() if k != "wall_seconds"} for r in base_rows
        ]
        assert same, f"{sched} gave different rows"
        rows.append((name, cores, wall, cpu))
    for name, workers, wall, cpu in rows:
        # On `workers` idle cores the sweep would take cpu / workers seconds.
        print(
            f"| {name} | {workers} | {wall:.1f} | {n / wall * 60:.0f} | "
            f"{base_wall / wall:.2f} | {cpu:.1f} | {workers * base_cpu / cpu:.2f} |"
        )
    print()
    print(f"load average {os.getloadavg()[0]:.1f} at the end; rows identical on every scheduler")


if __name__ == "__main__":
    run()

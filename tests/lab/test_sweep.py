"""Sweeps: the same rows on every scheduler, resumption, and workers that die.

Grids are tiny (one-second simulations, or a stand-in job that computes a row
from its parameters) so that the file costs seconds, not minutes; most of its
time is spent starting worker processes and Dask clusters.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synack.lab import SpecError, expand, parse_spec, run_point, run_sweep
from synack.lab.results import read_results
from synack.lab.sweep import journal_path
from tests.lab import jobs

SIM_SPEC = parse_spec(
    """
    [sweep]
    seeds = 2
    [grid]
    cc = ["newreno", "cubic"]
    rtt = 20
    bandwidth = 10
    loss = 0.01
    duration = 1
    """
)

QUICK_SPEC = parse_spec("[sweep]\nseeds = 4\n[grid]\nrtt = [10, 20]\n")

ROOT = Path(__file__).resolve().parents[2]


def _comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without what legitimately differs between runs (the wall clock)."""
    return [{k: v for k, v in r.items() if k != "wall_seconds"} for r in rows]


@pytest.fixture(scope="module")
def serial_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("serial") / "serial.parquet"
    return run_sweep(SIM_SPEC, out, jobs=1).rows


def test_a_point_becomes_a_row_of_metrics() -> None:
    (point, *_) = expand(SIM_SPEC)
    row = run_point(point.values)
    assert row["error"] is None
    assert row["cc"] == "newreno" and row["seed"] == 1
    assert 0 < row["goodput_mbps"] <= 10
    assert row["goodput_flow_mbps"] == [row["goodput_mbps"]]
    assert row["loss_events"] > 0 and row["retransmissions"] > 0  # 1% loss
    assert row["queue_delay_p50_ms"] <= row["queue_delay_p95_ms"] <= row["queue_delay_p99_ms"]


def test_a_point_can_use_a_queue_manager_and_a_trace() -> None:
    spec = parse_spec(
        '[grid]\ncc = "cubic"\naqm = ["droptail", "codel"]\ntrace = "wave"\nqueue = "4bdp"\nduration = 3\n'
    )
    tail, codel = (run_point(p.values) for p in expand(spec))
    assert tail["error"] is None and codel["error"] is None
    # CoDel keeps the standing queue near its 5 ms target; drop-tail lets it fill.
    assert codel["queue_delay_p50_ms"] < 5 < tail["queue_delay_p50_ms"]
    assert codel["drops"] > 0


def test_ecn_points_mark_instead_of_dropping() -> None:
    spec = parse_spec(
        '[grid]\ncc = "dctcp"\naqm = "step:20"\nqueue = "10bdp"\necn = [false, true]\n'
        "bandwidth = 50\nrtt = 4\nduration = 1\n"
    )
    drop, mark = (run_point(p.values) for p in expand(spec))
    assert drop["ecn_marks"] == 0 and drop["retransmissions"] > 0
    assert mark["ecn_marks"] > 0 and mark["retransmissions"] == 0


def test_a_run_that_fails_is_a_row_with_its_error() -> None:
    (point,) = expand(parse_spec("[grid]\nqueue = 0\nbandwidth = 10\nduration = 1\n"))
    params = dict(point.values, rtt=-1.0)
    row = run_point(params)
    assert row["error"] is not None and "ValueError" in row["error"]
    assert row["goodput_mbps"] is None


def test_results_file_records_the_spec_seeds_and_version(
    tmp_path: Path, serial_rows: list[dict[str, Any]]
) -> None:
    out = tmp_path / "r.parquet"
    result = run_sweep(SIM_SPEC, out, jobs=1)
    rows, meta = read_results(out)
    assert _comparable(rows) == _comparable(serial_rows)  # deterministic
    assert [r["run_id"] for r in rows] == [p.run_id for p in expand(SIM_SPEC)]
    assert meta["spec"] == SIM_SPEC.text
    assert json.loads(meta["seeds"]) == [1, 2]
    assert meta["version"] == rows[0]["synack_version"]
    assert result.ran == 4 and result.resumed == 0 and result.failed == 0
    assert not journal_path(out).exists()


def test_the_process_pool_gives_the_same_rows(
    tmp_path: Path, serial_rows: list[dict[str, Any]]
) -> None:
    result = run_sweep(SIM_SPEC, tmp_path / "pool.parquet", jobs=2)
    assert _comparable(result.rows) == _comparable(serial_rows)


def test_an_interrupted_sweep_resumes_where_it_stopped(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    full = run_sweep(QUICK_SPEC, out, jobs=1, job=jobs.quick).rows
    # As if the first run had been killed after three rows: only the journal is left.
    out.unlink()
    lines = [json.dumps(r) for r in full[:3]]
    journal_path(out).write_text("\n".join(lines) + '\n{"run_id": "trunc')
    seen: list[tuple[int, int]] = []
    again = run_sweep(
        QUICK_SPEC, out, jobs=1, job=jobs.quick, progress=lambda d, t: seen.append((d, t))
    )
    assert (again.resumed, again.ran) == (3, 5)
    assert seen[0] == (3, 8) and seen[-1] == (8, 8)
    assert again.rows == full
    # A finished sweep run again does nothing.
    assert run_sweep(QUICK_SPEC, out, jobs=1, job=jobs.quick).ran == 0


def test_the_pool_survives_a_worker_dying(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jobs.DIE_DIR, str(tmp_path))
    result = run_sweep(QUICK_SPEC, tmp_path / "r.parquet", jobs=2, job=jobs.die_once)
    assert sorted(tmp_path.glob("died-*"))  # the workers did die
    assert result.failed == 0
    assert [r["run_id"] for r in result.rows] == [p.run_id for p in expand(QUICK_SPEC)]
    assert result.rows == run_sweep(QUICK_SPEC, tmp_path / "q.parquet", jobs=1, job=jobs.quick).rows


def test_a_point_that_always_kills_its_worker_becomes_an_error_row(tmp_path: Path) -> None:
    result = run_sweep(QUICK_SPEC, tmp_path / "r.parquet", jobs=2, job=jobs.always_die)
    bad = [r for r in result.rows if r["error"] is not None]
    assert [(r["rtt"], r["seed"]) for r in bad] == [(10.0, 3), (20.0, 3)]
    assert all("worker process died" in r["error"] for r in bad)
    assert len(result.rows) == 8


def test_unknown_scheduler_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="unknown scheduler"):
        run_sweep(QUICK_SPEC, tmp_path / "r.parquet", scheduler="slurm")


# ------------------------------------------------------------------ Dask


def test_a_local_dask_cluster_gives_the_same_rows(
    tmp_path: Path, serial_rows: list[dict[str, Any]]
) -> None:
    result = run_sweep(SIM_SPEC, tmp_path / "dask.parquet", scheduler="local-dask", jobs=2)
    assert _comparable(result.rows) == _comparable(serial_rows)
    assert read_results(tmp_path / "dask.parquet")[1]["scheduler"] == "local-dask"


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.1)


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """``dask scheduler`` and two ``dask worker`` processes on loopback (no nanny)."""
    dask = str(Path(sys.executable).with_name("dask"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    sched_file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "dask.log").open("wb")
    try:
        procs.append(
            subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(sched_file)],
                env=env, stdout=log, stderr=log,
            )
        )  # fmt: skip
        _wait_for(sched_file)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                     "--name", f"w{i}", "--host", "127.0.0.1"],
                    env=env, stdout=log, stderr=log, cwd=tmp_path,
                )
            )  # fmt: skip
        yield address, procs
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


@pytest.mark.timeout(180)
def test_a_dask_scheduler_and_workers_survive_a_worker_dying(
    tmp_path: Path,
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]],
    serial_rows: list[dict[str, Any]],
) -> None:
    address, procs = dask_cluster
    spec = parse_spec(SIM_SPEC.text.replace("seeds = 2", "seeds = 6"))
    victim = procs[1]
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done == 1 and not killed:  # the sweep is under way: kill a worker
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    result = run_sweep(spec, tmp_path / "dask.parquet", scheduler=address, progress=progress)
    assert killed and victim.wait(timeout=10) == -signal.SIGKILL
    assert result.failed == 0
    ids = [r["run_id"] for r in result.rows]
    assert ids == [p.run_id for p in expand(spec)] and len(set(ids)) == 12
    # Identical seeds give identical rows, whichever machine ran them.
    same = [r for r in result.rows if r["seed"] <= 2]
    assert _comparable(same) == _comparable(serial_rows)

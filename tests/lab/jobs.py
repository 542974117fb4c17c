"""Jobs for the sweep tests: importable by worker processes (spawned, or Dask's)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DIE_DIR = "SYNACK_TEST_DIE_DIR"


def quick(params: dict[str, Any]) -> dict[str, Any]:
    """A stand-in for a simulator run: a row computed from the parameters alone."""
    row = dict(params)
    row.update(goodput_mbps=params["rtt"] * 10 + params["seed"], error=None, wall_seconds=0.0)
    return row


def die_once(params: dict[str, Any]) -> dict[str, Any]:
    """Kill the worker process the first time seed 2 runs (a marker file remembers)."""
    marker = Path(os.environ[DIE_DIR]) / f"died-{params['rtt']}-{params['seed']}"
    if params["seed"] == 2 and not marker.exists():
        marker.touch()
        os._exit(17)
    return quick(params)


def always_die(params: dict[str, Any]) -> dict[str, Any]:
    """Kill the worker every time seed 3 runs."""
    if params["seed"] == 3:
        os._exit(17)
    return quick(params)

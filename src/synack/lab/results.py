"""The results table: one row per run, stored as Parquet with the sweep recorded.

Columns are the run's parameters (every key of :data:`synack.lab.spec.DEFAULTS`),
``run_id``, the metrics of :data:`synack.lab.runner.METRICS` and
``synack_version``. The file's schema metadata keeps the spec's TOML
(``synack.spec``), the seeds (``synack.seeds``, JSON), the synack version and
the scheduler that ran it. Needs pyarrow (the ``lab`` extra).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synack import __version__
from synack.lab.extra import require

__all__ = ["read_results", "write_results"]


def _column(values: list[Any]) -> list[Any]:
    """One Arrow type per column: a column mixing numbers and text becomes text."""
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, float} and float in kinds:
        return [None if v is None else float(v) for v in values]
    if len(kinds) > 1 and str in kinds:
        return [None if v is None else str(v) for v in values]
    return values


def write_results(
    path: str | Path,
    rows: Sequence[dict[str, Any]],
    *,
    spec_text: str,
    seeds: Sequence[int],
    scheduler: str,
) -> None:
    """Write ``rows`` to ``path`` atomically (a temporary file, then a rename)."""
    pa = require("pyarrow")
    import pyarrow.parquet as pq

    names: list[str] = []
    for r in rows:
        names += [k for k in r if k not in names]
    columns = {n: _column([r.get(n) for r in rows]) for n in names}
    table = pa.table(columns) if rows else pa.table({"run_id": pa.array([], pa.string())})
    table = table.replace_schema_metadata(
        {
            "synack.spec": spec_text,
            "synack.seeds": json.dumps(list(seeds)),
            "synack.version": __version__,
            "synack.scheduler": scheduler,
        }
    )
    out = Path(path)
    tmp = out.with_name(out.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, out)


def read_results(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``(rows, metadata)`` of a results file (metadata keys without the ``synack.`` prefix)."""
    require("pyarrow")
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = {
        k.decode()[len("synack.") :]: v.decode()
        for k, v in (table.schema.metadata or {}).items()
        if k.startswith(b"synack.")
    }
    return table.to_pylist(), meta

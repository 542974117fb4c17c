"""Experiment sweeps on the simulator: many runs, on a process pool or a Dask cluster.

A sweep is a TOML spec whose ``[grid]`` lists the values to vary
(:mod:`synack.lab.spec`); each point is one simulator run producing one row of
metrics (:mod:`synack.lab.runner`); :func:`run_sweep` runs them all, resumably,
and writes a Parquet table (:mod:`synack.lab.results`); :mod:`synack.lab.report`
draws the standard figures and a Markdown table from it.

>>> from synack.lab import expand, parse_spec
>>> spec = parse_spec('''
... [grid]
... cc = ["newreno", "cubic"]
... rtt = [20, 80]
... loss = 0.01
... ''')
>>> [(p["cc"], p["rtt"], p["loss"]) for p in expand(spec)]
[('newreno', 20.0, 0.01), ('newreno', 80.0, 0.01), ('cubic', 20.0, 0.01), ('cubic', 80.0, 0.01)]

Running and writing need pyarrow, and the Dask schedulers dask.distributed: the
``lab`` extra (``pip install 'synack[lab]'``).
"""

from synack.lab.extra import MissingExtra
from synack.lab.runner import METRICS, run_point
from synack.lab.spec import (
    DEFAULTS,
    PARAMETERS,
    Point,
    SpecError,
    SweepSpec,
    expand,
    load_spec,
    parse_spec,
)
from synack.lab.sweep import SweepResult, run_sweep

__all__ = [
    "DEFAULTS",
    "METRICS",
    "PARAMETERS",
    "MissingExtra",
    "Point",
    "SpecError",
    "SweepResult",
    "SweepSpec",
    "expand",
    "load_spec",
    "parse_spec",
    "run_point",
    "run_sweep",
]

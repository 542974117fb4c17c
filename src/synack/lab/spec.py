"""Sweep specifications: a TOML file whose ``[grid]`` names what to vary.

A spec is a TOML document::

    [sweep]
    name = "loss"          # optional, shown in reports
    seeds = 5              # optional shorthand for seed = [1, 2, 3, 4, 5]

    [grid]
    cc = ["newreno", "cubic"]   # a list is swept
    rtt = [20, 40, 80]          # ms, as `synack sim --rtt`
    loss = [0.001, 0.01]
    bandwidth = 20              # a scalar is fixed (Mbit/s)
    flows = 1

    [[points]]                  # optional: extra points, each on top of the grid's scalars
    cc = "bbr"
    rtt = 40

Keys are the option names of ``synack sim`` (``cc``, ``rtt``, ``bandwidth``,
``queue``, ``loss``, ``burst-loss``, ``periodic-loss``, ``reorder``,
``duplicate``, ``mss``, ``seed``, ``bytes``) plus the sweep's own ``flows``,
``duration``, ``warmup``, ``stagger``, ``jitter``, ``aqm`` (the bottleneck's
queue manager), ``ecn`` (RFC 3168 at both ends, and a manager that marks
instead of dropping) and ``trace`` (a Mahimahi trace instead of ``bandwidth``: a file,
or a bundled one, ``wave`` or ``cellular``); ``-`` and ``_`` are the same. :func:`expand` turns a spec into :class:`Point` objects
(the cartesian product of the lists, in the order the keys appear, then the
``points``), each with every parameter resolved and a stable ``run_id``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULTS",
    "PARAMETERS",
    "Point",
    "SpecError",
    "SweepSpec",
    "expand",
    "load_spec",
    "parse_spec",
]


class SpecError(ValueError):
    """A sweep specification that cannot be run (the message says why)."""


def _count(v: Any) -> int:
    if isinstance(v, bool):
        raise SpecError(f"not a count: {v!r}")
    if isinstance(v, int):
        if v < 0:
            raise SpecError(f"must be >= 0: {v!r}")
        return v
    if isinstance(v, str):
        from synack.lab.units import parse_count

        return parse_count(v)
    raise SpecError(f"not a count: {v!r}")


def _number(low: float = 0.0, high: float | None = None) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise SpecError(f"not a number: {v!r}")
        if v < low or (high is not None and v > high):
            bound = f"[{low:g}, {high:g}]" if high is not None else f">= {low:g}"
            raise SpecError(f"{v!r} is not in {bound}")
        return float(v)

    return check


def _int(low: int = 0) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise SpecError(f"not an integer: {v!r}")
        if v < low:
            raise SpecError(f"{v!r} is not >= {low}")
        return v

    return check


def _cc(v: Any) -> str:
    from synack.cc import available

    if not isinstance(v, str) or v.lower() not in available():
        raise SpecError(f"unknown congestion control {v!r}; available: {', '.join(available())}")
    return v.lower()


def _queue(v: Any) -> str | int:
    """Packets (an integer, or ``"50p"``), bytes (``"64KB"``), or ``"bdp"`` / ``"2bdp"``."""
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 0:
            raise SpecError(f"queue must be >= 0: {v!r}")
        return v
    if isinstance(v, str):
        from synack.lab.units import parse_queue

        parse_queue(v)  # raises SpecError when malformed
        return v.strip().lower()
    raise SpecError(f"not a queue size: {v!r} (try 50, '50p', '64KB', 'bdp')")


def _burst(v: Any) -> str:
    """``"RATE"`` or ``"RATE:MEAN_BURST"`` (Gilbert-Elliott), ``""`` for none."""
    if not isinstance(v, str):
        raise SpecError(f"burst-loss must be a string like '0.01:3', got {v!r}")
    if v:
        from synack.lab.units import parse_burst

        parse_burst(v)
    return v


def _bytes(v: Any) -> int:
    n = _count(v)
    return n


def _trace(v: Any) -> str:
    """A bundled trace (``"wave"``, ``"cellular"``) or a Mahimahi trace file."""
    if not isinstance(v, str):
        raise SpecError(f"trace must be a name or a file, got {v!r}")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise SpecError(f"not true or false: {v!r}")
    return v


def _aqm(v: Any) -> str:
    """``droptail``, ``red[:MIN:MAX[:MAX_P]]``, ``codel[:TARGET_MS:INTERVAL_MS]``, ``step[:K]``."""
    if not isinstance(v, str):
        raise SpecError(f"aqm must be a string like 'codel' or 'step:20', got {v!r}")
    from synack.lab.units import parse_aqm

    parse_aqm(v, ecn=False)
    return v.strip().lower()


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def opt(v: Any) -> Any:
        return None if v in (None, 0, "") else check(v)

    return opt


PARAMETERS: dict[str, Callable[[Any], Any]] = {
    "cc": _cc,
    "rtt": _number(0.0),
    "bandwidth": _number(0.0),
    "queue": _queue,
    "loss": _number(0.0, 1.0),
    "burst_loss": _burst,
    "periodic_loss": _int(0),
    "reorder": _number(0.0, 1.0),
    "duplicate": _number(0.0, 1.0),
    "mss": _optional(_int(64)),
    "seed": _int(0),
    "bytes": _optional(_bytes),
    "flows": _int(1),
    "duration": _number(0.001),
    "warmup": _number(0.0, 0.99),
    "stagger": _number(0.0),
    "jitter": _number(0.0),
    "trace": _optional(_trace),
    "aqm": _aqm,
    "ecn": _bool,
}
"""Every parameter a point has, with the function that checks and normalises a value."""

DEFAULTS: dict[str, Any] = {
    "cc": "newreno",
    "rtt": 40.0,
    "bandwidth": 10.0,
    "queue": "bdp",
    "loss": 0.0,
    "burst_loss": "",
    "periodic_loss": 0,
    "reorder": 0.0,
    "duplicate": 0.0,
    "mss": None,
    "seed": 1,
    "bytes": None,
    "flows": 1,
    "duration": 20.0,
    "warmup": 0.25,
    "stagger": 0.0,
    "jitter": 100.0,
    "trace": None,
    "aqm": "droptail",
    "ecn": False,
}
"""What a point has where the spec is silent. Units: ``rtt``, ``stagger`` and
``jitter`` ms; ``bandwidth`` Mbit/s (0: unlimited); ``duration`` s; ``warmup`` a
fraction of ``duration``; ``queue`` one bandwidth-delay product."""


def _key(name: str) -> str:
    k = name.strip().lower().replace("-", "_")
    if k == "seeds":
        raise SpecError("use seed = [1, 2, ...] in [grid], or seeds = N in [sweep]")
    if k not in PARAMETERS:
        raise SpecError(f"unknown parameter {name!r}; known: {', '.join(sorted(PARAMETERS))}")
    return k


@dataclass(frozen=True)
class Point:
    """One run of a sweep: every parameter resolved (see :data:`DEFAULTS`)."""

    params: tuple[tuple[str, Any], ...]

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def run_id(self) -> str:
        """A short stable hash of the parameters: what resumption matches on."""
        text = json.dumps(self.values, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass(frozen=True)
class SweepSpec:
    """A parsed spec: the grid (key -> list of values), extra points, and the source text."""

    name: str
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    points: tuple[tuple[tuple[str, Any], ...], ...]
    text: str
    """The TOML the spec came from (recorded with the results)."""

    @property
    def swept(self) -> list[str]:
        """The keys given a list of two or more values."""
        return [k for k, vs in self.grid if len(vs) > 1]

    @property
    def keys(self) -> list[str]:
        """Every key the spec names (the grid's, then those only the points name)."""
        out = [k for k, _ in self.grid]
        for p in self.points:
            out += [k for k, _ in p if k not in out]
        return out

    @property
    def seeds(self) -> list[int]:
        return sorted({p["seed"] for p in expand(self)})


def parse_spec(text: str, *, name: str = "sweep") -> SweepSpec:
    """Parse spec TOML text; :class:`SpecError` says what is wrong."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"not valid TOML: {exc}") from None
    unknown = set(doc) - {"sweep", "grid", "points"}
    if unknown:
        raise SpecError(
            f"unknown table(s) {', '.join(sorted(unknown))}; use [sweep], [grid], [[points]]"
        )
    meta = doc.get("sweep", {})
    if not isinstance(meta, dict):
        raise SpecError("[sweep] must be a table")
    raw_grid = doc.get("grid", {})
    if not isinstance(raw_grid, dict):
        raise SpecError("[grid] must be a table")
    raw_points = doc.get("points", [])
    if not isinstance(raw_points, list) or not all(isinstance(p, dict) for p in raw_points):
        raise SpecError("points must be an array of tables: [[points]]")
    if not raw_grid and not raw_points:
        raise SpecError("the spec has neither a [grid] nor [[points]]")
    grid: list[tuple[str, tuple[Any, ...]]] = []
    for name_, value in raw_grid.items():
        k = _key(name_)
        if any(k == g for g, _ in grid):
            raise SpecError(f"{name_!r} given twice")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise SpecError(f"{name_!r} has an empty list")
        try:
            grid.append((k, tuple(PARAMETERS[k](v) for v in values)))
        except SpecError as exc:
            raise SpecError(f"{name_}: {exc}") from None
    seeds = meta.get("seeds")
    if seeds is not None:
        if any(k == "seed" for k, _ in grid):
            raise SpecError("give either [sweep] seeds = N or [grid] seed, not both")
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise SpecError(f"[sweep] seeds must be a positive integer, got {seeds!r}")
        grid.append(("seed", tuple(range(1, seeds + 1))))
    points: list[tuple[tuple[str, Any], ...]] = []
    for i, raw in enumerate(raw_points):
        items = []
        for name_, value in raw.items():
            k = _key(name_)
            if isinstance(value, list):
                raise SpecError(f"points[{i}].{name_}: a point takes one value, not a list")
            try:
                items.append((k, PARAMETERS[k](value)))
            except SpecError as exc:
                raise SpecError(f"points[{i}].{name_}: {exc}") from None
        points.append(tuple(items))
    title = meta.get("name", name)
    if not isinstance(title, str):
        raise SpecError("[sweep] name must be a string")
    return SweepSpec(title, tuple(grid), tuple(points), text)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and parse a spec file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SpecError(f"cannot read {p}: {exc.strerror}") from None
    return parse_spec(text, name=p.stem)


def _resolve(items: Mapping[str, Any]) -> Point:
    values = dict(DEFAULTS)
    values.update(items)
    return Point(tuple(sorted(values.items())))


def expand(spec: SweepSpec) -> list[Point]:
    """Every point of the spec, in order, without duplicates."""
    keys = [k for k, _ in spec.grid]
    out: list[Point] = []
    seen: set[Point] = set()
    combos: list[dict[str, Any]] = []
    if spec.grid:
        combos += [
            dict(zip(keys, c, strict=True)) for c in itertools.product(*(v for _, v in spec.grid))
        ]
    fixed = {k: vs[0] for k, vs in spec.grid if len(vs) == 1}
    combos += [{**fixed, **dict(p)} for p in spec.points]
    for c in combos:
        point = _resolve(c)
        if point not in seen:
            seen.add(point)
            out.append(point)
    return out

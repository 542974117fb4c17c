"""Two synthetic link traces in Mahimahi's format, and how to find them by name.

``wave`` and ``cellular`` are made by :mod:`synack.sim.traces.generate`
(``python -m synack.sim.traces.generate``), not taken from measurements:

- ``wave``: the rate swings smoothly between 4 and 20 Mbit/s and back every 10 s;
- ``cellular``: a seeded random walk between 1 and 24 Mbit/s with short outages,
  roughly the texture of a mobile link.

:func:`trace_path` resolves a bundled name or a file path; :func:`read_trace`
parses the file with :func:`synack.sim.link.load_trace`.
"""

from __future__ import annotations

from pathlib import Path

from synack.sim.link import load_trace

__all__ = ["BUNDLED", "read_trace", "trace_path"]

HERE = Path(__file__).resolve().parent
BUNDLED = ("wave", "cellular")


def trace_path(name: str) -> Path:
    """The file of a bundled trace (``"wave"``, ``"cellular"``), else ``name`` as a path."""
    if name in BUNDLED:
        return HERE / f"{name}.trace"
    return Path(name)


def read_trace(name: str) -> tuple[int, ...]:
    """The delivery opportunities (ms) of a bundled trace or a trace file.

    ``ValueError`` if the file is missing or malformed.
    """
    path = trace_path(name)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read trace {name!r}: {exc.strerror}") from None
    return load_trace(text)

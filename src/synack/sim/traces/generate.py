"""Write the bundled synthetic traces: ``python -m synack.sim.traces.generate [DIR]``.

A Mahimahi trace lists delivery opportunities, one per line, as a time in
milliseconds; each carries one 1500-octet packet, so a rate of R Mbit/s is R/12
opportunities per millisecond. Both traces here are made from a rate function
of time, sampled every millisecond: the opportunities of a millisecond are the
whole part of the running sum of ``rate / 12`` (so fractions carry over and the
average rate is exact).

- ``wave``: ``12 + 8 sin(2 pi t / 10 s)`` Mbit/s for 20 s.
- ``cellular``: 20 s of a random walk (seed 14): every 100 ms the rate moves by
  a normal step of 2 Mbit/s, kept within [1, 24]; one time in 60 a 100 ms
  outage (no opportunities at all). Deterministic: the same file every time.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["cellular_rate", "opportunities", "wave_rate", "write_all"]

DURATION_MS = 20_000
PACKET_BITS = 1500 * 8


def wave_rate(t_ms: int) -> float:
    """Mbit/s at time ``t_ms`` of the ``wave`` trace."""
    return 12 + 8 * math.sin(2 * math.pi * t_ms / 10_000)


def cellular_rate(seed: int = 14) -> Callable[[int], float]:
    """The rate function (Mbit/s against ms) of the ``cellular`` trace."""
    rng = random.Random(seed)
    rates: list[float] = []
    rate = 10.0
    for _ in range(DURATION_MS // 100 + 1):
        rate = min(24.0, max(1.0, rate + rng.gauss(0, 2)))
        rates.append(0.0 if rng.random() < 1 / 60 else rate)
    return lambda t_ms: rates[t_ms // 100]


def opportunities(rate: Callable[[int], float], duration_ms: int = DURATION_MS) -> list[int]:
    """Delivery opportunity times (ms, 1-based) for a rate function in Mbit/s."""
    out: list[int] = []
    credit = 0.0
    for t in range(1, duration_ms + 1):
        credit += rate(t) * 1_000 / PACKET_BITS  # packets this millisecond
        while credit >= 1:
            out.append(t)
            credit -= 1
    if not out or out[-1] != duration_ms:
        out.append(duration_ms)  # the last line sets the period the trace repeats with
    return out


def write_all(directory: Path) -> list[Path]:
    """Write ``wave.trace`` and ``cellular.trace`` into ``directory``."""
    written = []
    for name, rate in (("wave", wave_rate), ("cellular", cellular_rate())):
        path = directory / f"{name}.trace"
        path.write_text("".join(f"{t}\n" for t in opportunities(rate)))
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for p in write_all(target):
        print(f"wrote {p}")

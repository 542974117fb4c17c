"""The workload of BENCHMARKS.md's instruction-count A/B comparisons (run under callgrind).

Usage: ``PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 valgrind --tool=callgrind
python bench/callgrind_transfer.py KIND MB`` with KIND ``clean``, ``loss`` or
``bbr``; the cost of a transfer is the total ``Ir`` less that of ``MB = 0``
(start-up and imports). Load on the machine does not change the count.
"""

from __future__ import annotations

import sys

from synack.sim import LinkConfig
from synack.sim.scenario import run_transfer


def main() -> None:
    """Run one transfer of ``sys.argv[2]`` MB of the kind ``sys.argv[1]``."""
    kind, n = sys.argv[1], int(sys.argv[2])
    mb = 1 << 20
    if kind == "clean":
        run_transfer(n * mb, LinkConfig(delay=10_000), seed=1)
    elif kind == "loss":
        link = LinkConfig(delay=10_000, bandwidth=50_000_000, queue_packets=100, loss=0.01)
        run_transfer(n * mb, link, seed=1)
    elif kind == "bbr":
        run_transfer(n * mb, LinkConfig(delay=10_000), seed=1, cc="bbr")
    else:
        raise SystemExit(f"unknown kind {kind!r}: clean, loss or bbr")


if __name__ == "__main__":
    main()

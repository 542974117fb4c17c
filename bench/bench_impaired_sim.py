"""The impaired path of ``bench_impaired`` on the simulator: deterministic, so A/B comparable.

5% loss, 5% duplication, 20% reordering (held ``--reorder-delay`` ms) and 1%
corruption in both directions, as the TAP relay does; several seeds, with
Linux's 200 ms RTO floor (synack's default) and RFC 6298's 1 s. Prints the
median simulated transfer time and the loss-recovery counters that explain it
(RTOs, fast recoveries, spurious ones undone, RACK marks, TLPs).

``python bench/bench_impaired_sim.py [--mb 3] [--seeds 8] [--rtt 0.2] [--reorder-delay 2]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from synack.sim import LinkConfig  # noqa: E402
from synack.sim.scenario import run_transfer  # noqa: E402
from synack.tcp import Config  # noqa: E402

MB = 1_000_000
COUNTERS = (
    "retransmit.rto",
    "recovery.sack",
    "recovery.spurious",
    "rack.lost",
    "tlp",
    "retransmit.segments",
    "dsack_received",
)


def one(
    args: argparse.Namespace, seed: int, min_rto: int, cc: str
) -> tuple[float, dict[str, int], bool]:
    link = LinkConfig(
        delay=int(args.rtt * 500),
        loss=args.loss / 100,
        duplicate=args.dup / 100,
        reorder=args.reorder / 100,
        reorder_delay=int(args.reorder_delay * 1000),
        corrupt=args.corrupt / 100,
        bandwidth=int(args.bandwidth * 1e6) if args.bandwidth else None,
    )
    r = run_transfer(args.mb * MB, link, seed=seed, cc=cc, config=Config(min_rto=min_rto))
    counters = {k: r.counters.get(f"conn.{k}", 0) for k in COUNTERS}
    return r.sim_seconds, counters, r.verified


def run(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=int, default=3, help="MB per transfer (default 3)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds 1..N (default 8)")
    parser.add_argument("--rtt", type=float, default=0.2, help="base RTT, ms (default 0.2)")
    parser.add_argument("--bandwidth", type=float, default=0.0, help="Mbit/s (0: unlimited)")
    parser.add_argument("--loss", type=float, default=5.0)
    parser.add_argument("--dup", type=float, default=5.0)
    parser.add_argument("--reorder", type=float, default=20.0)
    parser.add_argument("--reorder-delay", type=float, default=2.0, help="ms (default 2)")
    parser.add_argument("--corrupt", type=float, default=1.0)
    parser.add_argument("--floor", type=int, action="append", help="min RTO, ms (repeatable)")
    parser.add_argument(
        "--cc", action="append", help="congestion control (repeatable; default newreno)"
    )
    args = parser.parse_args(argv if argv is not None else [])
    floors = args.floor or [1000, 200]
    print(
        f"{args.mb} MB over a simulated path: RTT {args.rtt:g} ms, {args.loss:g}% loss, "
        f"{args.dup:g}% duplication, {args.reorder:g}% reordering ({args.reorder_delay:g} ms), "
        f"{args.corrupt:g}% corruption, both directions; seeds 1-{args.seeds}"
    )
    for cc, floor in [(cc, floor) for cc in args.cc or ["newreno"] for floor in floors]:
        times = []
        totals = dict.fromkeys(COUNTERS, 0)
        for seed in range(1, args.seeds + 1):
            seconds, counters, ok = one(args, seed, floor * 1000, cc)
            if not ok:
                raise RuntimeError(f"seed {seed}: data not delivered exactly")
            times.append(seconds)
            for k, v in counters.items():
                totals[k] += v
        print(
            f"  {cc:<8} min RTO {floor:>4} ms: median {statistics.median(times):6.2f} s "
            f"(min {min(times):.2f}, max {max(times):.2f})  "
            + " ".join(f"{k}={v}" for k, v in totals.items()),
            flush=True,
        )


if __name__ == "__main__":
    run(sys.argv[1:])

"""One sweep point on the simulator: parameters in, a flat row of metrics out.

:func:`run_point` is what every scheduler runs, on whatever process or machine:
it takes the resolved parameters of a :class:`~synack.lab.spec.Point` (plain
values, so it pickles cheaply) and returns a dict of plain values that becomes
one row of the results table. It never raises for a run that goes wrong: the
row says so in ``error``.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from typing import Any

from synack import __version__
from synack.lab.spec import SpecError
from synack.lab.units import parse_aqm, parse_burst, parse_queue
from synack.sim.experiments import PathSpec, jain, percentile, run_flows
from synack.sim.traces import read_trace
from synack.tcp.config import Config

__all__ = ["METRICS", "path_of", "run_point"]

MS = 1000
S = 1_000_000
# Buffers large enough that the receive window never limits a flow.
_BIG = Config(send_buffer=16 << 20, recv_buffer=16 << 20)

METRICS: dict[str, str] = {
    "goodput_mbps": "sum of the flows' goodputs, Mbit/s",
    "goodput_flow_mbps": "each flow's goodput, Mbit/s (a list)",
    "goodput_min_mbps": "the slowest flow's goodput, Mbit/s",
    "jain": "Jain's fairness index of the flows' goodputs",
    "utilisation": "goodput over the bottleneck's payload capacity (0 when unlimited)",
    "queue_delay_mean_ms": "mean wait in the bottleneck queue of the packets it accepted",
    "queue_delay_p50_ms": "median of that wait",
    "queue_delay_p95_ms": "95th percentile of that wait",
    "queue_delay_p99_ms": "99th percentile of that wait",
    "srtt_mean_ms": "smoothed RTT, time-averaged, mean over flows",
    "cwnd_mean_segments": "cwnd, time-averaged, mean over flows",
    "cwnd_max_segments": "largest cwnd sampled, over flows",
    "retransmissions": "segments retransmitted, all flows",
    "loss_events": "fast retransmits plus retransmission timeouts, all flows",
    "timeouts": "retransmission timeouts, all flows",
    "drops": "packets the network dropped (queue, queue manager, loss models)",
    "ecn_marks": "packets the bottleneck's queue manager marked CE",
    "mss_bytes": "the flows' MSS after the handshake",
    "completed": "with bytes: every flow finished before the time limit",
    "sim_seconds": "simulated time the measurement covers",
    "wall_seconds": "real time the run took",
    "events": "simulator events",
    "error": "why the run failed, or null",
}
"""The metric columns of a row, with what each means."""


def path_of(params: dict[str, Any]) -> PathSpec:
    """The :class:`PathSpec` a point's parameters describe."""
    rtt = round(params["rtt"] * MS)
    trace = read_trace(params["trace"]) if params["trace"] else None
    bandwidth = None if trace else round(params["bandwidth"] * 1_000_000) or None
    rate = PathSpec(rtt=rtt, bandwidth=bandwidth, trace=trace).capacity
    queue = params["queue"]
    qp: int | None
    qb: int | None = None
    if isinstance(queue, int):
        qp = queue
    else:
        qp, qb, bdp = parse_queue(queue)
        if bdp is not None:
            if rate is None:
                qp = None  # no bottleneck, no queue
            else:
                one = PathSpec(rtt=rtt, bandwidth=rate).bdp_packets
                qp = max(round(bdp * one), 2)
    burst = parse_burst(params["burst_loss"]) if params["burst_loss"] else None
    return PathSpec(
        rtt=rtt,
        bandwidth=bandwidth,
        queue_packets=qp,
        queue_bytes=qb,
        loss=params["loss"],
        burst=burst,
        periodic_loss=params["periodic_loss"],
        reorder=params["reorder"],
        duplicate=params["duplicate"],
        # RED's idle decay counts in packet times: 1500 octets at the bottleneck's rate, µs.
        aqm=parse_aqm(
            params["aqm"],
            ecn=params["ecn"],
            packet_time=max(1, 12_000_000_000 // rate) if rate else 1200,
        ),
        trace=trace,
    )


def run_point(params: dict[str, Any]) -> dict[str, Any]:
    """Run one point; return its row (the parameters, ``run_id``-free, plus :data:`METRICS`)."""
    wall0 = time.perf_counter()
    row: dict[str, Any] = dict(params)
    try:
        row.update(_measure(params))
        row["error"] = None
    except (SpecError, ValueError, RuntimeError) as exc:
        row.update(dict.fromkeys(METRICS))
        row["error"] = f"{type(exc).__name__}: {exc}"
    except Exception:  # a bug: keep the run going, say where
        row.update(dict.fromkeys(METRICS))
        row["error"] = traceback.format_exc(limit=3)
    row["wall_seconds"] = time.perf_counter() - wall0
    row["synack_version"] = __version__
    return row


def _measure(params: dict[str, Any]) -> dict[str, Any]:
    path = path_of(params)
    duration = round(params["duration"] * S)
    nbytes = params["bytes"]
    cfg = dataclasses.replace(_BIG, ecn=params["ecn"])
    if params["mss"] is not None:
        cfg = dataclasses.replace(cfg, mss=params["mss"])
    # The receiver's algorithm decides how it echoes CE (DCTCP: per segment).
    receiver = dataclasses.replace(cfg, congestion_control=params["cc"])
    run = run_flows(
        [params["cc"]] * params["flows"],
        path,
        duration=duration,
        warmup=0 if nbytes else round(duration * params["warmup"]),
        seed=params["seed"],
        stagger=round(params["stagger"] * MS),
        start_jitter=round(params["jitter"] * MS) if params["flows"] > 1 else 0,
        config=cfg,
        receiver_config=receiver,
        nbytes=nbytes,
        sample_every=max(path.rtt // 2, 5 * MS),
    )
    flows = run.flows
    goodputs = [f.goodput * 8 / 1e6 for f in flows]
    delays = [d / MS for d in run.queue_delays]
    return {
        "goodput_mbps": sum(goodputs),
        "goodput_flow_mbps": goodputs,
        "goodput_min_mbps": min(goodputs),
        "jain": jain(goodputs),
        "utilisation": run.utilisation(),
        "queue_delay_mean_ms": sum(delays) / len(delays) if delays else 0.0,
        "queue_delay_p50_ms": percentile(delays, 50),
        "queue_delay_p95_ms": percentile(delays, 95),
        "queue_delay_p99_ms": percentile(delays, 99),
        "srtt_mean_ms": sum(f.mean_srtt for f in flows) / len(flows) / MS,
        "cwnd_mean_segments": sum(f.mean_cwnd for f in flows) / len(flows),
        "cwnd_max_segments": max(f.max_cwnd for f in flows),
        "retransmissions": sum(f.retransmissions for f in flows),
        "loss_events": sum(f.loss_events for f in flows),
        "timeouts": sum(f.timeouts for f in flows),
        "drops": sum(run.drops.values()),
        "ecn_marks": run.marks,
        "mss_bytes": flows[0].mss,
        "completed": all(f.completed for f in flows),
        "sim_seconds": (run.duration - run.warmup) / S,
        "events": run.events,
    }

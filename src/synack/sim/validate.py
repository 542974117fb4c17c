"""``synack experiment validate``: the congestion-control validation report.

Each ``*_experiment`` function runs one experiment on the simulator for one
seed and returns :class:`Row` objects: the statistic it checks (a ratio to a
model, Jain's index, a utilisation), the band the model allows, and what the
model assumes. :func:`validate` runs every experiment over N seeds (in a pool of
processes), summarises each row as a mean with a 95% confidence interval
(:class:`Summary`), draws the plots and writes ``docs/congestion.md``. A row
passes when its interval overlaps the band; a row without a band is reported,
not judged, and is not counted. ``tests/sim/test_validation.py`` calls the same
functions.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from synack.cc.cubic import response_function
from synack.sim.aqm import CoDel, StepMark
from synack.sim.experiments import (
    FlowStats,
    PathSpec,
    RunStats,
    jain,
    mathis,
    mean_ci,
    percentile,
    pftk,
    run_flows,
)
from synack.tcp.config import Config

__all__ = [
    "Row",
    "SeedIndependent",
    "Summary",
    "cache_path",
    "codel_experiment",
    "coexistence_experiment",
    "counts",
    "cubic_response_experiment",
    "cubic_vs_newreno_experiment",
    "dctcp_experiment",
    "ecn_experiment",
    "fairness_experiment",
    "mathis_experiment",
    "summarise",
    "utilisation_experiment",
    "validate",
]

MS = 1000
S = 1_000_000
MBIT = 1_000_000
BOUND = 0.25  # +-25% around a model
BAND = (1 - BOUND, 1 + BOUND)
DEFAULT_SEEDS = 10
# Buffers large enough that no flow is limited by the receive window.
BIG = Config(send_buffer=16 << 20, recv_buffer=16 << 20)
NO_DELACK = Config(send_buffer=16 << 20, recv_buffer=16 << 20, delayed_ack=0)
STAGGER = 500 * MS
START_JITTER = 100 * MS  # flows start at i * STAGGER plus a seeded draw from [0, 100 ms]

Band = tuple[float, float]


def _fmt(unit: str, x: float) -> str:
    if unit == "Mbit/s":  # x in octets per second
        return f"{x * 8 / MBIT:.2f} Mbit/s"
    if unit == "segments":
        return f"{x:.1f} segments"
    if unit == "percent":
        return f"{x:.1%}"
    if unit == "ms":
        return f"{x:.1f} ms"
    if unit == "jain":
        return f"{x:.3f}"
    if unit == "packets":
        return f"{x:.1f} packets"
    if unit == "count":
        return f"{x:.1f}"
    return f"{x:.2f}"


@dataclass
class Row:
    """One experiment, one seed: a line of the validation table before averaging.

    ``value`` is the statistic ``target`` talks about (in ``unit``); ``band`` is
    the interval it must reach, or ``None`` for a row that is reported and not
    judged. ``quantity`` (in ``quantity_unit``) is the main thing measured, shown
    in the table's "measured" column.
    """

    experiment: str
    setting: str
    measured: str
    model: str
    value: float
    band: Band | None
    target: str
    assumes: str = ""
    statistic: str = "ratio"
    unit: str = "ratio"
    quantity: float = 0.0
    quantity_unit: str = "ratio"
    seed: int = 1
    wall: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """This seed's value is inside the band (always true for a report row)."""
        return self.band is None or self.band[0] <= self.value <= self.band[1]

    @property
    def ratio(self) -> float:
        """The checked statistic (kept under its old name)."""
        return self.value


@dataclass
class Summary:
    """One row of the table: the same experiment over several seeds."""

    section: str
    rows: list[Row]
    seed_independent: bool = False
    """The run has no random element: one run stands for every seed."""

    @property
    def first(self) -> Row:
        return self.rows[0]

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.rows]

    @property
    def ci(self) -> tuple[float, float, float]:
        """Mean of the checked statistic and its 95% confidence interval."""
        return mean_ci([r.value for r in self.rows])

    @property
    def status(self) -> str:
        """``pass`` (the interval overlaps the band), ``fail``, or ``report``."""
        band = self.first.band
        if band is None:
            return "report"
        _, lo, hi = self.ci
        return "pass" if hi >= band[0] and lo <= band[1] else "fail"

    @property
    def wall(self) -> float:
        return sum(r.wall for r in self.rows)

    def measured(self) -> str:
        """The main measured quantity: mean, with its interval when seeds differ."""
        r = self.first
        m, lo, hi = mean_ci([x.quantity for x in self.rows])
        text = _fmt(r.quantity_unit, m)
        if len(self.rows) > 1 and hi > lo:
            text += f" ± {_fmt(r.quantity_unit, (hi - lo) / 2).split()[0]}"
        return text

    def statistic(self) -> str:
        """``mean [low, high]`` of the checked statistic."""
        r = self.first
        m, lo, hi = self.ci
        if self.seed_independent:
            return f"{_fmt(r.unit, m)} (one run: no random element)"
        if len(self.rows) == 1:
            return _fmt(r.unit, m)
        if hi == lo:
            return f"{_fmt(r.unit, m)} (all seeds equal)"
        return f"{_fmt(r.unit, m)} [{_fmt(r.unit, lo)}, {_fmt(r.unit, hi)}]"


def summarise(section: str, rows: Sequence[Row], *, seed_independent: bool = False) -> Summary:
    """Group one experiment's per-seed rows (same experiment and setting)."""
    if not rows:
        raise ValueError("no rows")
    if len({(r.experiment, r.setting) for r in rows}) != 1:
        raise ValueError("rows of different experiments")
    return Summary(section, sorted(rows, key=lambda r: r.seed), seed_independent)


def _rate(bps: float) -> str:
    return _fmt("Mbit/s", bps)


def _phase(seed: int, period: int, what: str) -> int:
    """A seeded phase in ``[0, period)`` for a periodic loss pattern."""
    return random.Random(f"validate/{what}/{seed}").randrange(period) if period else 0


# ------------------------------------------------------------------ Mathis / PFTK

MATHIS_ASSUMES = (
    "Reno-style AIMD in congestion avoidance, loss-limited window, "
    "one loss per loss event, no timeouts"
)


def mathis_experiment(
    p: float,
    *,
    kind: str = "periodic",
    delayed_ack: bool = False,
    rtt: int = 40 * MS,
    seed: int = 1,
) -> Row:
    """A long NewReno flow at loss rate ``p`` (``periodic``: every 1/p-th packet, or ``random``).

    Ample bandwidth (no bottleneck queue), fixed RTT. The window of ~80 loss
    events after a warm-up of a fifth is measured. With ``delayed_ack`` the
    receiver ACKs every second segment. The seed picks the phase of a periodic
    pattern, or the draws of random loss.
    """
    w = math.sqrt(1.5 / p)
    pkts_per_s = w / (rtt / S)
    duration = int(max(20.0, 80 / (p * pkts_per_s)) * S)
    period = round(1 / p) if kind == "periodic" else 0
    path = PathSpec(
        rtt=rtt,
        loss=p if kind == "random" else 0.0,
        periodic_loss=period,
        periodic_phase=_phase(seed, period, "mathis"),
    )
    cfg = BIG if delayed_ack else NO_DELACK
    run = run_flows(
        ["newreno"],
        path,
        duration=duration,
        warmup=duration // 5,
        seed=seed,
        config=cfg,
        receiver_config=cfg,
        sample_every=rtt,
    )
    f = run.flows[0]
    b = 2 if delayed_ack else 1
    m1 = mathis(f.mss, rtt / S, p, 1)
    mb = mathis(f.mss, rtt / S, p, b)
    t_rto = max(Config().min_rto / S, 4 * rtt / S)
    pf = pftk(f.mss, rtt / S, p, t_rto, 1)
    model = f"{_rate(m1)} Mathis b=1"
    if delayed_ack:
        model += f"; {_rate(mb)} b=2"
    assumes = "periodic loss, " + MATHIS_ASSUMES
    if kind == "random":
        model += f"; {_rate(pf)} PFTK"
        assumes = (
            "random loss: the square-root law with Mathis's constant (the paper fits random "
            "loss too), " + MATHIS_ASSUMES
        )
    if delayed_ack:
        assumes += "; byte counting (RFC 3465), so b = 1"
    return Row(
        experiment=f"Mathis, {kind} loss" + (", delayed ACKs" if delayed_ack else ""),
        setting=f"NewReno, p = {p:.1%}, RTT {rtt // MS} ms, {duration // S} s",
        measured=_rate(f.goodput),
        model=model,
        value=f.goodput / m1,
        band=BAND,
        target="goodput within 25% of Mathis",
        assumes=assumes,
        statistic="goodput / Mathis",
        quantity=f.goodput,
        quantity_unit="Mbit/s",
        seed=seed,
        wall=run.wall_seconds,
        extra={
            "p": p,
            "kind": kind,
            "delayed_ack": delayed_ack,
            "goodput": f.goodput,
            "mathis": m1,
            "mathis_b": mb,
            "pftk": pf,
            "pftk_ratio": f.goodput / pf,
            "timeouts": f.timeouts,
            "mss": f.mss,
            "rtt": rtt,
        },
    )


# ------------------------------------------------------------------ CUBIC


def cubic_response_experiment(
    rtt: int, p: float, *, kind: str = "periodic", cycles: int = 15, seed: int = 1
) -> Row:
    """CUBIC's average window against RFC 9438's response function (Figure 8).

    The response function is derived for deterministic loss (one loss every
    1/p packets). Under random loss the epochs between losses vary and, CUBIC's
    growth being convex in time past the plateau, the average window is larger:
    that row is reported against the same function, not judged.
    """
    pred = response_function(rtt / S, p)
    reno = math.sqrt(1.5 / p)
    pkts_per_s = pred / (rtt / S)
    duration = int(max(30.0, cycles / p / pkts_per_s) * S)
    period = round(1 / p) if kind == "periodic" else 0
    path = PathSpec(
        rtt=rtt,
        loss=p if kind == "random" else 0.0,
        periodic_loss=period,
        periodic_phase=_phase(seed, period, "cubic"),
    )
    run = run_flows(
        ["cubic"],
        path,
        duration=duration,
        warmup=duration // 4,
        seed=seed,
        config=BIG,
        receiver_config=BIG,
        sample_every=rtt // 2,
    )
    f = run.flows[0]
    periodic = kind == "periodic"
    return Row(
        experiment=f"CUBIC response function, {kind} loss",
        setting=f"RTT {rtt // MS} ms, p = {p:.2%}, {duration // S} s",
        measured=f"{f.mean_cwnd:.1f} segments",
        model=f"{pred:.1f} segments (1.054 RTT^0.75/p^0.75); Reno {reno:.1f}",
        value=f.mean_cwnd / pred,
        band=BAND if periodic else None,
        target="mean cwnd within 25%" if periodic else "report (outside the model)",
        assumes=(
            "deterministic loss every 1/p packets, cubic (concave) region above Reno's window"
            if periodic
            else "none: the response function assumes deterministic loss"
        ),
        statistic="mean cwnd / RFC 9438",
        quantity=f.mean_cwnd,
        quantity_unit="segments",
        seed=seed,
        wall=run.wall_seconds,
        extra={"series": f.series, "pred": pred, "rtt": rtt, "p": p},
    )


def cubic_vs_newreno_experiment(
    *,
    bandwidth: int = 100 * MBIT,
    rtt: int = 100 * MS,
    p: float = 1e-5,
    duration: int = 20 * S,
    seed: int = 1,
) -> Row:
    """One CUBIC flow and, separately, one NewReno flow on a long fat lossy path."""
    bdp = PathSpec(rtt=rtt, bandwidth=bandwidth).bdp_packets
    path = PathSpec(rtt=rtt, bandwidth=bandwidth, queue_packets=bdp, loss=p)
    got: dict[str, RunStats] = {}
    for cc in ("newreno", "cubic"):
        got[cc] = run_flows(
            [cc],
            path,
            duration=duration,
            warmup=duration // 3,
            seed=seed,
            config=BIG,
            receiver_config=BIG,
            sample_every=rtt,
        )
    c, r = got["cubic"].flows[0].goodput, got["newreno"].flows[0].goodput
    return Row(
        experiment="CUBIC vs NewReno, long fat path",
        setting=f"{bandwidth // MBIT} Mbit/s, RTT {rtt // MS} ms, p = {p:.3%}, {duration // S} s",
        measured=f"CUBIC {_rate(c)}, NewReno {_rate(r)}",
        model="CUBIC > NewReno",
        value=c / r if r else math.inf,
        band=(1.0, math.inf),
        target="CUBIC faster (ratio > 1)",
        assumes="loss-limited NewReno window far below the BDP (RFC 9438 1)",
        statistic="CUBIC / NewReno goodput",
        quantity=c,
        quantity_unit="Mbit/s",
        seed=seed,
        wall=sum(x.wall_seconds for x in got.values()),
        extra={"cubic": c, "newreno": r},
    )


# ------------------------------------------------------------------ sharing


def _dumbbell(bandwidth: int, rtt: int) -> PathSpec:
    bdp = PathSpec(rtt=rtt, bandwidth=bandwidth).bdp_packets
    return PathSpec(rtt=rtt, bandwidth=bandwidth, queue_packets=max(bdp, 16))


def fairness_experiment(
    cc: str,
    n: int,
    *,
    bandwidth: int = 10 * MBIT,
    rtt: int = 20 * MS,
    duration: int = 30 * S,
    seed: int = 1,
) -> Row:
    """``n`` flows of one algorithm through one bottleneck with a BDP-sized queue.

    Flows start 0.5 s apart plus a seeded jitter of up to 100 ms.
    """
    run = run_flows(
        [cc] * n,
        _dumbbell(bandwidth, rtt),
        duration=duration,
        warmup=duration // 3,
        seed=seed,
        stagger=STAGGER,
        start_jitter=START_JITTER,
        config=BIG,
        receiver_config=BIG,
    )
    shares = [f.goodput for f in run.flows]
    j = jain(shares)
    # BBR v1's sharing is reported, not judged: several v1 flows are known to
    # share unevenly once each has a BDP of a few packets (see the notes).
    judged = cc != "bbr"
    return Row(
        experiment=f"Fairness, {n} x {cc}",
        setting=f"{bandwidth // MBIT} Mbit/s, RTT {rtt // MS} ms, BDP queue, {duration // S} s",
        measured=f"Jain {j:.3f}, utilisation {run.utilisation():.1%}",
        model="Jain's index 1 = equal shares",
        value=j,
        band=(0.95, 1.0) if judged else None,
        target="Jain >= 0.95" if judged else "report (BBR v1)",
        assumes="same algorithm and RTT, drop-tail BDP queue: AIMD converges to equal shares"
        if judged
        else "none",
        statistic="Jain's index",
        unit="jain",
        quantity=run.utilisation(),
        quantity_unit="percent",
        seed=seed,
        wall=run.wall_seconds,
        extra={"run": run, "jain": j},
    )


def coexistence_experiment(
    a: str = "newreno",
    b: str = "cubic",
    *,
    bandwidth: int = 20 * MBIT,
    rtt: int = 40 * MS,
    duration: int = 40 * S,
    seed: int = 1,
) -> Row:
    """One flow of each algorithm sharing a bottleneck: ``a``'s share of the goodput.

    At this BDP (about 130 packets with the queue) CUBIC runs near its
    Reno-friendly region (RFC 9438 4.3), where it is meant to take about what
    Reno takes; the check allows either flow anything from a third to two thirds.
    """
    run = run_flows(
        [a, b],
        _dumbbell(bandwidth, rtt),
        duration=duration,
        warmup=duration // 3,
        seed=seed,
        stagger=STAGGER,
        start_jitter=START_JITTER,
        config=BIG,
        receiver_config=BIG,
    )
    ga, gb = (f.goodput for f in run.flows)
    total = ga + gb
    share = ga / total if total else 0.0
    return Row(
        experiment=f"Coexistence, {a} + {b}",
        setting=f"{bandwidth // MBIT} Mbit/s, RTT {rtt // MS} ms, BDP queue, {duration // S} s",
        measured=f"{a} {share:.0%}, {b} {1 - share:.0%} (Jain {jain([ga, gb]):.3f})",
        model="equal shares (RFC 9438 4.3 Reno-friendly region)",
        value=share,
        band=(1 / 3, 2 / 3),
        target=f"{a}'s share in [1/3, 2/3]",
        assumes="CUBIC near its Reno-friendly region at this BDP; same RTT",
        statistic=f"{a}'s share",
        unit="percent",
        quantity=share,
        quantity_unit="percent",
        seed=seed,
        wall=run.wall_seconds,
        extra={"run": run},
    )


def utilisation_experiment(
    cc: str,
    *,
    bandwidth: int = 20 * MBIT,
    rtt: int = 40 * MS,
    duration: int = 30 * S,
    seed: int = 1,
) -> list[Row]:
    """One flow alone on a bottleneck with a BDP-sized queue.

    Two rows from one run: the utilisation (checked: >= 90%), and the queueing
    delay (checked for BBR, which should keep it under a quarter of the RTT;
    reported for the loss-based algorithms, which fill the queue by design).
    """
    run = run_flows(
        [cc],
        _dumbbell(bandwidth, rtt),
        duration=duration,
        warmup=duration // 3,
        seed=seed,
        config=BIG,
        receiver_config=BIG,
    )
    u = run.utilisation()
    qd = run.mean_queue_delay / MS
    bbr = cc == "bbr"
    setting = f"{bandwidth // MBIT} Mbit/s, RTT {rtt // MS} ms, BDP queue, {duration // S} s"
    common: dict[str, Any] = {"seed": seed, "wall": run.wall_seconds}
    extra = {"run": run, "queue_delay_ms": qd, "utilisation": u}
    return [
        Row(
            experiment=f"Utilisation, {cc}",
            setting=setting,
            measured=f"{u:.1%}",
            model="the bottleneck's payload capacity",
            value=u,
            band=(0.9, math.inf),
            target=">= 90%",
            assumes="a BDP queue keeps the link busy through each window reduction"
            if not bbr
            else "BBR's probe_bw keeps the pipe full",
            statistic="utilisation",
            unit="percent",
            quantity=u,
            quantity_unit="percent",
            extra=extra,
            **common,
        ),
        Row(
            experiment=f"Queueing delay, {cc}",
            setting=setting,
            measured=f"{qd:.1f} ms",
            model=f"BDP queue = {rtt // MS} ms",
            value=qd / (rtt / MS),
            band=(0.0, 0.25) if bbr else None,
            target="< 1/4 RTT" if bbr else "report (loss-based: fills the queue)",
            assumes="BBR v1 sizes inflight near the BDP (cwnd_gain 2 caps it)" if bbr else "none",
            statistic="queueing delay / RTT",
            quantity=qd,
            quantity_unit="ms",
            extra=extra,
            **common,
        ),
    ]


# ------------------------------------------------------------------ queue managers


def codel_experiment(
    cc: str = "cubic",
    *,
    bandwidth: int = 20 * MBIT,
    rtt: int = 40 * MS,
    buffer_bdps: int = 8,
    duration: int = 30 * S,
    seed: int = 1,
) -> list[Row]:
    """One flow through a deep buffer (8 BDP), managed by CoDel and, for comparison, not.

    Rows: the queueing delay under CoDel (the 95th percentile of the waits of the
    packets the bottleneck sent; checked: within twice RFC 8289's 5 ms TARGET),
    the utilisation it keeps (checked: >= 85%), and the same flow with plain
    drop-tail (reported: the bufferbloat CoDel removes).
    """
    bdp = PathSpec(rtt=rtt, bandwidth=bandwidth).bdp_packets
    setting = f"{cc}, {bandwidth // MBIT} Mbit/s, RTT {rtt // MS} ms, {buffer_bdps} BDP buffer, {duration // S} s"
    runs: dict[str, RunStats] = {}
    for name, aqm in (("codel", CoDel()), ("droptail", None)):
        path = PathSpec(rtt=rtt, bandwidth=bandwidth, queue_packets=buffer_bdps * bdp, aqm=aqm)
        runs[name] = run_flows(
            [cc],
            path,
            duration=duration,
            warmup=duration // 3,
            seed=seed,
            config=BIG,
            receiver_config=BIG,
        )
    median = {k: percentile(r.queue_delays, 50) / MS for k, r in runs.items()}
    p95 = percentile(runs["codel"].queue_delays, 95) / MS
    u = runs["codel"].utilisation()
    wall = sum(r.wall_seconds for r in runs.values())
    extra = {"median_ms": median, "p95_ms": p95, "utilisation": u, "drops": runs["codel"].drops}
    return [
        Row(
            experiment="CoDel, queueing delay",
            setting=setting,
            measured=f"median {median['codel']:.1f} ms, p95 {p95:.1f} ms",
            model="RFC 8289 TARGET 5 ms",
            value=p95,
            band=(0.0, 10.0),
            target="p95 within 2 x TARGET",
            assumes="one long flow; CoDel drops until the sojourn time stays under TARGET",
            statistic="p95 wait (ms)",
            unit="ms",
            quantity=median["codel"],
            quantity_unit="ms",
            seed=seed,
            wall=wall,
            extra=extra,
        ),
        Row(
            experiment="CoDel, utilisation",
            setting=setting,
            measured=f"{u:.1%}",
            model="the bottleneck's payload capacity",
            value=u,
            band=(0.85, math.inf),
            target=">= 85%",
            assumes="CoDel's drops leave the link busy (RFC 8289: full utilisation at 5 ms)",
            statistic="utilisation",
            unit="percent",
            quantity=u,
            quantity_unit="percent",
            seed=seed,
            wall=0.0,
            extra=extra,
        ),
        Row(
            experiment="Drop-tail, standing queueing delay",
            setting=setting,
            measured=f"median {median['droptail']:.1f} ms",
            model=f"a full buffer: {buffer_bdps * rtt // MS} ms",
            value=median["droptail"],
            band=None,
            target="report (what CoDel removes)",
            statistic="median wait (ms)",
            unit="ms",
            quantity=median["droptail"],
            quantity_unit="ms",
            seed=seed,
            wall=0.0,
            extra=extra,
        ),
    ]


# ------------------------------------------------------------------ ECN and DCTCP


def ecn_experiment(
    cc: str = "cubic",
    *,
    n: int = 2,
    bandwidth: int = 20 * MBIT,
    rtt: int = 40 * MS,
    duration: int = 20 * S,
    seed: int = 1,
) -> list[Row]:
    """``n`` flows through CoDel, once dropping and once marking (ECN on at both ends).

    RFC 3168's promise: the same congestion response without the losses. Rows:
    the goodput with ECN over the goodput without (checked: within 10%), and
    the segments retransmitted with ECN (checked: none).
    """
    bdp = PathSpec(rtt=rtt, bandwidth=bandwidth).bdp_packets
    runs: dict[bool, RunStats] = {}
    for ecn in (False, True):
        cfg = dataclasses.replace(BIG, ecn=ecn)
        path = PathSpec(rtt=rtt, bandwidth=bandwidth, queue_packets=8 * bdp, aqm=CoDel(ecn=ecn))
        runs[ecn] = run_flows(
            [cc] * n,
            path,
            duration=duration,
            warmup=duration // 4,
            seed=seed,
            stagger=STAGGER,
            start_jitter=START_JITTER,
            config=cfg,
            receiver_config=cfg,
        )
    g_ecn, g_drop = runs[True].total_goodput, runs[False].total_goodput
    rtx = {k: sum(f.retransmissions for f in r.flows) for k, r in runs.items()}
    setting = (
        f"{n} x {cc}, CoDel, {bandwidth // MBIT} Mbit/s, RTT {rtt // MS} ms, {duration // S} s"
    )
    wall = sum(r.wall_seconds for r in runs.values())
    extra = {"goodput": {"ecn": g_ecn, "drop": g_drop}, "rtx": rtx, "marks": runs[True].marks}
    return [
        Row(
            experiment="ECN vs drop, goodput",
            setting=setting,
            measured=f"ECN {_rate(g_ecn)}, drop {_rate(g_drop)}",
            model="the same congestion response (RFC 3168 6.1.2)",
            value=g_ecn / g_drop if g_drop else math.inf,
            band=(0.9, 1.1),
            target="within 10%",
            assumes="marks where CoDel would drop; the sender reduces as for a loss",
            statistic="goodput ECN / drop",
            quantity=g_ecn,
            quantity_unit="Mbit/s",
            seed=seed,
            wall=wall,
            extra=extra,
        ),
        Row(
            experiment="ECN vs drop, retransmissions",
            setting=setting,
            measured=f"ECN {rtx[True]}, drop {rtx[False]} ({runs[True].marks} CE marks)",
            model="no loss, so nothing to resend",
            value=float(rtx[True]),
            band=(0.0, 0.0),
            target="none with ECN",
            assumes="a queue that never overflows (8 BDP of buffer under CoDel)",
            statistic="segments retransmitted",
            unit="count",
            quantity=float(rtx[True]),
            quantity_unit="count",
            seed=seed,
            wall=0.0,
            extra=extra,
        ),
    ]


def dctcp_experiment(
    *,
    n: int = 2,
    bandwidth: int = 100 * MBIT,
    rtt: int = 2 * MS,
    k: int = 20,
    duration: int = 4 * S,
    seed: int = 1,
) -> list[Row]:
    """``n`` DCTCP flows through a step-marking queue (K packets), datacenter-like.

    RFC 8257 1 and 3: DCTCP keeps the queue near the marking threshold K
    (instead of the full buffer) while keeping the link busy. Rows: the median
    queue length an arriving packet finds, in packets (checked: within K/2 of K),
    and the utilisation (checked: >= 95%).
    """
    cfg = dataclasses.replace(BIG, ecn=True, congestion_control="dctcp")
    path = PathSpec(rtt=rtt, bandwidth=bandwidth, queue_packets=10 * k, aqm=StepMark(k=k, ecn=True))
    run = run_flows(
        ["dctcp"] * n,
        path,
        duration=duration,
        warmup=duration // 4,
        seed=seed,
        stagger=100 * MS,
        start_jitter=50 * MS,
        config=cfg,
        receiver_config=cfg,
    )
    per_packet = 1500 * 8 * S / bandwidth  # µs to send one full-size packet
    queue = percentile(run.queue_delays, 50) / per_packet
    u = run.utilisation()
    setting = (
        f"{n} x dctcp, step K = {k}, {bandwidth // MBIT} Mbit/s, RTT {rtt // MS} ms, "
        f"{duration // S} s"
    )
    extra = {"queue_packets": queue, "utilisation": u, "marks": run.marks, "drops": run.drops}
    common: dict[str, Any] = {"seed": seed, "extra": extra}
    return [
        Row(
            experiment="DCTCP, queue length",
            setting=setting,
            measured=f"median {queue:.1f} packets, {run.marks} CE marks",
            model=f"the marking threshold K = {k}",
            value=queue / k,
            band=(0.5, 1.5),
            target="median within K/2 of K",
            assumes="RFC 8257 3.3: cwnd cut by alpha/2 per window of marks",
            statistic="median queue / K",
            quantity=queue,
            quantity_unit="packets",
            wall=run.wall_seconds,
            **common,
        ),
        Row(
            experiment="DCTCP, utilisation",
            setting=setting,
            measured=f"{u:.1%}",
            model="the bottleneck's payload capacity",
            value=u,
            band=(0.95, math.inf),
            target=">= 95%",
            assumes="K above C x RTT / 7, the DCTCP paper's guideline",
            statistic="utilisation",
            unit="percent",
            quantity=u,
            quantity_unit="percent",
            wall=0.0,
            **common,
        ),
    ]


# ------------------------------------------------------------------ the report


def _plots(sections: dict[str, list[Summary]], img: Path) -> list[tuple[str, str]]:
    """Draw the figures into ``img``; return ``(file name, caption)`` pairs."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - the plot extra is missing
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, str]] = []

    # 1. Mathis / PFTK: goodput against p, mean and 95% interval over the seeds.
    mrows = [s for s in sections.get("mathis", []) if not s.first.extra["delayed_ack"]]
    if mrows:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ps = sorted({s.first.extra["p"] for s in mrows})
        mss = mrows[0].first.extra["mss"]
        rtt = mrows[0].first.extra["rtt"] / S
        grid = [ps[0] * (ps[-1] / ps[0]) ** (i / 40) for i in range(41)]
        ax.plot(
            [g * 100 for g in grid],
            [mathis(mss, rtt, g) * 8 / MBIT for g in grid],
            label="Mathis, b = 1",
        )
        t_rto = max(Config().min_rto / S, 4 * rtt)
        ax.plot(
            [g * 100 for g in grid],
            [pftk(mss, rtt, g, t_rto) * 8 / MBIT for g in grid],
            ls="--",
            label=f"PFTK, t_RTO = {t_rto:g} s",
        )
        for kind, marker in (("periodic", "o"), ("random", "s")):
            xs, ys, errs = [], [], []
            for s in mrows:
                if s.first.extra["kind"] != kind:
                    continue
                m, lo, hi = mean_ci([r.extra["goodput"] * 8 / MBIT for r in s.rows])
                xs.append(s.first.extra["p"] * 100)
                ys.append(m)
                errs.append((hi - lo) / 2)
            if xs:
                ax.errorbar(
                    xs, ys, yerr=errs, fmt=marker, capsize=3, zorder=3, label=f"synack, {kind} loss"
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("loss rate p (%)")
        ax.set_ylabel("goodput (Mbit/s)")
        n = len(mrows[0].rows)
        ax.set_title(f"NewReno goodput against loss rate (RTT {rtt * 1000:g} ms, {n} seeds)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(img / "congestion-mathis.png", dpi=110)
        plt.close(fig)
        out.append(
            (
                "congestion-mathis.png",
                "NewReno goodput against loss rate (mean and 95% interval over the seeds), "
                "with the Mathis and PFTK models.",
            )
        )

    # 2. CUBIC's window over time (the first seed).
    crow = next((s.first for s in sections.get("cubic", []) if "series" in s.first.extra), None)
    if crow is not None:
        fig, ax = plt.subplots(figsize=(7, 4))
        series = crow.extra["series"]
        ax.plot([s[0] for s in series], [s[1] for s in series], lw=1, label="cwnd")
        ax.axhline(crow.extra["pred"], color="tab:red", ls="--", label="RFC 9438 average")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("cwnd (segments)")
        ax.set_title(f"CUBIC, {crow.setting}, seed {crow.seed}")
        ax.set_ylim(bottom=0, top=max(s[1] for s in series[len(series) // 4 :]) * 1.3)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(img / "congestion-cubic.png", dpi=110)
        plt.close(fig)
        out.append(
            ("congestion-cubic.png", "CUBIC's concave and convex window growth between losses.")
        )

    # 3. Fairness: per-flow throughput over time (the first seed).
    fair = [s for s in sections.get("fairness", []) if "run" in s.first.extra]
    frow = next((s.first for s in fair if s.first.experiment == "Fairness, 8 x cubic"), None)
    if frow is None and fair:
        frow = fair[0].first
    if frow is not None:
        run: RunStats = frow.extra["run"]
        fig, ax = plt.subplots(figsize=(7, 4))
        for i, f in enumerate(run.flows):
            t, rate = _throughput(f, 1.0)
            ax.plot(t, rate, lw=1, label=f"flow {i}")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("throughput (Mbit/s, 1 s bins)")
        ax.set_title(f"{frow.experiment}, seed {frow.seed}: {frow.measured}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="x-small", ncol=4)
        fig.tight_layout()
        fig.savefig(img / "congestion-fairness.png", dpi=110)
        plt.close(fig)
        out.append(
            ("congestion-fairness.png", "Flows sharing one bottleneck converge to equal shares.")
        )

    # 4. Queueing delay of one flow, per algorithm (the first seed).
    util = [
        s.first for s in sections.get("utilisation", []) if s.first.experiment.startswith("Util")
    ]
    if util:
        fig, ax = plt.subplots(figsize=(7, 4))
        for r in util:
            run = r.extra["run"]
            ax.plot(
                [q[0] for q in run.queue_series],
                [q[1] for q in run.queue_series],
                lw=1,
                label=r.experiment.split(", ")[1],
            )
        ax.set_xlabel("time (s)")
        ax.set_ylabel("queueing delay at the bottleneck (ms)")
        ax.set_title(f"One flow, {util[0].setting}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(img / "congestion-queue.png", dpi=110)
        plt.close(fig)
        out.append(
            ("congestion-queue.png", "Loss-based algorithms fill the queue; BBR keeps it short.")
        )
    return out


def _throughput(f: FlowStats, bin_s: float) -> tuple[list[float], list[float]]:
    t_out: list[float] = []
    r_out: list[float] = []
    last_t, last_mb = None, 0.0
    for t, _, mb in f.series:
        if last_t is None:
            last_t, last_mb = t, mb
            continue
        if t - last_t >= bin_s:
            t_out.append(t)
            r_out.append((mb - last_mb) * 8 / (t - last_t))
            last_t, last_mb = t, mb
    return t_out, r_out


Experiment = Callable[..., "Row | list[Row]"]
"""An experiment for one seed: called with ``seed=``."""


@dataclass(frozen=True)
class SeedIndependent:
    """An experiment whose run has no random element (one flow, no random loss, no
    start jitter): the seed changes only ISNs and ports, so one run stands for all
    seeds and :func:`validate` runs it once."""

    fn: Experiment

    def __call__(self, *, seed: int) -> Row | list[Row]:
        return self.fn(seed=seed)


def _experiments(quick: bool) -> dict[str, list[Experiment]]:
    """The experiments of each section (each still to be given its ``seed``)."""
    ps: tuple[float, ...] = (0.001, 0.005, 0.01, 0.02)
    fairness = [(cc, n) for cc in ("newreno", "cubic", "bbr") for n in (2, 4, 8)]
    cubic_points: list[tuple[int, float, str]] = [
        (200 * MS, 5e-4, "periodic"),
        (100 * MS, 1e-4, "periodic"),
        (200 * MS, 2e-4, "random"),
    ]
    lfn: Experiment = cubic_vs_newreno_experiment
    if quick:
        ps = (0.005, 0.02)
        fairness = [("newreno", 4), ("cubic", 4)]
        cubic_points = cubic_points[:1]
        lfn = partial(cubic_vs_newreno_experiment, bandwidth=100 * MBIT, duration=20 * S)
    mathis_rows: list[Experiment] = [
        partial(mathis_experiment, p, kind=k) for p in ps for k in ("periodic", "random")
    ]
    mathis_rows += [partial(mathis_experiment, p, delayed_ack=True) for p in ps[::2]]
    cubic_rows: list[Experiment] = [
        partial(cubic_response_experiment, r, p, kind=k) for r, p, k in cubic_points
    ]
    cubic_rows.append(lfn)
    fair_rows: list[Experiment] = [partial(fairness_experiment, cc, n) for cc, n in fairness]
    fair_rows.append(coexistence_experiment)
    util_rows: list[Experiment] = [
        SeedIndependent(partial(utilisation_experiment, cc)) for cc in ("newreno", "cubic", "bbr")
    ]
    aqm_rows: list[Experiment] = [SeedIndependent(codel_experiment)]
    ecn_rows: list[Experiment] = [ecn_experiment, dctcp_experiment]
    return {
        "mathis": mathis_rows,
        "cubic": cubic_rows,
        "fairness": fair_rows,
        "utilisation": util_rows,
        "aqm": aqm_rows,
        "ecn": ecn_rows,
    }


def _slim(rows: list[Row]) -> list[Row]:
    """Drop the bulky per-run series of a row that no plot uses (not the first seed)."""
    for r in rows:
        r.extra.pop("run", None)
        r.extra.pop("series", None)
    return rows


def _run_task(task: tuple[Experiment, int, bool]) -> list[Row]:
    fn, seed, keep = task
    got = fn(seed=seed)
    rows = got if isinstance(got, list) else [got]
    return rows if keep else _slim(rows)


def cache_path(output: Path) -> Path:
    """Where :func:`validate` keeps its rows so that ``only`` can re-run some sections."""
    return output.with_name(output.name + ".runs.pickle")


def validate(
    output: Path,
    *,
    seeds: Sequence[int] = tuple(range(1, DEFAULT_SEEDS + 1)),
    quick: bool = False,
    plots: bool = True,
    jobs: int | None = None,
    only: Sequence[str] | None = None,
    command: str = "synack experiment validate",
    log: Callable[[str], None] = print,
) -> list[Summary]:
    """Run every experiment over ``seeds`` and write the report to ``output``.

    Plots go next to it, in ``img/``. ``jobs`` processes run the (experiment,
    seed) pairs (default: one per core; 1 runs them in this process). The rows
    are kept in :func:`cache_path`; with ``only`` (section names) just those
    sections run again and the others come from that file, which must hold
    the same seeds.
    """
    if not seeds:
        raise ValueError("need at least one seed")
    t0 = time.perf_counter()
    plan = _experiments(quick)
    unknown = sorted(set(only or ()) - set(plan))
    if unknown:
        raise ValueError(f"no such section: {', '.join(unknown)} (have: {', '.join(plan)})")
    cached: dict[str, Any] = {}
    if only is not None:
        try:
            cached = pickle.loads(cache_path(output).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise ValueError(f"no earlier run to take the other sections from: {exc}") from None
        if cached.get("seeds") != list(seeds) or cached.get("quick") != quick:
            raise ValueError("the earlier run used other seeds or set: run all sections")
    tasks: list[tuple[str, int, int]] = []
    calls: list[tuple[Experiment, int, bool]] = []
    for section, fns in plan.items():
        if only is not None and section not in only:
            continue
        for i, fn in enumerate(fns):
            for seed in seeds[:1] if isinstance(fn, SeedIndependent) else seeds:
                tasks.append((section, i, seed))
                calls.append((fn, seed, seed == seeds[0]))
    jobs = jobs or os.cpu_count() or 1
    results: list[list[Row]]
    if jobs == 1:
        results = [_run_task(c) for c in calls]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_run_task, calls))
    grouped: dict[tuple[str, int, int], list[Row]] = {}
    for (section, i, _seed), rows in zip(tasks, results, strict=True):
        for k, row in enumerate(rows):
            grouped.setdefault((section, i, k), []).append(row)
    sections: dict[str, list[Summary]] = {
        name: list(cached.get("sections", {}).get(name, [])) if only is not None else []
        for name in plan
    }
    for name in only or plan:
        sections[name] = []
    for (section, i, _k), rows in grouped.items():
        once = isinstance(plan[section][i], SeedIndependent) and len(seeds) > 1
        s = summarise(section, rows, seed_independent=once)
        sections[section].append(s)
        log(
            f"{s.status:6} {s.first.experiment}: {s.first.setting}: {s.statistic()} ({s.wall:.1f} s)"
        )
    walls = dict(cached.get("walls", {}))
    wall_now = time.perf_counter() - t0
    for name in only or plan:
        walls[name] = wall_now / len(only or plan)
    for ss in sections.values():
        for s in ss:
            for r in s.rows:
                run = r.extra.get("run")
                if isinstance(run, RunStats):
                    run.queue_delays = []  # only the CoDel row reads them, and has already
    cache_path(output).write_bytes(
        pickle.dumps({"seeds": list(seeds), "quick": quick, "sections": sections, "walls": walls})
    )
    figures = _plots(sections, output.parent / "img") if plots else []
    summaries = [s for ss in sections.values() for s in ss]
    output.write_text(
        _markdown(
            summaries,
            figures,
            seeds=seeds,
            command=command,
            wall=sum(walls.values()),
            jobs=jobs,
            quick=quick,
        )
    )
    return summaries


def counts(summaries: Sequence[Summary]) -> tuple[int, int, int]:
    """``(passed, checked, reported)``: report rows are not counted as checks."""
    checked = [s for s in summaries if s.status != "report"]
    return (
        sum(s.status == "pass" for s in checked),
        len(checked),
        len(summaries) - len(checked),
    )


def _seed_text(seeds: Sequence[int]) -> str:
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 1:
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seed" + ("s " if len(seeds) > 1 else " ") + ", ".join(map(str, seeds))


def _markdown(
    summaries: Sequence[Summary],
    figures: Sequence[tuple[str, str]],
    *,
    seeds: Sequence[int],
    command: str,
    wall: float,
    jobs: int,
    quick: bool,
) -> str:
    passed, checked, reported = counts(summaries)
    cpu = sum(s.wall for s in summaries)
    lines = [
        "# Congestion control: validation against the published models",
        "",
        "<!-- Generated by `" + command + "`; edit src/synack/sim/validate.py, not this file. -->",
        "",
        f"Command: `{command}` ({len(seeds)} {_seed_text(seeds)}{', quick set' if quick else ''}; "
        f"{jobs} worker process{'es' if jobs > 1 else ''}).",
        "",
        f"- **Checks: {passed} of {checked} pass.** A check passes when the 95% confidence "
        "interval of its statistic over the seeds overlaps the target band.",
        f"- **Report rows: {reported}**, shown for information and not counted: the model does "
        "not cover them.",
        f"- Wall time {wall:.0f} s for the whole command; the runs' own wall times, "
        f"{jobs} at a time, add up to {cpu:.0f} s (both grow when other work shares the "
        "machine).",
        "",
        "Every experiment runs on the deterministic simulator (`synack.sim`): bulk flows "
        "through one bottleneck (a dumbbell; all the delay on the bottleneck and its "
        "return path), loss only in the data direction, the default `Config` (SACK, "
        "timestamps, RACK-TLP, PRR) with buffers large enough that the receive window "
        "never limits. One seed gives the same numbers every time; the seed draws the "
        "random losses, the phase of a periodic loss pattern and the flows' start "
        "times (so a row whose run has none of these gives the same value for every "
        "seed). The functions are in `src/synack/sim/validate.py`; "
        "`tests/sim/test_validation.py` runs a subset of them with the same bands.",
        "",
        "| experiment | setting | model assumes | measured (mean ± 95% CI) | model "
        "| statistic: mean [95% CI] | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        r = s.first
        result = {"pass": "pass", "fail": "**fail**", "report": "report"}[s.status]
        lines.append(
            f"| {r.experiment} | {r.setting} | {r.assumes} | {s.measured()} | {r.model} | "
            f"{r.statistic}: {s.statistic()} | {r.target} | {result} |"
        )
    lines += ["", "## Notes", ""]
    lines += _NOTES
    for name, caption in figures:
        lines += ["", f"![{caption}](img/{name})", "", f"*{caption}*"]
    lines.append("")
    return "\n".join(lines)


_NOTES = [
    "- **Confidence intervals** are Student's t intervals, mean ± t(n-1) s/sqrt(n), over the "
    "per-seed values. The band is the model's tolerance (±25% around a model value); a row "
    "fails when its whole interval lies outside the band.",
    "- **Mathis** (Mathis, Semke, Mahdavi, Ott 1997): goodput = MSS/RTT * sqrt(3/(2b)) / "
    "sqrt(p). synack's NewReno counts acknowledged bytes in congestion avoidance "
    "(RFC 5681 3.1, as RFC 3465 suggests), so a delayed-ACK receiver does not slow its "
    "growth: b = 1 fits both with and without delayed ACKs, and the delayed-ACK rows are "
    "compared with b = 1 (b = 2 is shown too). The random-loss rows are checked against "
    "Mathis as well: the derivation assumes periodic loss, but the square-root law with a "
    "constant of the same size also fits random loss in the paper's simulations.",
    "- **PFTK** is the TCP throughput equation of RFC 5348 3.1 (b = 1, t_RTO = max(4 RTT, "
    "synack's minimum RTO, `Config.min_rto`)). It models Reno's timeouts after losses that fast "
    "retransmit cannot repair; SACK with RACK-TLP almost never needs one here, so it "
    "underestimates synack at high p and is shown for reference only.",
    "- **CUBIC** is compared with RFC 9438's response function (Figure 8, C = 0.4, "
    "beta = 0.7) where it is above Reno's window (the concave region); fast convergence "
    "is on, as by default. That function assumes deterministic loss: with random loss, "
    "epochs between losses vary, and CUBIC's window, convex in time past its plateau, "
    "averages more than the function predicts (1.6 times on some seeds), so the random-loss "
    "row is a report, not a check.",
    "- The long-fat-path comparison scales 1 Gbit/s down to keep the run short; at "
    "p = 0.001% NewReno's window is loss-limited far below the BDP.",
    "- **Fairness** uses Jain's index (sum x)^2 / (n sum x^2) over the goodputs of the "
    "measured window (the last two thirds; flows start 0.5 s apart plus a seeded jitter of "
    "up to 100 ms). BBR v1 rows are reported, not judged: several BBR v1 flows keep a "
    "standing queue of about one BDP between them (cwnd_gain 2) and, once each flow's "
    "share of the BDP is a few packets (8 flows on 17 packets here), they share unevenly; "
    "both are known properties of v1 (Hock, Bless, Zitterbart 2017), which BBRv2/v3 "
    "address.",
    "- **Coexistence**: NewReno's share of the two flows' goodput must lie in [1/3, 2/3] "
    "(equivalently, neither flow gets more than twice the other; Jain >= 0.9).",
    "- **Utilisation** is goodput over the payload capacity of the bottleneck (headers, "
    "52 octets a segment with timestamps, excluded); queueing delay is sampled every "
    "20 ms and given in RTTs for the check.",
    "- **One run for all seeds**: a run with one flow, no random loss and no start "
    "jitter has no random element (the seed changes only the ISNs and ports), so it runs "
    "once and stands for every seed; its row says so instead of giving an interval.",
    "- **ECN** (RFC 3168): both ends negotiate ECN, data goes out ECT(0), CoDel marks CE "
    "where it would drop, the receiver echoes ECE until CWR and the sender cuts its window "
    "once per window of data, as for a loss. **DCTCP** (RFC 8257) runs over a queue that "
    "marks every packet arriving to more than K packets; its receivers echo each mark "
    "exactly, delayed ACKs or not: when the CE state of arriving data changes, an ACK "
    "still held back goes out first with the prior state's ECE (RFC 8257 3.2), so no ACK "
    "mixes marked and unmarked octets.",
    "- **Not yet: Accurate ECN** (RFC 9768, the tcpm working group's AccECN). synack "
    "speaks RFC 3168 ECN only: one ECE signal per round trip, so DCTCP learns the "
    "fraction of marked octets from the receiver's per-change ACKs. AccECN would "
    "negotiate with AE, CWR and ECE all set on the SYN, echo the SYN's and the "
    "SYN-ACK's IP ECN field in the ACE bits of the handshake, then count CE-marked "
    "packets in the 3-bit ACE field of every ACK and marked octets in the AccECN "
    "option. Negotiation alone would be wrong (a peer that agrees expects ACE "
    "feedback on every ACK), so an AccECN SYN is answered as RFC 3168 asks, with "
    "ECE alone, which an AccECN client takes as classic ECN "
    "(tests/packetdrill/ecn/accecn-syn-answered-classic.pkt, on Linux too). Nor is "
    "there L4S (RFC 9330-9332: the ECT(1) identifier and a scalable, Prague-style sender).",
    "- **CoDel** (RFC 8289, TARGET 5 ms, INTERVAL 100 ms) manages an 8-BDP buffer that "
    "drop-tail would keep full; its queueing delay is the wait of every packet the "
    "bottleneck sent in the measured window.",
]

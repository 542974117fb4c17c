"""Congestion-control experiments on the simulator, and the published models they test.

:func:`run_flows` runs N long bulk flows, one per sender host, through one
bottleneck of a dumbbell (all delay on the bottleneck and its return path, so
every flow sees the same RTT) and measures each flow over a window after a
warm-up: goodput, time-averaged cwnd, smoothed RTT, retransmissions, and the
bottleneck's queueing delay. The model functions give what the literature
predicts: :func:`mathis` (Mathis et al. 1997), :func:`pftk` (Padhye et al. 1998,
the TCP throughput equation of RFC 5348 3.1), CUBIC's response function
(:func:`synack.cc.cubic.response_function`, RFC 9438 5) and :func:`jain`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from synack.sim.apps import BulkSender, Sink
from synack.sim.engine import Simulator
from synack.sim.link import LinkConfig
from synack.sim.scenario import endpoint_secret
from synack.sim.topology import HostSpec, dumbbell
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint

__all__ = [
    "HEADER_BYTES",
    "FlowStats",
    "PathSpec",
    "RunStats",
    "jain",
    "mathis",
    "pftk",
    "run_flows",
]

HEADER_BYTES = 52
"""IPv4 + TCP + Timestamps option: the per-segment overhead on the wire."""

RECEIVER = "10.0.0.5"
PORT = 5001
_ENDLESS = 1 << 50  # bytes a bulk sender offers: more than any run delivers


def mathis(mss: int, rtt: float, p: float, b: int = 1) -> float:
    """Mathis et al. 1997: ``MSS / RTT * sqrt(3 / (2 b)) / sqrt(p)`` bytes per second."""
    return mss / rtt * math.sqrt(3 / (2 * b)) / math.sqrt(p)


def pftk(mss: int, rtt: float, p: float, t_rto: float, b: int = 1) -> float:
    """The TCP throughput equation of RFC 5348 3.1 (Padhye et al.), bytes per second.

    ``X = s / (R*sqrt(2*b*p/3) + t_RTO * (3*sqrt(3*b*p/8)) * p * (1 + 32*p^2))``.
    """
    denom = rtt * math.sqrt(2 * b * p / 3) + t_rto * (3 * math.sqrt(3 * b * p / 8)) * p * (
        1 + 32 * p * p
    )
    return mss / denom


def jain(xs: Sequence[float]) -> float:
    """Jain's fairness index: ``(sum x)^2 / (n * sum x^2)``, 1 when all are equal."""
    if not xs:
        return 1.0
    s = sum(xs)
    sq = sum(x * x for x in xs)
    return s * s / (len(xs) * sq) if sq else 1.0


@dataclass(frozen=True, slots=True)
class PathSpec:
    """The shared path: RTT (µs), bottleneck bandwidth (bit/s, None: unlimited), its
    drop-tail queue (packets), and loss on the data direction (random ``loss``, or
    every ``periodic_loss``-th packet)."""

    rtt: int
    bandwidth: int | None = None
    queue_packets: int | None = None
    loss: float = 0.0
    periodic_loss: int = 0

    @property
    def bdp_packets(self) -> int:
        """The bandwidth-delay product in full-size packets (1500 octets)."""
        if self.bandwidth is None:
            return 0
        return max(1, self.bandwidth * self.rtt // (8 * 1500 * 1_000_000))


@dataclass
class FlowStats:
    """One flow over the measurement window."""

    cc: str
    mss: int
    goodput: float
    """Octets acknowledged per second."""
    mean_cwnd: float
    """Time-averaged cwnd, in segments of ``mss``."""
    mean_srtt: float
    """Average smoothed RTT, µs."""
    retransmissions: int
    timeouts: int
    series: list[tuple[float, float, float]] = field(default_factory=list)
    """Samples ``(seconds, cwnd in segments, megabytes acknowledged)`` over the run."""


@dataclass
class RunStats:
    """A run of :func:`run_flows`."""

    path: PathSpec
    duration: int
    warmup: int
    flows: list[FlowStats]
    mean_queue_delay: float
    """Average time a packet arriving at the bottleneck waits in its queue, µs."""
    queue_series: list[tuple[float, float]]
    """Samples ``(seconds, queueing delay in ms)``."""
    wall_seconds: float
    events: int

    @property
    def total_goodput(self) -> float:
        return sum(f.goodput for f in self.flows)

    def utilisation(self) -> float:
        """Goodput over the most the bottleneck can carry as payload (headers excluded)."""
        bw = self.path.bandwidth
        if bw is None or not self.flows:
            return 0.0
        mss = self.flows[0].mss
        return self.total_goodput / (bw / 8 * mss / (mss + HEADER_BYTES))


def run_flows(
    ccs: Sequence[str],
    path: PathSpec,
    *,
    duration: int,
    warmup: int,
    seed: int = 1,
    stagger: int = 0,
    config: Config | None = None,
    receiver_config: Config | None = None,
    sample_every: int = 20_000,
) -> RunStats:
    """Run one bulk flow per entry of ``ccs`` (its congestion control) for ``duration`` µs.

    Flow ``i`` starts at ``i * stagger``. Statistics cover ``[warmup, duration]``.
    ``config`` is the senders' base configuration (its congestion control is
    replaced per flow), ``receiver_config`` the receiver's.
    """
    if not 0 <= warmup < duration:
        raise ValueError("need 0 <= warmup < duration")
    base = config or Config()
    sim = Simulator()
    receiver = Endpoint(
        [RECEIVER],
        config=receiver_config or base,
        isn_secret=endpoint_secret(seed, "receiver"),
        port_seed=seed,
        name="receiver",
    )
    sink = Sink(receiver, PORT, backlog=len(ccs) + 1)
    senders: list[BulkSender] = []
    specs: list[HostSpec] = []
    for i, cc in enumerate(ccs):
        addr = f"10.1.{i // 250}.{i % 250 + 1}"
        ep = Endpoint(
            [addr],
            config=dataclasses.replace(base, congestion_control=cc),
            isn_secret=endpoint_secret(seed, f"sender{i}"),
            port_seed=seed + 1 + i,
            name=f"s{i}",
        )
        app = BulkSender(ep, RECEIVER, PORT, _ENDLESS, seed=seed * 1000 + i)
        senders.append(app)
        specs.append(HostSpec(ep, f"s{i}", (addr,), app))
    half = path.rtt // 2
    net = dumbbell(
        sim,
        specs,
        HostSpec(receiver, "receiver", (RECEIVER,), sink),
        access=LinkConfig(),
        bottleneck=LinkConfig(
            delay=half,
            bandwidth=path.bandwidth,
            queue_packets=path.queue_packets,
            loss=path.loss,
            periodic_loss=path.periodic_loss,
        ),
        reverse=LinkConfig(delay=path.rtt - half),
        seed=seed,
    )
    for i, (node, app) in enumerate(zip(net.senders, senders, strict=True)):
        node.call(i * stagger, app.start)

    n = len(ccs)
    series: list[list[tuple[float, float, float]]] = [[] for _ in range(n)]
    srtt_sum = [0.0] * n
    cwnd_sum = [0.0] * n
    count = [0] * n
    acked_at_warmup = [0] * n
    queue_series: list[tuple[float, float]] = []
    queue_sum = 0.0
    queue_count = 0
    bottleneck = net.bottleneck
    bw = path.bandwidth

    def sample(now: int) -> None:
        nonlocal queue_sum, queue_count
        measuring = now >= warmup
        for i, app in enumerate(senders):
            conn = app.conn
            if conn is None:
                continue
            mss = conn.mss
            cw = conn.cwnd / mss
            series[i].append((now / 1e6, cw, conn.bytes_acked / 1e6))
            if measuring:
                cwnd_sum[i] += cw
                srtt_sum[i] += conn.srtt or 0
                count[i] += 1
        if bw:
            delay_ms = bottleneck.queue_backlog[1] * 8_000 / bw
            queue_series.append((now / 1e6, delay_ms))
            if measuring:
                queue_sum += delay_ms * 1000
                queue_count += 1
        if now + sample_every <= duration:
            sim.at(now + sample_every, sample)

    def mark_warmup(now: int) -> None:
        for i, app in enumerate(senders):
            if app.conn is not None:
                acked_at_warmup[i] = app.conn.bytes_acked

    sim.at(0, sample)
    sim.at(warmup, mark_warmup)
    wall0 = time.perf_counter()
    sim.run(until=duration)
    wall = time.perf_counter() - wall0
    window = (duration - warmup) / 1e6
    flows = []
    for i, app in enumerate(senders):
        conn: Connection | None = app.conn
        if conn is None:
            raise RuntimeError(f"flow {i} never connected")
        c = max(count[i], 1)
        flows.append(
            FlowStats(
                cc=ccs[i],
                mss=conn.mss,
                goodput=(conn.bytes_acked - acked_at_warmup[i]) / window,
                mean_cwnd=cwnd_sum[i] / c,
                mean_srtt=srtt_sum[i] / c,
                retransmissions=conn.counters["retransmit.segments"],
                timeouts=conn.counters["retransmit.rto"],
                series=series[i],
            )
        )
    return RunStats(
        path=path,
        duration=duration,
        warmup=warmup,
        flows=flows,
        mean_queue_delay=queue_sum / queue_count if queue_count else 0.0,
        queue_series=queue_series,
        wall_seconds=wall,
        events=sim.events_run,
    )

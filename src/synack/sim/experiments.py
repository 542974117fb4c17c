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
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from synack.sim.apps import BulkSender, Sink
from synack.sim.aqm import AqmConfig
from synack.sim.engine import Simulator
from synack.sim.link import TRACE_OPPORTUNITY, GilbertElliott, LinkConfig
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
    "mean_ci",
    "percentile",
    "pftk",
    "run_flows",
    "t_quantile",
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


# Student's t, 97.5% quantile (two-sided 95%), for 1..30 degrees of freedom.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile(df: int) -> float:
    """Student's t 97.5% quantile for ``df`` degrees of freedom (a 95% two-sided interval).

    Tabulated up to 30; beyond, the Cornish-Fisher expansion around the normal
    quantile 1.95996 (within 0.001 of the exact value there).
    """
    if df < 1:
        raise ValueError("need at least one degree of freedom")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df)


def mean_ci(xs: Sequence[float]) -> tuple[float, float, float]:
    """``(mean, low, high)``: the sample mean and its 95% confidence interval.

    Student's t interval ``mean +- t(n-1) * s / sqrt(n)`` (``s`` the sample
    standard deviation). With one value the interval is that value.
    """
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    m = math.fsum(xs) / n
    if n == 1:
        return m, m, m
    var = math.fsum((x - m) ** 2 for x in xs) / (n - 1)
    half = t_quantile(n - 1) * math.sqrt(var / n)
    return m, m - half, m + half


@dataclass(frozen=True, slots=True)
class PathSpec:
    """The shared path: RTT (µs), bottleneck bandwidth (bit/s, None: unlimited), its
    drop-tail queue (packets and/or bytes), and impairments on the data direction:
    random ``loss``, bursty ``burst`` loss, every ``periodic_loss``-th packet
    (``periodic_phase`` shifts that pattern, see
    :attr:`~synack.sim.link.LinkConfig.periodic_offset`), ``reorder`` and
    ``duplicate`` probabilities. ``aqm`` manages the bottleneck queue;
    ``trace`` (delivery opportunities in ms, Mahimahi's format) replaces
    ``bandwidth``."""

    rtt: int
    bandwidth: int | None = None
    queue_packets: int | None = None
    loss: float = 0.0
    periodic_loss: int = 0
    periodic_phase: int = 0
    queue_bytes: int | None = None
    burst: GilbertElliott | None = None
    reorder: float = 0.0
    duplicate: float = 0.0
    aqm: AqmConfig | None = None
    trace: tuple[int, ...] | None = None

    @property
    def capacity(self) -> int | None:
        """The bottleneck's rate in bit/s: the bandwidth, or a trace's average."""
        if self.trace is not None:
            return len(self.trace) * TRACE_OPPORTUNITY * 8 * 1000 // self.trace[-1]
        return self.bandwidth

    @property
    def bdp_packets(self) -> int:
        """The bandwidth-delay product in full-size packets (1500 octets)."""
        rate = self.capacity
        if rate is None:
            return 0
        return max(1, rate * self.rtt // (8 * 1500 * 1_000_000))

    def bottleneck(self) -> LinkConfig:
        """The data direction's bottleneck link (half the RTT of delay)."""
        return LinkConfig(
            delay=self.rtt // 2,
            bandwidth=self.bandwidth,
            queue_packets=self.queue_packets,
            queue_bytes=self.queue_bytes,
            loss=self.loss,
            burst=self.burst,
            periodic_loss=self.periodic_loss,
            periodic_offset=self.periodic_phase,
            reorder=self.reorder,
            duplicate=self.duplicate,
            aqm=self.aqm,
            trace=self.trace,
        )


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
    max_cwnd: float = 0.0
    """Largest cwnd sampled in the window, in segments."""
    loss_events: int = 0
    """Fast retransmits (recovery episodes) plus retransmission timeouts, over the run."""
    completed: bool = True
    """With ``nbytes``: every byte was acknowledged before the time limit."""


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
    queue_delays: list[int] = field(default_factory=list)
    """The wait of every packet the bottleneck accepted in the window, µs."""
    drops: dict[str, int] = field(default_factory=dict)
    """Packets the network dropped, by reason."""
    marks: int = 0
    """Packets the bottleneck's queue manager marked CE."""

    @property
    def total_goodput(self) -> float:
        return sum(f.goodput for f in self.flows)

    def utilisation(self) -> float:
        """Goodput over the most the bottleneck can carry as payload (headers excluded)."""
        bw = self.path.capacity
        if bw is None or not self.flows:
            return 0.0
        mss = self.flows[0].mss
        return self.total_goodput / (bw / 8 * mss / (mss + HEADER_BYTES))


class _TimedSender(BulkSender):
    """A bulk sender that notes when its last byte was acknowledged."""

    acked_all_at: int | None = None
    on_done: Callable[[], None] | None = None

    def on_step(self, now: int) -> None:
        conn = self.conn
        if self.acked_all_at is None and conn is not None and conn.bytes_acked >= self.source.total:
            self.acked_all_at = now
            if self.on_done is not None:
                self.on_done()


def percentile(xs: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``xs``, interpolating linearly between ranks."""
    if not xs:
        return 0.0
    ys = sorted(xs)
    k = (len(ys) - 1) * q / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(ys) - 1)
    return ys[lo] + (ys[hi] - ys[lo]) * (k - lo)


def run_flows(
    ccs: Sequence[str],
    path: PathSpec,
    *,
    duration: int,
    warmup: int,
    seed: int = 1,
    stagger: int = 0,
    start_jitter: int = 0,
    config: Config | None = None,
    receiver_config: Config | None = None,
    sample_every: int = 20_000,
    nbytes: int | None = None,
) -> RunStats:
    """Run one bulk flow per entry of ``ccs`` (its congestion control) for ``duration`` µs.

    Flow ``i`` starts at ``i * stagger`` plus a seeded uniform draw from
    ``[0, start_jitter]`` µs (so that seeds differ even on a path without random
    loss). Statistics cover ``[warmup, duration]``. ``config`` is the senders'
    base configuration (its congestion control is replaced per flow),
    ``receiver_config`` the receiver's.

    With ``nbytes``, each flow sends that many octets and closes; the run ends
    when all are acknowledged (``duration`` is then a time limit), and a flow's
    goodput is ``nbytes`` over the time from its start to its last ACK.
    """
    if not 0 <= warmup < duration:
        raise ValueError("need 0 <= warmup < duration")
    if nbytes is not None and nbytes <= 0:
        raise ValueError("nbytes must be > 0")
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
    senders: list[_TimedSender] = []
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
        app = _TimedSender(ep, RECEIVER, PORT, nbytes or _ENDLESS, seed=seed * 1000 + i)
        senders.append(app)
        specs.append(HostSpec(ep, f"s{i}", (addr,), app))
    half = path.rtt // 2
    net = dumbbell(
        sim,
        specs,
        HostSpec(receiver, "receiver", (RECEIVER,), sink),
        access=LinkConfig(),
        bottleneck=path.bottleneck(),
        reverse=LinkConfig(delay=path.rtt - half),
        seed=seed,
    )
    starts = random.Random(f"run_flows/{seed}")
    start_at: list[int] = []
    for i, (node, app) in enumerate(zip(net.senders, senders, strict=True)):
        jitter = starts.randint(0, start_jitter) if start_jitter else 0
        start_at.append(i * stagger + jitter)
        node.call(start_at[-1], app.start)
    if nbytes is not None:
        warmup = 0

    n = len(ccs)
    series: list[list[tuple[float, float, float]]] = [[] for _ in range(n)]
    srtt_sum = [0.0] * n
    cwnd_sum = [0.0] * n
    cwnd_max = [0.0] * n
    count = [0] * n
    acked_at_warmup = [0] * n
    queue_series: list[tuple[float, float]] = []
    queue_sum = 0.0
    queue_count = 0
    bottleneck = net.bottleneck
    bw = path.capacity

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
            if measuring and app.acked_all_at is None:
                cwnd_sum[i] += cw
                cwnd_max[i] = max(cwnd_max[i], cw)
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
        bottleneck.sojourn = []
        for i, app in enumerate(senders):
            if app.conn is not None:
                acked_at_warmup[i] = app.conn.bytes_acked

    sim.at(0, sample)
    sim.at(warmup, mark_warmup)
    wall0 = time.perf_counter()
    if nbytes is None:
        sim.run(until=duration)
    else:

        def all_done() -> None:
            if all(app.acked_all_at is not None for app in senders):
                sim.stop()

        for app in senders:
            app.on_done = all_done
        sim.run(until=duration)
    wall = time.perf_counter() - wall0
    end = sim.now if nbytes is not None else duration
    flows = []
    for i, app in enumerate(senders):
        conn: Connection | None = app.conn
        if conn is None:
            raise RuntimeError(f"flow {i} never connected")
        c = max(count[i], 1)
        if nbytes is None:
            goodput = (conn.bytes_acked - acked_at_warmup[i]) / ((duration - warmup) / 1e6)
        else:
            finished = app.acked_all_at
            finish = finished if finished is not None else end
            goodput = min(conn.bytes_acked, nbytes) / max((finish - start_at[i]) / 1e6, 1e-6)
        flows.append(
            FlowStats(
                cc=ccs[i],
                mss=conn.mss,
                goodput=goodput,
                mean_cwnd=cwnd_sum[i] / c,
                mean_srtt=srtt_sum[i] / c,
                retransmissions=conn.counters["retransmit.segments"],
                timeouts=conn.counters["retransmit.rto"],
                series=series[i],
                max_cwnd=cwnd_max[i],
                loss_events=conn.counters["fast_retransmit"] + conn.counters["retransmit.rto"],
                completed=nbytes is None or app.acked_all_at is not None,
            )
        )
    return RunStats(
        path=path,
        duration=end,
        warmup=warmup,
        flows=flows,
        mean_queue_delay=queue_sum / queue_count if queue_count else 0.0,
        queue_series=queue_series,
        wall_seconds=wall,
        events=sim.events_run,
        queue_delays=bottleneck.sojourn or [],
        drops=net.drops(),
        marks=bottleneck.marks,
    )

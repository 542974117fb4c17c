"""Ready-to-run simulations: a verified bulk transfer between two hosts.

:func:`run_transfer` builds two endpoints (client 192.168.1.100, server
10.0.0.5 port 80) on a two-host path, sends a seeded pseudo-random stream of
``nbytes`` from client to server, closes gracefully, and returns a
:class:`TransferResult` with what ``synack sim`` prints: bytes delivered and
whether their SHA-256 matches, goodput in simulated time, segments,
retransmissions and drops by reason. Pcap, JSON Lines and plot outputs are
optional observers; none of them changes the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from synack.sim.apps import BulkSender, Sink
from synack.sim.engine import Simulator
from synack.sim.link import Link, LinkConfig
from synack.sim.node import HostNode
from synack.sim.topology import HostSpec, TwoHosts, two_hosts
from synack.tcp.config import Config
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import Tracer
from synack.trace import JsonlWriter, PcapObserver, PcapWriter, fanout
from synack.trace.plot import PlotData
from synack.wire.icmp import IcmpKind, quote_for_error

__all__ = [
    "CLIENT_ADDR",
    "SERVER_ADDR",
    "SERVER_PORT",
    "TransferResult",
    "endpoint_secret",
    "run_transfer",
    "wire_pmtud",
]

CLIENT_ADDR = "192.168.1.100"
SERVER_ADDR = "10.0.0.5"
SERVER_PORT = 80

Progress = Callable[[int, int, int], None]
"""``progress(bytes_delivered, bytes_total, sim_now_us)``."""


def endpoint_secret(seed: int, role: str) -> bytes:
    """A 32-byte RFC 6528 secret derived from ``seed`` (reproducible runs)."""
    return hashlib.sha256(f"synack-sim/{seed}/{role}".encode()).digest()


def wire_pmtud(sim: Simulator, node: HostNode, link: Link) -> None:
    """Report packets a link drops as too big to ``node``'s endpoint as ICMP
    "fragmentation needed" (RFC 1191), one event later, as a router would."""

    def hook(packet: bytes, mtu: int, now: int) -> None:
        handle = getattr(node.endpoint, "handle_icmp_error", None)
        if handle is None:
            return
        kind: IcmpKind = "frag_needed" if packet[0] >> 4 == 4 else "packet_too_big"
        quoted = quote_for_error(packet)

        def deliver(now: int) -> None:
            handle(now, kind=kind, original=quoted, mtu=mtu)
            node.step(now)

        sim.at(now, deliver)

    link.mtu_hook = hook


@dataclass
class TransferResult:
    """What a transfer did. ``to_json()`` gives the keys ``synack sim --json`` prints."""

    bytes_sent: int
    bytes_delivered: int
    verified: bool
    sim_seconds: float
    wall_seconds: float
    segments_sent: int
    data_segments_sent: int
    retransmissions: int
    drops: dict[str, int]
    mss: int
    cc: str
    seed: int
    completed: bool
    error: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    links: dict[str, dict[str, object]] = field(default_factory=dict)
    events: int = 0

    @property
    def goodput_bytes_per_s(self) -> float:
        """Verified-or-not bytes delivered per simulated second."""
        return self.bytes_delivered / self.sim_seconds if self.sim_seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "bytes_sent": self.bytes_sent,
            "bytes_delivered": self.bytes_delivered,
            "verified": self.verified,
            "goodput_bytes_per_s": round(self.goodput_bytes_per_s, 1),
            "sim_seconds": self.sim_seconds,
            "wall_seconds": round(self.wall_seconds, 4),
            "segments_sent": self.segments_sent,
            "data_segments_sent": self.data_segments_sent,
            "retransmissions": self.retransmissions,
            "drops": self.drops,
            "mss": self.mss,
            "cc": self.cc,
            "seed": self.seed,
            "completed": self.completed,
            "error": self.error,
        }
        return out


def run_transfer(
    nbytes: int,
    link: LinkConfig,
    *,
    reverse: LinkConfig | None = None,
    seed: int = 0,
    cc: str = "newreno",
    mss: int | None = None,
    config: Config | None = None,
    pcap: str | Path | None = None,
    pcap_at: str = "send",
    trace: str | Path | None = None,
    plot: PlotData | None = None,
    tracer: Tracer | None = None,
    progress: Progress | None = None,
    time_limit: int = 3_600_000_000,
) -> TransferResult:
    """Send ``nbytes`` from client to server over ``link`` (``reverse`` for the ACKs).

    ``mss`` defaults to what fits the link's MTU (1460 without one). ``pcap_at``
    is the capture point (``send`` or ``deliver``, see
    :class:`~synack.trace.pcap.PcapObserver`). The run
    ends when both sides have closed (client in TIME-WAIT), or at
    ``time_limit`` microseconds of simulated time.
    """
    if nbytes < 0:
        raise ValueError("nbytes must be >= 0")
    base = config or Config()
    if mss is None:
        mss = base.mss if link.mtu is None else min(base.mss, link.mtu - 40)
    cfg = dataclasses.replace(base, mss=mss, congestion_control=cc)

    pcap_writer = PcapWriter(pcap) if pcap is not None else None
    jsonl = JsonlWriter(trace) if trace is not None else None
    trace_fn: Tracer | None = None
    if jsonl is not None or plot is not None or tracer is not None:
        trace_fn = fanout(jsonl, plot.trace if plot is not None else None, tracer)

    sim = Simulator()
    client = Endpoint(
        [CLIENT_ADDR],
        config=cfg,
        isn_secret=endpoint_secret(seed, "client"),
        port_seed=seed,
        tracer=trace_fn,
        name="client",
    )
    server = Endpoint(
        [SERVER_ADDR],
        config=cfg,
        isn_secret=endpoint_secret(seed, "server"),
        port_seed=seed + 1,
        tracer=trace_fn,
        name="server",
    )
    sender = BulkSender(client, SERVER_ADDR, SERVER_PORT, nbytes, seed=seed)
    sink = Sink(server, SERVER_PORT)
    net: TwoHosts = two_hosts(
        sim,
        HostSpec(client, "client", (CLIENT_ADDR,), sender),
        HostSpec(server, "server", (SERVER_ADDR,), sink),
        link,
        reverse or link,
        seed=seed,
    )
    wire_pmtud(sim, net.a, net.ab)
    wire_pmtud(sim, net.b, net.ba)
    if pcap_writer is not None:
        net.observe(PcapObserver(pcap_writer, at=pcap_at))
    if jsonl is not None:
        net.observe(jsonl.observe)
    if plot is not None:
        net.observe(plot.observe)

    net.a.call(0, sender.start)

    def finished() -> bool:
        conn = sender.conn
        if sender.error is not None or (conn is not None and sink.errors):
            return True
        return sender.closed_at is not None and len(sink.closed) > 0

    wall0 = time.perf_counter()
    try:
        while sim.pending and not finished():
            sim.run(until=time_limit, max_events=20_000)
            if progress is not None:
                progress(sink.total_received, nbytes, sim.now)
            if sim.now >= time_limit:
                break
    finally:
        wall = time.perf_counter() - wall0
        if pcap_writer is not None:
            pcap_writer.close()
        if jsonl is not None:
            jsonl.close()

    digests = list(sink.digests.values())
    delivered = sink.total_received
    verified = (
        len(digests) == 1
        and delivered == nbytes
        and digests[0].digest() == sender.source.sha256.digest()
        and sender.source.produced == nbytes
    )
    done_at = max(sink.finished.values(), default=sim.now)
    conn = sender.conn
    counters: dict[str, int] = dict(client.counters)
    if conn is not None:
        for k, v in conn.counters.items():
            counters[f"conn.{k}"] = v
    drops: dict[str, int] = {}
    for reason, n in net.drops().items():
        drops[reason] = drops.get(reason, 0) + n
    for ep in (client, server):
        for k, v in ep.counters.items():
            if k.startswith("drop.") and v:
                drops[k[5:]] = drops.get(k[5:], 0) + v
    conn_counters = conn.counters if conn is not None else {}
    # Segments sent again, each once (after an RTO, in recovery, as TLP, SYNs): TCP_INFO's
    # count. retransmit.fast and retransmit.tlp are parts of retransmit.segments.
    retransmissions = conn.info().retransmits if conn is not None else 0
    error = sender.error or next(iter(sink.errors.values()), None)
    if error is None and not finished():
        error = f"time limit of {time_limit / 1e6:g} s reached"
    return TransferResult(
        bytes_sent=nbytes - sender.source.remaining,
        bytes_delivered=delivered,
        verified=verified,
        sim_seconds=done_at / 1e6,
        wall_seconds=wall,
        segments_sent=int(client.counters.get("packets_out", 0)),
        data_segments_sent=int(conn_counters.get("segments_sent.data", 0)),
        retransmissions=retransmissions,
        drops=dict(sorted(drops.items())),
        mss=conn.mss if conn is not None else mss,
        cc=cc,
        seed=seed,
        completed=verified and error is None,
        error=error,
        counters=counters,
        links={name: lk.stats() for name, lk in net.links.items()},
        events=sim.events_run,
    )

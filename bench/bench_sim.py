"""Simulator benchmarks: a 10 MB transfer end to end, the engine alone, and the
memory of idle established connections (tracemalloc, 10,000 connections).

Run through ``bench/run.py`` (``make bench``) or directly
(``python bench/bench_sim.py``); prints a Markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc

from synack.sim import HostSpec, LinkConfig, Simulator, two_hosts
from synack.sim.scenario import endpoint_secret, run_transfer
from synack.sim.scripted import ScriptedHost
from synack.tcp.endpoint import Endpoint
from synack.tcp.state import State
from synack.wire.ip import emit_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, Segment

TEN_MB = 10_000_000
RUNS = 5


def transfer_10mb() -> dict[str, float]:
    """Median of RUNS clean 10 MB transfers (1460-byte MSS, 10 ms each way, no loss)."""
    walls, segs, events = [], 0, 0
    for _ in range(RUNS):
        r = run_transfer(TEN_MB, LinkConfig(delay=10_000), seed=1)
        assert r.verified, r.error
        walls.append(r.wall_seconds)
        segs = r.data_segments_sent
        events = r.events
        all_segments = sum(int(s["packets_sent"]) for s in r.links.values())  # type: ignore[call-overload]
    wall = statistics.median(walls)
    return {
        "wall": wall,
        "best": min(walls),
        "data_segments": segs,
        "data_per_s": segs / wall,
        "all_segments": all_segments,
        "all_per_s": all_segments / wall,
        "events": events,
    }


def engine_only(n: int = 200_000) -> float:
    """Packets per real second through one link between two scripted hosts (no TCP)."""
    sim = Simulator()
    a, b = ScriptedHost("a"), ScriptedHost("b")
    net = two_hosts(sim, HostSpec(a, "a"), HostSpec(b, "b"), LinkConfig(delay=1_000))
    packet = emit_tcp_packet(
        str_to_addr("10.0.0.1"),
        str_to_addr("10.0.0.2"),
        Segment(1, 2, 0, 0, ACK, payload=bytes(1460)),
    )
    # Every delivered packet makes b send one back: a ping-pong of n packets,
    # 16 in flight, so the heap holds a realistic number of entries.
    count = 0

    def bounce(pkt: bytes, now: int) -> None:
        nonlocal count
        count += 1
        if count < n:
            b.queue(pkt)

    b.on_packet = bounce
    a.on_packet = lambda pkt, now: a.queue(pkt)
    for i in range(16):
        net.a.call(i, lambda now: a.queue(packet))
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    return (count * 2) / wall


def idle_connection_memory(n: int = 10_000) -> dict[str, float]:
    """Bytes per idle ESTABLISHED connection, from tracemalloc, for ``n`` connections."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    sim = Simulator()
    client = Endpoint(["10.1.0.1"], isn_secret=endpoint_secret(0, "c"), port_seed=0, name="c")
    server = Endpoint(["10.2.0.1"], isn_secret=endpoint_secret(0, "s"), port_seed=0, name="s")
    listener = server.listen(80, backlog=n)
    net = two_hosts(sim, HostSpec(client, "c"), HostSpec(server, "s"), LinkConfig(delay=1_000))
    conns = []

    def open_all(now: int) -> None:
        for _ in range(n):
            conns.append(client.connect("10.2.0.1", 80, now))

    net.a.call(0, open_all)
    sim.run(until=5_000_000)
    accepted = []
    while (c := listener.accept()) is not None:
        accepted.append(c)
    assert len(accepted) == n and all(c.state is State.ESTABLISHED for c in conns)
    gc.collect()
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(s.size_diff for s in snap.compare_to(base, "filename"))
    return {"connections": 2 * n, "bytes_total": total, "per_connection": total / (2 * n)}


def report() -> str:
    """The section as Markdown."""
    t = transfer_10mb()
    eng = engine_only()
    mem = idle_connection_memory()
    lines = [
        "## Simulator (`bench/bench_sim.py`)",
        "",
        f"Python {sys.version.split()[0]}, one core. Clean 10 MB transfer, 1460-byte MSS, "
        f"10 ms each way, median of {RUNS} runs.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| real seconds per simulated 10 MB transfer | {t['wall']:.3f} s (best {t['best']:.3f} s) | < 0.3 s |",
        f"| data segments per real second, end to end | {t['data_per_s']:,.0f} | >= 25,000 |",
        f"| all segments (data + ACKs) per real second | {t['all_per_s']:,.0f} | |",
        f"| projected real time for 1 GB | {t['wall'] * 100:.1f} s | < 30 s |",
        f"| engine alone: packets per real second (link + heap, no TCP) | {eng:,.0f} | |",
        f"| memory per idle established connection ({mem['connections']:,.0f} TCBs) | "
        f"{mem['per_connection']:,.0f} bytes | < 4096 bytes |",
        "",
    ]
    return "\n".join(lines)


def run() -> None:
    """The ``bench/run.py`` entry point: print the section."""
    print(report())


if __name__ == "__main__":
    run()

"""Throughput through loss, duplication, reordering and corruption: synack against the Linux kernel.

This kernel has no netem, so an impairing relay does it: a small Python
process that holds the fd side of two TAP devices and copies Ethernet frames
between them, losing, duplicating, holding back (reordering) and corrupting
them with a seeded generator, in both directions. The topology (all in
namespaces this benchmark creates and deletes)::

    ns S: br0 (10.3.0.3, a kernel sender) + tapS (fd: synack, 10.3.0.5) + tapR (fd: relay)
    ns K: tapK (fd: relay), 10.3.0.1: the kernel receiver

The same relay, seed and receiver serve both senders: the kernel's TCP in ns S
and synack's (``synack send`` on tapS, bridged to tapR). Each transfer is
checked by the receiver (byte count and SHA-256) and bounded in time.
``python bench/bench_impaired.py [--mb 30] [--loss 5] [--dup 5] [--reorder 20] [--corrupt 1]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from synack.link.netns import add_netns, delete_netns  # noqa: E402

MB = 1_000_000
TIME_LIMIT = 300  # seconds per transfer
TRACE = os.environ.get("SYNACK_BENCH_TRACE")  # write synack's trace there (for studying a run)

RELAY = r"""
import heapq, os, random, select, sys, time
sys.path.insert(0, sys.argv[1])
from synack.link.device import TunTapDevice
ns_s, tap_r, ns_k, tap_k = sys.argv[2:6]
loss, dup, reorder, corrupt, hold_us, seed = (float(x) for x in sys.argv[6:12])
rng = random.Random(int(seed))
a = TunTapDevice(tap_r, offloads=False, netns=ns_s, persist=True)
b = TunTapDevice(tap_k, offloads=False, netns=ns_k, persist=True)
peer = {a.fd: b, b.fd: a}
held = []  # (release time, n, device, frame)
n = 0
stats = dict(frames=0, lost=0, duplicated=0, reordered=0, corrupted=0, largest=0)
print("relaying", flush=True)
def now():
    return time.monotonic_ns() // 1000
def out(dev, frame):
    global n
    if rng.random() < corrupt and len(frame) > 60:
        frame = bytearray(frame)
        i = rng.randrange(34, len(frame))  # past the Ethernet and IPv4 headers
        frame[i] ^= 1 << rng.randrange(8)
        frame = bytes(frame)
        stats["corrupted"] += 1
    dev.write(b"", frame)
while True:
    timeout = max(0.0, (held[0][0] - now()) / 1e6) if held else 1.0
    ready, _, _ = select.select([a.fd, b.fd], [], [], timeout)
    for fd in ready:
        src = a if fd == a.fd else b
        dst = peer[fd]
        for _ in range(64):
            frame = src.read()
            if frame is None:
                break
            stats["frames"] += 1
            if len(frame) > stats["largest"]:
                stats["largest"] = len(frame)
            if rng.random() < loss:
                stats["lost"] += 1
                continue
            copies = 2 if rng.random() < dup else 1
            stats["duplicated"] += copies - 1
            for _ in range(copies):
                if rng.random() < reorder:
                    stats["reordered"] += 1
                    n += 1
                    heapq.heappush(held, (now() + int(hold_us * (0.5 + rng.random())), n, dst, frame))
                else:
                    out(dst, frame)
    t = now()
    while held and held[0][0] <= t:
        _, _, dst, frame = heapq.heappop(held)
        out(dst, frame)
    if os.path.exists(sys.argv[12]):
        print(" ".join(f"{k}={v}" for k, v in stats.items()), flush=True)
        os.unlink(sys.argv[12])
"""

SENDER = """
import socket, sys, time, random
host, port, size, cc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = random.Random(7).randbytes(size)
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
s.settimeout(60)
s.connect((host, port))
t = time.monotonic()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
print(f"{time.monotonic() - t:.6f}", flush=True)
"""

SINK = """
import hashlib, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port)); srv.listen(4); print("listening", flush=True)
while True:
    c, _ = srv.accept(); t = None; n = 0; h = hashlib.sha256()
    buf = bytearray(1 << 20)
    while (k := c.recv_into(buf)):
        if t is None: t = time.monotonic()
        n += k; h.update(memoryview(buf)[:k])
    c.close()
    print(f"{n} {h.hexdigest()} {time.monotonic() - (t or time.monotonic()):.6f}", flush=True)
"""


Sender = Callable[["ImpairedLab", int], tuple[float, float, bool, str]]
"""A transfer: (seconds in all, seconds from the first octet received to the
last, data exact, counters to print)."""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


def _wait_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), True)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line.strip()
    raise RuntimeError(f"no {prefix!r} from {proc.args!r} within {timeout} s")


class ImpairedLab:
    """The two namespaces, the bridge, the relay and the receiver."""

    def __init__(self, args: argparse.Namespace) -> None:
        pid = os.getpid()
        self.ns_s, self.ns_k = f"synack-imp-s{pid}", f"synack-imp-k{pid}"
        self.args = args
        self.procs: list[subprocess.Popen[str]] = []
        self.flag = f"/tmp/synack-imp-{pid}.stats"

    def __enter__(self) -> ImpairedLab:
        a = self.args
        add_netns(self.ns_s)
        add_netns(self.ns_k)
        s, k = ["-n", self.ns_s], ["-n", self.ns_k]
        _ip(*s, "link", "add", "br0", "type", "bridge")
        for tap in ("tapR", "tapS"):
            _ip(*s, "tuntap", "add", "dev", tap, "mode", "tap")
            _ip(*s, "link", "set", tap, "master", "br0")
            _ip(*s, "link", "set", tap, "up")
        _ip(*s, "addr", "add", "10.3.0.3/24", "dev", "br0")
        _ip(*s, "link", "set", "br0", "up")
        _ip(*k, "tuntap", "add", "dev", "tapK", "mode", "tap")
        _ip(*k, "addr", "add", "10.3.0.1/24", "dev", "tapK")
        _ip(*k, "link", "set", "tapK", "up")
        relay_args = [
            str(ROOT / "src"),
            self.ns_s,
            "tapR",
            self.ns_k,
            "tapK",
            *(str(p / 100) for p in (a.loss, a.dup, a.reorder, a.corrupt)),
            str(a.hold_ms * 1000),
            str(a.seed),
            self.flag,
        ]
        relay = subprocess.Popen(
            [sys.executable, "-c", RELAY, *relay_args], stdout=subprocess.PIPE, text=True
        )
        self.procs.append(relay)
        self.relay = relay
        _wait_line(relay, "relaying", 30)
        sink = subprocess.Popen(
            ["ip", "netns", "exec", self.ns_k, sys.executable, "-c", SINK, "10.3.0.1", "9001"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(sink)
        self.sink = sink
        _wait_line(sink, "listening", 30)
        return self

    def received(self, timeout: float) -> tuple[int, str, float]:
        n, digest, seconds = _wait_line(self.sink, "", timeout).split()
        return int(n), digest, float(seconds)

    def relay_stats(self) -> str:
        Path(self.flag).touch()
        return _wait_line(self.relay, "frames=", 10)

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)
        delete_netns(self.ns_s)
        delete_netns(self.ns_k)
        if os.path.exists(self.flag):
            os.unlink(self.flag)


KERNEL_COUNTERS = (
    "TcpRetransSegs",
    "TCPTimeouts",
    "TCPLossProbes",
    "TCPSackRecovery",
    "TCPDSACKRecv",
    "TCPFullUndo",
    "TCPPartialUndo",
    "TCPSpuriousRTOs",
)


def _nstat(ns: str) -> dict[str, int]:
    """The namespace's TCP counters (absolute, the history file left alone)."""
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "nstat", "-a", "-s", "-z"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    counters = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            counters[parts[0].removeprefix("Tcp").removeprefix("Ext")] = int(parts[1])
            counters[parts[0]] = int(parts[1])
    return counters


def kernel_sender(lab: ImpairedLab, size: int, cc: str) -> tuple[float, float, bool, str]:
    """The kernel's TCP in ns S with congestion control ``cc`` (TCP_CONGESTION)."""
    before = _nstat(lab.ns_s)
    start = time.monotonic()
    subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            lab.ns_s,
            sys.executable,
            "-c",
            SENDER,
            "10.3.0.1",
            "9001",
            str(size),
            cc,
        ],
        check=True,
        timeout=TIME_LIMIT,
        capture_output=True,
    )
    n, digest, data_time = lab.received(TIME_LIMIT)
    seconds = time.monotonic() - start
    after = _nstat(lab.ns_s)
    notes = " ".join(
        f"{k.removeprefix('Tcp')}={after.get(k, 0) - before.get(k, 0)}" for k in KERNEL_COUNTERS
    )
    return seconds, data_time, n == size and digest == _digest(size), notes


def synack_sender(lab: ImpairedLab, size: int) -> tuple[float, float, bool, str]:
    """`synack send`: synack's defaults (NewReno, Linux's 200 ms RTO floor)."""
    start = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "synack",
            "send",
            "10.3.0.1:9001",
            "--bytes",
            str(size),
            "--netns",
            lab.ns_s,
            "--tap",
            "tapS",
            "--addr",
            "10.3.0.5/24",
            "--no-offload",
            "-q",
            *(["--trace", TRACE] if TRACE else []),
        ],
        check=True,
        timeout=TIME_LIMIT,
        capture_output=True,
        text=True,
    )
    n, digest, data_time = lab.received(TIME_LIMIT)
    # `synack send` sends its own pattern and prints its SHA-256: compare with the receiver's.
    ok = n == size and done.stdout.split()[-1] == digest
    return time.monotonic() - start, data_time, ok, ""


SYNACK_SENDER = r"""
import asyncio, hashlib, random, sys, time
sys.path.insert(0, sys.argv[1])
from synack import aio
from synack.tcp import Config
ns, size, min_rto, cc = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
trace = None
if len(sys.argv) > 6:
    from synack.trace.jsonl import JsonlWriter
    trace = JsonlWriter(sys.argv[6])
async def main():
    loop = asyncio.get_running_loop()
    cfg = Config(mss=1460, send_buffer=4 << 20, recv_buffer=4 << 20, min_rto=min_rto,
                 congestion_control=cc)
    rt = aio.open_tap_runtime(tap="tapS", addrs=["10.3.0.5/24"], netns=ns, loop=loop,
                              config=cfg, offloads=False, tracer=trace)
    data = random.Random(7).randbytes(size)
    t = time.monotonic()
    reader, writer = await aio.open_connection("10.3.0.1", 9001, runtime=rt)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    await reader.read()
    conn = writer.get_extra_info("connection")
    writer.close()
    await rt.settle(60)
    keys = ("retransmit.rto", "tlp", "recovery.sack", "recovery.spurious", "dsack_received")
    notes = " ".join(f"{k}={conn.counters.get(k, 0)}" for k in keys)
    print(notes, flush=True)
    print(f"{time.monotonic() - t:.6f} {hashlib.sha256(data).hexdigest()}", flush=True)
    rt.close()
asyncio.run(main())
if trace is not None:
    trace.close()
"""


def synack_api_sender(
    lab: ImpairedLab, size: int, min_rto: int, cc: str
) -> tuple[float, float, bool, str]:
    """synack through its asyncio API with a chosen RTO floor and congestion control."""
    start = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SYNACK_SENDER,
            str(ROOT / "src"),
            lab.ns_s,
            str(size),
            str(min_rto),
            cc,
            *([f"{TRACE}.{cc}.{min_rto // 1000}"] if TRACE else []),
        ],
        check=True,
        timeout=TIME_LIMIT,
        capture_output=True,
        text=True,
    )
    n, digest, data_time = lab.received(TIME_LIMIT)
    lines = done.stdout.splitlines()
    ok = n == size and lines[-1].split()[-1] == digest
    return time.monotonic() - start, data_time, ok, lines[-2] if len(lines) > 1 else ""


def _digest(size: int) -> str:
    import random

    return hashlib.sha256(random.Random(7).randbytes(size)).hexdigest()


def run(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=int, default=30, help="MB per transfer (default 30)")
    parser.add_argument("--loss", type=float, default=5.0, help="percent lost (default 5)")
    parser.add_argument("--dup", type=float, default=5.0, help="percent duplicated (default 5)")
    parser.add_argument(
        "--reorder", type=float, default=20.0, help="percent held back (default 20)"
    )
    parser.add_argument("--corrupt", type=float, default=1.0, help="percent corrupted (default 1)")
    parser.add_argument("--hold-ms", type=float, default=2.0, help="how long a held frame waits")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="runs per sender, interleaved")
    parser.add_argument(
        "--cc",
        action="append",
        help="congestion control for both stacks (repeatable; default cubic and bbr)",
    )
    parser.add_argument(
        "--no-defaults", action="store_true", help="leave out `synack send` with its defaults"
    )
    args = parser.parse_args(argv if argv is not None else [])
    if os.geteuid() != 0:
        print("bench_impaired needs root (it creates network namespaces); skipped")
        return
    size = args.mb * MB
    print(
        f"{args.mb} MB through a relay with {args.loss:g}% loss, {args.dup:g}% duplication, "
        f"{args.reorder:g}% reordering (held {args.hold_ms:g} ms), {args.corrupt:g}% corruption, "
        f"both directions; load average {os.getloadavg()[0]:.1f}"
    )
    senders: dict[str, Sender] = {}
    if not args.no_defaults:
        # `synack send`: synack's defaults (NewReno, Linux's 200 ms RTO floor).
        senders["synack send (newreno, defaults)"] = synack_sender
    for cc in args.cc or ["cubic", "bbr"]:
        # The same congestion control on both stacks: the kernel's default here
        # may be BBR, which does not treat random loss as congestion.
        ours = "newreno" if cc == "reno" else cc  # the kernel's "reno" is NewReno with SACK
        senders[f"kernel {cc}"] = partial(kernel_sender, cc=cc)
        senders[f"synack {cc}, 200 ms floor (default)"] = partial(
            synack_api_sender, min_rto=200_000, cc=ours
        )
        senders[f"synack {cc}, RFC 6298's 1 s floor"] = partial(
            synack_api_sender, min_rto=1_000_000, cc=ours
        )
    # Two times per transfer: in all (the sender's process start, handshake and
    # close included: a lost SYN alone costs either stack its 1 s initial RTO),
    # and the data time the receiver measures (first octet to end of stream).
    results: dict[str, list[float]] = {name: [] for name in senders}
    data: dict[str, list[float]] = {name: [] for name in senders}
    with ImpairedLab(args) as lab:
        for _ in range(args.repeat):
            for name, fn in senders.items():
                seconds, data_time, ok, notes = fn(lab, size)
                if not ok:
                    raise RuntimeError(f"{name}: the receiver did not get the data exactly")
                results[name].append(seconds)
                data[name].append(data_time)
                print(
                    f"  {name:<28} {seconds:7.2f} s (data {data_time:6.2f} s, "
                    f"{size / data_time / MB:6.2f} MB/s)  {notes}",
                    flush=True,
                )
        print("  relay: " + lab.relay_stats())
    print("median over the rounds (vs the kernel with the same congestion control):")
    for name, times in results.items():
        # `synack send` runs synack's default, NewReno: the kernel's "reno".
        cc = "reno" if name.startswith("synack send") else name.split()[1].rstrip(",")
        ref = f"kernel {cc}"
        med, dmed = statistics.median(times), statistics.median(data[name])
        line = f"  {name:<28} in all {med:7.2f} s, data {dmed:6.2f} s"
        if ref in results and ref != name:
            line += (
                f"  ({med / statistics.median(results[ref]):.1f}x and "
                f"{dmed / statistics.median(data[ref]):.1f}x {ref})"
            )
        print(line)


if __name__ == "__main__":
    run(sys.argv[1:])

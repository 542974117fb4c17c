"""Bulk TCP throughput over a TAP device: kernel -> synack and synack -> kernel, with and without offloads.

Each case runs in a private network namespace (``synack netns``-style: a TAP with
the kernel at 10.0.0.1 and synack at 10.0.0.5). synack runs as its CLI
(``synack serve ... discard`` / ``synack send``); the kernel side is a small
Python socket program that sends from, or reads into, a 1 MB buffer. The
reference is kernel -> kernel over a veth pair between two namespaces, with the
same programs. ``python bench/bench_tap.py --profile`` also prints where synack's
time goes (cProfile of the receiving and the sending process).
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from synack.link.netns import NetnsLab, add_netns, delete_netns  # noqa: E402

MB = 1_000_000

SENDER = """
import socket, sys, time
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = memoryview(bytes(range(256)) * 4096)
s = socket.create_connection((host, port), timeout=120)
t = time.monotonic(); left = size
while left:
    n = s.send(buf[: min(len(buf), left)]); left -= n
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
print(f"{time.monotonic() - t:.6f}", flush=True)
"""

SINK = """
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port)); srv.listen(1); print("listening", flush=True)
c, _ = srv.accept(); t = time.monotonic(); n = 0
buf = bytearray(1 << 20)
while (k := c.recv_into(buf)):
    n += k
dt = time.monotonic() - t; c.close()
print(f"{n} {dt:.6f}", flush=True)
"""


def _synack(
    lab: NetnsLab, command: str, *args: str, offload: bool, profile: str | None
) -> list[str]:
    argv = [sys.executable]
    if profile:
        argv += ["-m", "cProfile", "-o", profile]
    argv += [
        "-m",
        "synack",
        command,
        "--netns",
        lab.name,
        "--tap",
        lab.tap,
        "--addr",
        "10.0.0.5/24",
        "-q",
    ]
    if not offload:
        argv.append("--no-offload")
    return argv + list(args)


def _wait_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 30) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line.strip()
    proc.kill()
    raise RuntimeError(f"no {prefix!r} from {proc.args!r}")


def kernel_to_synack(lab: NetnsLab, size: int, offload: bool, profile: str | None = None) -> float:
    server = subprocess.Popen(
        _synack(
            lab,
            "serve",
            "--port",
            "9000",
            "--max-connections",
            "1",
            "discard",
            offload=offload,
            profile=profile,
        ),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_line(server, "synack: serving")
        out = lab.run(
            [sys.executable, "-c", SENDER, "10.0.0.5", "9000", str(size)], timeout=600, check=True
        )
        seconds = float(out.stdout.strip())
        line = _wait_line(server, "10.0.0.1:")
        if f"received {size} " not in line:
            raise RuntimeError(f"short transfer: {line}")
        server.wait(60)
        return size / seconds / MB
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(10)


def synack_to_kernel(lab: NetnsLab, size: int, offload: bool, profile: str | None = None) -> float:
    sink = lab.popen([sys.executable, "-c", SINK, "10.0.0.1", "9001"], stdout=subprocess.PIPE)
    try:
        _wait_line(sink, "listening")
        subprocess.run(
            _synack(
                lab, "send", "10.0.0.1:9001", "--bytes", str(size), offload=offload, profile=profile
            ),
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )
        n, seconds = _wait_line(sink, "").split()
        if int(n) != size:
            raise RuntimeError(f"sink got {n} of {size}")
        return size / float(seconds) / MB
    finally:
        if sink.poll() is None:
            sink.kill()
        sink.wait(10)


def kernel_to_kernel(size: int) -> float:
    """The reference: two namespaces joined by a veth pair, the same sender and sink."""
    a, b = f"synack-bench-a{os.getpid()}", f"synack-bench-b{os.getpid()}"
    add_netns(a)
    try:
        add_netns(b)
        ip = ["ip", "-n", a]
        subprocess.run(
            [*ip, "link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b", "netns", b],
            check=True,
        )
        subprocess.run([*ip, "addr", "add", "10.1.0.1/24", "dev", "veth-a"], check=True)
        subprocess.run([*ip, "link", "set", "veth-a", "up"], check=True)
        subprocess.run(["ip", "-n", b, "addr", "add", "10.1.0.2/24", "dev", "veth-b"], check=True)
        subprocess.run(["ip", "-n", b, "link", "set", "veth-b", "up"], check=True)
        sink = subprocess.Popen(
            ["ip", "netns", "exec", b, sys.executable, "-c", SINK, "10.1.0.2", "9001"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_line(sink, "listening")
            subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    a,
                    sys.executable,
                    "-c",
                    SENDER,
                    "10.1.0.2",
                    "9001",
                    str(size),
                ],
                check=True,
                timeout=600,
                capture_output=True,
            )
            n, seconds = _wait_line(sink, "").split()
            return int(n) / float(seconds) / MB
        finally:
            if sink.poll() is None:
                sink.kill()
            sink.wait(10)
    finally:
        delete_netns(b)
        delete_netns(a)


def _lab() -> NetnsLab:
    lab = NetnsLab(f"synack-bench{os.getpid()}")
    lab.up()
    return lab


def _print_profile(path: str, title: str, limit: int = 18) -> None:
    print(f"\n-- {title}: cProfile, top {limit} by own time --")
    stats = pstats.Stats(path)
    stats.sort_stats("tottime").print_stats(limit)


def run(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="TAP throughput benchmark")
    parser.add_argument("--k2s", type=int, default=200, help="MB kernel -> synack (default 200)")
    parser.add_argument("--s2k", type=int, default=100, help="MB synack -> kernel (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is reported")
    parser.add_argument(
        "--profile", action="store_true", help="also profile one run of each direction"
    )
    args = parser.parse_args(argv if argv is not None else [])
    if os.geteuid() != 0:
        print("bench_tap needs root (it creates network namespaces); skipped")
        return
    ref = max(kernel_to_kernel(args.k2s * MB) for _ in range(args.repeat))
    print(f"reference kernel -> kernel over veth: {ref:8.1f} MB/s ({args.k2s} MB)")
    print(f"{'case':<34} {'MB/s':>8} {'vs veth':>8}")
    for offload in (True, False):
        label = "offloads" if offload else "no offloads"
        for name, fn, size in (
            ("kernel -> synack", kernel_to_synack, args.k2s),
            ("synack -> kernel", synack_to_kernel, args.s2k),
        ):
            best = 0.0
            for _ in range(args.repeat):
                lab = _lab()
                try:
                    best = max(best, fn(lab, size * MB, offload))
                finally:
                    lab.down()
            print(f"{name + ', ' + label:<34} {best:8.1f} {best / ref:8.1%}", flush=True)
    if args.profile:
        with tempfile.TemporaryDirectory() as tmp:
            for name, fn, size in (
                ("kernel -> synack (offloads), receiver", kernel_to_synack, args.k2s),
                ("synack -> kernel (offloads), sender", synack_to_kernel, args.s2k),
            ):
                prof = os.path.join(tmp, "prof")
                lab = _lab()
                try:
                    fn(lab, size * MB, True, prof)
                finally:
                    lab.down()
                _print_profile(prof, name)


if __name__ == "__main__":
    run(sys.argv[1:])

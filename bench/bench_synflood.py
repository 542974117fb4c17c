"""A spoofed SYN flood against a listener while legitimate kernel clients connect: synack and Linux.

Per target, in namespaces this benchmark creates and deletes:

* synack: a TAP ``tap0`` in namespace C (kernel side 10.0.0.1/24), synack at
  10.0.0.5 behind it (an asyncio echo server on synack's API, routing via
  10.0.0.1), listening on port 80 with a backlog of 128;
* Linux: a veth pair from namespace C (10.2.0.1) to namespace L (10.2.0.2),
  where a kernel echo server listens on port 80 with a backlog of 128
  (``tcp_syncookies`` as the namespace has it, 1 by default).

In namespace C, a raw socket sends SYNs from random sources in 10.99.0.0/16
(random ports and ISNs) at ``--rate`` per second for ``--seconds``, while
``--clients`` kernel clients connect one every ``--seconds / --clients``
seconds, each sending a line and reading the echo, with a 5-second budget
(one SYN retransmission). Measured: the share that complete and their median
connect time, and synack's resident memory before, during and after the flood.
Bounded: at most ``rate * seconds`` spoofed SYNs, and the answers to them go to
namespace C, which does not forward them.
``python bench/bench_synflood.py [--rate 10000] [--seconds 10] [--clients 100] [--cookies auto]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from synack.link.netns import add_netns, delete_netns  # noqa: E402

FLOOD = r"""
import random, socket, struct, sys, time
dst, port, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
rng = random.Random(99)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
daddr = socket.inet_aton(dst)
opts = b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + bytes(8) + b"\x01\x03\x03\x07"  # mss, sackOK, TS, wscale
def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack(f"!{len(data)//2}H", data))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
sent = 0
start = time.monotonic()
total = int(rate * seconds)
print("flooding", flush=True)
while sent < total:
    due = start + sent / rate
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    saddr = bytes((10, 99, rng.randrange(256), rng.randrange(1, 255)))
    tcp = struct.pack("!HHIIBBHHH", rng.randrange(1024, 65536), port, rng.getrandbits(32), 0,
                      (5 + len(opts) // 4) << 4, 0x02, 64240, 0, 0) + opts
    c = csum(saddr + daddr + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, saddr, daddr)
    s.sendto(ip + tcp, (dst, 0))
    sent += 1
print(f"sent {sent} in {time.monotonic() - start:.2f}", flush=True)
"""

CLIENTS = r"""
import json, socket, sys, threading, time
dst, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
results = []
def one(i):
    t = time.monotonic()
    try:
        s = socket.create_connection((dst, port), timeout=5)
        connected = time.monotonic() - t
        s.settimeout(5)
        s.sendall(b"hello %d\n" % i)
        got = b""
        while not got.endswith(b"\n"):
            chunk = s.recv(100)
            if not chunk: break
            got += chunk
        s.close()
        results.append(connected if got == b"hello %d\n" % i else None)
    except OSError:
        results.append(None)
threads = []
start = time.monotonic()
for i in range(n):
    due = start + i * seconds / n
    time.sleep(max(0, due - time.monotonic()))
    t = threading.Thread(target=one, args=(i,)); t.start(); threads.append(t)
for t in threads: t.join()
print(json.dumps(results), flush=True)
"""

SYNACK_SERVER = r"""
import asyncio, os, sys
sys.path.insert(0, sys.argv[1])
from synack import aio
from synack.tcp import Config
ns, cookies = sys.argv[2], sys.argv[3]
async def main():
    loop = asyncio.get_running_loop()
    kwargs = {}
    cfg = Config(mss=1460, send_buffer=65536, recv_buffer=65536)
    if cookies != "auto":
        import dataclasses
        cfg = dataclasses.replace(cfg, syn_cookies=cookies)
    rt = aio.open_tap_runtime(tap="tap0", addrs=["10.0.0.5/24"], gateways=["10.0.0.1"],
                              netns=ns, loop=loop, config=cfg)
    async def echo(reader, writer):
        try:
            line = await reader.readline()
            writer.write(line)
            await writer.drain()
        finally:
            writer.close()
    await aio.start_server(echo, port=80, runtime=rt, backlog=128)
    print("listening", flush=True)
    while True:
        await asyncio.sleep(0.5)
        rss = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
        print(f"rss {rss} conns {len(rt.endpoint.connections())}", flush=True)
asyncio.run(main())
"""

KERNEL_SERVER = r"""
import socket, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("10.2.0.2", 80)); srv.listen(128); print("listening", flush=True)
def serve(c):
    with c:
        c.settimeout(5)
        f = c.makefile("rb")
        c.sendall(f.readline())
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


def _line(proc: subprocess.Popen[str], prefix: str, timeout: float = 30) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line.strip()
    raise RuntimeError(f"no {prefix!r} from {proc.args!r}")


def _in(ns: str, code: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, "-c", code, *args]


def attack(ns: str, dst: str, args: argparse.Namespace) -> tuple[list[float | None], str]:
    """Flood ``dst`` from namespace ``ns`` while the clients connect.

    Returns the clients' connect times (None: failed) and the flooder's report.
    """
    flood = subprocess.Popen(
        _in(ns, FLOOD, dst, "80", str(args.rate), str(args.seconds)),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        _line(flood, "flooding")
        time.sleep(1)  # let the flood fill the listener first
        clients = subprocess.run(
            _in(ns, CLIENTS, dst, "80", str(args.clients), str(args.seconds - 2)),
            capture_output=True,
            text=True,
            timeout=args.seconds + 60,
            check=True,
        )
        sent = _line(flood, "sent", args.seconds + 30).split()
    finally:
        if flood.poll() is None:
            flood.kill()
        flood.wait(10)
    results: list[float | None] = json.loads(clients.stdout.strip().splitlines()[-1])
    rate = int(sent[1]) / float(sent[3])
    return results, f"{sent[1]} spoofed SYNs at {rate:,.0f}/s"


def summary(name: str, results: list[float | None]) -> str:
    ok = [r for r in results if r is not None]
    median = f"{statistics.median(ok) * 1000:.1f} ms" if ok else "-"
    return f"  {name:<8} {len(ok):4d}/{len(results)} completed ({len(ok) / len(results):6.1%}), median connect {median}"


class Watch:
    """Collects the server's ``rss KB conns N`` lines in a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.samples: list[tuple[float, int, int]] = []
        self.proc = proc
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("rss"):
                _, rss, _, conns = line.split()
                self.samples.append((time.monotonic(), int(rss), int(conns)))

    def between(self, t0: float, t1: float) -> list[tuple[float, int, int]]:
        return [s for s in self.samples if t0 <= s[0] <= t1]


def synack_target(args: argparse.Namespace) -> None:
    ns = f"synack-flood{os.getpid()}"
    add_netns(ns)
    server: subprocess.Popen[str] | None = None
    try:
        server = subprocess.Popen(
            [sys.executable, "-c", SYNACK_SERVER, str(ROOT / "src"), ns, args.cookies],
            stdout=subprocess.PIPE,
            text=True,
        )
        _line(server, "listening")
        _ip("-n", ns, "addr", "add", "10.0.0.1/24", "dev", "tap0")
        _ip("-n", ns, "link", "set", "tap0", "up")
        watch = Watch(server)
        time.sleep(1.2)
        t0 = time.monotonic()
        results, flood = attack(ns, "10.0.0.5", args)
        t1 = time.monotonic()
        time.sleep(args.after)
        before = watch.between(0, t0)[-1]
        during = max(watch.between(t0, t1), key=lambda s: s[1])
        after = watch.samples[-1]
        print(summary("synack", results) + f" ({flood})")
        print(
            f"           memory (RSS): before {before[1] / 1024:.1f} MB, "
            f"peak during {during[1] / 1024:.1f} MB ({during[2]} TCBs), "
            f"{args.after:g} s after {after[1] / 1024:.1f} MB ({after[2]} TCBs)"
        )
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait(10)
        delete_netns(ns)


def kernel_target(args: argparse.Namespace) -> None:
    c, listener = f"synack-floodc{os.getpid()}", f"synack-floodl{os.getpid()}"
    add_netns(c)
    add_netns(listener)
    server: subprocess.Popen[str] | None = None
    try:
        _ip(
            "-n",
            c,
            "link",
            "add",
            "veth-c",
            "type",
            "veth",
            "peer",
            "name",
            "veth-l",
            "netns",
            listener,
        )
        _ip("-n", c, "addr", "add", "10.2.0.1/24", "dev", "veth-c")
        _ip("-n", c, "link", "set", "veth-c", "up")
        _ip("-n", listener, "addr", "add", "10.2.0.2/24", "dev", "veth-l")
        _ip("-n", listener, "link", "set", "veth-l", "up")
        _ip("-n", listener, "route", "add", "default", "via", "10.2.0.1")
        cookies = subprocess.run(
            ["ip", "netns", "exec", listener, "sysctl", "-n", "net.ipv4.tcp_syncookies"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        server = subprocess.Popen(_in(listener, KERNEL_SERVER), stdout=subprocess.PIPE, text=True)
        _line(server, "listening")
        results, flood = attack(c, "10.2.0.2", args)
        print(summary("Linux", results) + f" ({flood}; tcp_syncookies={cookies})")
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait(10)
        delete_netns(listener)
        delete_netns(c)


def run(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=int, default=10_000, help="spoofed SYNs per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the flood")
    parser.add_argument("--clients", type=int, default=100, help="legitimate connections")
    parser.add_argument("--after", type=float, default=5.0, help="seconds to watch after")
    parser.add_argument(
        "--cookies", default="auto", help="synack's Config.syn_cookies (auto: the default)"
    )
    args = parser.parse_args(argv if argv is not None else [])
    if os.geteuid() != 0:
        print("bench_synflood needs root (it creates network namespaces); skipped")
        return
    print(
        f"{args.rate} spoofed SYN/s for {args.seconds:g} s, {args.clients} kernel clients "
        "(5 s budget each), listeners with backlog 128"
    )
    synack_target(args)
    kernel_target(args)


if __name__ == "__main__":
    run(sys.argv[1:])

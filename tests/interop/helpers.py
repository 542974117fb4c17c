"""Running synack's CLI and small kernel-side programs inside a test namespace."""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from synack.link.netns import NetnsLab
from synack.trace.capture import read_capture

# A kernel-side TCP sink: accept one connection, read to EOF, print "<bytes> <sha256>".
KERNEL_SINK = """
import hashlib, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port)); srv.listen(1)
print('listening', flush=True)
conn, _ = srv.accept()
h = hashlib.sha256(); n = 0
while True:
    b = conn.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
conn.close()
print(n, h.hexdigest(), flush=True)
"""

# Read to EOF, answer "got N <sha256>", close.
KERNEL_HALF_CLOSE_SERVER = """
import hashlib, socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2]))); srv.listen(1); print('listening', flush=True)
c, _ = srv.accept(); h = hashlib.sha256(); n = 0
while b := c.recv(65536):
    h.update(b); n += len(b)
c.sendall(f'got {n} {h.hexdigest()}'.encode()); c.close()
print('done', flush=True)
"""

# N concurrent clients: send `size` bytes each, half-close, read the echo to EOF.
KERNEL_CLIENTS = """
import hashlib, socket, sys, threading
host, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ok = []; errors = []
def one(i):
    try:
        payload = hashlib.shake_256(str(i).encode()).digest(size)
        s = socket.create_connection((host, port), timeout=60)
        def send():
            s.sendall(payload); s.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send); t.start()
        got = bytearray()
        while b := s.recv(65536):
            got += b
        t.join(); s.close()
        (ok if bytes(got) == payload else errors).append(i)
    except Exception as exc:
        errors.append(f'{i}: {exc!r}')
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print('ok', len(ok), 'errors', errors, flush=True)
"""

# A kernel-side sender: connect, send a file, half-close, wait for the peer's FIN.
KERNEL_SEND_FILE = """
import socket, sys, time
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=60)
t = time.monotonic()
with open(path, 'rb') as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
s.close()
print('sent', time.monotonic() - t, flush=True)
"""


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def random_file(path: Path, size: int, seed: int) -> str:
    """Write ``size`` pseudo-random bytes (seeded, every MiB different) and return their SHA-256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left, i = size, 0
        while left:
            chunk = hashlib.shake_256(f"synack-{seed}-{i}".encode()).digest(min(left, 1 << 20))
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
            i += 1
    return h.hexdigest()


class Proc:
    """A background process whose stdout lines are collected by a thread."""

    def __init__(
        self,
        argv: Sequence[str],
        name: str,
        *,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
            cwd=cwd,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.all: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.all.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def expect(self, prefix: str, timeout: float = 30) -> str:
        """The next stdout line starting with ``prefix`` (fails with diagnostics otherwise)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            if line.startswith(prefix):
                return line
        self.stop()
        raise AssertionError(
            f"{self.name}: no line starting {prefix!r} within {timeout}s; "
            f"rc={self.proc.returncode} stdout={self.all!r} stderr={self.stderr[-2000:]!r}"
        )

    def wait(self, timeout: float = 60) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        self._collect_stderr()
        self._reader.join(timeout=5)
        return rc

    def _collect_stderr(self) -> None:
        if self.proc.stderr is not None and not self.proc.stderr.closed:
            with suppress(ValueError):
                self.stderr += self.proc.stderr.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._collect_stderr()


def synack_argv(lab: NetnsLab, command: str, *args: str, offload: bool = True) -> list[str]:
    """``python -m synack COMMAND --netns LAB --tap tap0 --addr ... ARGS``."""
    argv = [
        sys.executable,
        "-m",
        "synack",
        command,
        "--netns",
        lab.name,
        "--tap",
        lab.tap,
        "--addr",
        "10.0.0.5/24",
        "--addr",
        "fd00::5/64",
    ]
    if not offload:
        argv.append("--no-offload")
    return argv + list(args)


def in_ns(lab: NetnsLab, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", lab.name, *argv]


@contextmanager
def running(argv: Sequence[str], name: str) -> Iterator[Proc]:
    """A background process, always stopped on exit."""
    proc = Proc(argv, name)
    try:
        yield proc
    finally:
        proc.stop()


def _has_ping(pcap: Path, size: int) -> bool:
    """Whether the capture file holds an ICMP echo request (IPv4) with ``size`` octets of data."""
    try:
        packets = list(read_capture(pcap))
    except (OSError, ValueError):  # not there yet, or cut in the middle of a block
        return False
    return any(
        p.data[:1] == b"\x45" and p.data[9] == 1 and p.data[20] == 8 and len(p.data) == 28 + size
        for p in packets
    )


@contextmanager
def kernel_capture(lab: NetnsLab, port: int, pcap: Path, *, ping: str) -> Iterator[None]:
    """tshark on the kernel's end of the lab's TAP (TCP port ``port``) for the block.

    Start and end wait on conditions, not delays: pings from the kernel to
    ``ping`` (synack's address), one size before the block and another after it,
    each waited for in the file. The first proves the capture is live (tshark
    says "Capturing on" a moment before it keeps packets); the second, that
    every packet before it is written (dumpcap writes the file in batches). The
    file holds those pings too: filter on ``tcp`` when reading it.
    """
    proc = lab.popen(
        ["tshark", "-i", lab.tap, "-f", f"tcp port {port} or icmp", "-w", str(pcap)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def mark(size: int) -> None:
        deadline = time.monotonic() + 60
        while not _has_ping(pcap, size):
            assert proc.poll() is None, f"tshark ended: {proc.communicate()[1]!r}"
            assert time.monotonic() < deadline, f"tshark did not capture a {size}-octet ping"
            lab.run(["ping", "-c", "1", "-W", "1", "-s", str(size), ping], timeout=30)
            time.sleep(0.1)

    try:
        mark(11)
        yield
        mark(13)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def curl_from_synack_serve(
    lab: NetnsLab, tmp_path: Path, size: int, *options: str, seed: int, max_time: int = 90
) -> None:
    """``synack serve http`` (no offloads, ``options`` added) serves one file of ``size``
    seeded random octets; the kernel's curl fetches it, once, exactly."""
    www = tmp_path / "www"
    www.mkdir()
    digest = random_file(www / "file.bin", size, seed=seed)
    argv = synack_argv(
        lab, "serve", "--port", "80", "--max-connections", "1", *options, "http", str(www),
        offload=False,
    )  # fmt: skip
    out = tmp_path / "got.bin"
    with running(argv, "synack serve") as server:
        server.expect("synack: serving http on")
        result = curl_get(lab, "http://10.0.0.5/file.bin", out, max_time=max_time)
        assert result.returncode == 0, result.stderr
        assert server.wait(30) == 0
    assert sha256_file(out) == digest


def env_without_proxies() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def curl_get(
    lab: NetnsLab, url: str, out: Path, *, max_time: int, extra: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``curl`` inside the namespace: download ``url`` to ``out`` (never via a proxy)."""
    argv = ["curl", "--noproxy", "*", "-sS", "--max-time", str(max_time), "-o", str(out)]
    return lab.run([*argv, *extra, url], timeout=max_time + 30, env=env_without_proxies())

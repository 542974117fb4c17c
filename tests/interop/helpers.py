"""Running synack's CLI and small kernel-side programs inside a test namespace."""

from __future__ import annotations

import hashlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from synack.link.netns import NetnsLab

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


def env_without_proxies() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def curl_get(
    lab: NetnsLab, url: str, out: Path, *, max_time: int, extra: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``curl`` inside the namespace: download ``url`` to ``out`` (never via a proxy)."""
    argv = ["curl", "--noproxy", "*", "-sS", "--max-time", str(max_time), "-o", str(out)]
    return lab.run([*argv, *extra, url], timeout=max_time + 30, env=env_without_proxies())

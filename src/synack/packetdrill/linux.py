"""The Linux backend: the kernel's TCP in a private network namespace, in real time.

What packetdrill itself does, with synack's own namespace helpers: the backend
creates a namespace (``ip netns add``, a unique name with the process id),
opens a TUN device inside it, gives the kernel side the script's local
address and routes the script's remote network to the TUN. Packets the script
injects are written to the TUN, so the kernel receives them from the
"network"; a reader thread timestamps every packet the kernel sends to it.
System calls are made on real kernel sockets created inside the namespace
(the creating thread enters it with ``setns``); each call runs in its own
thread, so a blocking call blocks there while the script goes on. Closing the
backend shuts every socket down and deletes the namespace, with everything
in it.

The namespace starts from a documented baseline (:data:`BASELINE_SYSCTLS`),
as packetdrill's own suite runs its ``defaults.sh``: settings where Linux's
defaults and synack's differ although the RFCs leave the choice to the stack.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import fcntl
import itertools
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Final

from synack.link.device import TunTapDevice
from synack.link.netns import add_netns, delete_netns, in_netns
from synack.packetdrill.backend import Backend, Op, Outcome, PendingCall, RunObserver, Settings
from synack.packetdrill.symbols import SYMBOLS, errno_name
from synack.packetdrill.sysctl import ParsedCommand

__all__ = ["BASELINE_SYSCTLS", "LinuxBackend", "linux_available"]

BASELINE_SYSCTLS: Final = (
    # synack's receive buffer is 256 KiB: the same maximum gives Linux the
    # same window scale (RFC 7323 2.3 leaves the shift to the receiver).
    ("net.ipv4.tcp_rmem", "4096 131072 262144"),
    # synack's default congestion control is NewReno (RFC 5681, 6582).
    ("net.ipv4.tcp_congestion_control", "reno"),
    # synack's Config.ecn is off by default (Linux's 2 accepts ECN from peers that ask).
    ("net.ipv4.tcp_ecn", "0"),
    # One MSS per socket buffer, as synack builds segments: Linux otherwise
    # sizes buffers of several MSS for segmentation offload, and its PSH flag
    # then lands at the end of each buffer rather than of each write.
    ("net.ipv4.tcp_min_tso_segs", "1"),
    # No small-write corking and no per-route metrics from earlier connections.
    ("net.ipv4.tcp_autocorking", "0"),
    ("net.ipv4.tcp_no_metrics_save", "1"),
    # RFC 6298 (5.5): each retransmission timeout doubles the RTO; Linux 6.7+
    # retransmits the first SYNs at linear intervals unless this is 0.
    ("net.ipv4.tcp_syn_linear_timeouts", "0"),
)
"""Kernel settings applied to every namespace before the script runs."""

TUN_NAME: Final = "tun0"
_counter = itertools.count()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while the body runs, then deliver them.

    Creating and deleting the namespace must not be cut in half by Ctrl-C (or a
    SIGTERM that the command turns into one): that would leave the namespace
    behind. Only the main thread can set handlers; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    saved = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)  # now the usual handler acts (KeyboardInterrupt)


def linux_available() -> str | None:
    """``None`` if ``--linux`` can run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "--linux needs root (it creates a network namespace and a TUN device)"
    if not os.path.exists("/dev/net/tun"):
        return "--linux needs /dev/net/tun"
    try:
        subprocess.run(["ip", "-V"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return "--linux needs the ip command (iproute2)"
    return None


class _Sock:
    """A kernel socket the script knows by a file descriptor number."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False


class LinuxBackend(Backend):
    """The kernel's TCP behind a TUN device in a namespace of its own."""

    name = "linux"
    real_time = True
    late_horizon = 2_000_000

    def __init__(self, settings: Settings, observers: Sequence[RunObserver] = ()) -> None:
        reason = linux_available()
        if reason is not None:
            raise RuntimeError(reason)
        self.settings = settings
        self.observers = list(observers)
        self.netns = f"synack-pd-{os.getpid()}-{next(_counter)}"
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._queue: deque[tuple[int, bytes]] = deque()
        self._t0 = time.monotonic_ns() // 1000
        self._stop = False
        self._socks: list[_Sock] = []
        self._threads: list[threading.Thread] = []
        self.tun: TunTapDevice | None = None
        self._reader: threading.Thread | None = None
        # Packets are timestamped by a thread: let it take the GIL within 0.2 ms
        # rather than Python's default 5 ms.
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0002)
        self._wake_r, self._wake_w = os.pipe()
        try:
            with _signals_held():  # a signal held during set-up is delivered at its end...
                add_netns(self.netns)
                self._setup()
        except BaseException:
            self.close()  # ...and lands here, as any failure does
            raise

    # -------------------------------------------------------------- setup
    def _ip(self, *args: str) -> None:
        subprocess.run(["ip", "-n", self.netns, *args], check=True, capture_output=True, text=True)

    def _sysctl(self, name: str, value: str) -> None:
        proc = subprocess.run(
            ["ip", "netns", "exec", self.netns, "sysctl", "-q", "-w", f"{name}={value}"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"sysctl {name}={value}: {proc.stderr.strip()}")

    def _setup(self) -> None:
        s = self.settings
        self.tun = TunTapDevice(TUN_NAME, kind="tun", mtu=s.mtu, netns=self.netns)
        self._ip("link", "set", TUN_NAME, "mtu", str(s.mtu))
        if s.ipv6:
            self._sysctl(f"net.ipv6.conf.{TUN_NAME}.accept_ra", "0")
            self._ip("-6", "addr", "add", f"{s.local_ip}/64", "dev", TUN_NAME, "nodad")
            self._ip("link", "set", TUN_NAME, "up")
            self._ip("-6", "route", "add", f"{s.remote_ip}/128", "dev", TUN_NAME)
        else:
            self._ip("addr", "add", f"{s.local_ip}/16", "dev", TUN_NAME)
            self._ip("link", "set", TUN_NAME, "up")
            self._ip("route", "add", f"{s.remote_ip}/32", "dev", TUN_NAME)
        for name, value in BASELINE_SYSCTLS:
            if os.path.exists("/proc/sys/" + name.replace(".", "/")):
                self._sysctl(name, value)
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.netns,
                "tc",
                "qdisc",
                "replace",
                "dev",
                TUN_NAME,
                "root",
                "pfifo",
            ],
            capture_output=True,
        )
        self._reader = threading.Thread(target=self._read_loop, name="pd-tun-reader", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        tun = self.tun
        assert tun is not None
        while not self._stop:
            try:
                ready, _, _ = select.select([tun.fd, self._wake_r], [], [], 1.0)
            except (OSError, ValueError):
                return
            if self._stop:
                return
            if tun.fd not in ready:
                continue
            while True:
                t = self._now()
                try:
                    packet = tun.read()
                except OSError:
                    return
                if packet is None:
                    break
                if not _is_tcp(packet):
                    continue
                with self._lock:
                    for o in self.observers:
                        o.packet(t, "out", packet)
                with self._cond:
                    self._queue.append((t, packet))
                    self._cond.notify_all()

    # --------------------------------------------------------------- time
    def _now(self) -> int:
        return time.monotonic_ns() // 1000 - self._t0

    def start(self) -> None:
        with self._cond:
            self._queue.clear()
        self._t0 = time.monotonic_ns() // 1000

    def now(self) -> int:
        return self._now()

    def wait_until(self, t: int) -> None:
        while True:
            delay = t - self._now()
            if delay <= 0:
                return
            time.sleep(delay / 1e6)

    def next_outbound(self, limit: int) -> tuple[int, bytes] | None:
        with self._cond:
            while not self._queue:
                delay = limit - self._now()
                if delay <= 0:
                    return None
                self._cond.wait(delay / 1e6)
            return self._queue.popleft()

    def note(self, t: int, text: str) -> None:
        with self._lock:
            for o in self.observers:
                o.note(t, text)

    # ------------------------------------------------------------ packets
    def inject(self, packet: bytes) -> None:
        assert self.tun is not None
        t = self._now()
        with self._lock:
            for o in self.observers:
                o.packet(t, "in", packet)
        self.tun.write(b"", packet)

    # -------------------------------------------------------------- calls
    def call(self, op: Op, line: int, *, may_block: bool) -> PendingCall:
        pc = PendingCall(op, line, started_at=self._now())
        if not self._may_sleep(op):
            self._run(pc)
            return pc
        th = threading.Thread(target=self._run, args=(pc,), name=f"pd-{op.name}", daemon=True)
        pc.data["thread"] = th
        self._threads.append(th)
        th.start()
        th.join(0.001)
        return pc

    def _may_sleep(self, op: Op) -> bool:
        """Could the kernel put this call to sleep? (Those run in a thread of their own.)"""
        if op.name == "poll":
            return bool(op.args[1])
        if op.name not in ("accept", "connect", "send", "recv", "close"):
            return False
        h: _Sock | None = op.sock
        if h is None or h.closed or op.nonblocking_flag:
            return False
        try:
            if fcntl.fcntl(h.sock.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK:
                return False
        except OSError:
            return False
        if op.name == "close":
            onoff, secs = struct.unpack(
                "ii", h.sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8)
            )
            return bool(onoff and secs)
        return True

    def settle(self, pending: PendingCall, grace: int) -> None:
        th = pending.data.get("thread")
        if isinstance(th, threading.Thread):
            th.join(grace / 1e6)

    def _run(self, pc: PendingCall) -> None:
        try:
            outcome = self._do(pc.op)
        except OSError as exc:
            code = exc.errno or _errno.EIO
            outcome = Outcome(-1, errno_name(code), exc.strerror or "")
        except (ValueError, TypeError) as exc:
            outcome = Outcome(-1, "EINVAL", str(exc))
        pc.done_at = self._now()
        pc.outcome = outcome

    def _do(self, op: Op) -> Outcome:
        s = self.settings
        h: _Sock | None = op.sock
        name = op.name
        if name == "socket":
            family, type_, proto = op.args
            with in_netns(self.netns):
                sk = socket.socket(family, type_ & ~SYMBOLS["SOCK_NONBLOCK"], proto)
            if type_ & SYMBOLS["SOCK_NONBLOCK"]:
                sk.setblocking(False)
            handle = _Sock(sk)
            self._socks.append(handle)
            return Outcome(0, value=handle)
        if name == "poll":
            items, timeout_ms = op.args
            poller = select.poll()
            for sock, events in items:
                if sock is not None and not sock.closed:
                    poller.register(sock.sock.fileno(), events)
            got = dict(poller.poll(timeout_ms))
            revents = [
                got.get(sock.sock.fileno(), 0) if sock is not None and not sock.closed else 0x20
                for sock, _ in items
            ]
            return Outcome(sum(1 for r in revents if r), value=revents)
        assert h is not None
        sk = h.sock
        if name == "bind":
            addr = op.args[0] or (s.local_ip, s.bind_port)
            sk.bind(addr)
            return Outcome(0)
        if name == "listen":
            sk.listen(op.args[0])
            return Outcome(0)
        if name == "accept":
            child, _ = sk.accept()
            handle = _Sock(child)
            self._socks.append(handle)
            return Outcome(0, value=handle)
        if name == "connect":
            addr = op.args[0] or (s.remote_ip, s.connect_port)
            sk.connect(addr)
            return Outcome(0)
        if name == "send":
            data, flags = op.args
            return Outcome(sk.send(data, flags | SYMBOLS["MSG_NOSIGNAL"]))
        if name == "recv":
            size, flags = op.args
            return Outcome(len(sk.recv(size, flags)))
        if name == "shutdown":
            sk.shutdown(op.args[0])
            return Outcome(0)
        if name == "close":
            h.closed = True
            sk.close()
            return Outcome(0)
        if name == "setsockopt":
            level, opt, value = op.args
            if isinstance(value, tuple):
                sk.setsockopt(level, opt, struct.pack("ii", *value))
            else:
                sk.setsockopt(level, opt, value)
            return Outcome(0)
        if name == "getsockopt":
            level, opt = op.args
            if (level, opt) == (SYMBOLS["IPPROTO_TCP"], SYMBOLS["TCP_CONGESTION"]):
                return Outcome(0, value=sk.getsockopt(level, opt, 16))
            if (level, opt) == (SYMBOLS["SOL_SOCKET"], SYMBOLS["SO_LINGER"]):
                return Outcome(0, value=struct.unpack("ii", sk.getsockopt(level, opt, 8)))
            return Outcome(0, value=sk.getsockopt(level, opt))
        if name == "fcntl":
            cmd, arg = op.args
            if cmd == SYMBOLS["F_SETFL"]:
                return Outcome(fcntl.fcntl(sk.fileno(), cmd, arg))
            return Outcome(fcntl.fcntl(sk.fileno(), cmd) & ~0o100000)  # without O_LARGEFILE
        raise OSError(_errno.ENOSYS, f"{name} is not supported")

    # ----------------------------------------------------------- commands
    def command(self, parsed: ParsedCommand, text: str) -> list[str]:
        if parsed.unknown is not None:
            if not self.settings.allow_shell:
                return [f"skipped command (run it with --allow-shell): {text}"]
            proc = subprocess.run(
                ["ip", "netns", "exec", self.netns, "sh", "-c", text],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if proc.returncode != 0:
                return [f"command failed ({proc.returncode}): {text}: {proc.stderr.strip()}"]
            return []
        for name, value in parsed.sysctls:
            self._sysctl(name, value)
        if parsed.route:
            s = self.settings
            prefix = f"{s.remote_ip}/{128 if s.ipv6 else 32}"
            attrs = [w for k, v in parsed.route.items() for w in (k, v)]
            self._ip(
                *(["-6"] if s.ipv6 else []), "route", "change", prefix, "dev", TUN_NAME, *attrs
            )
        return []

    # ------------------------------------------------------------ cleanup
    def close(self) -> None:
        """Shut the sockets down and delete the namespace (Ctrl-C waits until that is done)."""
        with _signals_held():
            self._close()

    def _close(self) -> None:
        self._stop = True
        try:
            for h in self._socks:
                if not h.closed:
                    with contextlib.suppress(OSError):
                        h.sock.shutdown(socket.SHUT_RDWR)
            for th in self._threads:
                th.join(0.5)
            for h in self._socks:
                h.closed = True
                h.sock.close()
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
            if self._reader is not None:
                self._reader.join(2.0)
            if self.tun is not None:
                self.tun.close()
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
        finally:
            delete_netns(self.netns)  # whatever failed above, the namespace goes
            sys.setswitchinterval(self._switch)


def _is_tcp(packet: bytes) -> bool:
    if not packet:
        return False
    v = packet[0] >> 4
    if v == 4:
        return len(packet) > 20 and packet[9] == 6
    return v == 6 and len(packet) > 40 and packet[6] == 6

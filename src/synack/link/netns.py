"""Private network namespaces for synack's real-packet runs: create, configure, enter, delete.

A :class:`NetnsLab` is a named namespace (``ip netns add``) holding one TAP
device whose kernel side has addresses (10.0.0.1/24 and fd00::1/64 by default);
synack's own addresses (10.0.0.5, fd00::5) live in user space behind that TAP.
Nothing is created or configured in the caller's namespace: the TAP is opened
from inside the namespace (Linux creates a TUN/TAP device in the namespace of
the process that opened ``/dev/net/tun``), using ``setns(2)`` on the calling
thread through libc, since Python 3.11 has no ``os.setns``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "NetnsError",
    "NetnsLab",
    "add_netns",
    "delete_netns",
    "in_netns",
    "netns_exists",
    "run_in",
]

_CLONE_NEWNET: Final = 0x40000000
_NETNS_DIR: Final = "/run/netns"
_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_setns_lock = threading.Lock()


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _libc_setns(fd: int) -> None:
    if _libc().setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"bad namespace name {name!r}")


@contextlib.contextmanager
def in_netns(name: str | None) -> Iterator[None]:
    """Run the body with this thread inside namespace ``name`` (no-op for None).

    Sockets and TUN/TAP devices opened in the body belong to that namespace and
    keep working after the thread returns to its own namespace on exit.
    """
    if name is None:
        yield
        return
    _check_name(name)
    with _setns_lock:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            target = os.open(os.path.join(_NETNS_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
            try:
                _libc_setns(target)
            finally:
                os.close(target)
            try:
                yield
            finally:
                _libc_setns(own)
        finally:
            os.close(own)


def netns_exists(name: str) -> bool:
    """True if ``ip netns`` knows a namespace called ``name``."""
    _check_name(name)
    return os.path.exists(os.path.join(_NETNS_DIR, name))


class NetnsError(OSError):
    """An ``ip`` command failed; the message is what it was for and ``ip``'s own reason."""


def _ip(*args: str, what: str) -> None:
    """Run ``ip ARGS``; on failure raise :class:`NetnsError` saying ``what`` failed and why.

    ``ip`` runs in a process group of its own, so that a Ctrl-C at the terminal
    reaches synack (which cleans up) but cannot stop ``ip`` half-way.
    """
    try:
        done = subprocess.run(
            ["ip", *args], capture_output=True, text=True, check=False, process_group=0
        )
    except FileNotFoundError:
        raise NetnsError("cannot run the ip command: install iproute2") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        reason = lines[-1] if lines else f"ip exited with status {done.returncode}"
        raise NetnsError(f"cannot {what}: {reason.removeprefix('Error: ')}")


# delete_netns: tries, and seconds between them.
_DELETE_TRIES = 5
_DELETE_PAUSE = 0.2


def add_netns(name: str) -> None:
    """``ip netns add NAME`` and bring its loopback up."""
    _check_name(name)
    _ip("netns", "add", name, what=f"create namespace {name}")
    _ip("-n", name, "link", "set", "lo", "up", what=f"bring up lo in {name}")


def delete_netns(name: str, *, check: bool = False) -> None:
    """``ip netns delete NAME`` (its processes should be gone; devices in it vanish).

    Failures are ignored (this is clean-up code), unless ``check``: then a
    namespace that could not be deleted raises :class:`NetnsError` with ``ip``'s reason.
    """
    _check_name(name)
    for attempt in range(_DELETE_TRIES):
        if not netns_exists(name):
            return
        try:
            _ip("netns", "delete", name, what=f"delete namespace {name}")
            return
        except NetnsError:
            # "Device or resource busy": a process that was entering the namespace
            # (an `ip netns exec` cut short by a signal) may hold its mount for a
            # moment; wait and try again rather than leave the namespace behind.
            if attempt == _DELETE_TRIES - 1:
                if check:
                    raise
                return
            time.sleep(_DELETE_PAUSE)


def run_in(name: str, argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside namespace ``name`` (``ip netns exec``), capturing text output."""
    _check_name(name)
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        ["ip", "netns", "exec", name, *argv], capture_output=True, text=True, **kwargs
    )


@dataclass
class NetnsLab:
    """A namespace with a TAP device in it and the kernel's addresses on that TAP.

    ``up()`` creates the namespace and configures the kernel side; with
    ``persist_tap`` it also creates a persistent TAP (for ``synack netns up``,
    where synack attaches later), otherwise the caller opens the TAP itself with
    ``TunTapDevice(lab.tap, netns=lab.name)`` and then calls :meth:`configure`.
    ``down()`` deletes everything and is safe to call twice.
    """

    name: str
    tap: str = "tap0"
    kernel_addrs: Sequence[str] = ("10.0.0.1/24", "fd00::1/64")
    synack_addrs: Sequence[str] = ("10.0.0.5/24", "fd00::5/64")
    mtu: int = 1500
    created: bool = field(default=False, init=False)

    def create(self) -> None:
        """Create the namespace (the TAP comes later)."""
        add_netns(self.name)
        self.created = True

    def configure(self) -> None:
        """Give the kernel side of the TAP its addresses and bring it up."""
        where = f"{self.tap} in {self.name}"
        _ip(
            "-n",
            self.name,
            "link",
            "set",
            self.tap,
            "mtu",
            str(self.mtu),
            what=f"set the MTU of {where}",
        )
        for addr in self.kernel_addrs:
            extra = ["nodad"] if ":" in addr else []
            _ip(
                "-n",
                self.name,
                "addr",
                "add",
                addr,
                "dev",
                self.tap,
                *extra,
                what=f"add {addr} to {where}",
            )
        _ip("-n", self.name, "link", "set", self.tap, "up", what=f"bring up {where}")

    def add_persistent_tap(self) -> None:
        """A persistent TAP in the namespace (synack attaches later), with the kernel's addresses."""
        _ip(
            "-n", self.name, "tuntap", "add", "dev", self.tap, "mode", "tap", "vnet_hdr",
            what=f"create TAP {self.tap} in {self.name}",
        )  # fmt: skip
        self.configure()

    def up(self, *, persist_tap: bool = True) -> None:
        """Create the namespace, a persistent TAP in it (if asked) and the kernel-side addresses."""
        self.create()
        try:
            if persist_tap:
                self.add_persistent_tap()
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        """Delete the namespace and every device in it."""
        delete_netns(self.name)
        self.created = False

    def run(self, argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace."""
        return run_in(self.name, argv, **kwargs)

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
        """Start a command inside the namespace, text mode (the caller waits for or kills it)."""
        return subprocess.Popen(["ip", "netns", "exec", self.name, *argv], text=True, **kwargs)

    def __enter__(self) -> NetnsLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

"""What the runner needs from a stack under test: time, packets and system calls.

Two implementations: :class:`~synack.packetdrill.virtual.SynackBackend` runs
synack's core on a virtual clock, :class:`~synack.packetdrill.linux.LinuxBackend`
runs the Linux kernel in a private network namespace in real time. The runner
(:mod:`synack.packetdrill.runner`) is the same for both: it speaks in script
time (microseconds since the script's first event), IP packets, and
:class:`Op` system calls whose results arrive in :class:`PendingCall` objects.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from synack.packetdrill.sysctl import ParsedCommand

__all__ = ["Backend", "Op", "Outcome", "PendingCall", "RunObserver", "Settings"]


@dataclass(frozen=True)
class Settings:
    """A script's environment: addresses, ports, MTU and matching tolerances."""

    ipv6: bool = False
    local_ip: str = "192.168.0.1"
    remote_ip: str = "192.0.2.1"
    bind_port: int = 8080
    connect_port: int = 8080
    mtu: int = 1500
    tolerance_usecs: int = 4000
    tolerance_percent: float = 12.5
    ts_tick_usecs: int = 0
    ignore_window: bool = False
    ignore_options: bool = False
    allow_shell: bool = False


@dataclass(frozen=True)
class Op:
    """One system call, its arguments evaluated: ``name`` is the socket-layer call.

    ``sock`` is the backend's handle for the file descriptor (``None`` for
    ``socket`` and ``poll``); ``args`` depend on the call (see the runner).
    """

    name: str
    sock: Any = None
    args: tuple[Any, ...] = ()
    nonblocking_flag: bool = False


@dataclass(frozen=True)
class Outcome:
    """A call's result: the return value, the errno name if it failed, outputs."""

    ret: int
    errno: str | None = None
    value: Any = None


@dataclass(eq=False)
class PendingCall:
    """A call in progress; ``outcome`` and ``done_at`` (script time) once it returned."""

    op: Op
    line: int
    outcome: Outcome | None = None
    done_at: int | None = None
    started_at: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.outcome is not None


class RunObserver:
    """Sees a run as it happens: packets both ways, notes, core trace records.

    The base class ignores everything; the ladder, pcap and trace views (and a
    future HTML view) override what they need. ``direction`` is ``"in"`` for
    packets the script injects and ``"out"`` for packets the stack sent.
    """

    def packet(self, t: int, direction: str, packet: bytes) -> None:
        """An IP packet crossed the boundary between the script and the stack."""

    def note(self, t: int, text: str) -> None:
        """A script event worth showing (a system call and its result)."""

    def trace(self, record: dict[str, Any]) -> None:
        """A trace record of the stack (synack only: state changes, timers, ...)."""

    def finish(self, passed: bool, error: str | None) -> None:
        """The script ended; ``error`` is the failure message, if any."""


class Backend(ABC):
    """A stack under test, seen through its IP packets and its system calls."""

    name: str
    observers: list[RunObserver]
    real_time: bool = False
    """True when the clock is the wall clock (the runner itself can be late)."""
    late_horizon: int = 600_000_000
    """How long past its time window an expected packet is still waited for,
    to say when it came (a long way in virtual time; a couple of seconds in
    real time)."""

    def note(self, t: int, text: str) -> None:
        """Show a script event to the observers."""
        for o in self.observers:
            o.note(t, text)

    @abstractmethod
    def start(self) -> None:
        """Script time 0 is now."""

    @abstractmethod
    def now(self) -> int:
        """Script time in microseconds."""

    @abstractmethod
    def wait_until(self, t: int) -> None:
        """Let the stack run until script time ``t`` (its packets are kept)."""

    @abstractmethod
    def inject(self, packet: bytes) -> None:
        """Deliver an IP packet from the script's remote end to the stack."""

    @abstractmethod
    def next_outbound(self, limit: int) -> tuple[int, bytes] | None:
        """The oldest packet the stack sent that the script has not seen.

        Waits (lets the stack run) until script time ``limit`` for one, and
        returns ``(time_sent, packet)``, or ``None`` if none came.
        """

    @abstractmethod
    def call(self, op: Op, line: int, *, may_block: bool) -> PendingCall:
        """Start a system call. It may return at once or later (``may_block``)."""

    @abstractmethod
    def settle(self, pending: PendingCall, grace: int) -> None:
        """Give a blocked call up to ``grace`` microseconds to finish (real time only)."""

    @abstractmethod
    def command(self, parsed: ParsedCommand, text: str) -> list[str]:
        """Apply a backtick command; returns warnings (skipped commands)."""

    @abstractmethod
    def close(self) -> None:
        """Release everything (sockets, devices, namespaces)."""

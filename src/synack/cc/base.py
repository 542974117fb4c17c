"""The congestion-control interface the TCP core calls, and the registry of algorithms.

The core owns loss *detection* (duplicate ACKs, RTO, recovery points); an
algorithm only decides ``cwnd`` and ``ssthresh`` from the hooks below, all
keyword-only so new arguments can be added without breaking user algorithms.
Register your own with :func:`register` and select it with
``Config(congestion_control="name")``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

__all__ = ["REGISTRY", "CongestionControl", "Factory", "available", "create", "register"]


class CongestionControl(ABC):
    """Base class: holds ``cwnd`` and ``ssthresh`` (octets) and reacts to hooks."""

    name: ClassVar[str] = "base"

    def __init__(self, *, mss: int, initial_window: int, now: int) -> None:
        self.mss = mss
        self.cwnd = initial_window
        # RFC 5681 3.1: "The initial value of ssthresh SHOULD be set arbitrarily high".
        self.ssthresh = 1 << 62

    @abstractmethod
    def on_ack(
        self, *, now: int, bytes_acked: int, rtt: int | None, in_flight: int, in_recovery: bool
    ) -> None:
        """New data was cumulatively acknowledged (``rtt`` is a valid sample or None)."""

    def on_duplicate_ack(self, *, now: int, in_flight: int, in_recovery: bool) -> None:
        """A duplicate ACK arrived (RFC 5681 2, definition of DUPLICATE ACKNOWLEDGMENT)."""

    @abstractmethod
    def on_recovery_start(self, *, now: int, in_flight: int) -> None:
        """Fast retransmit: a loss was detected without a timeout."""

    def on_recovery_end(self, *, now: int, in_flight: int) -> None:
        """The recovery point was acknowledged."""

    @abstractmethod
    def on_rto(self, *, now: int, in_flight: int) -> None:
        """The retransmission timer expired."""

    def on_packet_sent(self, *, now: int, bytes_sent: int, in_flight: int) -> None:
        """A segment carrying data left (``in_flight`` includes it)."""

    def pacing_rate(self) -> int | None:
        """Octets per second to pace at, or ``None`` for no pacing."""
        return None

    def set_mss(self, mss: int) -> None:
        """The effective MSS became known (after the handshake) or changed."""
        self.mss = mss


Factory = Callable[..., CongestionControl]

REGISTRY: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Make ``factory`` (called with ``mss=``, ``initial_window=``, ``now=``) available as ``name``."""
    REGISTRY[name.lower()] = factory


def available() -> list[str]:
    """Names of the registered algorithms."""
    return sorted(REGISTRY)


def create(name: str, *, mss: int, initial_window: int, now: int) -> CongestionControl:
    """Instantiate the algorithm registered as ``name``; ``ValueError`` if unknown."""
    try:
        factory = REGISTRY[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown congestion control {name!r}; available: {', '.join(available())}"
        ) from None
    return factory(mss=mss, initial_window=initial_window, now=now)

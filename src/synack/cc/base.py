"""The congestion-control interface the TCP core calls, and the registry of algorithms.

The core owns loss *detection* (duplicate ACKs, SACK scoreboard, RACK, RTO,
recovery points); an algorithm only decides ``cwnd`` and ``ssthresh`` (and,
optionally, a pacing rate) from the hooks below, all keyword-only so new
arguments can be added without breaking user algorithms. Register your own with
:func:`register` and select it with ``Config(congestion_control="name")``.

Hooks added after the first version (each has a default, so older subclasses
keep working): :meth:`CongestionControl.on_rate_sample` (delivery-rate samples,
for model-based algorithms such as BBR),
:meth:`CongestionControl.on_spurious_recovery` (a loss response proved
spurious), and the ECN pair (RFC 3168): :meth:`CongestionControl.on_ecn` (the
once-per-window reaction to an ECN-Echo; by default the algorithm's own loss
decrease) and :meth:`CongestionControl.on_ecn_feedback` (every ACK's ECE bit,
for algorithms that weigh how much was marked, such as DCTCP).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

__all__ = [
    "INFINITE_SSTHRESH",
    "REGISTRY",
    "CongestionControl",
    "Factory",
    "RateSample",
    "available",
    "create",
    "register",
]

# RFC 5681 3.1: "The initial value of ssthresh SHOULD be set arbitrarily high".
INFINITE_SSTHRESH = 1 << 62


class RateSample:
    """One delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation, 3.3).

    The core fills one instance per connection and passes it to
    :meth:`CongestionControl.on_rate_sample` after every ACK that delivered or
    marked lost any data. It is reused for the next ACK: copy what you keep.
    Sizes are octets, times integer microseconds, rates octets per second.
    """

    __slots__ = (
        "delivered",
        "delivery_rate",
        "in_flight",
        "interval",
        "is_app_limited",
        "newly_acked",
        "newly_lost",
        "prior_delivered",
        "prior_in_flight",
        "rtt",
        "total_delivered",
        "total_lost",
    )

    def __init__(self) -> None:
        self.delivery_rate = 0
        """``delivered / interval`` in octets/s; 0 when the sample is not valid."""
        self.delivered = 0
        """Octets delivered between the sampled packet's send and this ACK."""
        self.interval = 0
        """The longer of the send and ACK intervals (µs); 0 when not valid."""
        self.prior_delivered = 0
        """``total_delivered`` when the most recently sent packet acknowledged here left."""
        self.total_delivered = 0
        """Octets delivered (cumulatively or by SACK) over the connection's life."""
        self.total_lost = 0
        """Octets marked lost over the connection's life."""
        self.rtt: int | None = None
        """RTT of the most recently sent, never retransmitted, packet acknowledged."""
        self.is_app_limited = False
        """The sampled packet was sent while the application left the window unused."""
        self.newly_acked = 0
        """Octets delivered by this ACK (cumulatively or newly SACKed)."""
        self.newly_lost = 0
        """Octets newly marked lost while processing this ACK."""
        self.prior_in_flight = 0
        """Octets in flight before this ACK was processed."""
        self.in_flight = 0
        """Octets in flight after this ACK was processed (before any new sends)."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"RateSample({fields})"


class CongestionControl(ABC):
    """Base class: holds ``cwnd`` and ``ssthresh`` (octets) and reacts to hooks.

    Every hook takes the current time ``now`` in integer microseconds.
    ``in_flight`` is the sender's estimate of octets in the network (FlightSize
    of RFC 5681, or "pipe" of RFC 6675 when SACK is in use).
    """

    name: ClassVar[str] = "base"
    needs_rate_samples: ClassVar[bool] = False
    """True if the algorithm uses :meth:`on_rate_sample` (the core may skip the work otherwise)."""
    controls_recovery_window: ClassVar[bool] = False
    """True if the algorithm sets ``cwnd`` itself during loss recovery (BBR);
    otherwise the core may shape the window with PRR (RFC 6937) towards ``ssthresh``."""
    restart_after_idle: ClassVar[bool] = True
    """Let the core apply RFC 5681 4.1's restart window after an idle period longer
    than the RTO; False for algorithms with their own idle handling (BBR)."""
    needs_ecn_feedback: ClassVar[bool] = False
    """True if the algorithm uses :meth:`on_ecn_feedback` (the core may skip the call otherwise)."""
    echo_every_ce: ClassVar[bool] = False
    """Receiver side: echo each CE mark on the ACK for exactly that data (RFC 8257 3.2)
    instead of RFC 3168's ECE-until-CWR, so the sender can count marked bytes."""

    def __init__(self, *, mss: int, initial_window: int, now: int) -> None:
        self.mss = mss
        self.cwnd = initial_window
        self.ssthresh = INFINITE_SSTHRESH

    @abstractmethod
    def on_ack(
        self, *, now: int, bytes_acked: int, rtt: int | None, in_flight: int, in_recovery: bool
    ) -> None:
        """New data was cumulatively acknowledged (``rtt`` is a valid sample or None).

        ``in_flight`` is measured after the ACK was processed, before new sends.
        """

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

    def on_rate_sample(self, *, now: int, sample: RateSample) -> None:
        """Delivery-rate sample for this ACK, after :meth:`on_ack` (see :class:`RateSample`).

        Called only when :attr:`needs_rate_samples` is true.
        """

    def on_spurious_recovery(self, *, now: int) -> None:
        """The last loss response was spurious (D-SACK, timestamps): undo it if you can."""

    def on_ecn(self, *, now: int, in_flight: int) -> None:
        """An ACK carried ECN-Echo: the network marked congestion (RFC 3168 6.1.2).

        The core calls this at most once per window of data (it ignores further
        ECE until the data outstanding now is acknowledged) and then sets CWR on
        its next new segment. The default treats it as a loss without the loss:
        the algorithm's own multiplicative decrease (:meth:`on_recovery_start`),
        with ``cwnd`` set to the new ``ssthresh`` since nothing needs
        retransmitting.
        """
        self.on_recovery_start(now=now, in_flight=in_flight)
        self.cwnd = max(self.ssthresh, self.mss)

    def on_ecn_feedback(
        self, *, now: int, bytes_acked: int, ece: bool, delivered: int, sent: int
    ) -> None:
        """An ACK acknowledged ``bytes_acked`` new octets on an ECN connection.

        ``ece`` is its ECN-Echo bit; ``delivered`` and ``sent`` are the octets
        acknowledged and sent over the connection's life (plain integers that
        never wrap, unlike sequence numbers). Called before :meth:`on_ecn`, and
        only when :attr:`needs_ecn_feedback` is true.
        """

    def pacing_rate(self) -> int | None:
        """Octets per second to pace at, or ``None`` for no pacing."""
        return None

    def pacing_quantum(self) -> int:
        """Octets that may leave back to back when pacing (one MSS unless overridden).

        The paced schedule may run this far ahead of the clock, so that each
        wake-up of the sender releases a burst of about this size, as a kernel's
        pacing releases one TSO segment (BBR's send quantum).
        """
        return self.mss

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

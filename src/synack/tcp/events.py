"""Events the core hands to the user of a connection, and the trace-record hook.

Events are pulled with ``Connection.next_event()`` (or ``Endpoint.next_event()``,
which pairs each with its connection). Trace records are pushed, as they happen,
to an optional :data:`Tracer` callable: plain dicts with a fixed schema (see
``docs/trace.md``) so drivers can write them as JSON Lines without translation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synack.tcp.state import State

__all__ = [
    "Closed",
    "Connected",
    "DataReceived",
    "Event",
    "PeerClosed",
    "Reset",
    "SendBufferSpace",
    "SoftError",
    "StateChanged",
    "TimedOut",
    "TraceRecord",
    "Tracer",
    "UrgentData",
]

TraceRecord = dict[str, Any]
"""One trace record: always ``t`` (microseconds) and ``ev`` (record type)."""

Tracer = Callable[[TraceRecord], None]
"""Receives trace records synchronously; must not call back into the core."""


@dataclass(frozen=True, slots=True)
class Connected:
    """The handshake completed: the connection is ESTABLISHED."""


@dataclass(frozen=True, slots=True)
class DataReceived:
    """In-order data is waiting; ``Connection.recv()`` returns it. ``available`` octets."""

    available: int


@dataclass(frozen=True, slots=True)
class UrgentData:
    """The peer sent urgent data (RFC 9293 3.8.5); ``pending`` octets of it are unread."""

    pending: int


@dataclass(frozen=True, slots=True)
class SendBufferSpace:
    """The send buffer drained below its low-water mark: ``free`` octets may be sent."""

    free: int


@dataclass(frozen=True, slots=True)
class PeerClosed:
    """The peer sent FIN: no more data will arrive (the other direction stays open)."""


@dataclass(frozen=True, slots=True)
class Closed:
    """The connection is fully closed (CLOSED, or TIME-WAIT entered after both FINs)."""


@dataclass(frozen=True, slots=True)
class Reset:
    """The peer reset the connection (RFC 9293 3.10.7). ``refused`` for a RST to our SYN."""

    refused: bool = False


@dataclass(frozen=True, slots=True)
class TimedOut:
    """Retransmission (R2), SYN retry, keepalive or user timeout gave up."""

    reason: str


@dataclass(frozen=True, slots=True)
class SoftError:
    """An ICMP error or similar that RFC 9293 3.9 says must not abort the connection."""

    reason: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The connection moved between RFC 9293 states."""

    old: State
    new: State
    reason: str


Event = (
    Connected
    | DataReceived
    | SendBufferSpace
    | PeerClosed
    | Closed
    | Reset
    | TimedOut
    | SoftError
    | StateChanged
    | UrgentData
)

"""Events the core hands to the user of a connection, the trace-record hook, and the reporter.

Events are pulled with ``Connection.next_event()`` (or ``Endpoint.next_event()``,
which pairs each with its connection). Trace records are pushed, as they happen,
to an optional :data:`Tracer` callable: plain dicts with a fixed schema (see
``docs/trace.md``) so drivers can write them as JSON Lines without translation.

A connection and its parts (sender, receiver) report through one
:class:`Reporter`: events, counters, drops with their reason, trace records.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from synack.tcp.reasons import DropReason, RetransmitReason, SoftErrorReason, TimeoutReason
from synack.tcp.state import State
from synack.wire.render import format_options
from synack.wire.tcp import Segment, flag_names

__all__ = [
    "Closed",
    "Connected",
    "DataReceived",
    "Event",
    "EventQueue",
    "EventSink",
    "PeerClosed",
    "Reporter",
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

    reason: TimeoutReason


@dataclass(frozen=True, slots=True)
class SoftError:
    """An ICMP error or similar that RFC 9293 3.9 says must not abort the connection."""

    reason: SoftErrorReason


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


_C = TypeVar("_C", contravariant=True)


class EventSink(Protocol[_C]):
    """Where a connection reports: its events, and that it has something to send.

    An :class:`~synack.tcp.endpoint.Endpoint` is the sink of its connections; a
    connection used on its own keeps its events in an :class:`EventQueue`. Both
    methods are called synchronously and must not call back into the core.
    """

    def connection_event(self, conn: _C, event: Event) -> None:
        """``event`` happened on ``conn``."""

    def connection_wakeup(self, conn: _C) -> None:
        """A user call gave ``conn`` something to send: flush it soon."""


class EventQueue:
    """The sink of a connection used on its own: events wait for ``next_event()``."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: deque[Event] = deque()

    def connection_event(self, conn: object, event: Event) -> None:
        self.events.append(event)

    def connection_wakeup(self, conn: object) -> None:
        pass


class Reporter:
    """Where one connection and its parts report what is not a segment.

    Events go to ``sink`` paired with ``owner`` (the connection); every drop is
    counted as ``drop.<reason>`` in :attr:`counters` (and in ``shared_counters``,
    the endpoint's, when set) and traced; :meth:`trace` passes records to the
    tracer, if any. Components call ``if report.tracer:`` before building a
    record's fields.
    """

    __slots__ = ("counters", "label", "name", "owner", "shared_counters", "sink", "tracer")

    def __init__(
        self,
        owner: object,
        sink: EventSink[Any],
        *,
        name: str = "",
        label: str = "",
        tracer: Tracer | None = None,
        shared_counters: Counter[str] | None = None,
    ) -> None:
        self.owner = owner
        self.sink = sink
        self.counters: Counter[str] = Counter()
        self.name = name
        self.label = label
        self.tracer = tracer
        self.shared_counters = shared_counters

    def event(self, event: Event) -> None:
        """Deliver ``event`` to the user of the connection: the one path events take.

        (Binding ``sink.connection_event`` to the owner once, with a partial,
        saves a call per event but costs 256 octets per connection: BENCHMARKS.md.)
        """
        self.sink.connection_event(self.owner, event)

    def drop(self, now: int, reason: DropReason) -> None:
        """A segment was dropped for ``reason``: count and trace it."""
        key = "drop." + reason
        self.counters[key] += 1
        if self.shared_counters is not None:
            self.shared_counters[key] += 1
        if self.tracer:
            self.trace(now, "drop", reason=reason)

    def trace(self, now: int, ev: str, **fields: object) -> None:
        """One trace record of type ``ev`` about this connection."""
        if self.tracer:
            rec: TraceRecord = {"t": now, "ev": ev, "host": self.name, "conn": self.label}
            rec.update(fields)
            self.tracer(rec)

    def trace_segment(
        self, now: int, ev: str, seg: Segment, rtx: bool, why: RetransmitReason | None = None
    ) -> None:
        """A ``seg_in`` or ``seg_out`` record (``rtx``: a retransmission, sent for ``why``)."""
        fields: dict[str, object] = {
            "flags": flag_names(seg.flags),
            "seq": seg.seq,
            "ack": seg.ack,
            "win": seg.window,
            "len": len(seg.payload),
        }
        if seg.options:
            fields["opts"] = format_options(seg.options)
        if ev == "seg_out":
            fields["rtx"] = rtx
            if why is not None:
                fields["why"] = why
        self.trace(now, ev, **fields)

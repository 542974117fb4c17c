"""The sans-I/O TCP core (RFC 9293): connections, endpoint, timers; no I/O.

A :class:`Connection` is an orchestrator over its :class:`Receiver` (RCV.*) and
:class:`Sender` (SND.*), a :class:`TimerSet` and the :class:`Negotiated`
options; an :class:`Endpoint` holds a host's connections and is their
:class:`EventSink`. docs/architecture.md maps the modules.

>>> from synack.tcp import Config, Connection, Endpoint, State
"""

from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint, Listener
from synack.tcp.errors import ConnectionClosedError, InvalidStateError, PortInUseError, TcpError
from synack.tcp.events import (
    Closed,
    Connected,
    DataReceived,
    Event,
    EventQueue,
    EventSink,
    PeerClosed,
    Reset,
    SendBufferSpace,
    SoftError,
    StateChanged,
    TimedOut,
    UrgentData,
)
from synack.tcp.info import TcpInfo
from synack.tcp.negotiated import Negotiated
from synack.tcp.receiver import Receiver
from synack.tcp.sender import Sender
from synack.tcp.state import State
from synack.tcp.timers import Timer, TimerSet

__all__ = [
    "Closed",
    "Config",
    "Connected",
    "Connection",
    "ConnectionClosedError",
    "DataReceived",
    "Endpoint",
    "Event",
    "EventQueue",
    "EventSink",
    "InvalidStateError",
    "Listener",
    "Negotiated",
    "PeerClosed",
    "PortInUseError",
    "Receiver",
    "Reset",
    "SendBufferSpace",
    "Sender",
    "SoftError",
    "State",
    "StateChanged",
    "TcpError",
    "TcpInfo",
    "TimedOut",
    "Timer",
    "TimerSet",
    "UrgentData",
]

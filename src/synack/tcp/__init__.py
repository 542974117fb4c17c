"""The sans-I/O TCP core (RFC 9293): connections, endpoint, timers; no I/O.

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
    PeerClosed,
    Reset,
    SendBufferSpace,
    SoftError,
    StateChanged,
    TimedOut,
    UrgentData,
)
from synack.tcp.info import TcpInfo
from synack.tcp.state import State

__all__ = [
    "Closed",
    "Config",
    "Connected",
    "Connection",
    "ConnectionClosedError",
    "DataReceived",
    "Endpoint",
    "Event",
    "InvalidStateError",
    "Listener",
    "PeerClosed",
    "PortInUseError",
    "Reset",
    "SendBufferSpace",
    "SoftError",
    "State",
    "StateChanged",
    "TcpError",
    "TcpInfo",
    "TimedOut",
    "UrgentData",
]

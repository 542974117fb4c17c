"""``synack.aio``: asyncio streams and transports over synack (see :mod:`synack.api.aio`)."""

from synack.api.aio import (
    Server,
    SynackTransport,
    create_connection,
    create_server,
    get_default_runtime,
    open_connection,
    set_default_runtime,
    start_server,
)
from synack.api.runtime import Runtime, open_tap_runtime

__all__ = [
    "Runtime",
    "Server",
    "SynackTransport",
    "create_connection",
    "create_server",
    "get_default_runtime",
    "open_connection",
    "open_tap_runtime",
    "set_default_runtime",
    "start_server",
]

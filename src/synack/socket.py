"""``synack.socket``: a blocking, socket-module style API over synack (see :mod:`synack.api.socket`)."""

from synack.api.socket import (
    AF_INET,
    AF_INET6,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    SOCK_STREAM,
    Stack,
    create_connection,
    get_default_stack,
    set_default_stack,
    socket,
)

__all__ = [
    "AF_INET",
    "AF_INET6",
    "SHUT_RD",
    "SHUT_RDWR",
    "SHUT_WR",
    "SOCK_STREAM",
    "Stack",
    "create_connection",
    "get_default_stack",
    "set_default_stack",
    "socket",
]

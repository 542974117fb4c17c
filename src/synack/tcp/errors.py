"""Exceptions for misuse by the local user (bad input from the network never raises)."""

from __future__ import annotations

__all__ = ["ConnectionClosedError", "InvalidStateError", "PortInUseError", "TcpError"]


class TcpError(Exception):
    """Base class of every exception synack's core raises to its user."""


class InvalidStateError(TcpError):
    """The call is not valid in the connection's current state (RFC 9293 3.10)."""


class ConnectionClosedError(InvalidStateError):
    """RFC 9293 3.10: "error: connection closing" or "connection does not exist"."""


class PortInUseError(TcpError):
    """A listener or connection already uses that port / 4-tuple."""

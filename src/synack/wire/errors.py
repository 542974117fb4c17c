"""The one error type that parsing raises on bad input from the network."""

from __future__ import annotations

__all__ = ["MalformedPacket"]


class MalformedPacket(ValueError):
    """Raised by every ``parse`` function in :mod:`synack.wire` on bad input.

    ``reason`` is a short machine-readable code, stable across releases, suitable
    as a counter key (for example ``truncated``, ``bad_checksum``,
    ``bad_data_offset``, ``bad_option_length``, ``fragment``, ``ipv6_extension``).
    No other exception escapes a ``parse`` function for any byte string.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

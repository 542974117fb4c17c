"""The one error type that parsing raises on bad input from the network, and its reasons."""

from __future__ import annotations

from typing import Final

__all__ = ["REASONS", "MalformedPacket"]

# Every ``MalformedPacket.reason`` the wire layer uses, with what it means. The
# codes are stable: drivers use them as counter keys and in traces.
REASONS: Final[dict[str, str]] = {
    "truncated": "shorter than the fixed IP or TCP header",
    "bad_version": "IP version is neither 4 nor 6",
    "bad_ihl": "IPv4 header length below 20 bytes",
    "bad_length": "IPv4 total length or IPv6 payload length disagrees with the bytes",
    "bad_ip_checksum": "IPv4 header checksum does not verify",
    "fragment": "an IPv4 fragment (MF or offset) or an IPv6 Fragment header",
    "ipv6_extension": "an IPv6 extension header other than Fragment",
    "not_tcp": "the IP packet carries another protocol",
    "bad_data_offset": "TCP data offset below 5 words or past the segment",
    "bad_checksum": "TCP checksum does not verify",
    "bad_option_length": "a TCP option length is missing, under 2, too long, or wrong",
}


class MalformedPacket(ValueError):
    """Raised by every ``parse`` function in :mod:`synack.wire` on bad input.

    ``reason`` is a short machine-readable code from :data:`REASONS`, stable
    across releases and suitable as a counter key; ``detail`` is free text for
    people. No other exception escapes a ``parse`` function for any byte string.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

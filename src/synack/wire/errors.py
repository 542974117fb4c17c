"""The one error type that parsing raises on bad input from the network, and its reasons."""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = ["REASONS", "MalformedPacket", "WireReason"]

WireReason = Literal[
    "truncated",
    "bad_version",
    "bad_ihl",
    "bad_length",
    "bad_ip_checksum",
    "fragment",
    "ipv6_extension",
    "not_tcp",
    "bad_data_offset",
    "bad_checksum",
    "bad_option_length",
    "bad_icmp_checksum",
    "ndp_bad_code",
    "ndp_bad_option",
    "not_ethernet_ii",
    "arp_unsupported",
    "arp_bad_op",
]
"""Every ``MalformedPacket.reason`` (mypy rejects any other)."""

# What each reason means. The codes are stable: drivers use them as counter
# keys and in traces.
REASONS: Final[dict[WireReason, str]] = {
    "truncated": "shorter than the fixed header of its protocol",
    "bad_version": "IP version is neither 4 nor 6",
    "bad_ihl": "IPv4 header length below 20 bytes",
    "bad_length": "IPv4 total length or IPv6 payload length disagrees with the bytes",
    "bad_ip_checksum": "IPv4 header checksum does not verify",
    "fragment": "an IPv4 fragment (MF or offset) or an IPv6 Fragment header",
    "ipv6_extension": "an IPv6 extension header a host cannot skip (ESP, AH, mobility, a routing header with segments left, an option marked discard)",
    "not_tcp": "the IP packet carries another protocol",
    "bad_data_offset": "TCP data offset below 5 words or past the segment",
    "bad_checksum": "TCP checksum does not verify",
    "bad_option_length": "a TCP option length is missing, under 2, too long, or wrong",
    "bad_icmp_checksum": "ICMP or ICMPv6 checksum does not verify",
    "ndp_bad_code": "a neighbour discovery message with a code other than 0 (RFC 4861 7.1)",
    "ndp_bad_option": "a neighbour discovery option of length 0 or past the message",
    "not_ethernet_ii": "an 802.3 length field where Ethernet II has its EtherType",
    "arp_unsupported": "ARP for another hardware or protocol type than Ethernet and IPv4",
    "arp_bad_op": "an ARP operation other than request and reply",
}

assert set(get_args(WireReason)) == set(REASONS)


class MalformedPacket(ValueError):
    """Raised by every ``parse`` function in :mod:`synack.wire` on bad input.

    ``reason`` is a short machine-readable code from :data:`REASONS`, stable
    across releases and suitable as a counter key; ``detail`` is free text for
    people. No other exception escapes a ``parse`` function for any byte string.
    """

    def __init__(self, reason: WireReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: WireReason = reason
        self.detail = detail

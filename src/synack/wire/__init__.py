"""Bytes <-> values for TCP/IP: no state, no I/O.

Every ``parse`` function raises only :class:`MalformedPacket` on bad input.
"""

from synack.wire.errors import MalformedPacket
from synack.wire.ip import (
    IPv4Header,
    IPv6Header,
    addr_to_str,
    emit_tcp_packet,
    parse_ip,
    parse_tcp_packet,
    pseudo_sum,
    str_to_addr,
)
from synack.wire.tcp import (
    ACK,
    CWR,
    ECE,
    FIN,
    PSH,
    RST,
    SYN,
    URG,
    EndOfOptions,
    MaxSegmentSize,
    NoOperation,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    parse_segment,
)

__all__ = [
    "ACK",
    "CWR",
    "ECE",
    "FIN",
    "PSH",
    "RST",
    "SYN",
    "URG",
    "EndOfOptions",
    "IPv4Header",
    "IPv6Header",
    "MalformedPacket",
    "MaxSegmentSize",
    "NoOperation",
    "Sack",
    "SackPermitted",
    "Segment",
    "Timestamps",
    "UnknownOption",
    "WindowScale",
    "addr_to_str",
    "emit_tcp_packet",
    "parse_ip",
    "parse_segment",
    "parse_tcp_packet",
    "pseudo_sum",
    "str_to_addr",
]

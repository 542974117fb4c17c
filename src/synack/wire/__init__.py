"""Bytes <-> values for TCP/IP: no state, no I/O.

Every ``parse`` function raises only :class:`MalformedPacket` on bad input, with
a machine-readable ``reason``; every ``emit`` raises ``ValueError`` for values
that do not fit their fields. Sequence-number arithmetic is in
:mod:`synack.wire.seq`, renderings for humans in :mod:`synack.wire.render`.
"""

from synack.wire.errors import REASONS, MalformedPacket
from synack.wire.ip import (
    IPHeader,
    IPv4Header,
    IPv6Header,
    addr_to_str,
    emit_tcp_packet,
    parse_ip,
    parse_tcp_packet,
    pseudo_sum,
    str_to_addr,
)
from synack.wire.render import format_options, format_segment
from synack.wire.tcp import (
    ACK,
    AE,
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
    Option,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    emit_options,
    pad_options,
    parse_options,
    parse_segment,
)

__all__ = [
    "ACK",
    "AE",
    "CWR",
    "ECE",
    "FIN",
    "PSH",
    "REASONS",
    "RST",
    "SYN",
    "URG",
    "EndOfOptions",
    "IPHeader",
    "IPv4Header",
    "IPv6Header",
    "MalformedPacket",
    "MaxSegmentSize",
    "NoOperation",
    "Option",
    "Sack",
    "SackPermitted",
    "Segment",
    "Timestamps",
    "UnknownOption",
    "WindowScale",
    "addr_to_str",
    "emit_options",
    "emit_tcp_packet",
    "format_options",
    "format_segment",
    "pad_options",
    "parse_ip",
    "parse_options",
    "parse_segment",
    "parse_tcp_packet",
    "pseudo_sum",
    "str_to_addr",
]

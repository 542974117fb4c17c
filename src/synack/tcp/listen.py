"""Segments that find no synchronized connection: RFC 9293 3.10.7.1 (CLOSED) and 3.10.7.2 (LISTEN).

The rules live here once, for the two places that apply them: the
:class:`~synack.tcp.endpoint.Endpoint` (a segment for a port with a listener,
or with nothing at all) and a :class:`~synack.tcp.connection.Connection` put in
LISTEN by hand.
"""

from __future__ import annotations

from synack.tcp.reasons import TcpDropReason
from synack.wire.seq import add
from synack.wire.tcp import ACK, RST, SYN, Segment

__all__ = ["listen_verdict", "reset_for"]


def listen_verdict(seg: Segment) -> TcpDropReason | None:
    """RFC 9293 3.10.7.2: ``None`` for a SYN that opens a connection, else why ``seg`` is dropped.

    ``ack_in_listen`` is answered with :func:`reset_for` ("Any acknowledgment is
    bad if it arrives on a connection still in the LISTEN state. An acceptable
    reset segment should be formed"); the others are dropped silently.
    """
    flags = seg.flags
    if flags & RST:
        return "rst_in_listen"  # "An incoming RST segment could not be valid"
    if flags & ACK:
        return "ack_in_listen"
    if not flags & SYN:
        return "no_syn_in_listen"  # "drop the segment and return"
    return None


def reset_for(seg: Segment) -> Segment | None:
    """The RST that answers ``seg``, which found no connection (RFC 9293 3.10.7.1), or None for a RST.

    "If the ACK bit is off, sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
    <CTL=RST,ACK>. If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>". The second form
    also answers an ACK that reaches a listener (3.10.7.2).
    """
    if seg.flags & RST:
        return None
    if seg.flags & ACK:
        return Segment(seg.dst_port, seg.src_port, seg.ack, 0, RST)
    return Segment(seg.dst_port, seg.src_port, 0, add(seg.seq, seg.seg_len), RST | ACK)

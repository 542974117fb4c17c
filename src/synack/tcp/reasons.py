"""Why the core drops a segment, gives up on a connection, reports a soft error, or retransmits: one list each.

Each reason is a :data:`~typing.Literal` type (mypy rejects a name not in the
list) with a table of what it means, in the manner of
:data:`synack.wire.errors.REASONS`. The names are stable: they are counter keys
(``drop.<reason>``, ``timeout.<reason>``), trace fields, and what drivers map to
errno values (``synack.api.aio``). A drop for bad bytes carries the wire layer's
reason (:data:`synack.wire.errors.WireReason`) instead.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from synack.wire.errors import WireReason
from synack.wire.icmp import IcmpKind

__all__ = [
    "DROP_REASONS",
    "RETRANSMIT_REASONS",
    "SOFT_ERROR_REASONS",
    "TIMEOUT_REASONS",
    "DropReason",
    "RetransmitReason",
    "SoftErrorReason",
    "TcpDropReason",
    "TimeoutReason",
]

TcpDropReason = Literal[
    # no connection (RFC 9293 3.10.7.1-2)
    "not_for_us",
    "no_connection",
    "closed",
    "rst_in_listen",
    "ack_in_listen",
    "no_syn_in_listen",
    "backlog_full",
    "bad_source_address",
    # SYN-SENT (3.10.7.3)
    "bad_ack_in_syn_sent",
    "rst_without_ack_in_syn_sent",
    "no_syn_in_syn_sent",
    # the other states (3.10.7.4, RFC 5961, RFC 7323)
    "duplicate_syn",
    "missing_timestamp",
    "paws",
    "out_of_window",
    "rst_out_of_window",
    "rst_not_exact",
    "syn_in_syn_received",
    "syn_in_window",
    "no_ack",
    "bad_ack_in_syn_received",
    "ack_too_new",
    "ack_too_old",
    "data_after_fin",
    "ooo_queue_full",
    # inside an acceptable segment
    "sack_block_invalid",
]
"""A drop decided by TCP's rules (the wire layer's reasons are :data:`WireReason`)."""

DropReason = TcpDropReason | WireReason
"""Every reason a segment or packet is dropped by the core."""

DROP_REASONS: Final[dict[TcpDropReason, str]] = {
    "not_for_us": "the destination is not one of the endpoint's addresses",
    "no_connection": "no connection or listener for the 4-tuple: answered with a RST (RFC 9293 3.10.7.1)",
    "closed": "the connection is CLOSED (its TCB is gone)",
    "rst_in_listen": "a RST to a listener (RFC 9293 3.10.7.2: it 'could not be valid')",
    "ack_in_listen": "an ACK to a listener: answered with <SEQ=SEG.ACK><CTL=RST> (3.10.7.2)",
    "no_syn_in_listen": "neither SYN, ACK nor RST, to a listener (3.10.7.2)",
    "backlog_full": "a SYN beyond the listener's backlog",
    "bad_source_address": "from a loopback, multicast, broadcast, unspecified or IPv4-mapped address, or our own (RFC 1122 3.2.1.3, RFC 9293 MUST-63)",
    "bad_ack_in_syn_sent": "SEG.ACK =< ISS or SEG.ACK > SND.NXT in SYN-SENT (3.10.7.3)",
    "rst_without_ack_in_syn_sent": "a RST without an acceptable ACK in SYN-SENT (3.10.7.3)",
    "no_syn_in_syn_sent": "neither SYN nor RST in SYN-SENT (3.10.7.3)",
    "duplicate_syn": "the peer's SYN again in SYN-RECEIVED: our SYN-ACK is resent",
    "missing_timestamp": "no Timestamps option once both sides use them (RFC 7323 3.2)",
    "paws": "an old timestamp (RFC 7323 5.3 R1, PAWS): acknowledged and dropped",
    "out_of_window": "not acceptable (RFC 9293 3.10.7.4 first): acknowledged and dropped",
    "rst_out_of_window": "a RST outside the receive window (RFC 5961 3.2)",
    "rst_not_exact": "an in-window RST not at RCV.NXT: challenge ACK (RFC 5961 3.2)",
    "syn_in_syn_received": "a SYN in SYN-RECEIVED of a passive open: back to LISTEN (3.10.7.4)",
    "syn_in_window": "a SYN in a synchronized state: challenge ACK (RFC 5961 4.2)",
    "no_ack": "a segment without ACK in a synchronized state (3.10.7.4 fifth)",
    "bad_ack_in_syn_received": "an unacceptable ACK in SYN-RECEIVED: answered with a RST (3.10.7.4)",
    "ack_too_new": "SEG.ACK > SND.NXT: acknowledged and dropped (3.10.7.4 fifth)",
    "ack_too_old": "SEG.ACK < SND.UNA - MAX.SND.WND: challenge ACK (RFC 5961 5.2)",
    "data_after_fin": "text after the peer's FIN (3.10.7.4 seventh: 'ignore the segment text')",
    "ooo_queue_full": "out of order, beyond the reassembly queue's bound: not kept, not SACKed",
    "sack_block_invalid": "a SACK block outside the data in flight (RFC 2018; the ACK itself is used)",
}

TimeoutReason = Literal[
    "syn_retries", "retransmissions", "keepalive", "user_timeout", "fin_wait_2", "orphan_retries"
]
"""Why a connection gave up (:class:`~synack.tcp.events.TimedOut`)."""

TIMEOUT_REASONS: Final[dict[TimeoutReason, str]] = {
    "syn_retries": "the SYN was retransmitted Config.syn_retries times, or the SYN-ACK Config.synack_retries times (RFC 9293 3.8.3)",
    "retransmissions": "one segment was retransmitted R2 times (RFC 9293 3.8.3)",
    "keepalive": "Config.keepalive_probes keep-alives went unanswered (RFC 9293 3.8.4)",
    "user_timeout": "data stayed unacknowledged for Config.user_timeout (RFC 9293 3.8.3)",
    "fin_wait_2": "abandoned by the user, no FIN from the peer within Config.fin_wait_2_timeout (Linux's tcp_fin_timeout)",
    "orphan_retries": "abandoned by the user, Config.orphan_retries timeouts or zero-window probes in a row (Linux's tcp_orphan_retries)",
}

SoftErrorReason = IcmpKind | Literal["r1_reached"]
"""What a :class:`~synack.tcp.events.SoftError` reports: an ICMP error kind, or R1."""

SOFT_ERROR_REASONS: Final[dict[Literal["r1_reached"], str]] = {
    "r1_reached": "retransmissions reached R1 (RFC 9293 3.8.3 SHLD-10, MUST-22 for SYNs)",
}
"""The soft errors that are not ICMP errors (those are :data:`synack.wire.icmp.ICMP_KINDS`)."""

RetransmitReason = Literal[
    "syn",
    "dup_syn",
    "rto",
    "rto_recovery",
    "tlp",
    "rack",
    "rack_timer",
    "dupthresh",
    "newreno",
    "window_probe",
    "window_reopened",
    "pmtu",
]
"""Why a segment was sent again: the ``why`` of a retransmission's ``seg_out`` trace record."""

RETRANSMIT_REASONS: Final[dict[RetransmitReason, str]] = {
    "syn": "our SYN or SYN-ACK, when the retransmission timer fired in SYN-SENT or SYN-RECEIVED (RFC 6298 5, RFC 9293 3.8.1)",
    "dup_syn": "our SYN-ACK, because the peer's SYN came again (RFC 9293 3.10.7.4: it lost our SYN-ACK)",
    "rto": "the first unacknowledged segment, when the retransmission timer fired (RFC 6298 5.4)",
    "rto_recovery": "the rest of the flight after an RTO, in order, as the window opens again (go-back-N, RFC 6298 5.4, RFC 6675 5.1)",
    "tlp": "the last segment sent, as a tail loss probe (RFC 8985 7.3)",
    "rack": "marked lost by RACK when an ACK arrived (RFC 8985 6.2)",
    "rack_timer": "marked lost by RACK when its reordering timer fired (RFC 8985 6.3)",
    "dupthresh": "marked lost by DupThresh: three duplicate ACKs (RFC 5681 3.2), or with SACK RFC 6675 IsLost or its fast retransmit (RFC 6675 4, 5)",
    "newreno": "the first unacknowledged segment after a partial ACK in fast recovery without SACK (RFC 6582 3.2 (5))",
    "window_probe": "one octet already sent, probing the peer's zero window (RFC 9293 3.8.6.1)",
    "window_reopened": "what the peer's closed window may have dropped, resent when it reopened",
    "pmtu": "too big for the path MTU an ICMP error lowered: resent at once, cut to the new MSS (RFC 8201 5.4, RFC 1191 6.5)",
}

assert set(get_args(TcpDropReason)) == set(DROP_REASONS)
assert set(get_args(RetransmitReason)) == set(RETRANSMIT_REASONS)
assert set(get_args(TimeoutReason)) == set(TIMEOUT_REASONS)

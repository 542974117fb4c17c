"""A snapshot of one connection's variables, as Linux's TCP_INFO gives them."""

from __future__ import annotations

from dataclasses import dataclass

from synack.tcp.state import State

__all__ = ["TcpInfo"]


@dataclass(frozen=True, slots=True)
class TcpInfo:
    """What :meth:`synack.tcp.Connection.info` reports (times in microseconds).

    The fields follow RFC 9293's TCB names where there is one, and Linux's
    ``struct tcp_info`` otherwise (``retransmits`` is its ``tcpi_total_retrans``).
    """

    state: State
    srtt: int | None
    """Smoothed RTT (RFC 6298), ``None`` before the first sample."""
    rttvar: int | None
    rto: int
    cwnd: int
    """Congestion window, octets."""
    ssthresh: int
    mss: int
    """Effective send MSS: data octets per segment."""
    peer_mss: int
    snd_una: int
    snd_nxt: int
    rcv_nxt: int
    snd_wnd: int
    rcv_wnd: int
    in_flight: int
    retransmits: int
    """Segments retransmitted so far (every cause: RTO, fast, RACK, TLP, SYN)."""
    bytes_acked: int
    """Octets of our data the peer acknowledged."""
    bytes_received: int
    """Octets of the peer's data received in order."""
    sack: bool
    timestamps: bool
    snd_wscale: int
    rcv_wscale: int
    congestion_control: str

"""What the SYN exchange settled for one connection, as one frozen value.

Each option of a SYN is in effect only if both sides sent it (RFC 7323 2.2 and
3.2, RFC 2018 2); the peer's MSS bounds what we send (RFC 9293 3.7.1). The
connection builds a :class:`Negotiated` from the peer's SYN and its own
:class:`~synack.tcp.config.Config`, hands it to its sender and receiver, and
never changes it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from synack.tcp.config import Config
from synack.wire.tcp import ACK, CWR, ECE, Segment

__all__ = ["DEFAULT_MSS_V4", "DEFAULT_MSS_V6", "MAX_WSCALE", "Negotiated"]

# RFC 9293 3.7.1: "the default MSS is 536 for IPv4 or 1220 for IPv6" when none is sent.
DEFAULT_MSS_V4: Final = 536
DEFAULT_MSS_V6: Final = 1220
# The smallest MSS option honoured; smaller ones are raised to it. FreeBSD's
# net.inet.tcp.minmss (Linux's tcp_min_snd_mss is 48): every real link carries
# 256-octet datagrams, and it bounds the segments per octet of data a hostile
# peer can make us send to 1/216 of what an MSS of 1 would.
MIN_PEER_MSS: Final = 216
# RFC 7323 2.3: "the shift.cnt value ... MUST be limited to 14".
MAX_WSCALE: Final = 14


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The options in effect on a connection, from both SYNs."""

    peer_mss: int
    """The peer's MSS option, or the default of RFC 9293 3.7.1 when it sent none."""
    snd_wscale: int = 0
    """Shift applied to the peer's window field (0: no window scaling, RFC 7323 2.2)."""
    rcv_wscale: int = 0
    """Shift the peer applies to our window field."""
    sack: bool = False
    """Both SYNs carried SACK-permitted (RFC 2018 2)."""
    timestamps: bool = False
    """Both SYNs carried Timestamps (RFC 7323 3.2): RTTM and PAWS are in use."""
    ecn: bool = False
    """An ECN-setup SYN was answered by an ECN-setup SYN-ACK (RFC 3168 6.1.1)."""

    @classmethod
    def before_syn(cls, ipv4: bool) -> Negotiated:
        """Nothing negotiated yet: the default MSS and no options."""
        return _shared(cls(DEFAULT_MSS_V4 if ipv4 else DEFAULT_MSS_V6))

    @classmethod
    def from_syn(
        cls, seg: Segment, config: Config, ipv4: bool, *, ecn_requested: bool = False
    ) -> Negotiated:
        """What the peer's SYN (or SYN-ACK) and our ``config`` agree on.

        ``ecn_requested``: for a SYN-ACK, whether the SYN it answers was an
        ECN-setup SYN (a retransmitted SYN is not, RFC 3168 6.1.1.1).
        """
        # RFC 9293 3.7.1 (MUST-15): honour the peer's MSS; the default when absent.
        mss = seg.mss
        peer_mss = mss if mss is not None and mss > 0 else cls.before_syn(ipv4).peer_mss
        # A tiny MSS makes us cut data into tiny segments: an MSS of 1 costs 40
        # octets of headers and a segment's CPU per octet of data (CVE-2019-11479).
        # Raised to a floor, as Linux and FreeBSD do.
        peer_mss = max(peer_mss, MIN_PEER_MSS)
        # RFC 7323 2.2: scaling is in effect only if both SYNs carry the option.
        shift = seg.wscale
        scaling = shift is not None and config.window_scaling
        return _shared(
            cls(
                peer_mss=peer_mss,
                snd_wscale=min(shift, MAX_WSCALE) if shift is not None and scaling else 0,
                rcv_wscale=config.recv_wscale if scaling else 0,
                # RFC 2018 2: SACK only if both SYNs carry SACK-permitted.
                sack=config.sack and seg.sack_permitted,
                # RFC 7323 3.2: timestamps only if both SYNs carry the option.
                timestamps=config.timestamps and seg.timestamps is not None,
                ecn=config.ecn and _ecn_setup(seg, ecn_requested),
            )
        )


def _ecn_setup(seg: Segment, requested: bool) -> bool:
    """RFC 3168 6.1.1: an ECN-setup SYN has ECE and CWR set; an ECN-setup SYN-ACK,
    answering one, has ECE set and CWR clear."""
    both = seg.flags & (ECE | CWR)
    if seg.flags & ACK:
        return requested and both == ECE
    return both == ECE | CWR


# Connections that settled the same things share one value (it is frozen): an
# idle TCB stays small. The table is bounded; beyond it, values are not shared.
_SHARED: dict[Negotiated, Negotiated] = {}
_SHARED_MAX: Final = 1024


def _shared(value: Negotiated) -> Negotiated:
    found = _SHARED.get(value)
    if found is not None:
        return found
    if len(_SHARED) < _SHARED_MAX:
        _SHARED[value] = value
    return value

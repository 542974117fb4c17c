"""The SYN exchange: the options our SYN offers, and what both SYNs settled, as one frozen value.

Each option of a SYN is in effect only if both sides sent it (RFC 7323 2.2 and
3.2, RFC 2018 2); the peer's MSS bounds what we send (RFC 9293 3.7.1). The
connection builds a :class:`Negotiated` from the peer's SYN and its own
:class:`~synack.tcp.config.Config`, hands it to its sender and receiver, and
never changes it afterwards. :func:`syn_options` is the other direction: what
our SYN or SYN-ACK carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from synack.tcp.config import Config
from synack.wire.tcp import (
    ACK,
    CWR,
    ECE,
    MaxSegmentSize,
    NoOperation,
    Option,
    SackPermitted,
    Segment,
    Timestamps,
    WindowScale,
)

__all__ = ["DEFAULT_MSS_V4", "DEFAULT_MSS_V6", "MAX_WSCALE", "Negotiated", "syn_options"]

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
    """An ECN-setup SYN was answered by an ECN-setup SYN-ACK (RFC 3168 6.1.1), and we
    sent no non-ECN-setup SYN or SYN-ACK: our new data goes out ECT(0) and we answer ECE."""
    ecn_echo: bool = False
    """We echo CE marks with ECE (RFC 3168 6.1.3). Set with :attr:`ecn`, and also when
    it is not: a client whose ECN-setup SYN was followed by a fallback SYN and that
    then gets an ECN-setup SYN-ACK may not send ECT but "MUST process these packets
    as specified for an ECN-capable connection" (RFC 3168 6.1.1)."""

    @classmethod
    def before_syn(cls, ipv4: bool) -> Negotiated:
        """Nothing negotiated yet: the default MSS and no options."""
        return _shared(cls(DEFAULT_MSS_V4 if ipv4 else DEFAULT_MSS_V6))

    @classmethod
    def from_syn(
        cls,
        seg: Segment,
        config: Config,
        ipv4: bool,
        *,
        ecn_requested: bool = False,
        ecn_offered: bool = False,
    ) -> Negotiated:
        """What the peer's SYN (or SYN-ACK) and our ``config`` agree on.

        For a SYN-ACK: ``ecn_requested``, every SYN we sent was an ECN-setup SYN;
        ``ecn_offered``, at least one was (a retransmitted SYN may not be, RFC 3168
        6.1.1.1).
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
                ecn_echo=config.ecn and _ecn_setup(seg, ecn_requested or ecn_offered),
            )
        )


def _ecn_setup(seg: Segment, requested: bool) -> bool:
    """RFC 3168 6.1.1: an ECN-setup SYN has ECE and CWR set; an ECN-setup SYN-ACK,
    answering one, has ECE set and CWR clear."""
    both = seg.flags & (ECE | CWR)
    if seg.flags & ACK:
        return requested and both == ECE
    return both == ECE | CWR


def syn_options(
    config: Config, neg: Negotiated, *, local_mss: int, ack: bool, tsval: int, tsecr: int
) -> tuple[Option, ...]:
    """The options of our SYN, or with ``ack`` of our SYN-ACK (which answers ``neg``'s SYN).

    RFC 9293 3.7.1 (MUST-67): the MSS is the MTU less the fixed IP and TCP headers.
    RFC 2018 2, RFC 7323 2.2 and 3.2: a SYN-ACK carries SACK-permitted, Window
    Scale and Timestamps only if the SYN did.
    """
    opts: list[Option] = [MaxSegmentSize(local_mss)]
    if config.sack and (not ack or neg.sack):
        opts.append(SackPermitted())
    if config.timestamps and (not ack or neg.timestamps):
        opts.append(Timestamps(tsval, tsecr if ack else 0))
    if config.window_scaling and (not ack or neg.rcv_wscale or neg.snd_wscale):
        if len(opts) > 1:
            opts.append(NoOperation())
        opts.append(WindowScale(config.recv_wscale))
    return tuple(opts)


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

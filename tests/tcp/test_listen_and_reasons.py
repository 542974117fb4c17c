"""The rules for segments that find no connection (RFC 9293 3.10.7.1-2), the negotiated
value of the handshake, and the one list of each kind of reason."""

from __future__ import annotations

from typing import get_args

import pytest

from synack.tcp.config import Config
from synack.tcp.listen import listen_verdict, reset_for
from synack.tcp.negotiated import Negotiated
from synack.tcp.reasons import (
    DROP_REASONS,
    SOFT_ERROR_REASONS,
    TIMEOUT_REASONS,
    SoftErrorReason,
    TcpDropReason,
    TimeoutReason,
)
from synack.wire.icmp import ICMP_KINDS, IcmpKind
from synack.wire.tcp import (
    ACK,
    FIN,
    RST,
    SYN,
    MaxSegmentSize,
    SackPermitted,
    Segment,
    Timestamps,
    WindowScale,
)


@pytest.mark.parametrize(
    ("flags", "verdict"),
    [
        (SYN, None),
        (SYN | FIN, None),  # a SYN: the rest waits (3.10.7.2 "process ... later")
        (RST, "rst_in_listen"),
        (RST | ACK, "rst_in_listen"),
        (SYN | RST, "rst_in_listen"),
        (ACK, "ack_in_listen"),
        (SYN | ACK, "ack_in_listen"),
        (FIN, "no_syn_in_listen"),
        (0, "no_syn_in_listen"),
    ],
)
def test_listen_verdict_follows_rfc_9293_3_10_7_2(flags: int, verdict: str | None) -> None:
    # "first, check for a RST ... second, check for an ACK ... third, check for a SYN".
    assert listen_verdict(Segment(1, 80, 100, 200, flags)) == verdict


def test_reset_for_a_segment_with_and_without_ack() -> None:
    # RFC 9293 3.10.7.1: "<SEQ=SEG.ACK><CTL=RST>" / "<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>".
    assert reset_for(Segment(1, 80, 100, 200, ACK)) == Segment(80, 1, 200, 0, RST)
    assert reset_for(Segment(1, 80, 100, 0, SYN | FIN, payload=b"abc")) == Segment(
        80, 1, 0, 105, RST | ACK
    )
    assert reset_for(Segment(1, 80, 0xFFFFFFFF, 0, 0, payload=b"ab")) == Segment(
        80, 1, 0, 1, RST | ACK
    )
    assert reset_for(Segment(1, 80, 100, 200, RST)) is None  # never answer a RST


def test_negotiated_options_need_both_syns() -> None:
    offer = Segment(
        1,
        2,
        0,
        0,
        SYN,
        options=(MaxSegmentSize(1400), SackPermitted(), Timestamps(1, 0), WindowScale(20)),
    )
    both = Negotiated.from_syn(offer, Config(recv_buffer=1 << 20), ipv4=True)
    # RFC 7323 2.3: a shift above 14 is used as 14; ours fits the buffer in 16 bits.
    assert both == Negotiated(1400, snd_wscale=14, rcv_wscale=5, sack=True, timestamps=True)
    ours_off = Negotiated.from_syn(
        offer, Config(sack=False, timestamps=False, window_scaling=False), ipv4=True
    )
    assert ours_off == Negotiated(1400)
    # RFC 9293 3.7.1: no MSS option means 536 (IPv4) or 1220 (IPv6).
    bare = Segment(1, 2, 0, 0, SYN)
    assert Negotiated.from_syn(bare, Config(), ipv4=True).peer_mss == 536
    assert Negotiated.from_syn(bare, Config(), ipv4=False).peer_mss == 1220
    assert Negotiated.before_syn(ipv4=True) == Negotiated(536)


def test_each_reason_list_is_its_literal_type() -> None:
    assert set(DROP_REASONS) == set(get_args(TcpDropReason))
    assert set(TIMEOUT_REASONS) == set(get_args(TimeoutReason))
    assert set(ICMP_KINDS) == set(get_args(IcmpKind))
    soft = set(SOFT_ERROR_REASONS) | set(ICMP_KINDS)
    assert soft == {a for t in get_args(SoftErrorReason) for a in get_args(t) or (t,)}
    assert all(DROP_REASONS.values()) and all(TIMEOUT_REASONS.values())

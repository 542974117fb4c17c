"""One-line renderings of segments (Wireshark style) and options (tcpdump style)."""

from __future__ import annotations

from synack.wire.render import format_flags, format_option, format_options, format_segment
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
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
)

SYN_OPTIONS = (
    MaxSegmentSize(1460),
    SackPermitted(),
    Timestamps(1, 0),
    NoOperation(),
    WindowScale(7),
)


def test_syn_without_window_or_options() -> None:
    seg = Segment(40000, 80, 1000, flags=SYN, window=65535, options=SYN_OPTIONS)
    assert format_segment(seg, window=False, options=False) == "[SYN] Seq=1000"


def test_syn_ack_with_window_and_tcpdump_options() -> None:
    seg = Segment(80, 40000, 5000, 1001, SYN | ACK, 65535, options=SYN_OPTIONS)
    assert format_segment(seg) == (
        "[SYN, ACK] Seq=5000 Ack=1001 Win=65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>"
    )


def test_ack_number_is_shown_only_with_the_ack_flag() -> None:
    assert format_segment(Segment(1, 2, 10, ack=77, flags=SYN)) == "[SYN] Seq=10 Win=0"
    assert (
        format_segment(Segment(1, 2, 10, ack=77, flags=RST | ACK))
        == "[RST, ACK] Seq=10 Ack=77 Win=0"
    )


def test_length_is_shown_for_a_payload() -> None:
    seg = Segment(1, 2, 10, 20, PSH | ACK, 502, payload=b"x" * 100)
    assert format_segment(seg) == "[PSH, ACK] Seq=10 Ack=20 Win=502 Len=100"


def test_relative_numbers_subtract_the_isns_modulo_2_pow_32() -> None:
    seg = Segment(80, 40000, 5000, 1001, SYN | ACK, 65535)
    assert (
        format_segment(seg, isn_sender=5000, isn_receiver=1000)
        == "[SYN, ACK] Seq=0 Ack=1 Win=65535"
    )
    wrapped = Segment(1, 2, 5, 3, ACK)
    assert format_segment(wrapped, isn_sender=2**32 - 5, isn_receiver=2**32 - 1, window=False) == (
        "[ACK] Seq=10 Ack=4"
    )


def test_sack_edges_are_relative_to_the_receivers_isn() -> None:
    seg = Segment(
        1, 2, 100, 1001, ACK, options=(NoOperation(), NoOperation(), Sack(((2001, 3001),)))
    )
    assert format_segment(seg, isn_sender=99, isn_receiver=1000, window=False) == (
        "[ACK] Seq=1 Ack=1 <nop,nop,sack 1 {1001:2001}>"
    )
    assert (
        format_segment(seg, window=False) == "[ACK] Seq=100 Ack=1001 <nop,nop,sack 1 {2001:3001}>"
    )


def test_urgent_pointer_and_ports() -> None:
    seg = Segment(40000, 80, 1, 1, URG | ACK, 10, 3, payload=b"abc")
    assert (
        format_segment(seg, ports=True) == "40000 -> 80 [ACK, URG] Seq=1 Ack=1 Win=10 Urg=3 Len=3"
    )


def test_flags() -> None:
    assert format_flags(FIN | ACK) == "[FIN, ACK]"
    assert format_flags(SYN | ECE | CWR) == "[SYN, ECE, CWR]"
    assert format_flags(ACK | AE) == "[ACK, AE]"
    assert format_flags(0) == "[<None>]"


def test_every_option_in_tcpdump_words() -> None:
    assert format_option(EndOfOptions(b"\x00\x00")) == "eol"
    assert format_option(NoOperation()) == "nop"
    assert format_option(MaxSegmentSize(536)) == "mss 536"
    assert format_option(WindowScale(14)) == "wscale 14"
    assert format_option(SackPermitted()) == "sackOK"
    assert format_option(Sack(((1, 2), (5, 9)))) == "sack 2 {1:2}{5:9}"
    assert format_option(Timestamps(4294967295, 12)) == "TS val 4294967295 ecr 12"
    assert format_option(UnknownOption(254, b"\xf9\x89")) == "unknown-254 0xf989"
    assert format_option(UnknownOption(30)) == "unknown-30"
    assert format_options(()) == ""
    assert format_options((NoOperation(), WindowScale(2))) == "nop,wscale 2"

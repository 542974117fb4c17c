"""TCP header and options: round trips both ways, every field and flag, and each rejection."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.wire.checksum import ones_sum
from synack.wire.errors import MalformedPacket
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
    flag_names,
    pad_options,
    parse_options,
    parse_segment,
)
from tests.wire.strategies import option_lists, segments, u8, u16, u32

PS = 0x1234  # any pseudo-header sum will do for these tests


# ------------------------------------------------------------------ round trips


@pytest.mark.slow
@settings(max_examples=1000)
@given(segments())
def test_emit_then_parse_gives_the_segment_back_with_padding_explicit(seg: Segment) -> None:
    wire = seg.emit(PS)
    parsed = parse_segment(wire, PS)
    assert parsed == replace(seg, options=pad_options(seg.options))
    assert parsed.checksum == int.from_bytes(wire[16:18], "big")
    assert len(wire) == parsed.header_len + len(seg.payload)


@pytest.mark.slow
@settings(max_examples=1000)
@given(segments())
def test_parse_then_emit_is_byte_identical(seg: Segment) -> None:
    wire = seg.emit(PS)
    assert parse_segment(wire, PS).emit(PS) == wire


@pytest.mark.slow
@settings(max_examples=1000)
@given(option_lists())
def test_options_round_trip(opts: tuple[Option, ...]) -> None:
    raw = emit_options(opts)
    assert len(raw) % 4 == 0
    assert len(raw) <= 40
    assert parse_options(raw) == pad_options(opts)
    assert emit_options(parse_options(raw)) == raw
    assert emit_options(pad_options(opts)) == raw


@st.composite
def raw_option_bytes(draw: st.DrawFn) -> bytes:
    """Option bytes as a peer might send them: any kinds and lengths that are
    well-formed, unknown kinds with any length, and EOL followed by any bytes."""
    out = b""
    while len(out) < 40 and draw(st.booleans()):
        choice = draw(st.integers(0, 5))
        room = 40 - len(out)
        if choice == 0:
            out += b"\x01"
        elif choice == 1:
            out += b"\x00" + draw(st.binary(max_size=room - 1))
            break
        elif choice == 2 and room >= 2:
            kind = draw(st.integers(6, 255).filter(lambda k: k != 8))
            data = draw(st.binary(max_size=room - 2))
            out += bytes((kind, 2 + len(data))) + data
        elif choice == 3 and room >= 10:
            out += b"\x08\x0a" + draw(st.binary(min_size=8, max_size=8))
        elif choice == 4 and room >= 10:
            n = draw(st.integers(1, min(4, (room - 2) // 8)))
            out += bytes((5, 2 + 8 * n)) + draw(st.binary(min_size=8 * n, max_size=8 * n))
        elif room >= 4:
            out += draw(st.sampled_from([b"\x02\x04\x05\xb4", b"\x04\x02", b"\x03\x03\x07"]))
    return out + b"\x00" * (-len(out) % 4)


@pytest.mark.slow
@settings(max_examples=1000)
@given(
    u16, u16, u32, u32, st.integers(0, 0xFFF), u16, u16, raw_option_bytes(), st.binary(max_size=40)
)
def test_any_valid_wire_segment_reemits_byte_identical(
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    window: int,
    urgent: int,
    opts: bytes,
    payload: bytes,
) -> None:
    """Bytes built by hand (not by emit) survive parse -> emit unchanged."""
    off = ((20 + len(opts)) << 2) | (flags >> 8)
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off, flags & 0xFF, window, 0, urgent)
    unsummed = head + opts + payload
    csum = ~ones_sum(unsummed, PS) & 0xFFFF
    wire = unsummed[:16] + csum.to_bytes(2, "big") + unsummed[18:]
    seg = parse_segment(wire, PS)
    assert (seg.src_port, seg.dst_port, seg.seq, seg.ack) == (sport, dport, seq, ack)
    assert (seg.flags, seg.window, seg.urgent, seg.payload) == (flags, window, urgent, payload)
    assert seg.emit(PS) == wire


# ------------------------------------------------------------- header and flags


def test_every_header_field_lands_where_rfc_9293_puts_it() -> None:
    seg = Segment(0x1234, 0x5678, 0x9ABCDEF0, 0x0FEDCBA9, ACK | PSH, 0xBEEF, 0x0102)
    wire = seg.emit()
    assert wire[0:2] == b"\x12\x34"
    assert wire[2:4] == b"\x56\x78"
    assert wire[4:8] == b"\x9a\xbc\xde\xf0"
    assert wire[8:12] == b"\x0f\xed\xcb\xa9"
    assert wire[12] == 0x50  # data offset 5 words, reserved bits zero
    assert wire[13] == 0x18  # PSH | ACK
    assert wire[14:16] == b"\xbe\xef"
    assert wire[18:20] == b"\x01\x02"


@pytest.mark.parametrize(
    ("bit", "octet", "mask"),
    [
        (FIN, 13, 0x01),
        (SYN, 13, 0x02),
        (RST, 13, 0x04),
        (PSH, 13, 0x08),
        (ACK, 13, 0x10),
        (URG, 13, 0x20),
        (ECE, 13, 0x40),
        (CWR, 13, 0x80),
        (AE, 12, 0x01),
        (0x200, 12, 0x02),
        (0x400, 12, 0x04),
        (0x800, 12, 0x08),
    ],
)
def test_each_flag_and_reserved_bit_is_emitted_and_parsed(bit: int, octet: int, mask: int) -> None:
    wire = Segment(1, 2, 3, flags=bit).emit()
    assert (wire[octet] & 0x0F if octet == 12 else wire[octet]) == mask
    assert wire[12] >> 4 == 5  # the data offset is untouched by the reserved bits
    assert parse_segment(wire).flags == bit


def test_flag_names_in_wireshark_order() -> None:
    assert flag_names(SYN | ACK) == ["SYN", "ACK"]
    assert flag_names(FIN | PSH | ACK) == ["FIN", "PSH", "ACK"]
    assert flag_names(SYN | ECE | CWR) == ["SYN", "ECE", "CWR"]
    assert flag_names(AE | 0x800) == ["AE", "RES11"]
    assert flag_names(SYN | FIN) == ["FIN", "SYN"]
    assert flag_names(0) == []


def test_seg_len_counts_syn_and_fin() -> None:
    assert Segment(1, 2, 3, flags=SYN).seg_len == 1
    assert Segment(1, 2, 3, flags=SYN | FIN, payload=b"abc").seg_len == 5
    assert Segment(1, 2, 3, flags=ACK, payload=b"abc").seg_len == 3


def test_option_accessors() -> None:
    seg = Segment(
        1,
        2,
        3,
        options=(
            MaxSegmentSize(1460),
            SackPermitted(),
            Timestamps(7, 9),
            NoOperation(),
            WindowScale(7),
            Sack(((10, 20),)),
        ),
    )
    assert seg.mss == 1460
    assert seg.wscale == 7
    assert seg.sack_permitted
    assert seg.timestamps == Timestamps(7, 9)
    assert seg.sack_blocks == ((10, 20),)
    assert seg.option(UnknownOption) is None
    bare = Segment(1, 2, 3)
    assert (bare.mss, bare.wscale, bare.sack_permitted, bare.timestamps) == (
        None,
        None,
        False,
        None,
    )


@given(opts=option_lists())
def test_timestamps_and_sack_accessors_find_the_first_such_option(
    opts: tuple[Option, ...],
) -> None:
    # Segment.timestamps has a fast path for NOP, NOP, TS and sack_blocks a quick
    # scan (both run for every segment): they must give what a plain search does.
    seg = Segment(1, 2, 3, options=opts)
    first_ts = next((o for o in opts if isinstance(o, Timestamps)), None)
    first_sack = next((o for o in opts if isinstance(o, Sack)), None)
    assert seg.timestamps == first_ts
    assert seg.sack_blocks == (first_sack.blocks if first_sack is not None else ())
    nop_nop_ts = Segment(1, 2, 3, options=(NoOperation(), NoOperation(), Timestamps(5, 6)))
    assert nop_nop_ts.timestamps == Timestamps(5, 6)


def test_data_offset_counts_the_padded_options() -> None:
    wire = Segment(1, 2, 3, options=(MaxSegmentSize(1460), WindowScale(7))).emit()
    assert wire[12] >> 4 == 7  # 20 + 4 + 3 + 1 byte of padding = 28 bytes
    assert len(wire) == 28
    assert wire[27] == 0


# ---------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("option", "wire"),
    [
        (EndOfOptions(), b"\x00"),
        (NoOperation(), b"\x01"),
        (MaxSegmentSize(1460), b"\x02\x04\x05\xb4"),
        (WindowScale(14), b"\x03\x03\x0e"),
        (SackPermitted(), b"\x04\x02"),
        (Sack(((1, 2),)), b"\x05\x0a" + struct.pack("!II", 1, 2)),
        (Sack(((1, 2), (3, 4), (5, 6), (7, 8))), b"\x05\x22" + struct.pack("!8I", *range(1, 9))),
        (Timestamps(0xDEADBEEF, 1), b"\x08\x0a\xde\xad\xbe\xef\x00\x00\x00\x01"),
        (UnknownOption(30, b"\x01\x02"), b"\x1e\x04\x01\x02"),
        (UnknownOption(253), b"\xfd\x02"),
    ],
)
def test_each_option_has_its_rfc_encoding(option: Option, wire: bytes) -> None:
    assert option.emit() == wire
    padded = wire + b"\x00" * (-len(wire) % 4)
    assert parse_options(padded) == pad_options((option,))


def test_options_are_padded_with_zeros_that_parse_as_end_of_options() -> None:
    assert emit_options((WindowScale(7),)) == b"\x03\x03\x07\x00"
    assert parse_options(b"\x03\x03\x07\x00") == (WindowScale(7), EndOfOptions())
    assert emit_options((SackPermitted(),)) == b"\x04\x02\x00\x00"
    assert parse_options(b"\x04\x02\x00\x00") == (SackPermitted(), EndOfOptions(b"\x00"))
    assert pad_options((SackPermitted(),)) == (SackPermitted(), EndOfOptions(b"\x00"))
    assert pad_options((MaxSegmentSize(1),)) == (MaxSegmentSize(1),)
    assert pad_options((NoOperation(), EndOfOptions(b"\x07"))) == (
        NoOperation(),
        EndOfOptions(b"\x07\x00"),
    )


def test_bytes_after_end_of_options_are_kept_even_if_not_zero() -> None:
    raw = b"\x01\x00\xaa\xbb"
    assert parse_options(raw) == (NoOperation(), EndOfOptions(b"\xaa\xbb"))
    assert emit_options(parse_options(raw)) == raw


def test_unknown_options_are_kept_raw_and_emitted_unchanged() -> None:
    raw = b"\xfe\x06\xf9\x89\x12\x34" + b"\x1c\x04\x00\x10" + b"\x01\x01"  # kinds 254, 28
    opts = parse_options(raw)
    assert opts == (
        UnknownOption(254, b"\xf9\x89\x12\x34"),
        UnknownOption(28, b"\x00\x10"),
        NoOperation(),
        NoOperation(),
    )
    assert emit_options(opts) == raw


def test_common_nop_nop_timestamps_layout() -> None:
    raw = b"\x01\x01\x08\x0a" + struct.pack("!II", 5, 6)
    assert parse_options(raw) == (NoOperation(), NoOperation(), Timestamps(5, 6))
    assert parse_options(memoryview(raw)) == (NoOperation(), NoOperation(), Timestamps(5, 6))


@pytest.mark.parametrize(
    "raw",
    [
        b"\x02",  # kind with no length byte
        b"\x02\x00\x00\x00",  # length 0
        b"\x02\x01\x00\x00",  # length 1
        b"\x1e\x09\x00\x00",  # runs past the options
        b"\x02\x03\x05\x00",  # MSS must be 4
        b"\x03\x04\x07\x00",  # window scale must be 3
        b"\x04\x03\x00\x00",  # SACK-permitted must be 2
        b"\x08\x08" + bytes(6),  # timestamps must be 10
        b"\x05\x02\x00\x00",  # SACK with no block
        b"\x05\x06" + bytes(6),  # SACK with half a block
        b"\x05\x2a" + bytes(40),  # SACK with five blocks
    ],
)
def test_bad_option_lengths_are_rejected(raw: bytes) -> None:
    with pytest.raises(MalformedPacket) as err:
        parse_options(raw)
    assert err.value.reason == "bad_option_length"


# ------------------------------------------------------------------- rejections


def test_short_segment_is_truncated() -> None:
    with pytest.raises(MalformedPacket) as err:
        parse_segment(bytes(19))
    assert err.value.reason == "truncated"


@pytest.mark.parametrize(("offset", "length"), [(0, 20), (4, 20), (6, 20), (15, 59)])
def test_data_offset_outside_the_segment_is_rejected(offset: int, length: int) -> None:
    wire = bytearray(length)
    wire[12] = offset << 4
    with pytest.raises(MalformedPacket) as err:
        parse_segment(bytes(wire))
    assert err.value.reason == "bad_data_offset"


def test_bad_checksum_is_rejected_only_when_verifying() -> None:
    wire = bytearray(Segment(1, 2, 3, payload=b"hello").emit(PS))
    wire[-1] ^= 0x01
    with pytest.raises(MalformedPacket) as err:
        parse_segment(bytes(wire), PS)
    assert err.value.reason == "bad_checksum"
    assert parse_segment(bytes(wire)).payload == b"helln"


def test_parse_accepts_bytearray_and_memoryview() -> None:
    seg = Segment(1, 2, 3, options=(MaxSegmentSize(1000), WindowScale(2)), payload=b"x")
    wire = seg.emit(PS)
    for data in (bytearray(wire), memoryview(wire)):
        parsed = parse_segment(data, PS)
        assert parsed == parse_segment(wire, PS)
        assert type(parsed.payload) is bytes


# --------------------------------------------------------- emit of bad values


@pytest.mark.parametrize(
    "seg",
    [
        Segment(65536, 2, 3),
        Segment(1, 2, 2**32),
        Segment(1, 2, 3, ack=-1),
        Segment(1, 2, 3, flags=0x1000),
        Segment(1, 2, 3, window=70000),
        Segment(1, 2, 3, options=(MaxSegmentSize(70000),)),
        Segment(1, 2, 3, options=(WindowScale(256),)),
        Segment(1, 2, 3, options=(Sack(()),)),
        Segment(1, 2, 3, options=(Sack(((1, 2),) * 5),)),
        Segment(1, 2, 3, options=(Timestamps(-1, 0),)),
        Segment(1, 2, 3, options=(UnknownOption(1, b"x"),)),
        Segment(1, 2, 3, options=(UnknownOption(99, bytes(39)),)),
        Segment(1, 2, 3, options=(EndOfOptions(), NoOperation())),
        Segment(1, 2, 3, options=(Timestamps(1, 2),) * 4 + (NoOperation(),)),
    ],
)
def test_emit_of_values_that_do_not_fit_raises_value_error(seg: Segment) -> None:
    with pytest.raises(ValueError):
        seg.emit()


@given(u8)
def test_window_scale_keeps_any_raw_shift(shift: int) -> None:
    """RFC 7323 2.3 caps the shift at 14 when used; the wire value is kept as sent."""
    assert parse_options(WindowScale(shift).emit() + b"\x00") == (
        WindowScale(shift),
        EndOfOptions(),
    )

"""The Internet checksum (RFC 1071) against a word-by-word reference implementation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synack.wire.checksum import finish, internet_checksum, ones_sum
from synack.wire.ip import pseudo_sum
from synack.wire.tcp import ACK, Segment, parse_segment


def naive_ones_sum(data: bytes, start: int = 0) -> int:
    """RFC 1071 4.1 done the slow, obvious way: 16-bit words, end-around carry."""
    if len(data) % 2:
        data += b"\x00"
    total = start
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@given(st.binary(max_size=3000), st.integers(0, 0xFFFF))
def test_ones_sum_matches_the_reference(data: bytes, start: int) -> None:
    assert ones_sum(data, start) == naive_ones_sum(data, start)


@pytest.mark.parametrize(
    "length", [0, 1, 2, 3, 19, 20, 21, 255, 256, 257, 383, 385, 767, 769, 1459, 1460, 1500, 1537]
)
def test_ones_sum_matches_the_reference_at_every_fold_boundary(length: int) -> None:
    rng = random.Random(length)
    for fill in (None, 0x00, 0xFF):
        data = bytes(
            rng.getrandbits(8) if fill is None else fill for _ in range(length)
        )  # random, all zeros, all ones
        for start in (0, 1, 0xFFFE, 0xFFFF):
            assert ones_sum(data, start) == naive_ones_sum(data, start), (fill, start)


def test_ones_sum_of_long_buffers_matches_the_reference() -> None:
    rng = random.Random(9000)
    for length in (4000, 9001, 65535, 70000):
        data = rng.randbytes(length)
        assert ones_sum(data, 3) == naive_ones_sum(data, 3)


def test_odd_length_pads_the_last_byte_on_the_right() -> None:
    assert ones_sum(b"\x12") == 0x1200
    assert ones_sum(b"\x00\x01\xf2") == 0xF201


def test_zero_sum_is_zero_only_for_all_zero_input() -> None:
    """Ones'-complement has two zeros: a non-zero total that folds to zero is 0xFFFF."""
    assert ones_sum(b"") == 0
    assert ones_sum(bytes(100)) == 0
    assert ones_sum(b"\xff\xff") == 0xFFFF
    assert ones_sum(b"\xff\xfe\x00\x01") == 0xFFFF
    assert ones_sum(b"", 0xFFFF) == 0xFFFF
    assert internet_checksum(b"") == 0xFFFF
    assert internet_checksum(b"\xff\xff") == 0x0000


def test_ipv4_header_example_checksum() -> None:
    # A textbook IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199), checksum 0xb861.
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert internet_checksum(header) == 0xB861
    assert finish(ones_sum(header)) == 0xB861
    filled = header[:10] + b"\xb8\x61" + header[12:]
    assert ones_sum(filled) == 0xFFFF


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_sums_of_even_length_pieces_chain(a: bytes, b: bytes) -> None:
    if len(a) % 2:
        a += b"\x00"
    assert ones_sum(b, ones_sum(a)) == ones_sum(a + b)


SRC, DST = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def _segment_whose_checksum_is_zero() -> Segment:
    """A segment whose header and data sum to 0xFFFF, so its checksum field is 0x0000.

    A two-byte payload word is chosen to bring the sum to 0xFFFF: that word is
    the checksum of the segment with a zero word there.
    """
    base = Segment(40000, 80, 1, 2, ACK, 1000, payload=b"\x00\x00")
    ps = pseudo_sum(SRC, DST, 22)
    word = int.from_bytes(base.emit(ps)[16:18], "big")
    return Segment(40000, 80, 1, 2, ACK, 1000, payload=word.to_bytes(2, "big"))


def test_checksum_that_computes_to_zero_is_sent_as_0x0000_and_0xffff_also_verifies() -> None:
    seg = _segment_whose_checksum_is_zero()
    ps = pseudo_sum(SRC, DST, 22)
    wire = seg.emit(ps)
    assert wire[16:18] == b"\x00\x00"
    assert naive_ones_sum(wire, ps) == 0xFFFF
    assert parse_segment(wire, ps) == seg
    # 0xFFFF is the other ones'-complement zero: receivers accept it too.
    other_zero = wire[:16] + b"\xff\xff" + wire[18:]
    assert parse_segment(other_zero, ps) == seg
    assert parse_segment(other_zero, ps).checksum == 0xFFFF
    # Re-emitting writes the canonical 0x0000.
    assert parse_segment(other_zero, ps).emit(ps) == wire


@given(st.binary(max_size=300))
def test_emitted_tcp_checksum_matches_the_reference(payload: bytes) -> None:
    seg = Segment(1, 2, 3, 4, ACK, 5, payload=payload)
    ps = pseudo_sum(SRC, DST, 20 + len(payload))
    wire = seg.emit(ps)
    zeroed = wire[:16] + b"\x00\x00" + wire[18:]
    pseudo = SRC + DST + bytes([0, 6]) + (20 + len(payload)).to_bytes(2, "big")
    assert int.from_bytes(wire[16:18], "big") == ~naive_ones_sum(pseudo + zeroed) & 0xFFFF

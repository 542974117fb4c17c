"""Sequence-number arithmetic modulo 2**32 (RFC 9293 3.4), property-tested across the wrap."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from synack.wire.seq import MASK, add, between, ge, gt, le, lt, seq_max, seq_min, sub

u32 = st.integers(0, MASK)
# Distances that keep two numbers comparable (strictly less than half the space).
near = st.integers(-(2**31) + 1, 2**31 - 1)
# Numbers crowded around the wrap point, where plain int comparison goes wrong.
around_wrap = st.one_of(u32, st.integers(MASK - 1000, MASK), st.integers(0, 1000))


def test_add_wraps_past_2_pow_32() -> None:
    assert add(MASK, 1) == 0
    assert add(MASK - 9, 20) == 10
    assert add(5, -10) == MASK - 4


def test_sub_is_the_signed_distance_across_the_wrap() -> None:
    assert sub(10, MASK - 9) == 20
    assert sub(MASK - 9, 10) == -20
    assert sub(0, 0) == 0


def test_comparisons_across_the_wrap() -> None:
    assert lt(MASK, 0)
    assert lt(MASK - 100, 50)
    assert not lt(50, MASK - 100)
    assert gt(0, MASK)
    assert le(MASK, MASK)
    assert ge(MASK, MASK)
    assert le(MASK, 1)
    assert not le(1, MASK)


def test_numbers_half_the_space_apart_are_incomparable() -> None:
    a, b = 7, 7 + 2**31
    assert not lt(a, b)
    assert not lt(b, a)
    assert not gt(a, b)
    assert not gt(b, a)
    assert not le(a, b)
    assert not le(b, a)


@given(around_wrap, near)
def test_add_then_sub_gives_the_distance_back(a: int, d: int) -> None:
    b = add(a, d)
    assert 0 <= b <= MASK
    assert sub(b, a) == d
    assert add(a, sub(b, a)) == b


@given(around_wrap, near)
def test_order_follows_the_distance(a: int, d: int) -> None:
    b = add(a, d)
    assert lt(a, b) == (d > 0)
    assert gt(a, b) == (d < 0)
    assert le(a, b) == (d >= 0)
    assert ge(a, b) == (d <= 0)
    # Exactly one of <, ==, > holds for comparable numbers.
    assert [lt(a, b), a == b, gt(a, b)].count(True) == 1


@given(u32, u32, u32)
def test_comparisons_are_invariant_under_translation(a: int, b: int, k: int) -> None:
    """Shifting both numbers by the same amount, wrapping or not, keeps their order."""
    ak, bk = add(a, k), add(b, k)
    assert lt(a, b) == lt(ak, bk)
    assert le(a, b) == le(ak, bk)
    assert sub(a, b) == sub(ak, bk)


@given(u32, u32)
def test_lt_is_antisymmetric_and_le_is_lt_or_equal(a: int, b: int) -> None:
    assert not (lt(a, b) and lt(b, a))
    assert le(a, b) == (lt(a, b) or a == b)
    assert gt(a, b) == lt(b, a)
    assert ge(a, b) == le(b, a)


@given(around_wrap, st.integers(0, MASK), st.integers(0, MASK))
def test_between_is_membership_of_the_half_open_window(lo: int, size: int, off: int) -> None:
    """``between(lo, x, lo + size)`` holds exactly for the ``size`` numbers from ``lo``."""
    hi = add(lo, size)
    x = add(lo, off)
    assert between(lo, x, hi) == (off < size)


def test_between_handles_windows_that_wrap() -> None:
    lo, hi = MASK - 10, 20  # 31 numbers: MASK-10 .. MASK, 0 .. 19
    assert between(lo, MASK, hi)
    assert between(lo, 0, hi)
    assert between(lo, 19, hi)
    assert not between(lo, 20, hi)
    assert not between(lo, MASK - 11, hi)
    assert not between(5, 5, 5)  # an empty window holds nothing


@given(around_wrap, near)
def test_seq_max_and_min_pick_by_sequence_order(a: int, d: int) -> None:
    b = add(a, d)
    later, earlier = (b, a) if d >= 0 else (a, b)
    assert seq_max(a, b) == later
    assert seq_max(b, a) == later
    assert seq_min(a, b) == earlier
    assert seq_min(b, a) == earlier

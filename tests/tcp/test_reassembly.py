"""The out-of-order receive queue: merging, trimming, in-order pops and exact size accounting."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.tcp.reassembly import REFUSED, Reassembler


def test_empty_queue_holds_nothing() -> None:
    r = Reassembler()
    assert len(r) == 0
    assert r.size == 0
    assert r.ranges() == []
    assert r.pop_ready(0) == b""


def test_insert_empty_data_adds_nothing() -> None:
    r = Reassembler()
    assert r.insert(10, b"") == 0
    assert r.ranges() == []


def test_disjoint_inserts_are_kept_sorted() -> None:
    r = Reassembler()
    assert r.insert(20, b"cc") == 2
    assert r.insert(0, b"aa") == 2
    assert r.insert(10, b"bb") == 2
    assert r.ranges() == [(0, 2), (10, 12), (20, 22)]
    assert len(r) == 3
    assert r.size == 6


def test_adjacent_ranges_merge() -> None:
    r = Reassembler()
    r.insert(0, b"ab")
    r.insert(4, b"ef")
    assert r.insert(2, b"cd") == 2
    assert r.ranges() == [(0, 6)]
    assert r.pop_ready(0) == b"abcdef"


def test_exact_duplicate_adds_zero_octets() -> None:
    r = Reassembler()
    r.insert(5, b"hello")
    assert r.insert(5, b"hello") == 0
    assert r.size == 5
    assert r.ranges() == [(5, 10)]


def test_overlap_keeps_octets_already_held() -> None:
    # Octets already queued win over a later copy of the same sequence space.
    r = Reassembler()
    r.insert(2, b"XYZ")
    assert r.insert(0, b"abcdefg") == 4
    assert r.ranges() == [(0, 7)]
    assert r.pop_ready(0) == b"abXYZfg"


def test_one_insert_bridges_several_ranges() -> None:
    r = Reassembler()
    r.insert(1, b"b")
    r.insert(3, b"d")
    r.insert(5, b"f")
    assert r.size == 3
    assert r.insert(0, b"0123456") == 4
    assert r.ranges() == [(0, 7)]
    assert r.size == 7
    assert r.pop_ready(0) == b"0b2d4f6"


def test_contained_insert_adds_nothing() -> None:
    r = Reassembler()
    r.insert(0, b"abcdef")
    assert r.insert(2, b"zz") == 0
    assert r.pop_ready(0) == b"abcdef"


def test_pop_ready_waits_for_the_gap() -> None:
    r = Reassembler()
    r.insert(10, b"later")
    assert r.pop_ready(5) == b""
    assert r.size == 5
    assert r.pop_ready(10) == b"later"
    assert r.size == 0
    assert len(r) == 0


def test_pop_ready_trims_octets_before_the_offset() -> None:
    r = Reassembler()
    r.insert(10, b"abcdef")
    assert r.pop_ready(13) == b"def"
    assert r.size == 0


def test_pop_ready_takes_only_the_first_range() -> None:
    r = Reassembler()
    r.insert(0, b"ab")
    r.insert(5, b"cd")
    assert r.pop_ready(0) == b"ab"
    assert r.ranges() == [(5, 7)]
    assert r.size == 2


def test_discard_before_drops_delivered_ranges_only() -> None:
    r = Reassembler()
    r.insert(0, b"aa")
    r.insert(4, b"bb")
    r.insert(10, b"cc")
    r.discard_before(6)
    assert r.ranges() == [(10, 12)]
    assert r.size == 2
    r.discard_before(11)  # a range straddling the offset stays whole
    assert r.ranges() == [(10, 12)]


def test_large_offsets_are_plain_integers() -> None:
    # Offsets are unwrapped stream positions: beyond 2**32 nothing wraps.
    base = (1 << 32) - 3
    r = Reassembler()
    r.insert(base + 3, b"def")
    r.insert(base, b"abc")
    assert r.ranges() == [(base, base + 6)]
    assert r.pop_ready(base) == b"abcdef"


# --------------------------------------------------------------- properties


@st.composite
def chunked(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, int]]]:
    """A reference byte string and chunks (start, end) covering it, overlapping, shuffled."""
    ref = draw(st.binary(min_size=1, max_size=300))
    n = len(ref)
    # A partition guarantees coverage; extra random chunks overlap it and each other.
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=min(20, n - 1))) if n > 1 else [])
    edges = [0, *cuts, n]
    chunks = list(itertools.pairwise(edges))
    extra = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(1, 60)).map(
                lambda t: (t[0], min(n, t[0] + t[1]))
            ),
            max_size=30,
        )
    )
    chunks += extra
    chunks = draw(st.permutations(chunks))
    return ref, chunks


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(chunked())
def test_random_overlapping_chunks_reassemble_to_the_reference(
    case: tuple[bytes, list[tuple[int, int]]],
) -> None:
    ref, chunks = case
    r = Reassembler()
    held: set[int] = set()
    total_new = 0
    for start, end in chunks:
        new = r.insert(start, ref[start:end])
        # Exactly the octets not held before are new; duplicates add 0.
        fresh = set(range(start, end)) - held
        assert new == len(fresh)
        held |= fresh
        total_new += new
        assert r.size == len(held)
        # Ranges are sorted, disjoint, non-adjacent, and cover exactly what is held.
        ranges = r.ranges()
        covered = {i for s, e in ranges for i in range(s, e)}
        assert covered == held
        assert all(e1 < s2 for (_, e1), (s2, _) in itertools.pairwise(ranges))
    assert total_new == len(ref)
    out = b""
    while chunk := r.pop_ready(len(out)):
        out += chunk
    assert out == ref
    assert r.size == 0
    assert len(r) == 0


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(chunked(), st.data())
def test_interleaved_inserts_and_pops_deliver_the_reference_in_order(
    case: tuple[bytes, list[tuple[int, int]]], data: st.DataObject
) -> None:
    # As the connection uses it: pop whenever possible, discard what was delivered,
    # and insert only the part of each chunk beyond what was delivered.
    ref, chunks = case
    r = Reassembler()
    out = bytearray()
    for start, end in chunks:
        s = max(start, len(out))
        if s < end:
            r.insert(s, ref[s:end])
        if data.draw(st.booleans()):
            r.discard_before(len(out))
            while chunk := r.pop_ready(len(out)):
                out += chunk
        assert ref.startswith(out)
    r.discard_before(len(out))
    while chunk := r.pop_ready(len(out)):
        out += chunk
    assert bytes(out) == ref
    assert r.size == 0


# ---------------------------------------------------------- bounds (issue 16)


def test_a_range_beyond_the_bound_is_refused_but_merging_data_is_not() -> None:
    r = Reassembler(max_ranges=3)
    for i in range(3):
        assert r.insert(10 * i, b"ab") == 2
    assert r.insert(100, b"zz") == REFUSED  # would be a fourth range
    assert r.ranges() == [(0, 2), (10, 12), (20, 22)]
    assert r.size == 6
    assert r.insert(2, b"cd") == 2  # extends the first range: no new range
    assert r.insert(12, b"x" * 8) == 8  # bridges two ranges into one
    assert r.ranges() == [(0, 4), (10, 22)]
    assert r.insert(100, b"zz") == 2  # room again


def test_containing_and_highest_answer_without_listing_every_range() -> None:
    r = Reassembler()
    for i in range(1, 6):
        r.insert(100 * i, b"x" * 10)
    assert r.containing(305) == (300, 310)
    assert r.containing(310) is None
    assert r.containing(99) is None
    assert r.highest(2) == [(500, 510), (400, 410)]
    assert r.highest(9) == [(500, 510), (400, 410), (300, 310), (200, 210), (100, 110)]


def test_data_far_apart_and_across_the_ring_edge_comes_back_intact() -> None:
    # The held octets live in a ring indexed by offset: it grows when the span
    # held grows, and data may wrap around its end.
    r = Reassembler()
    base = (1 << 14) - 3  # just before the first ring size: this insert wraps
    r.insert(base, b"0123456789")
    r.insert(base + 100_000, b"far")  # the ring must grow to hold both
    r.insert(base - 5, b"abcde")
    assert r.pop_ready(base - 5) == b"abcde0123456789"
    assert r.pop_ready(base + 100_000) == b"far"
    assert r.size == 0

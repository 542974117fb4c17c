"""The send buffer: bounded writes, reads at an offset from SND.UNA, consumption, compaction."""

from __future__ import annotations

import random

import pytest

from synack.tcp.sendbuf import SendBuffer


def test_new_buffer_is_empty_with_full_capacity_free() -> None:
    buf = SendBuffer(100)
    assert len(buf) == 0
    assert buf.free == 100
    assert buf.peek(0, 10) == b""


def test_write_within_capacity_takes_everything() -> None:
    buf = SendBuffer(100)
    assert buf.write(b"hello") == 5
    assert len(buf) == 5
    assert buf.free == 95


def test_write_beyond_capacity_takes_only_what_fits() -> None:
    buf = SendBuffer(10)
    assert buf.write(b"0123456789abcdef") == 10
    assert len(buf) == 10
    assert buf.free == 0
    assert buf.peek(0, 100) == b"0123456789"


def test_write_to_a_full_buffer_takes_nothing() -> None:
    buf = SendBuffer(4)
    buf.write(b"abcd")
    assert buf.write(b"e") == 0
    assert buf.peek(0, 10) == b"abcd"


def test_write_accepts_bytearray_and_memoryview() -> None:
    buf = SendBuffer(8)
    assert buf.write(bytearray(b"abc")) == 3
    assert buf.write(memoryview(b"defghijk")) == 5
    assert buf.peek(0, 8) == b"abcdefgh"


def test_peek_at_offsets() -> None:
    buf = SendBuffer(100)
    buf.write(b"abcdefghij")
    assert buf.peek(0, 3) == b"abc"
    assert buf.peek(3, 4) == b"defg"
    assert buf.peek(8, 10) == b"ij"  # short at the end
    assert buf.peek(10, 5) == b""
    assert buf.peek(2, 0) == b""


def test_peek_does_not_remove_data() -> None:
    buf = SendBuffer(100)
    buf.write(b"abc")
    buf.peek(0, 3)
    assert len(buf) == 3
    assert buf.peek(0, 3) == b"abc"


def test_consume_removes_from_the_front_and_frees_space() -> None:
    buf = SendBuffer(10)
    buf.write(b"0123456789")
    buf.consume(4)
    assert len(buf) == 6
    assert buf.free == 4
    assert buf.peek(0, 3) == b"456"
    assert buf.write(b"abcdef") == 4
    assert buf.peek(0, 10) == b"456789abcd"


def test_consume_more_than_held_empties_the_buffer() -> None:
    buf = SendBuffer(10)
    buf.write(b"abc")
    buf.consume(50)
    assert len(buf) == 0
    assert buf.free == 10
    buf.write(b"xy")
    assert buf.peek(0, 5) == b"xy"


def test_compaction_keeps_content() -> None:
    buf = SendBuffer(300_000)
    data = bytes(i % 251 for i in range(200_000))
    assert buf.write(data) == 200_000
    buf.consume(150_000)  # past the compaction threshold
    assert len(buf) == 50_000
    assert buf.peek(0, 50_000) == data[150_000:]
    assert buf.peek(1_000, 7) == data[151_000:151_007]
    assert buf.write(b"tail") == 4
    assert buf.peek(49_998, 10) == data[-2:] + b"tail"
    assert buf.free == 300_000 - 50_004


@pytest.mark.slow
def test_long_random_stream_matches_a_reference_model() -> None:
    rng = random.Random(7)
    cap = 100_000
    buf = SendBuffer(cap)
    model = bytearray()
    written = 0
    for _ in range(3_000):
        if rng.random() < 0.55:
            n = rng.randrange(0, 20_000)
            chunk = bytes((written + i) % 256 for i in range(n))
            took = buf.write(chunk)
            assert took == min(n, cap - len(model))
            model += chunk[:took]
            written += took
        else:
            n = rng.randrange(0, 25_000)
            buf.consume(n)
            del model[:n]
        assert len(buf) == len(model)
        assert buf.free == cap - len(model)
        off = rng.randrange(0, len(model) + 1)
        assert buf.peek(off, 1_500) == bytes(model[off : off + 1_500])
    assert written > 10 * cap  # the storage was compacted many times over

"""The SYN-cookie codec (RFC 4987 3.6) on its own: what a cookie carries, when it is accepted."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synack.tcp.syncookies import CookieOptions, SynCookies
from synack.wire.ip import str_to_addr

L4, R4 = str_to_addr("192.0.2.80"), str_to_addr("198.51.100.7")
L6, R6 = str_to_addr("2001:db8::80"), str_to_addr("2001:db8:1::7")
SECRET = b"k" * 32
# RFC 4987 3.6: "t is a slowly incrementing timer (typically increments every 64 seconds)".
TICK = 64_000_000


def roundtrip(
    cookies: SynCookies,
    *,
    made_at: int,
    checked_at: int,
    tuple4: tuple[bytes, int, bytes, int] = (L4, 80, R4, 40000),
    isn: int = 123_456,
    mss: int = 1460,
    wscale: int | None = 7,
    sack: bool = True,
    ecn: bool = False,
    timestamps: bool = True,
    tsval: int = 5_000_000,
) -> CookieOptions | None:
    """Make a cookie for a SYN, then check the ACK a well-behaved client would send."""
    cookie, bits = cookies.make(
        made_at, *tuple4, isn, mss=mss, timestamps=timestamps, wscale=wscale, sack=sack, ecn=ecn
    )
    stamped = SynCookies.stamp_tsval(tsval, bits)
    return cookies.check(
        checked_at,
        *tuple4,
        seq=(isn + 1) & 0xFFFFFFFF,
        ack=(cookie + 1) & 0xFFFFFFFF,
        tsecr=stamped if timestamps else None,
    )


def test_a_cookie_ack_restores_mss_window_scale_sack_and_ecn() -> None:
    cookies = SynCookies(SECRET)
    got = roundtrip(cookies, made_at=10, checked_at=20, wscale=9, sack=True, ecn=True)
    assert got == CookieOptions(mss=1460, timestamps=True, wscale=9, sack=True, ecn=True)
    got = roundtrip(cookies, made_at=10, checked_at=20, wscale=None, sack=False)
    assert got == CookieOptions(mss=1460, timestamps=True, wscale=None, sack=False, ecn=False)


def test_without_timestamps_only_the_mss_comes_back() -> None:
    got = roundtrip(SynCookies(SECRET), made_at=0, checked_at=1, timestamps=False)
    assert got == CookieOptions(mss=1460, timestamps=False, wscale=None, sack=False, ecn=False)


@pytest.mark.parametrize(
    ("mss", "v6", "restored"),
    [
        (1460, False, 1460),
        (1459, False, 1440),  # rounded down to a table value, never up
        (9000, False, 8960),
        (100, False, 536),  # below the table: RFC 9293 3.7.1's IPv4 default
        (1440, True, 1440),
        (1300, True, 1280),
        (1000, True, 1220),  # IPv6's default: 1280 - 60
    ],
)
def test_the_mss_is_the_largest_table_value_not_above_the_offer(
    mss: int, v6: bool, restored: int
) -> None:
    tuple4 = (L6, 443, R6, 50000) if v6 else (L4, 80, R4, 40000)
    got = roundtrip(SynCookies(SECRET), made_at=0, checked_at=0, tuple4=tuple4, mss=mss)
    assert got is not None and got.mss == restored


def test_a_cookie_lives_in_its_tick_and_the_next_only() -> None:
    cookies = SynCookies(SECRET)
    made = 5 * TICK + 3
    assert roundtrip(cookies, made_at=made, checked_at=6 * TICK - 1) is not None
    assert roundtrip(cookies, made_at=made, checked_at=7 * TICK - 1) is not None
    assert roundtrip(cookies, made_at=made, checked_at=7 * TICK) is None
    assert roundtrip(cookies, made_at=made, checked_at=5 * TICK - 1) is None  # from the future
    # 32 ticks later the 5-bit counter repeats; the MAC covers the whole counter.
    assert roundtrip(cookies, made_at=made, checked_at=made + 32 * TICK) is None


def test_every_input_of_the_mac_matters() -> None:
    cookies = SynCookies(SECRET)
    isn = 99
    cookie, bits = cookies.make(0, L4, 80, R4, 40000, isn, mss=1460, timestamps=True, wscale=7)
    tsecr = SynCookies.stamp_tsval(1_000_000, bits)
    seq, ack = isn + 1, cookie + 1

    def check(*tuple4: bytes | int, **changed: int | None) -> bool:
        fields: dict[str, int | None] = {"seq": seq, "ack": ack, "tsecr": tsecr, **changed}
        laddr, lport, raddr, rport = tuple4 or (L4, 80, R4, 40000)
        assert isinstance(laddr, bytes) and isinstance(raddr, bytes)
        assert isinstance(lport, int) and isinstance(rport, int)
        got = cookies.check(
            0,
            laddr,
            lport,
            raddr,
            rport,
            seq=fields["seq"] or 0,
            ack=fields["ack"] or 0,
            tsecr=fields["tsecr"],
        )
        return got is not None

    assert check()
    assert not check(L4, 81, R4, 40000)
    assert not check(L4, 80, R4, 40001)
    assert not check(R4, 80, L4, 40000)
    assert not check(seq=isn + 2)
    assert not check(ack=cookie + 2)
    # The option bits in TSecr are covered too: a client cannot change its window scale.
    assert not check(tsecr=tsecr ^ 1)
    assert not check(tsecr=None)
    # The MSS index in the cookie is covered: a client cannot pick a larger MSS.
    assert not check(ack=(cookie ^ (1 << 24)) + 1)
    assert SynCookies(b"x" * 32).check(0, L4, 80, R4, 40000, seq=seq, ack=ack, tsecr=tsecr) is None


def test_blind_forgery_does_not_succeed() -> None:
    # 24 bits of MAC: 100,000 guesses of an ACK number succeed with probability
    # about 100,000 * 2/32 * 2**-24 = 0.0004 (only 2 of 32 counter values are live).
    cookies = SynCookies(SECRET)
    rng = random.Random(1)
    accepted = sum(
        cookies.check(
            TICK, L4, 80, R4, 40000, seq=1, ack=rng.getrandbits(32), tsecr=rng.getrandbits(32)
        )
        is not None
        for _ in range(100_000)
    )
    assert accepted == 0


@given(tsval=st.integers(0, 2**32 - 1), bits=st.integers(0, 63))
def test_the_stamped_tsval_carries_the_bits_and_is_never_ahead_of_the_clock(
    tsval: int, bits: int
) -> None:
    stamped = SynCookies.stamp_tsval(tsval, bits)
    assert stamped & 63 == bits
    # RFC 7323 5.4: the timestamp clock must not run backwards, so what we send
    # now is at most the clock (and less than 128 ticks behind it), mod 2**32.
    behind = (tsval - stamped) & 0xFFFFFFFF
    assert 0 <= behind < 128


def test_secrets_are_random_by_default_and_must_be_long() -> None:
    a, b = SynCookies(), SynCookies()
    made_a = a.make(0, L4, 80, R4, 1, 1, mss=1460, timestamps=False)
    made_b = b.make(0, L4, 80, R4, 1, 1, mss=1460, timestamps=False)
    assert made_a != made_b
    with pytest.raises(ValueError):
        SynCookies(b"short")

"""SYN cookies (RFC 4987 3.6): a listener's half-open state folded into its SYN-ACK.

When a listener's SYN queue is full, the endpoint answers a SYN without
keeping any state: the initial sequence number of its SYN-ACK *is* the state.
The returning ACK acknowledges ``cookie + 1``; if the cookie verifies, the
connection is created then, as if it had waited in SYN-RECEIVED all along.

Layout of the 32-bit cookie (RFC 4987 3.6, after D. J. Bernstein)::

    | 31 ... 27 | 26 25 24 | 23 ............................ 0 |
    |  t mod 32 | MSS index |  MAC(key, 4-tuple, ISN, t, MSS, opts) |

``t`` is a coarse counter (one tick per :data:`PERIOD`, 64 seconds as the RFC
suggests); a cookie is valid during the tick it was made in and the next, so
its life is 64 to 128 seconds. The MAC is a keyed BLAKE2b over the 4-tuple, the
client's ISN, the full counter, the MSS index and the option bits below, cut to
24 bits: an off-path attacker who cannot see our SYN-ACKs must guess it
(one chance in 2**24 per try, and only for a 4-tuple and ISN it chose).

What does not fit in 32 bits rides in the Timestamps option, as Linux does:
when the SYN carried Timestamps, the low 6 bits of our SYN-ACK's TSval hold
the peer's window scale (4 bits, 15 for none), SACK-permitted (bit 4) and ECN
(bit 5); the ACK's TSecr echoes them back. Those bits are also in the MAC, so a
client cannot alter them. Without Timestamps in the SYN, the cookie carries
only the MSS: the SYN-ACK offers neither window scaling nor SACK (they could
not be restored), which is RFC 4987's noted cost of cookies.

The codec is pure: no clock and no state but its key. Time is the caller's
``now`` in microseconds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from synack.tcp.config import Config
from synack.tcp.entropy import random_bytes
from synack.tcp.timestamps import TICK
from synack.wire.seq import MASK, add
from synack.wire.tcp import (
    ACK,
    SYN,
    MaxSegmentSize,
    NoOperation,
    Option,
    SackPermitted,
    Segment,
    Timestamps,
    WindowScale,
)

__all__ = [
    "MSS_TABLE_V4",
    "MSS_TABLE_V6",
    "PERIOD",
    "CookieOptions",
    "SynCookies",
    "cookie_syn_ack",
    "restored_syn",
]

PERIOD: Final = 64_000_000
"""RFC 4987 3.6: "t is a slowly incrementing timer (typically increments every 64 seconds)"."""

MSS_TABLE_V4: Final = (536, 1200, 1300, 1380, 1420, 1440, 1460, 8960)
"""MSS values a cookie can name on IPv4 (3 bits). 536 is RFC 9293 3.7.1's default;
the others are common path MTUs less 40 (tunnels, PPPoE, Ethernet, jumbo frames)."""

MSS_TABLE_V6: Final = (1220, 1280, 1360, 1400, 1420, 1440, 4036, 8940)
"""MSS values a cookie can name on IPv6. 1220 is RFC 9293 3.7.1's IPv6 default
(the 1280-octet minimum MTU of RFC 8200 less 60)."""

TS_OPTION_BITS: Final = 6
TS_OPTION_MASK: Final = (1 << TS_OPTION_BITS) - 1
_NO_WSCALE: Final = 0xF
_SACK_BIT: Final = 1 << 4
_ECN_BIT: Final = 1 << 5
_NO_TIMESTAMPS: Final = 1 << TS_OPTION_BITS  # the option code when the SYN had no Timestamps
_MAC_BITS: Final = 24
_MAC_MASK: Final = (1 << _MAC_BITS) - 1


@dataclass(frozen=True, slots=True)
class CookieOptions:
    """What a valid cookie ACK restores about the client's SYN."""

    mss: int
    """The MSS to use: the largest table value not above the one the SYN offered."""
    timestamps: bool
    """The SYN carried Timestamps (the ACK's TSecr brought the bits below back)."""
    wscale: int | None
    """The client's window-scale shift, or ``None`` when it offered none (or no Timestamps)."""
    sack: bool
    """The client sent SACK-permitted (only known with Timestamps)."""
    ecn: bool
    """The client asked for ECN (only known with Timestamps)."""


class SynCookies:
    """Makes and checks SYN cookies with one secret key (random unless injected)."""

    def __init__(self, secret: bytes | None = None) -> None:
        key = secret if secret is not None else random_bytes(32)
        if len(key) < 16:
            raise ValueError("the SYN-cookie secret must be at least 16 bytes")
        self._key = key if len(key) <= 64 else hashlib.blake2b(key).digest()

    @staticmethod
    def counter(now: int) -> int:
        """The coarse time counter ``t`` at ``now`` (microseconds)."""
        return now // PERIOD

    @staticmethod
    def mss_index(mss: int, v6: bool) -> int:
        """The index of the largest table MSS not above ``mss`` (0, the default, if none is)."""
        table = MSS_TABLE_V6 if v6 else MSS_TABLE_V4
        index = 0
        for i, value in enumerate(table):
            if value <= mss:
                index = i
        return index

    @staticmethod
    def option_bits(wscale: int | None, sack: bool, ecn: bool) -> int:
        """The 6 bits that ride in TSval: window scale (15 = none), SACK, ECN."""
        bits = _NO_WSCALE if wscale is None else min(wscale, 14)
        if sack:
            bits |= _SACK_BIT
        if ecn:
            bits |= _ECN_BIT
        return bits

    @staticmethod
    def stamp_tsval(tsval: int, bits: int) -> int:
        """Our SYN-ACK's TSval carrying ``bits`` in its low 6 bits, never ahead of ``tsval``.

        RFC 7323 5.4 wants a timestamp clock that does not run backwards: the
        stamped value is at most the clock's, so later TSvals stay above it.
        """
        stamped = (tsval & ~TS_OPTION_MASK & MASK) | bits
        if stamped > tsval:
            stamped = ((tsval & ~TS_OPTION_MASK) - (1 << TS_OPTION_BITS) & MASK) | bits
        return stamped

    def _mac(
        self,
        laddr: bytes,
        lport: int,
        raddr: bytes,
        rport: int,
        client_isn: int,
        count: int,
        mss_index: int,
        options: int,
    ) -> int:
        h = hashlib.blake2b(
            laddr
            + lport.to_bytes(2, "big")
            + raddr
            + rport.to_bytes(2, "big")
            + client_isn.to_bytes(4, "big")
            + count.to_bytes(8, "big")
            + bytes((mss_index, options)),
            key=self._key,
            digest_size=4,
        )
        return int.from_bytes(h.digest(), "big") & _MAC_MASK

    def make(
        self,
        now: int,
        laddr: bytes,
        lport: int,
        raddr: bytes,
        rport: int,
        client_isn: int,
        *,
        mss: int,
        timestamps: bool,
        wscale: int | None = None,
        sack: bool = False,
        ecn: bool = False,
    ) -> tuple[int, int]:
        """The cookie (our ISS) for a SYN, and the option bits to stamp into TSval.

        ``mss``, ``wscale``, ``sack`` and ``ecn`` are what the SYN offered;
        ``timestamps`` whether it carried the Timestamps option. Without it the
        option bits are not used (the returned value is then meaningless and
        the SYN-ACK must offer neither window scaling nor SACK).
        """
        count = self.counter(now)
        index = self.mss_index(mss, len(laddr) == 16)
        bits = self.option_bits(wscale, sack, ecn) if timestamps else _NO_TIMESTAMPS
        mac = self._mac(laddr, lport, raddr, rport, client_isn & MASK, count, index, bits)
        cookie = ((count & 0x1F) << 27) | (index << _MAC_BITS) | mac
        return cookie, bits & TS_OPTION_MASK

    def check(
        self,
        now: int,
        laddr: bytes,
        lport: int,
        raddr: bytes,
        rport: int,
        *,
        seq: int,
        ack: int,
        tsecr: int | None,
    ) -> CookieOptions | None:
        """The options a cookie ACK restores, or ``None`` if it is not a valid, fresh cookie.

        ``seq`` and ``ack`` are the ACK segment's: the client's ISN is ``seq - 1``
        and the cookie ``ack - 1``. ``tsecr`` is the ACK's TSecr, or ``None``
        when it has no Timestamps option.
        """
        cookie = (ack - 1) & MASK
        client_isn = (seq - 1) & MASK
        index = (cookie >> _MAC_BITS) & 0x7
        bits = (tsecr & TS_OPTION_MASK) if tsecr is not None else _NO_TIMESTAMPS
        now_count = self.counter(now)
        # RFC 4987 3.6: accept the current counter and the one before it.
        for count in (now_count, now_count - 1):
            if count < 0 or (count & 0x1F) != cookie >> 27:
                continue
            mac = self._mac(laddr, lport, raddr, rport, client_isn, count, index, bits)
            if mac != cookie & _MAC_MASK:
                return None
            table = MSS_TABLE_V6 if len(laddr) == 16 else MSS_TABLE_V4
            if tsecr is None:
                return CookieOptions(table[index], False, None, False, False)
            wscale = bits & _NO_WSCALE
            return CookieOptions(
                mss=table[index],
                timestamps=True,
                wscale=None if wscale == _NO_WSCALE else wscale,
                sack=bool(bits & _SACK_BIT),
                ecn=bool(bits & _ECN_BIT),
            )
        return None


def cookie_syn_ack(
    cookies: SynCookies,
    syn: Segment,
    now: int,
    key: tuple[bytes, int, bytes, int],
    config: Config,
    ts_offset: int,
) -> Segment:
    """The SYN-ACK that answers ``syn`` with a cookie, for a listener with ``config``.

    ``key`` is (local address, local port, remote address, remote port);
    ``ts_offset`` the connection's timestamp-clock offset (the same the
    connection will get, so its TSvals continue from this one). The options
    are those a SYN-RECEIVED connection would send (RFC 9293 3.7.1, RFC 2018
    2, RFC 7323 2.2 and 3.2), less what a cookie cannot restore: without
    Timestamps in the SYN, neither SACK-permitted nor Window Scale.
    """
    laddr, lport, raddr, rport = key
    v4 = len(laddr) == 4
    tso = syn.timestamps
    timestamps = config.timestamps and tso is not None
    wscale = syn.wscale if config.window_scaling and timestamps else None
    sack = config.sack and syn.sack_permitted and timestamps
    offered = syn.mss or (536 if v4 else 1220)  # RFC 9293 3.7.1 defaults
    iss, bits = cookies.make(
        now, laddr, lport, raddr, rport, syn.seq,
        mss=offered, timestamps=timestamps, wscale=wscale, sack=sack,
    )  # fmt: skip
    opts: list[Option] = [MaxSegmentSize(config.mss if v4 else config.mss - 20)]
    if sack:
        opts.append(SackPermitted())
    if timestamps and tso is not None:
        tsval = SynCookies.stamp_tsval((now // TICK + ts_offset) & MASK, bits)
        opts.append(Timestamps(tsval, tso.tsval))
    if wscale is not None:
        opts += [NoOperation(), WindowScale(config.recv_wscale)]
    window = min(config.recv_buffer, 0xFFFF)  # RFC 7323 2.2: never scaled in a SYN
    return Segment(lport, rport, iss, add(syn.seq, 1), SYN | ACK, window, 0, tuple(opts))


def restored_syn(opts: CookieOptions, ack: Segment) -> Segment:
    """The SYN that a valid cookie ``ack`` stands for: its options as the cookie restores them.

    Sequence number ``ack.seq - 1`` (the client's ISN); TSval the ACK's own (the
    SYN's is not kept: TS.Recent starts from the ACK, RFC 7323 4.3). Its window
    is a placeholder: the ACK's window replaces it at once.
    """
    options: list[Option] = [MaxSegmentSize(opts.mss)]
    if opts.sack:
        options.append(SackPermitted())
    tso = ack.timestamps
    if opts.timestamps and tso is not None:
        options.append(Timestamps(tso.tsval, 0))
    if opts.wscale is not None:
        options += [NoOperation(), WindowScale(opts.wscale)]
    return Segment(
        ack.src_port, ack.dst_port, add(ack.seq, -1), 0, SYN, ack.window, 0, tuple(options)
    )

"""The Timestamps option's state for one connection: our TSval clock, TS.Recent and PAWS (RFC 7323 3-5)."""

from __future__ import annotations

import hashlib
from typing import Final

from synack.tcp.entropy import random_bytes
from synack.wire.seq import MASK, le, lt, sub
from synack.wire.tcp import NoOperation, Timestamps

__all__ = ["PAWS_IDLE", "PAWS_WINDOW", "TICK", "TimestampOffsets", "TimestampState"]

_NOP: Final = NoOperation()

TICK: Final = 1_000
"""Our timestamp clock ticks every millisecond (RFC 7323 5.4: between 1 ms and 1 s per tick)."""
PAWS_IDLE: Final = 24 * 24 * 3600 * 1_000_000
"""RFC 7323 5.5: TS.Recent is invalid after 24 days of idleness."""
PAWS_WINDOW: Final = 1
"""Ticks by which a TSval may trail TS.Recent and still pass PAWS (Linux's TCP_PAWS_WINDOW).

With a millisecond clock, a segment sent a tick before a retransmission that
overtook it (the path reordered it) carries an older TSval although it is new
data at RCV.NXT; strict R1 of RFC 7323 5.3 drops it and the sender must time
out. PAWS only has to reject segments from an earlier cycle of the sequence
space (RFC 7323 5: old duplicates of wrapped sequence numbers), which trail
TS.Recent by at least the time it takes to send 2**31 octets: far more than one
tick at any rate this stack reaches. Linux accepts the same one tick.
"""


class TimestampOffsets:
    """Per-connection offsets of the timestamp clock: a keyed hash of the 4-tuple.

    RFC 7323 7.1: "a TCP ... SHOULD use a random offset" per connection so that
    TSval does not reveal the host's clock (uptime), and 5.4: the clock of one
    4-tuple must keep running across its incarnations (TSval may not go back
    when a connection is reopened from TIME-WAIT). An offset that depends only
    on the 4-tuple and a secret does both. The secret is this object's own,
    separate from the ISN's (an offset derived from the ISS would let anyone
    who sees a SYN recover the clock, and with it the ISN's secret offset).
    """

    __slots__ = ("_key",)

    def __init__(self, secret: bytes | None = None) -> None:
        key = secret if secret is not None else random_bytes(32)
        if len(key) < 16:
            raise ValueError("the timestamp secret must be at least 16 bytes")
        self._key = key if len(key) <= 64 else hashlib.blake2b(key).digest()

    def offset(self, laddr: bytes, lport: int, raddr: bytes, rport: int) -> int:
        """The 32-bit offset of the timestamp clock for this 4-tuple."""
        h = hashlib.blake2b(
            laddr + lport.to_bytes(2, "big") + raddr + rport.to_bytes(2, "big"),
            key=self._key,
            digest_size=4,
        )
        return int.from_bytes(h.digest(), "big")


class TimestampState:
    """TS.Recent and the PAWS test of RFC 7323 5.3, with the echo rule of 4.3.

    ``offset`` is added to the clock (see :class:`TimestampOffsets`).
    """

    __slots__ = ("_opts", "enabled", "offset", "ts_recent", "ts_recent_age")

    def __init__(self, offset: int) -> None:
        self.enabled = False
        self.offset = offset & MASK
        self.ts_recent = 0
        self.ts_recent_age = 0  # when TS.Recent was last set, microseconds
        self._opts: tuple[NoOperation, NoOperation, Timestamps] | None = None

    def option(self, now: int) -> tuple[NoOperation, NoOperation, Timestamps]:
        """NOP, NOP, TSopt(TSval, TS.Recent) for a segment sent at ``now``.

        Many segments leave within one tick with the same TS.Recent: they share
        one (immutable) option tuple.
        """
        tsval = (now // TICK + self.offset) & MASK
        opts = self._opts
        if opts is not None:
            o = opts[2]
            if o.tsval == tsval and o.tsecr == self.ts_recent:
                return opts
        opts = self._opts = (_NOP, _NOP, Timestamps(tsval, self.ts_recent))
        return opts

    def tsval(self, now: int) -> int:
        """Our TSval at ``now`` (RFC 7323 3.2: "the current value of the timestamp clock")."""
        return (now // TICK + self.offset) & MASK

    def rtt(self, tsecr: int, now: int) -> int | None:
        """RFC 7323 4.1 RTTM: the RTT that ``tsecr`` measures, in microseconds, or None.

        Resolution is one tick; a result of zero ticks counts as half a tick.
        """
        d = sub(self.tsval(now), tsecr)
        if d < 0:
            return None  # an echo from the future: not ours
        return d * TICK if d else TICK // 2

    def set_recent(self, tsval: int, now: int) -> None:
        self.ts_recent = tsval
        self.ts_recent_age = now

    def paws_rejects(self, tsval: int, now: int) -> bool:
        """RFC 7323 5.3 R1: "SEG.TSval < TS.Recent and ... TS.Recent is valid".

        "Less than" by more than :data:`PAWS_WINDOW` ticks.
        """
        if le(self.ts_recent, tsval):
            return False
        if now - self.ts_recent_age > PAWS_IDLE:
            # RFC 7323 5.5: after 24 days idle TS.Recent is no longer valid and the
            # PAWS test is skipped; the segment may be accepted "but only if
            # acceptable by sequence number". TS.Recent is not touched here: it is
            # taken from the segment by update_recent() once it proved acceptable
            # (5.3 R3), never from one that may be a blind guess.
            return False
        return lt(tsval, self.ts_recent) and sub(self.ts_recent, tsval) > PAWS_WINDOW

    def update_recent(self, tsval: int, seq: int, last_ack_sent: int, now: int) -> None:
        """RFC 7323 4.3 (1) / 5.3 R3: "If SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent".

        Called for a segment that passed PAWS and the sequence check. An invalid
        TS.Recent (older than 24 days, RFC 7323 5.5) is replaced whatever the
        TSval, as Linux's tcp_replace_ts_recent does.
        """
        recent = self.ts_recent
        if (tsval == recent or le(recent, tsval) or now - self.ts_recent_age > PAWS_IDLE) and le(
            seq, last_ack_sent
        ):
            self.set_recent(tsval, now)

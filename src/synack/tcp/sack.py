"""SACK on both sides: the sender's scoreboard (RFC 6675 2-4) and the receiver's blocks (RFC 2018 4, RFC 2883).

Both work in *unwrapped* sequence offsets (plain ints that never wrap, 0 = the
first octet after our SYN), so nothing here needs modular arithmetic; the
connection converts at its edges.

The :class:`Scoreboard` keeps one :class:`TxSeg` per transmitted segment from
SND.UNA to SND.MAX with its SACKed / lost / retransmitted state and the
per-packet fields of delivery-rate estimation, plus running totals so that
``pipe`` (RFC 6675 SetPipe) costs O(1). Lost segments wait in a heap ordered by
sequence for retransmission (RFC 6675 NextSeg rule 1).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator
from operator import attrgetter
from typing import Final

from synack.tcp.reasons import RetransmitReason
from synack.tcp.reassembly import Reassembler
from synack.wire.seq import MASK
from synack.wire.tcp import Sack

__all__ = [
    "EVER_RETRANS",
    "LOST",
    "RETRANS",
    "SACKED",
    "SackReceiver",
    "Scoreboard",
    "TxSeg",
]

SACKED: Final = 1
"""The receiver reported the segment in a SACK block."""
LOST: Final = 2
"""Loss detection (RFC 6675 IsLost, RACK, RTO) marked the segment lost."""
RETRANS: Final = 4
"""Retransmitted since it was last marked lost, and still counted in ``pipe``."""
EVER_RETRANS: Final = 8
"""Retransmitted at least once (Karn's rule, RACK's ambiguity check)."""

_start_of = attrgetter("start")


class TxSeg:
    """One transmitted segment: ``[start, end)`` in unwrapped offsets (a FIN counts one)."""

    __slots__ = (
        "app_limited",
        "delivered",
        "delivered_time",
        "end",
        "fin",
        "first_sent",
        "flags",
        "order",
        "start",
        "why",
        "xmit",
    )

    def __init__(self, start: int, end: int, xmit: int, fin: bool) -> None:
        self.start = start
        self.end = end
        self.fin = fin
        self.xmit = xmit  # time of the latest (re)transmission, microseconds
        self.order = 0  # rank of that transmission among all of the connection's
        self.flags = 0
        # draft-cheng-iccrg-delivery-rate-estimation 3.2: P.delivered,
        # P.delivered_time, P.first_sent_time, P.is_app_limited.
        self.delivered = 0
        self.delivered_time = -1  # -1: not stamped, or already delivered
        self.first_sent = 0
        self.app_limited = False
        self.why: RetransmitReason | None = None  # what marked it lost, last

    def __repr__(self) -> str:
        names = [n for bit, n in ((1, "S"), (2, "L"), (4, "R"), (8, "E")) if self.flags & bit]
        return (
            f"TxSeg({self.start}-{self.end}{'F' if self.fin else ''} {''.join(names)} @{self.xmit})"
        )


class Scoreboard:
    """The segments in flight, their SACK/loss state, and ``pipe`` (RFC 6675 2-4).

    Byte totals: ``sacked`` (SACKed, not yet cumulatively acknowledged), ``lost``
    (marked lost, retransmitted or not) and ``retrans`` (retransmissions not
    yet SACKed, acknowledged or lost again). ``pipe = outstanding - sacked -
    lost + retrans``, as RFC 6675 SetPipe counts it.
    """

    __slots__ = (
        "_qn",
        "head",
        "high_sacked",
        "lost",
        "lost_queue",
        "nxt",
        "retrans",
        "sacked",
        "sacked_segs",
        "segs",
        "tx_count",
        "una",
    )

    def __init__(self, una: int = 0) -> None:
        self.segs: list[TxSeg] = []
        self.head = 0  # index of the first live segment in _segs
        self.una = una
        self.nxt = una  # end of the highest segment sent (SND.MAX)
        self.sacked = 0
        self.sacked_segs = 0
        self.lost = 0
        self.retrans = 0
        self.high_sacked = una  # RFC 6675 HighSACK + 1: the end of the highest SACKed octet
        self.tx_count = 0  # transmissions so far: numbers them in the order they left
        self.lost_queue: list[tuple[int, int, TxSeg]] = []
        self._qn = 0

    # ------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self.segs) - self.head

    def __iter__(self) -> Iterator[TxSeg]:
        return iter(self.segs[self.head :])

    @property
    def outstanding(self) -> int:
        """Octets (and FIN) sent and not cumulatively acknowledged: FlightSize."""
        return self.nxt - self.una

    @property
    def pipe(self) -> int:
        """RFC 6675 SetPipe: octets the sender believes are still in the network."""
        return self.nxt - self.una - self.sacked - self.lost + self.retrans

    def first(self) -> TxSeg | None:
        """The segment at SND.UNA, or None when nothing is outstanding."""
        return self.segs[self.head] if self.head < len(self.segs) else None

    def last(self) -> TxSeg | None:
        """The highest segment sent, or None."""
        return self.segs[-1] if self.head < len(self.segs) else None

    def find(self, offset: int) -> int:
        """Index of the segment holding ``offset`` (or the first after it)."""
        i = bisect.bisect_right(self.segs, offset, lo=self.head, key=_start_of) - 1
        if i < self.head:
            return self.head
        if self.segs[i].end <= offset:
            return i + 1
        return i

    def segs_from(self, index: int) -> list[TxSeg]:
        """The live segments from ``index`` on (a copy)."""
        return self.segs[max(index, self.head) :]

    # ------------------------------------------------------------ updates
    def add(self, seg: TxSeg) -> None:
        """Record a new transmission; it starts where the last one ended."""
        self.tx_count += 1
        seg.order = self.tx_count
        self.segs.append(seg)
        self.nxt = seg.end

    def advance(self, una: int, acked: list[TxSeg]) -> None:
        """Cumulative ACK up to ``una``: move fully acknowledged segments into ``acked``.

        A segment only partly acknowledged is trimmed in place (its totals too).
        """
        if una <= self.una:
            return
        segs = self.segs
        i = self.head
        n = len(segs)
        while i < n:
            s = segs[i]
            if s.end <= una:
                self._forget(s, s.end - s.start)
                acked.append(s)
                i += 1
                continue
            if s.start < una:
                self._forget(s, una - s.start)
                s.start = una
            break
        self.head = i
        self.una = una
        if self.high_sacked < una:
            self.high_sacked = una
        if i > 256 and i * 2 > n:
            del segs[:i]
            self.head = 0

    def _forget(self, s: TxSeg, n: int) -> None:
        """Remove ``n`` octets of ``s`` from the totals (acknowledged or trimmed)."""
        f = s.flags
        if f & SACKED:
            self.sacked -= n
            if n == s.end - s.start:
                self.sacked_segs -= 1
        if f & LOST:
            self.lost -= n
        if f & RETRANS:
            self.retrans -= n

    def sack(
        self, left: int, right: int, newly: list[TxSeg], scan: tuple[int, int] | None = None
    ) -> None:
        """Mark segments wholly inside ``[left, right)`` SACKed; append the new ones to ``newly``.

        ``scan`` limits the walk to the segments overlapping that part of the
        block (the rest is known to be marked already).
        """
        left = max(left, self.una)
        if left >= right:
            return
        lo, hi = scan if scan is not None else (left, right)
        segs = self.segs
        i = self.find(max(lo, left))
        n = len(segs)
        while i < n:
            s = segs[i]
            if s.start >= hi or s.start >= right:
                break
            if s.start >= left and s.end <= right and not s.flags & SACKED:
                f = s.flags
                size = s.end - s.start
                if f & LOST:
                    self.lost -= size
                if f & RETRANS:
                    self.retrans -= size
                s.flags = (f & EVER_RETRANS) | SACKED
                self.sacked += size
                self.sacked_segs += 1
                if s.end > self.high_sacked:
                    self.high_sacked = s.end
                newly.append(s)
            i += 1

    def mark_lost(self, s: TxSeg, why: RetransmitReason) -> bool:
        """Mark ``s`` lost (again, if its retransmission was lost); False if it already is.

        ``why`` (the loss detection that decided) becomes the cause its
        retransmission reports.
        """
        f = s.flags
        if f & SACKED or (f & LOST and not f & RETRANS):
            return False
        s.why = why
        size = s.end - s.start
        if f & RETRANS:
            self.retrans -= size
        else:
            self.lost += size
        s.flags = (f & ~RETRANS) | LOST
        self._qn += 1
        heapq.heappush(self.lost_queue, (s.start, self._qn, s))
        return True

    def mark_all_lost(self, why: RetransmitReason) -> int:
        """RTO: every un-SACKed outstanding segment is lost; return how many were marked.

        Those already waiting for retransmission take ``why`` too: what resends
        them now is the go-back of ``why``.
        """
        n = 0
        for s in self.segs[self.head :]:
            if self.mark_lost(s, why):
                n += 1
            elif not s.flags & SACKED:
                s.why = why
        return n

    def clear_sacks(self) -> None:
        """Forget all SACK information (the receiver reneged, RFC 2018 8)."""
        for s in self.segs[self.head :]:
            if s.flags & SACKED:
                s.flags &= ~SACKED
        self.sacked = 0
        self.sacked_segs = 0
        self.high_sacked = self.una

    def next_lost(self) -> TxSeg | None:
        """RFC 6675 NextSeg rule 1: the lowest segment marked lost and not yet retransmitted."""
        heap = self.lost_queue
        una = self.una
        while heap:
            s = heap[0][2]
            f = s.flags
            if s.end <= una or f & (SACKED | RETRANS) or not f & LOST:
                heapq.heappop(heap)
                continue
            return s
        return None

    def on_retransmit(self, s: TxSeg, now: int) -> None:
        """``s`` (marked lost) was sent again."""
        if s.flags & LOST and not s.flags & RETRANS:
            self.retrans += s.end - s.start
            s.flags |= RETRANS
        s.flags |= EVER_RETRANS
        s.xmit = now
        self.tx_count += 1
        s.order = self.tx_count

    def split(self, s: TxSeg, size: int) -> TxSeg:
        """Cut ``s`` after ``size`` octets (the MSS shrank); return the new second part.

        Only for segments not SACKed; the totals are unchanged (both parts keep
        the flags), and a lost second part is queued for retransmission too.
        """
        tail = TxSeg(s.start + size, s.end, s.xmit, s.fin)
        tail.flags = s.flags
        tail.order = s.order
        tail.delivered = s.delivered
        tail.delivered_time = s.delivered_time
        tail.first_sent = s.first_sent
        tail.app_limited = s.app_limited
        tail.why = s.why
        s.end = s.start + size
        s.fin = False
        i = self.find(s.start)
        self.segs.insert(i + 1, tail)
        if tail.flags & LOST and not tail.flags & RETRANS:
            self._qn += 1
            heapq.heappush(self.lost_queue, (tail.start, self._qn, tail))
        return tail


class SackReceiver:
    """The receiver's SACK blocks: most recent first, then older ones still held (RFC 2018 4).

    ``note_received`` is called with the out-of-order range that contains each
    newly queued segment; ``note_duplicate`` with a duplicate range, which the
    next ACK reports first as a D-SACK block (RFC 2883 4).
    """

    __slots__ = ("_recent", "dsack")

    def __init__(self) -> None:
        self._recent: tuple[tuple[int, int], ...] = ()
        self.dsack: tuple[int, int] | None = None  # a duplicate the next ACK reports

    @property
    def pending_dsack(self) -> bool:
        return self.dsack is not None

    def note_received(self, block: tuple[int, int]) -> None:
        """``block`` now holds the segment that just arrived: report it first."""
        left, right = block
        # Drop blocks that this one covers (they merged into it).
        kept = [b for b in self._recent if not (left <= b[0] and b[1] <= right)]
        self._recent = (block, *kept[:7])

    def note_duplicate(self, left: int, right: int) -> None:
        """RFC 2883 4 (1): a duplicate arrived; the next ACK's first block says which."""
        if left < right:
            self.dsack = (left, right)

    def blocks(self, rcv_abs: int, held: Reassembler | None, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` blocks: a D-SACK block (once), then the held ranges, newest first.

        ``held`` is the receive queue (None: nothing held); every block sent is one of its ranges, as
        reported most recently (RFC 2018 4: "the first SACK block ... MUST
        specify the contiguous block of data containing the segment which
        triggered this ACK"). The cost is O(limit * log ranges), whatever the
        number of ranges held.
        """
        out: list[tuple[int, int]] = []
        d = self.dsack
        if d is not None:
            self.dsack = None
            out.append(d)
        if held is None or not len(held):
            self._recent = ()
            return out[:limit]
        dsack_sent = len(out)
        recent = []
        for left, right in self._recent:
            if right <= rcv_abs:
                continue  # delivered in order since
            # the held range that contains this block now (ranges only merge)
            r = held.containing(left)
            if r is not None and r not in recent:
                recent.append(r)
        self._recent = tuple(recent)
        # RFC 2883 4 (3): the block holding a duplicate follows its D-SACK block;
        # it is the newest one reported, so the recent list puts it there.
        for r in recent:
            if len(out) >= limit:
                break
            if r not in out[dsack_sent:]:
                out.append(r)
        # RFC 2018 4: fill the rest with other held ranges, highest first.
        for r in held.highest(limit):
            if len(out) >= limit:
                break
            if r not in out[dsack_sent:]:
                out.append(r)
        return out

    def option(
        self,
        rcv_nxt: int,
        rcv_abs: int,
        held: Reassembler | None,
        limit: int,
        fin_abs: int | None = None,
    ) -> Sack | None:
        """The SACK option for the next segment (``rcv_abs`` is RCV.NXT's offset), or None.

        ``fin_abs`` is the offset of a FIN held out of order. A FIN occupies a
        sequence number (RFC 9293 3.4), and RFC 2018 3's right edge is "the
        sequence number immediately following the last sequence number of this
        block": the block that ends where the FIN is includes it (Linux's blocks
        do too), and a FIN held alone is a block of one. Without it a sender
        could never see the segment that carried the FIN as SACKed, and a loss
        just before the end of a transfer waited for the retransmission timeout.
        """
        dsack = self.dsack is not None
        blocks = self.blocks(rcv_abs, held, limit)
        if fin_abs is not None:
            if any(hi == fin_abs for _, hi in blocks):
                blocks = [(lo, hi + 1 if hi == fin_abs else hi) for lo, hi in blocks]
            elif limit > 0:
                blocks.insert(1 if dsack else 0, (fin_abs, fin_abs + 1))
                del blocks[limit:]
        if not blocks:
            return None
        base = rcv_nxt - rcv_abs
        return Sack(tuple(((base + lo) & MASK, (base + hi) & MASK) for lo, hi in blocks))

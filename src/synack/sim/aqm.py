"""Bottleneck queue disciplines: drop-tail, RED, CoDel and a step marking threshold.

A :class:`Queue` is the FIFO in front of a link's transmitter: a packet limit
and a byte limit (drop-tail), and optionally an active queue manager chosen by
its configuration value:

- :class:`Red` (Floyd and Jacobson 1993): an average queue length kept as an
  EWMA; between ``min_th`` and ``max_th`` packets an arriving packet is dropped
  with a probability rising to ``max_p`` (spread out by the count since the
  last drop); above ``max_th`` always (or, ``gentle``, rising to 1 at twice
  ``max_th``).
- :class:`CoDel` (RFC 8289): acts at dequeue on each packet's sojourn time;
  once it has stayed above ``target`` for an ``interval``, it drops at
  intervals shrinking as ``interval / sqrt(count)`` until the sojourn time
  falls below ``target`` again.
- :class:`StepMark`: the single threshold of DCTCP (RFC 8257 3.1): a packet
  arriving to a queue of more than ``k`` packets is marked.

With ``ecn=True`` each of them marks an ECN-capable packet CE instead of
dropping it (RFC 3168 5, which has routers mark where they would drop); a
Not-ECT packet is still dropped. The clock is the simulator's, in integer
microseconds.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from synack.wire.ecn import mark_ce

__all__ = ["AQM_REASONS", "AqmConfig", "CoDel", "Queue", "Red", "StepMark"]

AQM_REASONS = ("red", "codel", "step")
"""Drop reasons of the queue managers (a link counts them like its other drops)."""


@dataclass(frozen=True, slots=True)
class Red:
    """Random Early Detection (Floyd, Jacobson 1993); thresholds in packets.

    ``weight`` is the EWMA weight w_q of each arrival; while the queue is idle
    the average decays as if ``idle / packet_time`` small packets had arrived,
    ``packet_time`` being the time to send one packet (µs).
    """

    min_th: float = 5.0
    max_th: float = 15.0
    max_p: float = 0.1
    weight: float = 0.002
    gentle: bool = True
    packet_time: int = 1200
    ecn: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.min_th < self.max_th:
            raise ValueError("RED needs 0 <= min_th < max_th")
        if not 0 < self.max_p <= 1 or not 0 < self.weight <= 1:
            raise ValueError("RED max_p and weight must be in (0, 1]")
        if self.packet_time <= 0:
            raise ValueError("RED packet_time must be > 0")


@dataclass(frozen=True, slots=True)
class CoDel:
    """CoDel (RFC 8289) with the constants it recommends: TARGET 5 ms, INTERVAL 100 ms."""

    target: int = 5_000
    interval: int = 100_000
    mtu: int = 1500
    ecn: bool = False

    def __post_init__(self) -> None:
        if self.target <= 0 or self.interval <= 0:
            raise ValueError("CoDel target and interval must be > 0")


@dataclass(frozen=True, slots=True)
class StepMark:
    """Mark (or drop) a packet that arrives to more than ``k`` packets queued (RFC 8257 3.1)."""

    k: int = 20
    ecn: bool = True

    def __post_init__(self) -> None:
        if self.k < 0:
            raise ValueError("the marking threshold must be >= 0")


AqmConfig = Red | CoDel | StepMark

Drop = Callable[[bytes, int, str], None]
"""``drop(packet, now, reason)``: the queue discarded a packet."""


class Queue:
    """A FIFO with drop-tail limits and an optional queue manager.

    ``enqueue`` and ``dequeue`` take the current time; ``drop`` is told of every
    packet discarded (``queue_full`` or the manager's name). ``marks`` counts
    packets marked CE.
    """

    def __init__(
        self,
        *,
        limit_packets: int | None,
        limit_bytes: int | None,
        aqm: AqmConfig | None,
        drop: Drop,
        seed: str = "",
    ) -> None:
        self._q: deque[tuple[bytes, int]] = deque()
        self.bytes = 0
        self.limit_packets = limit_packets
        self.limit_bytes = limit_bytes
        self.aqm = aqm
        self._drop = drop
        self.marks = 0
        # RED
        self._avg = 0.0
        self._count = -1
        self._idle_since: int | None = 0
        self._rng = random.Random(f"{seed}/red")
        # CoDel: the per-queue state of RFC 8289's pseudocode (section 5)
        self._first_above_time = 0
        self._drop_next = 0
        self._count_c = 0
        self._lastcount = 0
        self._dropping = False

    def __len__(self) -> int:
        return len(self._q)

    # ---------------------------------------------------------------- enqueue
    def enqueue(self, packet: bytes, now: int) -> bool:
        """Queue ``packet`` unless a limit or the manager refuses it; ``False`` if dropped."""
        size = len(packet)
        q = self._q
        if (self.limit_packets is not None and len(q) >= self.limit_packets) or (
            self.limit_bytes is not None and self.bytes + size > self.limit_bytes
        ):
            self._drop(packet, now, "queue_full")
            return False
        aqm = self.aqm
        if isinstance(aqm, StepMark):
            if len(q) > aqm.k:
                got = self._signal(packet, now, aqm.ecn, "step")
                if got is None:
                    return False
                packet = got
        elif isinstance(aqm, Red):
            got = self._red(packet, now, aqm)
            if got is None:
                return False
            packet = got
        q.append((packet, now))
        self.bytes += size
        self._idle_since = None
        return True

    def _signal(self, packet: bytes, now: int, ecn: bool, reason: str) -> bytes | None:
        """Congestion: mark an ECT packet CE when ``ecn``, else drop it (``None``)."""
        if ecn:
            marked = mark_ce(packet)
            if marked is not None:
                self.marks += 1
                return marked
        self._drop(packet, now, reason)
        return None

    def _red(self, packet: bytes, now: int, red: Red) -> bytes | None:
        # Floyd & Jacobson 1993: the average queue size, an EWMA over arrivals.
        if self._idle_since is not None:
            m = (now - self._idle_since) / red.packet_time
            self._avg *= (1 - red.weight) ** m
            self._idle_since = None
        self._avg += red.weight * (len(self._q) - self._avg)
        avg = self._avg
        if avg < red.min_th:
            self._count = -1
            return packet
        if avg >= red.max_th and not (red.gentle and avg < 2 * red.max_th):
            self._count = 0
            return self._signal(packet, now, red.ecn, "red")
        self._count += 1
        if avg < red.max_th:
            p_b = red.max_p * (avg - red.min_th) / (red.max_th - red.min_th)
        else:  # gentle: from max_p at max_th to 1 at 2 * max_th
            p_b = red.max_p + (1 - red.max_p) * (avg - red.max_th) / red.max_th
        # Spread the drops evenly: p_a = p_b / (1 - count * p_b).
        denom = 1 - self._count * p_b
        p_a = 1.0 if denom <= 0 else min(p_b / denom, 1.0)
        if self._rng.random() < p_a:
            self._count = 0
            return self._signal(packet, now, red.ecn, "red")
        return packet

    # ---------------------------------------------------------------- dequeue
    def _pop(self) -> tuple[bytes, int] | None:
        q = self._q
        if not q:
            return None
        item = q.popleft()
        self.bytes -= len(item[0])
        return item

    def dequeue(self, now: int) -> tuple[bytes, int] | None:
        """The next packet to send and its sojourn time (µs), or ``None`` when empty."""
        aqm = self.aqm
        if isinstance(aqm, CoDel):
            got = self._codel(now, aqm)
        else:
            item = self._pop()
            got = None if item is None else (item[0], now - item[1])
        if got is None and self._idle_since is None:
            self._idle_since = now
        return got

    def _codel_dodequeue(self, now: int, c: CoDel) -> tuple[tuple[bytes, int] | None, bool]:
        # RFC 8289 5, dodequeue(): the packet, and whether its sojourn time has
        # stayed above TARGET for at least INTERVAL.
        item = self._pop()
        if item is None:
            self._first_above_time = 0
            return None, False
        sojourn = now - item[1]
        ok_to_drop = False
        if sojourn < c.target or self.bytes <= c.mtu:
            # Below TARGET (or less than one MTU queued): start over.
            self._first_above_time = 0
        elif self._first_above_time == 0:
            # Just went above: drop if still above one INTERVAL from now.
            self._first_above_time = now + c.interval
        elif now >= self._first_above_time:
            ok_to_drop = True
        return (item[0], sojourn), ok_to_drop

    def _control_law(self, t: int, c: CoDel) -> int:
        # RFC 8289 5, control_law(): the next drop INTERVAL / sqrt(count) later.
        return t + int(c.interval / math.sqrt(self._count_c))

    def _codel(self, now: int, c: CoDel) -> tuple[bytes, int] | None:
        # RFC 8289 5, dequeue().
        r, ok_to_drop = self._codel_dodequeue(now, c)
        if r is None:
            self._dropping = False
            return None
        if self._dropping:
            if not ok_to_drop:
                self._dropping = False  # below TARGET again: leave the dropping state
            while self._dropping and now >= self._drop_next:
                self._count_c += 1
                marked = self._signal(r[0], now, c.ecn, "codel")
                if marked is not None:  # marked: it goes out; the next signal is due later
                    self._drop_next = self._control_law(self._drop_next, c)
                    return marked, r[1]
                nxt, ok_to_drop = self._codel_dodequeue(now, c)
                if nxt is None:
                    self._dropping = False
                    return None
                r = nxt
                if not ok_to_drop:
                    self._dropping = False
                else:
                    self._drop_next = self._control_law(self._drop_next, c)
            return r
        if ok_to_drop:
            # Not dropping, but the sojourn time has been above TARGET for an
            # INTERVAL: signal this packet and enter the dropping state.
            marked = self._signal(r[0], now, c.ecn, "codel")
            if marked is not None:
                r = (marked, r[1])
            else:
                r, _ = self._codel_dodequeue(now, c)
            self._dropping = True
            # Re-entering soon after leaving (within 16 intervals): start from the
            # drop rate that controlled the queue last time, not from 1.
            delta = self._count_c - self._lastcount
            self._count_c = 1
            if delta > 1 and now - self._drop_next < 16 * c.interval:
                self._count_c = delta
            self._drop_next = self._control_law(now, c)
            self._lastcount = self._count_c
        return r

"""One direction of a simulated path: delay, bandwidth, a queue, an MTU, and seeded
impairments (loss, bursty loss, periodic loss, scripted drops, reordering,
duplication, bit corruption).

A packet handed to :meth:`Link.send` goes through, in order: the MTU check, the
drop-tail queue (only with a finite bandwidth), serialization (the link sends
one packet at a time at ``bandwidth`` bit/s), then the impairments on the wire,
then ``delay`` microseconds of propagation, and finally ``deliver(packet, now)``
on the node at the far end. A packet lost on the wire has used its
serialization time, as on a real link.

Each impairment draws from its own ``random.Random`` seeded from
``(seed, link name, impairment)``, so turning one impairment on or off does not
change the draws of another, and one seed always gives the same run.

A plain drop-tail link computes each packet's departure when it arrives (no
event per packet in the queue). A link with an active queue manager
(``aqm``: RED, CoDel, a step threshold, see :mod:`synack.sim.aqm`) or a
trace-driven rate (``trace``) runs its queue as events instead: a packet is
taken from the queue when the transmitter frees, which is where CoDel decides.
With a ``trace`` (Mahimahi's format, :func:`load_trace`) the link sends at
delivery opportunities instead of at a fixed bandwidth: each opportunity, a
timestamp in milliseconds, carries up to 1500 octets, and the list repeats
with the period of its last timestamp.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from heapq import heappush
from typing import Protocol

from synack.sim.aqm import AQM_REASONS, AqmConfig, Queue
from synack.sim.engine import Simulator
from synack.sim.rules import DropRule, segment_of
from synack.wire.errors import MalformedPacket
from synack.wire.ip import peek_ip

__all__ = [
    "DROP_REASONS",
    "GilbertElliott",
    "Link",
    "LinkConfig",
    "LinkObserver",
    "Node",
    "load_trace",
]

DROP_REASONS = (
    "mtu",
    "queue_full",
    "scripted",
    "periodic_loss",
    "loss",
    "burst_loss",
    *AQM_REASONS,
)
"""Why a link drops a packet; the keys of :attr:`Link.drops`."""

TRACE_OPPORTUNITY = 1500
"""Octets one delivery opportunity of a trace carries (Mahimahi's MTU-sized slot)."""


def load_trace(text: str) -> tuple[int, ...]:
    """Parse a Mahimahi trace: one delivery opportunity per line, a time in ms.

    Times must not decrease and the last must be positive (it is the period
    after which the trace repeats); blank lines are skipped. ``ValueError``
    names the first bad line.
    """
    out: list[int] = []
    for n, line in enumerate(text.splitlines(), 1):
        t = line.strip()
        if not t:
            continue
        try:
            v = int(t)
        except ValueError:
            raise ValueError(f"trace line {n}: not a whole number of ms: {t!r}") from None
        if v < 0 or (out and v < out[-1]):
            raise ValueError(f"trace line {n}: {v} ms is negative or earlier than the line before")
        out.append(v)
    if not out or out[-1] <= 0:
        raise ValueError("a trace needs at least one opportunity after 0 ms")
    return tuple(out)


LinkObserver = Callable[[int, str, str, bytes, "str | None"], None]
"""``observer(now, link_name, what, packet, detail)`` for every packet on a link.

``what`` is ``"send"`` (offered to the link), ``"drop"`` (``detail`` is the
reason, one of :data:`DROP_REASONS`), ``"impair"`` (right after ``"send"``:
``detail`` is ``"corrupted"``, ``"reordered"`` or ``"duplicated"``) or
``"deliver"`` (handed to the far end; ``detail`` is ``None``, or
``"corrupted"``, ``"duplicate"`` or ``"reordered"``, and ``packet`` is the bytes
actually delivered).
"""


class Node(Protocol):
    """Anything at the end of a link: a host or a router."""

    name: str

    def deliver(self, packet: bytes, now: int) -> None:
        """A packet arrives from a link at virtual time ``now``."""


@dataclass(frozen=True, slots=True)
class GilbertElliott:
    """Two-state bursty loss (Gilbert-Elliott).

    Before each packet the channel moves GOOD -> BAD with probability ``p`` and
    BAD -> GOOD with probability ``r``; the packet is then lost with probability
    ``loss_good`` or ``loss_bad``. The long-run loss rate is
    ``(r * loss_good + p * loss_bad) / (p + r)`` and a BAD spell lasts ``1 / r``
    packets on average.
    """

    p: float
    r: float
    loss_good: float = 0.0
    loss_bad: float = 1.0

    def __post_init__(self) -> None:
        for name in ("p", "r", "loss_good", "loss_bad"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"Gilbert-Elliott {name} must be in [0, 1], got {v}")
        if self.p + self.r == 0:
            raise ValueError("Gilbert-Elliott needs p + r > 0")

    @classmethod
    def from_rate(cls, loss: float, mean_burst: float) -> GilbertElliott:
        """Bursts of ``mean_burst`` lost packets on average, ``loss`` lost overall."""
        if not 0.0 <= loss < 1.0:
            raise ValueError(f"loss rate must be in [0, 1), got {loss}")
        if mean_burst < 1.0:
            raise ValueError(f"mean burst length must be >= 1, got {mean_burst}")
        r = 1.0 / mean_burst
        p = loss * r / (1.0 - loss)
        return cls(min(p, 1.0), r)

    @property
    def mean_loss(self) -> float:
        """The long-run fraction of packets lost."""
        return (self.r * self.loss_good + self.p * self.loss_bad) / (self.p + self.r)


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """The parameters of one direction of a link. Times in microseconds.

    ``bandwidth`` is in bit/s (``None``: infinite, no serialization delay and no
    queue). The queue holds packets waiting behind the one being serialized and
    drops arrivals that would exceed ``queue_packets`` packets or
    ``queue_bytes`` bytes (``None``: unbounded). ``mtu`` is the largest IP
    packet the link carries. Probabilities are per packet, in [0, 1].
    ``reorder`` holds a packet back ``reorder_delay`` microseconds so that
    later packets overtake it; ``duplicate`` delivers a second copy;
    ``corrupt`` flips one random bit after the IP header (the TCP checksum
    always detects a single flipped bit). ``aqm`` manages the queue (RED,
    CoDel, step marking; ``None``: drop-tail only); ``trace`` replaces
    ``bandwidth`` with delivery opportunities (ms, see :func:`load_trace`). ``periodic_loss = N`` drops every
    N-th packet, the first being packet ``N - periodic_offset`` (``0 <=
    periodic_offset < N``: the phase of the pattern). ``rules`` are scripted drops.
    """

    delay: int = 0
    bandwidth: int | None = None
    queue_packets: int | None = None
    queue_bytes: int | None = None
    mtu: int | None = None
    loss: float = 0.0
    burst: GilbertElliott | None = None
    periodic_loss: int = 0
    periodic_offset: int = 0
    reorder: float = 0.0
    reorder_delay: int = 1000
    duplicate: float = 0.0
    corrupt: float = 0.0
    rules: tuple[DropRule, ...] = field(default=())
    aqm: AqmConfig | None = None
    trace: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.delay < 0 or self.reorder_delay < 0:
            raise ValueError("delays must be >= 0")
        if self.bandwidth is not None and self.bandwidth <= 0:
            raise ValueError(f"bandwidth must be > 0 bit/s, got {self.bandwidth}")
        for name in ("queue_packets", "queue_bytes", "mtu"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"{name} must be >= 0, got {v}")
        for name in ("loss", "reorder", "duplicate", "corrupt"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {v}")
        if self.periodic_loss < 0 or self.periodic_loss == 1:
            raise ValueError("periodic_loss must be 0 (off) or >= 2")
        if not 0 <= self.periodic_offset < max(self.periodic_loss, 1):
            raise ValueError("periodic_offset must be in [0, periodic_loss)")
        if self.trace is not None:
            if self.bandwidth is not None:
                raise ValueError("give a bandwidth or a trace, not both")
            if not self.trace or self.trace[-1] <= 0 or list(self.trace) != sorted(self.trace):
                raise ValueError("a trace is non-decreasing times in ms, the last one > 0")
        if self.aqm is not None and self.bandwidth is None and self.trace is None:
            raise ValueError("a queue manager needs a bottleneck: a bandwidth or a trace")

    @property
    def impaired(self) -> bool:
        """Whether any per-packet impairment is configured (else the fast path runs)."""
        return bool(
            self.loss
            or self.burst
            or self.periodic_loss
            or self.reorder
            or self.duplicate
            or self.corrupt
            or self.rules
        )


_SCALE = 8_000_000  # bits per byte * microseconds per second


class Link:
    """One direction of a path from ``src`` to ``dst`` (see the module docstring)."""

    def __init__(
        self,
        sim: Simulator,
        dst: Node,
        config: LinkConfig | None = None,
        *,
        name: str = "link",
        seed: int = 0,
    ) -> None:
        self.sim = sim
        self.dst = dst
        self.config = cfg = config or LinkConfig()
        self.name = name
        self.observers: list[LinkObserver] = []
        self.mtu_hook: Callable[[bytes, int, int], None] | None = None
        """Called as ``hook(packet, mtu, now)`` for a packet dropped as too big."""

        self.packets_sent = 0
        self.bytes_sent = 0
        self.packets_delivered = 0
        self.drops: dict[str, int] = {}
        self.corrupted = 0
        self.duplicated = 0
        self.reordered = 0
        self.sojourn: list[int] | None = None
        """Set it to a list to record each accepted packet's wait in the queue (µs)."""
        self.marks = 0
        """Packets the queue manager marked CE instead of dropping."""

        self._delay = cfg.delay
        self._bps = cfg.bandwidth or 0
        self._mtu = cfg.mtu
        self._queue_packets = cfg.queue_packets
        self._queue_bytes = cfg.queue_bytes
        self._queue: deque[tuple[int, int]] = deque()  # (start in us*bps, size) waiting
        self._backlog = 0
        self._busy = 0  # end of the last serialization, in us*bps
        self._impaired = cfg.impaired
        self._rule_counts = [0] * len(cfg.rules)
        self._offered = 0
        self._ge_bad = False

        def rng(kind: str) -> random.Random:
            return random.Random(f"{seed}/{name}/{kind}")

        self._rng_loss = rng("loss")
        self._rng_burst = rng("burst")
        self._rng_reorder = rng("reorder")
        self._rng_duplicate = rng("duplicate")
        self._rng_corrupt = rng("corrupt")

        # The event-driven queue (a queue manager, or a trace-driven rate).
        self._pq: Queue | None = None
        if cfg.aqm is not None or cfg.trace is not None:
            self._pq = Queue(
                limit_packets=cfg.queue_packets,
                limit_bytes=cfg.queue_bytes,
                aqm=cfg.aqm,
                drop=self._drop,
                seed=f"{seed}/{name}",
            )
        self._sending = False  # the transmitter is busy
        self._trace = tuple(t * 1000 for t in cfg.trace) if cfg.trace is not None else ()
        self._trace_next = 0  # index (over all repetitions) of the next opportunity
        self._trace_left = 0  # octets left in the opportunity at _trace_at
        self._trace_at = -1

    # ------------------------------------------------------------------ stats
    @property
    def queue_backlog(self) -> tuple[int, int]:
        """(packets, bytes) waiting in the queue at the current virtual time."""
        if self._pq is not None:
            return len(self._pq), self._pq.bytes
        self._drain(self.sim.now * self._bps)
        return len(self._queue), self._backlog

    def stats(self) -> dict[str, object]:
        """Counters of this link as a plain dict."""
        return {
            "packets_sent": self.packets_sent,
            "bytes_sent": self.bytes_sent,
            "packets_delivered": self.packets_delivered,
            "drops": dict(sorted(self.drops.items())),
            "corrupted": self.corrupted,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "marks": self._pq.marks if self._pq is not None else 0,
        }

    # ---------------------------------------------------------------- sending
    def _drain(self, scaled_now: int) -> None:
        q = self._queue
        while q and q[0][0] <= scaled_now:
            self._backlog -= q.popleft()[1]

    def send(self, packet: bytes, now: int) -> bool:
        """Offer ``packet`` at virtual time ``now``; ``False`` if it was dropped at once.

        Returns ``True`` for a packet accepted onto the wire, even if an
        impairment later loses it (as a sender could not tell either).
        """
        size = len(packet)
        self.packets_sent += 1
        self.bytes_sent += size
        observers = self.observers
        if observers:
            for ob in observers:
                ob(now, self.name, "send", packet, None)
        mtu = self._mtu
        if mtu is not None and size > mtu:
            self._drop(packet, now, "mtu")
            if self.mtu_hook is not None:
                self.mtu_hook(packet, mtu, now)
            return False
        if self._pq is not None:
            return self._enqueue(packet, now)
        bps = self._bps
        if bps:
            scaled_now = now * bps
            q = self._queue
            if q:
                self._drain(scaled_now)
            busy = self._busy
            if busy > scaled_now:
                # The link is serializing: this packet waits in the queue.
                qp = self._queue_packets
                qb = self._queue_bytes
                if (qp is not None and len(q) >= qp) or (
                    qb is not None and self._backlog + size > qb
                ):
                    self._drop(packet, now, "queue_full")
                    return False
                q.append((busy, size))
                self._backlog += size
                end = busy + size * _SCALE
                if self.sojourn is not None:
                    self.sojourn.append((busy - scaled_now) // bps)
            else:
                end = scaled_now + size * _SCALE
                if self.sojourn is not None:
                    self.sojourn.append(0)
            self._busy = end
            arrive = -(-end // bps) + self._delay
        else:
            arrive = now + self._delay
        if self._impaired:
            self._impair(packet, now, arrive)
        else:
            # The engine's schedule(), inlined: this is the per-packet hot path.
            sim = self.sim
            sim._order += 1
            if observers:
                heappush(sim._heap, (arrive, sim._order, self._arrive, packet))
            else:
                heappush(sim._heap, (arrive, sim._order, self.dst.deliver, packet))
                self.packets_delivered += 1
        return True

    # ------------------------------------------------- the event-driven queue
    def _enqueue(self, packet: bytes, now: int) -> bool:
        pq = self._pq
        assert pq is not None
        if not pq.enqueue(packet, now):
            return False
        if not self._sending:
            self._transmit(now, chained=False)
        return True

    def _transmit(self, now: int, *, chained: bool) -> None:
        """Start sending the next packet the queue gives, if any."""
        pq = self._pq
        assert pq is not None
        got = pq.dequeue(now)
        self.marks = pq.marks
        if got is None:
            self._sending = False
            return
        packet, waited = got
        if self.sojourn is not None:
            self.sojourn.append(waited)
        size = len(packet)
        if self._trace:
            end = self._trace_departure(now, size)
        else:
            bps = self._bps
            start = self._busy if chained and self._busy > (now - 1) * bps else now * bps
            self._busy = start + size * _SCALE
            end = -(-self._busy // bps)
        self._sending = True
        self.sim.schedule(end, self._transmitted, None)
        arrive = end + self._delay
        if self._impaired:
            self._impair(packet, now, arrive)
        elif self.observers:
            self.sim.schedule(arrive, self._arrive, packet)
        else:
            self.packets_delivered += 1
            self.sim.schedule(arrive, self.dst.deliver, packet)

    def _transmitted(self, _: None, now: int) -> None:
        self._transmit(now, chained=True)

    def _trace_departure(self, now: int, size: int) -> int:
        """When a packet of ``size`` octets that is ready at ``now`` leaves (Mahimahi rules)."""
        trace = self._trace
        n = len(trace)
        period = trace[-1]

        def at(i: int) -> int:
            return (i // n) * period + trace[i % n]

        if not (self._trace_at >= now and self._trace_left > 0):
            # Unused opportunities are lost: start at the first one not before now.
            i = self._trace_next
            if at(i) < now:
                i = (now // period) * n
                while at(i) < now:
                    i += 1
            self._trace_at = at(i)
            self._trace_next = i + 1
            self._trace_left = TRACE_OPPORTUNITY
        need = size
        while need > self._trace_left:
            need -= self._trace_left
            self._trace_at = at(self._trace_next)
            self._trace_next += 1
            self._trace_left = TRACE_OPPORTUNITY
        self._trace_left -= need
        return self._trace_at

    def _drop(self, packet: bytes, now: int, reason: str) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        for ob in self.observers:
            ob(now, self.name, "drop", packet, reason)

    def _arrive(self, packet: bytes, now: int) -> None:
        self.packets_delivered += 1
        for ob in self.observers:
            ob(now, self.name, "deliver", packet, None)
        self.dst.deliver(packet, now)

    def _arrive_noted(self, arg: tuple[bytes, str | None], now: int) -> None:
        packet, detail = arg
        self.packets_delivered += 1
        for ob in self.observers:
            ob(now, self.name, "deliver", packet, detail)
        self.dst.deliver(packet, now)

    def _impair(self, packet: bytes, now: int, arrive: int) -> None:
        cfg = self.config
        if cfg.rules:
            seg = segment_of(packet)
            if seg is not None:
                hit = False
                for i, rule in enumerate(cfg.rules):
                    if rule.match(seg):
                        self._rule_counts[i] += 1
                        if self._rule_counts[i] in rule.occurrences:
                            hit = True
                if hit:
                    self._drop(packet, now, "scripted")
                    return
        if cfg.periodic_loss:
            self._offered += 1
            if (self._offered + cfg.periodic_offset) % cfg.periodic_loss == 0:
                self._drop(packet, now, "periodic_loss")
                return
        if cfg.loss and self._rng_loss.random() < cfg.loss:
            self._drop(packet, now, "loss")
            return
        ge = cfg.burst
        if ge is not None:
            r = self._rng_burst
            if self._ge_bad:
                if r.random() < ge.r:
                    self._ge_bad = False
            elif r.random() < ge.p:
                self._ge_bad = True
            if r.random() < (ge.loss_bad if self._ge_bad else ge.loss_good):
                self._drop(packet, now, "burst_loss")
                return
        detail: str | None = None
        sent = packet
        if cfg.corrupt and self._rng_corrupt.random() < cfg.corrupt:
            packet = self._flip_bit(packet)
            self.corrupted += 1
            detail = "corrupted"
            self._note(sent, now, detail)
        if cfg.reorder and self._rng_reorder.random() < cfg.reorder:
            arrive += cfg.reorder_delay
            self.reordered += 1
            self._note(sent, now, "reordered")
            detail = detail or "reordered"
        self.sim.schedule(arrive, self._arrive_noted, (packet, detail))
        if cfg.duplicate and self._rng_duplicate.random() < cfg.duplicate:
            self.duplicated += 1
            self._note(sent, now, "duplicated")
            self.sim.schedule(arrive, self._arrive_noted, (packet, "duplicate"))

    def _note(self, packet: bytes, now: int, detail: str) -> None:
        for ob in self.observers:
            ob(now, self.name, "impair", packet, detail)

    def _flip_bit(self, packet: bytes) -> bytes:
        if not packet:
            return packet
        try:
            head = peek_ip(packet)[4]  # flip a bit past the IP header
        except MalformedPacket:
            head = 0
        if head >= len(packet):
            head = 0
        bit = head * 8 + self._rng_corrupt.randrange((len(packet) - head) * 8)
        buf = bytearray(packet)
        buf[bit >> 3] ^= 0x80 >> (bit & 7)
        return bytes(buf)

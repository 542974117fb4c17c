"""What a page shows about one connection, whatever the source (synack trace or capture).

A :class:`ConnectionView` holds the connection's two ends, every segment in the
order it was sent (:class:`Seg`), each end's state changes, time series (cwnd,
RTT, ...) and the summary tables. :mod:`synack.view.from_trace` builds it from
synack's JSON Lines records (exact values), :mod:`synack.view.from_capture` from
the packets of any capture (reconstructed values); :mod:`synack.view.page` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synack.wire.seq import MASK
from synack.wire.tcp import ACK, FIN, SYN

__all__ = [
    "ConnInfo",
    "ConnectionView",
    "End",
    "Seg",
    "Series",
    "SummarySection",
    "decimate",
    "end_label",
    "flight_series",
    "goodput_series",
    "unwrap",
]


class Seg:
    """One segment: sent at ``ts`` by end ``d`` (0 or 1), arriving at ``ta`` (or never/unknown).

    ``fate`` is empty for a segment that arrived (or whose fate is unknown), else
    why it did not (``lost at client->server (queue_full)``, ``dropped by server
    (out_of_window)``). ``cause`` says why a retransmission was sent.
    """

    __slots__ = (
        "ack",
        "cause",
        "d",
        "fate",
        "flags",
        "length",
        "marks",
        "opts",
        "rtx",
        "seq",
        "ta",
        "ts",
        "urg",
        "win",
    )

    def __init__(
        self,
        ts: int,
        d: int,
        flags: int,
        seq: int,
        ack: int,
        win: int,
        length: int,
        opts: str = "",
        *,
        rtx: bool = False,
        ta: int | None = None,
        urg: int = 0,
    ) -> None:
        self.ts = ts
        self.ta = ta
        self.d = d
        self.flags = flags
        self.seq = seq
        self.ack = ack
        self.win = win
        self.length = length
        self.opts = opts
        self.rtx = rtx
        self.cause = ""
        self.fate = ""
        self.marks: list[str] = []
        self.urg = urg

    @property
    def seg_len(self) -> int:
        """SEG.LEN (RFC 9293 3.4): payload plus one for SYN and one for FIN."""
        return self.length + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)

    def __repr__(self) -> str:
        return (
            f"Seg(ts={self.ts} d={self.d} flags={self.flags:#x} seq={self.seq} len={self.length})"
        )


@dataclass
class End:
    """One end of the connection: address, port, its label in the ladder, its ISN."""

    addr: str
    port: int
    name: str = ""  # "Client", "Server" (synack's host names, or roles from the SYN)
    show_port: bool = False  # the seed's form: a port only where a SYN was sent to
    isn: int | None = None
    wscale: int | None = None  # the shift this end's window field is scaled by (RFC 7323)
    states: list[tuple[int, str, str]] = field(default_factory=list)  # t, new state, reason
    first_state: str = ""  # the state before the first change

    @property
    def endpoint(self) -> str:
        return f"[{self.addr}]:{self.port}" if ":" in self.addr else f"{self.addr}:{self.port}"


def end_label(end: End) -> str:
    """``Client (192.168.1.100)`` or ``Server (10.0.0.5:80)``, as the seed's ladder writes them."""
    where = end.endpoint if end.show_port else end.addr
    return f"{end.name} ({where})" if end.name else where


@dataclass
class Series:
    """One time series: ``points`` of (t, value); ``step`` draws it as a staircase."""

    name: str
    unit: str
    points: list[tuple[int, float]]
    step: bool = True
    total: int = 0  # points before decimation (0: not decimated)
    hold: bool = True  # the last value holds until the end (a variable, not a rate)


@dataclass
class SummarySection:
    """A table of the summary: ``columns`` heads, ``rows`` of cells."""

    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class ConnectionView:
    """Everything the page shows about one connection."""

    title: str
    source: str  # "synack trace" or "capture"
    exact: bool  # the core's own variables (True) or reconstructed from packets
    ends: tuple[End, End]
    segs: list[Seg]
    series: dict[int, list[Series]]  # per sending end: cwnd, RTT, ... of that end
    summary: list[SummarySection]
    notes: list[str]
    events: list[tuple[int, int, str]] = field(default_factory=list)  # t, end, text (RTO, drops)
    others: list[str] = field(default_factory=list)  # the other connections in the source


@dataclass(frozen=True)
class ConnInfo:
    """One connection found in a source: its two ends (``addr:port``) and size."""

    a: str
    b: str
    payload: int
    packets: int

    def describe(self) -> str:
        return f"{self.a} <-> {self.b}: {self.payload:,} payload bytes in {self.packets:,} segments"


def unwrap(values: list[int], base: int) -> list[int]:
    """Sequence numbers as offsets from ``base``, unwrapped across 2**32 (RFC 9293 3.4).

    Each value is taken as the one nearest to the previous offset, so a transfer
    longer than 4 GiB, or one that wraps, stays a rising line.
    """
    out: list[int] = []
    prev = 0
    half = 1 << 31
    for v in values:
        delta = ((v - base) - prev) & MASK
        if delta >= half:
            delta -= 1 << 32
        prev += delta
        out.append(prev)
    return out


def decimate(points: list[tuple[int, float]], limit: int) -> list[tuple[int, float]]:
    """At most about ``limit`` points keeping each time bucket's first, minimum and maximum.

    Peaks and troughs survive (a cwnd collapse stays visible); the page says how
    many points there were.
    """
    if len(points) <= limit or limit < 4:
        return points
    t0, t1 = points[0][0], points[-1][0]
    buckets = max(1, limit // 3)
    width = max(1, (t1 - t0 + buckets) // buckets)
    out: list[tuple[int, float]] = []
    i = 0
    n = len(points)
    while i < n:
        b = (points[i][0] - t0) // width
        j = i
        lo = hi = i
        while j < n and (points[j][0] - t0) // width == b:
            if points[j][1] < points[lo][1]:
                lo = j
            if points[j][1] > points[hi][1]:
                hi = j
            j += 1
        for k in sorted({i, lo, hi, j - 1}):
            out.append(points[k])
        i = j
    return out


def flight_series(segs: list[Seg], sender: int, *, arrival: bool) -> list[tuple[int, float]]:
    """Bytes in flight of ``sender`` (SND.MAX - SND.UNA, RFC 5681 FlightSize) over time.

    The sender's segments count when sent (``ts``); the peer's ACKs when they
    reach the sender (``ta`` when ``arrival``, else when captured).
    """
    events: list[tuple[int, int, int, int]] = []  # t, order, kind, value
    for i, s in enumerate(segs):
        if s.d == sender:
            if s.seg_len:
                events.append((s.ts, i, 0, i))
        elif s.flags & ACK and not s.fate:
            t = s.ta if arrival else s.ts
            if t is not None:
                events.append((t, i, 1, i))
    events.sort()
    out: list[tuple[int, float]] = []
    snd_max: int | None = None
    snd_una: int | None = None
    half = 1 << 31
    for t, _, kind, i in events:
        s = segs[i]
        if kind == 0:
            end = (s.seq + s.seg_len) & MASK
            if snd_max is None or 0 < ((end - snd_max) & MASK) < half:
                snd_max = end
            if snd_una is None:
                snd_una = s.seq
        elif snd_una is not None and 0 < ((s.ack - snd_una) & MASK) < half:
            snd_una = s.ack
        else:
            continue
        if snd_max is not None and snd_una is not None:
            flight = (snd_max - snd_una) & MASK
            out.append((t, float(flight if flight < half else 0)))
    return out


def goodput_series(acks: list[tuple[int, int]], buckets: int = 200) -> list[tuple[int, float]]:
    """Bytes per second newly acknowledged, per time bucket, from ``(t, acked offset)`` pairs."""
    if len(acks) < 2:
        return []
    t0, t1 = acks[0][0], acks[-1][0]
    if t1 <= t0:
        return []
    # Buckets of at least 10 ms: finer ones would show each ACK's burst, not a rate.
    width = max(10_000, (t1 - t0 + buckets - 1) // buckets)
    out: list[tuple[int, float]] = []
    prev = acks[0][1]
    k = 0
    start = t0
    while start <= t1:
        end = start + width
        top = prev
        while k < len(acks) and acks[k][0] < end:
            top = max(top, acks[k][1])
            k += 1
        out.append((start, (top - prev) * 1_000_000 / width))
        prev = top
        start = end
    return out

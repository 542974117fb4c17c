"""Connections from synack's JSON Lines trace records: exact values from the core.

Segments come from the core's ``seg_out`` records (flags, numbers, options, and
whether the core retransmitted), joined with the simulator's ``link`` records
(when each packet was delivered, or where and why it was lost) or, in a trace
without links (a TAP run), with the receiver's ``seg_in`` records. The series
are the core's own variables: ``cwnd`` records (cwnd, ssthresh, and the pacing
rate and pipe when traced), ``rtt`` records (sample, SRTT, RTO). The cause of
each retransmission is the core's own (the ``why`` of its ``seg_out`` record,
:data:`CAUSES`); in older traces without it, it is inferred from the sender's
timer records (see :class:`_Cause`); docs/view.md lists the rules.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from synack.tcp.reasons import RetransmitReason
from synack.view.model import (
    ConnectionView,
    ConnInfo,
    End,
    Seg,
    Series,
    SummarySection,
    decimate,
    flight_series,
    goodput_series,
    unwrap,
)
from synack.wire.seq import MASK
from synack.wire.tcp import ACK, SYN, flag_names

__all__ = ["CAUSES", "RecordSource", "connections_from_records"]

CAUSES: Final[dict[RetransmitReason, str]] = {
    "syn": "RTO (handshake)",
    "dup_syn": "SYN-ACK again (the peer's SYN came again)",
    "rto": "RTO",
    "rto_recovery": "RTO recovery",
    "tlp": "TLP",
    "rack": "RACK (on an ACK)",
    "rack_timer": "RACK (reordering timer)",
    "dupthresh": "DupThresh (duplicate ACKs / SACK, RFC 6675)",
    "newreno": "NewReno partial ACK",
    "window_probe": "zero-window probe",
    "window_reopened": "window reopened",
}
"""How the page names each retransmission cause the core reports (``seg_out`` ``why``)."""

_FLAG_BITS = {flag_names(1 << i)[0]: 1 << i for i in range(12)}
_HUGE = 1 << 40  # an ssthresh at or above this is "not set yet"
_CAUSE_TIMERS = frozenset(("rtx", "tlp", "reorder"))  # the timers that explain retransmissions
Key = tuple[str, str, int, int, int, int, int]  # src, dst, flags, seq, ack, len, win


def _flags(names: Iterable[str]) -> int:
    bits = 0
    for n in names:
        bits |= _FLAG_BITS.get(n, 0)
    return bits


def _plain_endpoint(text: str) -> str:
    """``[fd00::5]:80`` -> ``fd00::5:80``: one spelling for core and link records."""
    if text.startswith("["):
        addr, _, port = text[1:].partition("]:")
        return f"{addr}:{port}"
    return text


def _split(endpoint: str) -> tuple[str, int]:
    addr, _, port = endpoint.rpartition(":")
    return addr, int(port)


class _Conn:
    """One connection as the first pass over the records finds it."""

    def __init__(self, a: str, b: str) -> None:
        self.endpoints = (a, b)
        self.hosts: dict[str, str] = {}  # endpoint -> host name
        self.first_t: int | None = None
        self.payload = 0
        self.seg_out = 0  # the core's segments, or ...
        self.link_sends = 0  # ... the links' (when no core was traced)
        self.has_link = False
        self.client: str | None = None  # the end that sent the first SYN without ACK
        # The records, when the source can be read only once (else a second pass reads them).
        self.events: list[tuple[str, Mapping[str, Any]]] | None = None


Records = Iterable[Mapping[str, Any]]
RecordSource = Records | Callable[[], Records]
"""Trace records: a sequence of them, a function that reads them afresh each call
(a file read twice), or a one-shot iterable (buffered connection by connection)."""


def _joined(records: Records) -> Iterator[tuple[str, tuple[str, str] | None, Mapping[str, Any]]]:
    """``(ev, (end, other end), record)`` for the records a page uses; ``None`` ends: no connection."""
    for rec in records:
        ev = rec.get("ev")
        if ev == "timer" and rec.get("which") not in _CAUSE_TIMERS:
            continue  # (most records of a bulk transfer: delayed ACKs) not shown
        if ev == "link":
            if "src" in rec:
                src, dst = _plain_endpoint(str(rec["src"])), _plain_endpoint(str(rec["dst"]))
                yield "link", (src, dst), rec
        elif "conn" in rec:
            local, _, remote = str(rec["conn"]).partition("-")
            yield str(ev), (local, remote), rec
        elif ev == "drop":
            yield "drop", None, rec


def connections_from_records(
    records: RecordSource, *, series_limit: int = 20_000
) -> tuple[list[ConnInfo], Callable[[int], ConnectionView]]:
    """Find the connections in the records; return their names and a builder.

    The builder turns the connection with the given index into a
    :class:`~synack.view.model.ConnectionView`. Records that can be read again
    (a sequence, or a function returning a fresh iterable) are read twice: once
    to find the connections, once for the chosen one's records, so memory holds
    one connection's segments and series, never the records. A one-shot
    iterable is read once and each connection's records are kept.
    """
    source, first_reading = _readings(records)
    conns: dict[frozenset[str], _Conn] = {}
    order: list[_Conn] = []
    host_names: set[str] = set()
    global_drops: Counter[tuple[str, str]] = Counter()
    for ev, ends, rec in _joined(first_reading):
        if ends is None:
            global_drops[(str(rec.get("host", "?")), str(rec.get("reason", "?")))] += 1
            continue
        key = frozenset(ends)
        c = conns.get(key)
        if c is None:
            c = conns[key] = _Conn(*ends)
            if source is None:
                c.events = []
            order.append(c)
        if ev == "link":
            c.has_link = True
            sends = rec.get("what") == "send"
            if sends:
                c.link_sends += 1
                if not c.hosts:
                    c.payload += int(rec.get("len", 0))
            if c.client is None and rec.get("flags") == ["SYN"]:
                c.client = ends[0]
        else:
            host = str(rec.get("host", ""))
            if host:
                c.hosts.setdefault(ends[0], host)
                host_names.add(host)
            if ev == "seg_out":
                c.seg_out += 1
                c.payload += int(rec.get("len", 0))
                if c.client is None and rec.get("flags") == ["SYN"]:
                    c.client = ends[0]
        if c.first_t is None:
            c.first_t = int(rec.get("t", 0))
        if c.events is not None:
            c.events.append((ev, rec))

    infos = [ConnInfo(*c.endpoints, c.payload, c.seg_out or c.link_sends) for c in order]
    names = [x.describe() for x in infos]

    def build(index: int) -> ConnectionView:
        c = order[index]
        if c.events is not None:
            events: Iterable[tuple[str, Mapping[str, Any]]] = c.events
        else:
            assert source is not None
            events = _records_of(source(), c.endpoints)
        view = _build(c, events, host_names, series_limit)
        view.others = names
        if global_drops:
            view.summary.append(
                SummarySection(
                    "Packets dropped before reaching any connection (endpoint)",
                    ["host", "reason", "count"],
                    [[h, r, f"{n:,}"] for (h, r), n in sorted(global_drops.items())],
                )
            )
        return view

    return infos, build


def _readings(records: RecordSource) -> tuple[Callable[[], Records] | None, Records]:
    """A function that reads the records afresh (None: they can be read once), and a first reading."""
    if callable(records):
        return records, records()
    if isinstance(records, Sequence):
        seq = records
        return (lambda: seq), seq
    return None, records


def _records_of(
    records: Records, endpoints: tuple[str, str]
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The second pass: the records of the connection between ``endpoints``, in order."""
    a, b = endpoints
    for ev, ends, rec in _joined(records):
        if ends is not None and (ends == (a, b) or ends == (b, a)):
            yield ev, rec


def _key(src: str, dst: str, rec: Mapping[str, Any]) -> Key:
    return (
        src,
        dst,
        _flags(rec.get("flags", ())),
        int(rec.get("seq", 0)),
        int(rec.get("ack", 0)),
        int(rec.get("len", 0)),
        int(rec.get("win", 0)),
    )


class _Cause:
    """Why the core retransmitted, from the sender's own timer and rtt records.

    Rules, in order, for a retransmission sent at ``t`` by host H:
    a SYN or SYN-ACK: the handshake's timeout; H's TLP timer expired at ``t``:
    TLP (RFC 8985 7); H's retransmission timer expired at ``t``: RTO
    (RFC 6298 5.4); later retransmissions until the cumulative ACK covers what
    was outstanding at that RTO: RTO recovery (go-back-N); H's reordering timer
    expired at ``t``: RACK (RFC 8985 6.3); otherwise an ACK triggered it: fast
    retransmit / recovery (SACK or duplicate ACKs, RFC 5681 3.2, RFC 6675).
    A timer "expired at t" when its armed deadline is at or before ``t`` and
    the record at ``t`` moves or cancels it.
    """

    def __init__(self) -> None:
        self.deadline: dict[str, int | None] = {}
        self.fired: dict[str, int] = {}
        self.rto_high: int | None = None
        self.snd_max: int | None = None

    def timer(self, t: int, rec: Mapping[str, Any]) -> None:
        which = str(rec.get("which"))
        action = rec.get("action")
        old = self.deadline.get(which)
        if action == "fired" or (old is not None and old <= t):
            self.fired[which] = t
            if which == "rtx":
                self.rto_high = self.snd_max
        d = rec.get("deadline")
        self.deadline[which] = int(d) if action == "arm" and d is not None else None

    def sent(self, seq: int, seg_len: int) -> None:
        end = (seq + seg_len) & MASK
        if self.snd_max is None or 0 < ((end - self.snd_max) & MASK) < 1 << 31:
            self.snd_max = end

    def acked(self, ack: int) -> None:
        if self.rto_high is not None and ((ack - self.rto_high) & MASK) < 1 << 31:
            self.rto_high = None

    def classify(self, t: int, flags: int) -> str:
        if flags & SYN:
            return "RTO (handshake)"
        if self.fired.get("tlp") == t:
            return "TLP"
        if self.fired.get("rtx") == t:
            return "RTO"
        if self.rto_high is not None:
            return "RTO recovery"
        if self.fired.get("reorder") == t:
            return "RACK (reordering timer)"
        return "fast retransmit / recovery"


def _build(
    c: _Conn,
    records: Iterable[tuple[str, Mapping[str, Any]]],
    host_names: set[str],
    series_limit: int,
) -> ConnectionView:
    has_link = c.has_link
    # The client is the end that sent the first SYN without ACK.
    client = c.client or c.endpoints[0]
    server = c.endpoints[1] if client == c.endpoints[0] else c.endpoints[0]
    eps = (client, server)
    ends = []
    for i, ep in enumerate(eps):
        addr, port = _split(ep)
        host = c.hosts.get(ep, "")
        ends.append(End(addr, port, name=host.capitalize() if host else ("Client", "Server")[i]))
    end_a, end_b = ends
    host_end = {c.hosts[ep]: i for i, ep in enumerate(eps) if ep in c.hosts}

    segs: list[Seg] = []
    pend_send: defaultdict[Key, deque[Seg]] = defaultdict(deque)
    pend_arrive: defaultdict[Key, deque[Seg]] = defaultdict(deque)
    delivered: dict[Key, Seg] = {}
    last_in: dict[str, tuple[int, Seg]] = {}
    causes = [_Cause(), _Cause()]
    series_pts: dict[int, dict[str, list[tuple[int, float]]]] = {0: {}, 1: {}}
    events: list[tuple[int, int, str]] = []
    drops_core: Counter[tuple[str, str]] = Counter()
    drops_link: Counter[tuple[str, str]] = Counter()
    impairs: Counter[str] = Counter()
    rtx_causes: Counter[str] = Counter()
    inferred = 0  # retransmissions without the core's ``why`` (older traces)
    acked_at_sender: dict[int, list[tuple[int, int]]] = {0: [], 1: []}

    def add(end: int, name: str, t: int, v: float) -> None:
        series_pts[end].setdefault(name, []).append((t, v))

    for ev, rec in records:
        t = int(rec["t"])
        if ev == "link":
            what = rec.get("what")
            src, dst = _plain_endpoint(str(rec["src"])), _plain_endpoint(str(rec["dst"]))
            key = _key(src, dst, rec)
            frm, _, to = str(rec.get("link", "")).partition("->")
            first_hop = frm in host_names or not host_names
            last_hop = to in host_names or not host_names
            if what == "send" and first_hop:
                got = _take(pend_send, key)
                if got is not None:
                    s = got
                else:  # the sender's core was not traced: the link's view only
                    s = Seg(t, 0 if src == client else 1, key[2], key[3], key[4], key[6], key[5])
                    segs.append(s)
                pend_arrive[key].append(s)
            elif what == "drop":
                got = _take(pend_arrive, key)
                reason = str(rec.get("reason", "?"))
                drops_link[(str(rec.get("link", "?")), reason)] += 1
                if got is not None:
                    s = got
                    s.fate = f"lost at {rec.get('link')} ({reason})"
            elif what == "impair":
                detail = str(rec.get("detail", "?"))
                impairs[detail] += 1
                queue = pend_arrive.get(key)
                if queue and detail not in queue[-1].marks:
                    queue[-1].marks.append(detail)
            elif what == "deliver" and last_hop:
                got = _take(pend_arrive, key)
                if got is not None:
                    s = got
                    s.ta = t
                    delivered[key] = s
                else:
                    s = delivered.get(key) or Seg(
                        t, 0 if src == client else 1, *key[2:5], key[6], key[5]
                    )
                    if "duplicate delivered" not in s.marks:
                        s.marks.append("duplicate delivered")
                if to in host_end or dst in c.hosts:
                    last_in[c.hosts.get(dst, to)] = (t, s)
            continue
        host = str(rec.get("host", ""))
        end = host_end.get(host)
        if end is None:
            continue
        if ev == "seg_out":
            src, dst = eps[end], eps[1 - end]
            key = _key(src, dst, rec)
            s = Seg(
                t,
                end,
                key[2],
                key[3],
                key[4],
                key[6],
                key[5],
                str(rec.get("opts", "")),
                rtx=bool(rec.get("rtx")),
            )
            if s.rtx:
                why = rec.get("why")
                if why:
                    s.cause = CAUSES.get(why, str(why))
                else:
                    s.cause = causes[end].classify(t, s.flags)
                    inferred += 1
                rtx_causes[s.cause] += 1
            causes[end].sent(s.seq, s.seg_len)
            segs.append(s)
            (pend_send if has_link else pend_arrive)[key].append(s)
        elif ev == "seg_in":
            src, dst = eps[1 - end], eps[end]
            key = _key(src, dst, rec)
            if not has_link:
                got = _take(pend_arrive, key)
                if got is not None:
                    s = got
                    s.ta = t
                else:  # from an untraced peer: seen only as it arrived
                    s = Seg(t, 1 - end, *key[2:5], key[6], key[5], str(rec.get("opts", "")), ta=t)
                    segs.append(s)
            else:
                s = delivered.get(key) or Seg(t, 1 - end, *key[2:5], key[6], key[5])
                if not s.opts and rec.get("opts"):
                    s.opts = str(rec["opts"])
            last_in.pop(host, None)
            if key[2] & ACK:
                causes[end].acked(key[4])
                acked_at_sender[end].append((t, key[4]))
        elif ev == "drop":
            reason = str(rec.get("reason", "?"))
            drops_core[(host, reason)] += 1
            arrived = last_in.pop(host, None)
            if arrived is not None and arrived[0] == t and not arrived[1].fate:
                arrived[1].fate = f"dropped by {host} ({reason})"
            else:
                events.append((t, end, f"{host}: dropped a segment ({reason})"))
        elif ev == "state":
            ends[end].states.append((t, str(rec["new"]), str(rec.get("reason", ""))))
            if not ends[end].first_state:
                ends[end].first_state = str(rec["old"])
        elif ev == "timer":
            causes[end].timer(t, rec)
        elif ev == "rto":
            if int(rec.get("backoff", 0)):
                events.append(
                    (
                        t,
                        end,
                        f"{host}: retransmission timeout, RTO now {int(rec['rto_us']) / 1000:g} ms",
                    )
                )
        elif ev == "cwnd":
            add(end, "cwnd", t, int(rec["cwnd"]))
            ss = int(rec["ssthresh"])
            add(end, "ssthresh", t, ss if ss < _HUGE else float("nan"))
            if "pacing" in rec and rec["pacing"] is not None:
                add(end, "pacing", t, int(rec["pacing"]))
            if "pipe" in rec:
                add(end, "pipe", t, int(rec["pipe"]))
        elif ev == "rtt":
            add(end, "rtt", t, int(rec["sample_us"]))
            add(end, "srtt", t, int(rec["srtt_us"]))
            add(end, "rto", t, int(rec["rto_us"]))
        elif ev == "rwnd":
            add(end, "snd_wnd", t, int(rec["snd_wnd"]))

    # A passive open's CLOSED -> LISTEN happens when the SYN arrives (the
    # endpoint creates the connection then); the listener was there before.
    for e in ends:
        if e.states and e.first_state == "CLOSED" and e.states[0][1] == "LISTEN":
            e.first_state = "LISTEN"
            e.states.pop(0)
        if not e.first_state:
            e.first_state = "CLOSED" if e is end_a else "LISTEN"

    _finish_ends(ends, segs)
    series = {
        end: _series(end, series_pts[end], segs, acked_at_sender[end], series_limit)
        for end in (0, 1)
    }
    view = ConnectionView(
        title=f"{end_a.endpoint} -> {end_b.endpoint}",
        source="synack trace",
        exact=True,
        ends=(end_a, end_b),
        segs=segs,
        series=series,
        summary=[],
        notes=_notes(has_link, series, inferred),
        events=sorted(events),
    )
    view.summary = _summary(view, drops_core, drops_link, impairs, rtx_causes, inferred)
    return view


def _take(pending: dict[Key, deque[Seg]], key: Key) -> Seg | None:
    """The oldest segment waiting under ``key``; an emptied queue goes (a deque costs 600 octets)."""
    queue = pending.get(key)
    if not queue:
        return None
    s = queue.popleft()
    if not queue:
        del pending[key]
    return s


def _finish_ends(ends: list[End], segs: list[Seg]) -> None:
    """ISNs, window scales and the seed's port rule, from the segments."""
    for s in segs:
        e = ends[s.d]
        if s.flags & SYN:
            if e.isn is None:
                e.isn = s.seq
            ends[1 - s.d].show_port = True if not s.flags & ACK else ends[1 - s.d].show_port
            m = re.search(r"wscale (\d+)", s.opts)
            if m and e.wscale is None:
                e.wscale = int(m.group(1))
    for i, e in enumerate(ends):
        if e.isn is None:
            first = next((s for s in segs if s.d == i), None)
            e.isn = ((first.seq - 1) & MASK) if first is not None else 0
    # RFC 7323 2.2: scaling applies only when both SYNs carried the option.
    if ends[0].wscale is None or ends[1].wscale is None:
        for e in ends:
            e.wscale = 0 if any(s.flags & SYN for s in segs) else e.wscale


def _series(
    end: int,
    pts: dict[str, list[tuple[int, float]]],
    segs: list[Seg],
    acked: list[tuple[int, int]],
    limit: int,
) -> list[Series]:
    out: list[Series] = []

    def put(name: str, unit: str, points: list[tuple[int, float]], step: bool = True) -> None:
        if not points:
            return
        small = decimate(points, limit)
        total = len(points) if small is not points else 0
        out.append(Series(name, unit, small, step, total, hold=name != "goodput"))

    put("cwnd", "bytes", pts.get("cwnd", []))
    put("ssthresh", "bytes", pts.get("ssthresh", []))
    put("in flight", "bytes", flight_series(segs, end, arrival=True))
    put("pipe", "bytes", pts.get("pipe", []))
    put("pacing rate", "bytes/s", pts.get("pacing", []))
    put("peer window", "bytes", pts.get("snd_wnd", []))
    put("RTT sample", "us", pts.get("rtt", []), step=False)
    put("SRTT", "us", pts.get("srtt", []))
    put("RTO", "us", pts.get("rto", []))
    if acked:
        base = acked[0][1]
        offsets = unwrap([a for _, a in acked], base)
        put(
            "goodput",
            "bytes/s",
            goodput_series([(t, o) for (t, _), o in zip(acked, offsets, strict=True)]),
        )
    return out


def _notes(has_link: bool, series: dict[int, list[Series]], inferred: int) -> list[str]:
    notes = [
        "Exact: segments, states, cwnd, ssthresh, RTT, SRTT and RTO are the core's own records.",
        "Bytes in flight is SND.MAX - SND.UNA computed from the sender's own segments and ACKs; "
        "goodput is the rate of newly acknowledged bytes.",
        "Retransmission causes are the core's own (why it sent each one)."
        if not inferred
        else "Retransmission causes are inferred from the sender's timer records (this trace "
        "predates the core's own; docs/view.md).",
    ]
    if not has_link:
        notes.append(
            "No link records in this trace: arrival times come from the receiver's seg_in "
            "records; segments of an untraced peer show only where they arrived."
        )
    if not any(s.name == "pacing rate" for ss in series.values() for s in ss):
        notes.append("No pacing rate in this trace (the congestion controller does not pace).")
    for ss in series.values():
        for s in ss:
            if s.total:
                notes.append(
                    f"{s.name}: {len(s.points):,} of {s.total:,} points kept (each bucket's min and max)."
                )
    return notes


def _opts_dict(opts: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in opts.split(","):
        part = part.strip()
        if part.startswith("mss "):
            out["mss"] = part[4:]
        elif part.startswith("wscale "):
            out["wscale"] = part[7:]
        elif part == "sackOK":
            out["sack"] = "yes"
        elif part.startswith("TS val"):
            out["ts"] = "yes"
    return out


def _summary(
    view: ConnectionView,
    drops_core: Counter[tuple[str, str]],
    drops_link: Counter[tuple[str, str]],
    impairs: Counter[str],
    rtx_causes: Counter[str],
    inferred: int,
) -> list[SummarySection]:
    from synack.view.summary import common_summary, fmt_us

    secs = common_summary(view)
    hand: list[list[str]] = []
    for e in view.ends:
        times = {new: t for t, new, _ in e.states}
        if "ESTABLISHED" in times:
            start = next((t for t, new, _ in e.states if new in ("SYN-SENT", "SYN-RECEIVED")), None)
            if start is not None:
                hand.append(
                    [
                        e.name or e.endpoint,
                        f"{e.first_state} -> ESTABLISHED in {fmt_us(times['ESTABLISHED'] - start)}",
                    ]
                )
    syns = [s for s in view.segs if s.flags & SYN]
    rows: list[list[str]] = []
    for i, e in enumerate(view.ends):
        syn = next((s for s in syns if s.d == i), None)
        o = _opts_dict(syn.opts) if syn is not None else {}
        rows.append(
            [
                e.name or e.endpoint,
                o.get("mss", "-"),
                o.get("wscale", "-"),
                o.get("sack", "no"),
                o.get("ts", "no"),
            ]
        )
    secs.insert(
        1,
        SummarySection(
            "Options in the SYNs",
            ["end", "MSS", "window scale", "SACK permitted", "timestamps"],
            rows,
        ),
    )
    if hand:
        secs.insert(1, SummarySection("Handshake (state changes)", ["end", "time"], hand))
    if rtx_causes:
        secs.append(
            SummarySection(
                "Retransmissions by cause (inferred from the sender's timers)"
                if inferred
                else "Retransmissions by cause (the core's own)",
                ["cause", "count"],
                [[k, f"{v:,}"] for k, v in rtx_causes.most_common()],
            )
        )
    if drops_link or drops_core or impairs:
        rows = [
            [f"link {link}", reason, f"{n:,}"] for (link, reason), n in sorted(drops_link.items())
        ]
        rows += [[f"host {h}", reason, f"{n:,}"] for (h, reason), n in sorted(drops_core.items())]
        rows += [["link (impairment)", d, f"{n:,}"] for d, n in sorted(impairs.items())]
        secs.append(SummarySection("Drops and impairments", ["where", "reason", "count"], rows))
    return secs

"""The summary tables shared by both sources: per-direction statistics in tcptrace's manner.

:func:`common_summary` counts, for each direction, what tcptrace's long output
(``tcptrace -l``) reports: packets, ACKs, pure ACKs, SACK and D-SACK blocks,
unique and retransmitted bytes, out-of-order arrivals at the capture point,
SYN/FIN/RST, segment sizes, advertised windows, RTT samples and throughput.
"""

from __future__ import annotations

import math
import re

from synack.view.model import ConnectionView, SummarySection, end_label
from synack.wire.seq import MASK
from synack.wire.tcp import ACK, FIN, RST, SYN

__all__ = ["common_summary", "direction_stats", "fmt_bytes", "fmt_us", "sack_blocks"]

_SACK = re.compile(r"sack \d+ ((?:\{\d+:\d+\})+)")
_BLOCK = re.compile(r"\{(\d+):(\d+)\}")


def fmt_us(us: float) -> str:
    """Microseconds for people: ``850 us``, ``20.0 ms``, ``1.234 s``."""
    if us < 1000:
        return f"{us:.0f} us"
    if us < 1_000_000:
        return f"{us / 1000:.1f} ms"
    return f"{us / 1_000_000:.3f} s"


def fmt_bytes(n: float) -> str:
    return f"{n:,.0f}"


def sack_blocks(opts: str) -> list[tuple[int, int]]:
    """The SACK blocks in a tcpdump-style options text (absolute numbers)."""
    m = _SACK.search(opts)
    if m is None:
        return []
    return [(int(a), int(b)) for a, b in _BLOCK.findall(m.group(1))]


# The rows each direction has in the summary, in order (tcptrace's names).
_FLAGS = "SYN/FIN/RST pkts"
_DIRECTION_ROWS = (
    "total packets",
    "ack pkts sent",
    "pure acks sent",
    "sack pkts sent",
    "dsack pkts sent",
    "max sack blks/ack",
    "unique bytes sent",
    "actual data pkts",
    "actual data bytes",
    "rexmt data pkts",
    "rexmt data bytes",
    "outoforder pkts",
    _FLAGS,
    "zero win adv",
    "max segm size",
    "min segm size",
    "avg segm size",
    "max win adv",
    "min win adv",
)


def _flags(st: dict[str, float]) -> str:
    """The SYN/FIN/RST row's cell: three counts."""
    return "/".join(str(int(st[k])) for k in ("_syn", "_fin", "_rst"))


def _after(a: int, b: int) -> bool:
    """a > b modulo 2**32 (RFC 9293 3.4)."""
    d = (a - b) & MASK
    return 0 < d < 1 << 31


def direction_stats(view: ConnectionView, d: int) -> dict[str, float]:
    """Counts for the segments end ``d`` sent (the keys are the summary's row names)."""
    st: dict[str, float] = dict.fromkeys(_DIRECTION_ROWS, 0)
    scale = view.ends[d].wscale or 0
    snd_max: int | None = None
    sizes: list[int] = []
    wins: list[int] = []
    first_data = last_data = None
    syn_fin_rst = [0, 0, 0]
    for s in view.segs:
        if s.d != d:
            continue
        st["total packets"] += 1
        if s.flags & SYN:
            syn_fin_rst[0] += 1
        if s.flags & FIN:
            syn_fin_rst[1] += 1
        if s.flags & RST:
            syn_fin_rst[2] += 1
        if s.flags & ACK:
            st["ack pkts sent"] += 1
            if not s.length and not s.flags & (SYN | FIN | RST):
                st["pure acks sent"] += 1
            win = s.win << (0 if s.flags & SYN else scale)
            wins.append(win)
            if s.win == 0 and not s.flags & RST:
                st["zero win adv"] += 1
            blocks = sack_blocks(s.opts)
            if blocks:
                st["sack pkts sent"] += 1
                st["max sack blks/ack"] = max(st["max sack blks/ack"], len(blocks))
                lo, hi = blocks[0]
                # RFC 2883 4: a first block below the ACK, or inside the second, is a D-SACK.
                if not _after(hi, s.ack) or (
                    len(blocks) > 1
                    and not _after(blocks[1][0], lo)
                    and not _after(hi, blocks[1][1])
                ):
                    st["dsack pkts sent"] += 1
        end = (s.seq + s.seg_len) & MASK
        if s.length:
            st["actual data pkts"] += 1
            st["actual data bytes"] += s.length
            sizes.append(s.length)
            if first_data is None:
                first_data = s.ts
            last_data = s.ts
            if snd_max is not None and _after(snd_max, s.seq):
                st["rexmt data pkts"] += 1
                st["rexmt data bytes"] += min(s.length, (snd_max - s.seq) & MASK)
            if snd_max is not None and _after(s.seq, snd_max):
                st["outoforder pkts"] += 1
        if s.seg_len and (snd_max is None or _after(end, snd_max)):
            if snd_max is not None and s.length:
                st["unique bytes sent"] += min(s.length, (end - snd_max) & MASK)
            elif s.length:
                st["unique bytes sent"] += s.length
            snd_max = end
    if sizes:
        st["max segm size"] = max(sizes)
        st["min segm size"] = min(sizes)
        st["avg segm size"] = sum(sizes) / len(sizes)
    if wins:
        st["max win adv"] = max(wins)
        st["min win adv"] = min(wins)
    st["_syn"], st["_fin"], st["_rst"] = syn_fin_rst
    st["_first_data"] = first_data if first_data is not None else -1
    st["_last_data"] = last_data if last_data is not None else -1
    return st


def _rtt_row(view: ConnectionView, d: int) -> list[str]:
    for s in view.series.get(d, []):
        if s.name == "RTT sample" and s.points:
            vals = [v for _, v in s.points]
            mean = sum(vals) / len(vals)
            sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
            n = s.total or len(vals)
            return [f"{n:,}", fmt_us(min(vals)), fmt_us(mean), fmt_us(max(vals)), fmt_us(sd)]
    return ["0", "-", "-", "-", "-"]


def common_summary(view: ConnectionView) -> list[SummarySection]:
    """Connection facts and per-direction statistics, for any source."""
    a, b = view.ends
    segs = view.segs
    t0 = min((s.ts for s in segs), default=0)
    t1 = max((max(s.ts, s.ta or 0) for s in segs), default=0)
    facts = [
        [
            "source",
            view.source
            + (" (exact values)" if view.exact else " (values reconstructed from packets)"),
        ],
        ["ends", f"{end_label(a)} and {end_label(b)}"],
        ["segments", f"{len(segs):,}"],
        ["duration", fmt_us(t1 - t0)],
        ["ISNs", f"{a.isn} and {b.isn}"],
    ]
    sections = [SummarySection("Connection", ["", ""], facts)]
    stats = [direction_stats(view, 0), direction_stats(view, 1)]
    rows = [
        [n, _flags(stats[0]), _flags(stats[1])]
        if n == _FLAGS
        else [n, fmt_bytes(stats[0][n]), fmt_bytes(stats[1][n])]
        for n in _DIRECTION_ROWS
    ]
    rtt = [_rtt_row(view, 0), _rtt_row(view, 1)]
    for i, label in enumerate(["RTT samples", "RTT min", "RTT avg", "RTT max", "RTT stdev"]):
        rows.append([label, rtt[0][i], rtt[1][i]])
    for d in (0, 1):
        st = stats[d]
        span = st["_last_data"] - st["_first_data"]
        st["_tput"] = st["unique bytes sent"] * 1_000_000 / span if span > 0 else 0
    rows.append(
        [
            "throughput (unique bytes / data time)",
            f"{stats[0]['_tput']:,.0f} B/s",
            f"{stats[1]['_tput']:,.0f} B/s",
        ]
    )
    heads = ["", f"{end_label(a)} -> {end_label(b)}", f"{end_label(b)} -> {end_label(a)}"]
    sections.append(SummarySection("Per direction (tcptrace's statistics)", heads, rows))
    return sections

"""Connections reconstructed from a capture of any TCP stack (pcap or pcapng).

A capture shows packets at one point, so what the ends' TCP variables were is
inferred, and the page says so:

* the roles: the end that sent the first SYN is the client;
* retransmissions: a segment whose sequence range starts below the highest
  sequence number already seen in its direction (as tcptrace and Wireshark
  decide); its cause is guessed from what the capture shows before it (three
  or more duplicate ACKs or a SACK above it: fast retransmit; the segment had
  been out for at least the RTO an RFC 6298 sender would have computed: RTO;
  the highest segment resent sooner: TLP);
* RTT samples: with timestamps, the time from the first segment carrying a
  TSval to the first ACK that advances SND.UNA and echoes it (RFC 7323 4.1);
  without, from a segment to the ACK that covers it, never for a segment that
  was retransmitted (Karn's rule, RFC 6298 3). At the sender this is the RTT;
  elsewhere, the part of it beyond the capture point;
* SRTT and RTO: what RFC 6298 (2.2)-(2.4) computes from those samples;
* bytes in flight: SND.MAX - SND.UNA as the capture point sees them; the
  congestion window and pacing rate cannot be seen in packets and are not drawn.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from synack.trace.capture import read_capture
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
from synack.view.summary import common_summary, fmt_us, sack_blocks
from synack.wire.errors import MalformedPacket
from synack.wire.ip import addr_to_str, parse_ip_addresses
from synack.wire.render import format_options
from synack.wire.seq import MASK
from synack.wire.seq import gt as _after
from synack.wire.tcp import ACK, FIN, RST, SYN, Timestamps, parse_options

__all__ = ["connections_from_capture"]

# The RTO floor of the stacks a capture usually shows: 200 ms (Linux's
# TCP_RTO_MIN and synack's Config.min_rto), not RFC 6298 (2.4)'s 1 s, so their
# timeouts are recognised as RTOs.
_RTO_MIN = 200_000
_RTO_INITIAL = 1_000_000  # RFC 6298 (2.1)

Packet = tuple[int, str, int, str, int, int, int, int, int, int, int, str, int]
# t, src, sport, dst, dport, flags, seq, ack, win, urg, payload length, options text, tsval|-1


def _parse(t: int, data: bytes) -> tuple[Packet, int] | None:
    """One TCP packet's fields and its TSecr (-1 without timestamps), or None."""
    try:
        _, proto, src, dst, start, end = parse_ip_addresses(data)
    except MalformedPacket as exc:
        if exc.reason not in ("bad_length", "bad_ip_checksum"):
            return None
        # A packet cut by the capture's snap length: take the lengths from the header.
        return _parse_truncated(t, data)
    if proto != 6 or end - start < 20:
        return None
    return _tcp(t, addr_to_str(src), addr_to_str(dst), data[start:end], end - start)


def _parse_truncated(t: int, data: bytes) -> tuple[Packet, int] | None:
    if not data:
        return None
    version = data[0] >> 4
    if version == 4 and len(data) >= 40 and data[9] == 6:
        ihl = (data[0] & 0x0F) * 4
        total = int.from_bytes(data[2:4], "big")
        return _tcp(t, addr_to_str(data[12:16]), addr_to_str(data[16:20]), data[ihl:], total - ihl)
    if version == 6 and len(data) >= 60 and data[6] == 6:
        plen = int.from_bytes(data[4:6], "big")
        return _tcp(t, addr_to_str(data[8:24]), addr_to_str(data[24:40]), data[40:], plen)
    return None


def _tcp(t: int, src: str, dst: str, tcp: bytes, tcp_len: int) -> tuple[Packet, int] | None:
    if len(tcp) < 20:
        return None
    sport = int.from_bytes(tcp[0:2], "big")
    dport = int.from_bytes(tcp[2:4], "big")
    seq = int.from_bytes(tcp[4:8], "big")
    ack = int.from_bytes(tcp[8:12], "big")
    hlen = (tcp[12] >> 4) * 4
    flags = ((tcp[12] & 0x0F) << 8) | tcp[13]
    win = int.from_bytes(tcp[14:16], "big")
    urg = int.from_bytes(tcp[18:20], "big")
    if hlen < 20:
        return None
    opts_text = ""
    tsval = tsecr = -1
    if hlen > 20 and len(tcp) >= hlen:
        try:
            options = parse_options(tcp[20:hlen])
        except MalformedPacket:
            options = ()
        opts_text = format_options(options)
        for o in options:
            if isinstance(o, Timestamps):
                tsval, tsecr = o.tsval, o.tsecr
    payload = max(0, tcp_len - hlen)
    return (t, src, sport, dst, dport, flags, seq, ack, win, urg, payload, opts_text, tsval), tsecr


def connections_from_capture(
    source: str | Path, *, series_limit: int = 20_000
) -> tuple[list[ConnInfo], Callable[[int], ConnectionView]]:
    """Group a capture's TCP packets by connection; return names and a builder by index."""
    flows: dict[tuple[tuple[str, int], tuple[str, int]], list[tuple[Packet, int]]] = {}
    order: list[tuple[tuple[str, int], tuple[str, int]]] = []
    skipped = 0
    for pkt in read_capture(source):
        got = _parse(pkt.t, pkt.data)
        if got is None:
            skipped += 1
            continue
        p = got[0]
        a, b = (p[1], p[2]), (p[3], p[4])
        key = (a, b) if a <= b else (b, a)
        lst = flows.get(key)
        if lst is None:
            lst = flows[key] = []
            order.append(key)
        lst.append(got)
    infos = []
    for key in order:
        payload = sum(p[10] for p, _ in flows[key])
        (aa, ap), (ba, bp) = key
        infos.append(ConnInfo(f"{aa}:{ap}", f"{ba}:{bp}", payload, len(flows[key])))
    names = [x.describe() for x in infos]

    def build(index: int) -> ConnectionView:
        view = _build(flows[order[index]], series_limit, skipped)
        view.others = names
        return view

    return infos, build


def _ep(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


class _Dir:
    """What the capture has seen of one direction so far."""

    def __init__(self) -> None:
        self.snd_max: int | None = None
        self.outstanding: list[list[int]] = []  # [end, t_sent, retransmitted]
        self.ts_first: dict[int, int] = {}  # TSval -> first time seen
        self.sent_at: dict[int, int] = {}  # seq -> first time seen (for the RTO guess)
        self.last_send = 0


class _Rtt:
    """RFC 6298 (2.2)-(2.3) over the samples, to show SRTT and RTO."""

    def __init__(self) -> None:
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = float(_RTO_INITIAL)

    def sample(self, r: int) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = float(r), r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        self.rto = max(float(_RTO_MIN), self.srtt + max(1.0, 4 * self.rttvar))


def _build(packets: list[tuple[Packet, int]], limit: int, skipped: int) -> ConnectionView:
    first_syn = next((p for p, _ in packets if p[5] & (SYN | ACK) == SYN), None)
    p0 = first_syn or packets[0][0]
    client = (p0[1], p0[2])
    server = (p0[3], p0[4])
    roles = first_syn is not None
    ends = (
        End(client[0], client[1], name="Client" if roles else "", show_port=not roles),
        End(server[0], server[1], name="Server" if roles else "", show_port=True),
    )
    both_ts = [False, False]
    dirs = (_Dir(), _Dir())
    rtts = (_Rtt(), _Rtt())
    dupacks = [0, 0]  # duplicate ACKs each end has received since SND.UNA last moved
    una: list[int | None] = [None, None]  # per sender: highest ACK from the peer
    sack_high: list[int | None] = [None, None]  # per sender: highest SACKed edge since
    pts: dict[int, dict[str, list[tuple[int, float]]]] = {
        0: defaultdict(list),
        1: defaultdict(list),
    }
    acked: dict[int, list[tuple[int, int]]] = {0: [], 1: []}
    segs: list[Seg] = []
    causes: defaultdict[str, int] = defaultdict(int)
    use_ts = False
    for (
        t,
        src,
        sport,
        _dst,
        _dport,
        flags,
        seq,
        ack,
        win,
        urg,
        length,
        opts,
        tsval,
    ), tsecr in packets:
        d = 0 if (src, sport) == client else 1
        o = 1 - d
        s = Seg(t, d, flags, seq, ack, win, length, opts, urg=urg)
        segs.append(s)
        me, peer = dirs[d], dirs[o]
        if flags & SYN:
            both_ts[d] = tsval >= 0
            use_ts = both_ts[0] and both_ts[1]
            if ends[d].isn is None:
                ends[d].isn = seq
            ws = opts.find("wscale ")
            if ws >= 0:
                ends[d].wscale = int(opts[ws + 7 :].split(",")[0])
        # ---- the segment as data of direction d
        end = (seq + s.seg_len) & MASK
        if s.seg_len:
            if me.snd_max is not None and _after(me.snd_max, seq) and not flags & RST:
                s.rtx = True
                s.cause = _cause(s, me, dupacks[d], sack_high[d], rtts[d], t)
                causes[s.cause] += 1
                for item in me.outstanding:  # Karn: no sample from these any more
                    if _after(item[0], seq) and _after(end, (item[0] - 1) & MASK):
                        item[2] = 1
            else:
                me.sent_at.setdefault(seq, t)
                me.outstanding.append([end, t, 0])
            if me.snd_max is None or _after(end, me.snd_max):
                me.snd_max = end
            if tsval >= 0:
                me.ts_first.setdefault(tsval, t)
            me.last_send = t
        # ---- the segment as an ACK for direction o
        if flags & ACK and not flags & RST:
            prev = una[o]
            if prev is None or _after(ack, prev):
                una[o] = ack
                dupacks[o] = 0
                sack_high[o] = None
                sample = None
                if use_ts and tsecr >= 0 and tsecr in peer.ts_first:
                    sample = t - peer.ts_first[tsecr]
                    peer.ts_first = {k: v for k, v in peer.ts_first.items() if _after(k, tsecr)}
                newest = None
                while peer.outstanding and not _after(peer.outstanding[0][0], ack):
                    newest = peer.outstanding.pop(0)
                if not use_ts and newest is not None and not newest[2]:
                    sample = t - newest[1]
                if sample is not None and sample >= 0:
                    rtts[o].sample(sample)
                    pts[o]["rtt"].append((t, sample))
                    pts[o]["srtt"].append((t, rtts[o].srtt or 0))
                    pts[o]["rto"].append((t, rtts[o].rto))
                acked[o].append((t, ack))
            elif ack == prev and not length and not flags & (SYN | FIN):
                dupacks[o] += 1
            for _lo, hi in sack_blocks(opts):
                if sack_high[o] is None or _after(hi, sack_high[o] or 0):
                    sack_high[o] = hi
            pts[o]["peer window"].append((t, win << (0 if flags & SYN else (ends[d].wscale or 0))))

    for i, e in enumerate(ends):
        if e.isn is None:
            first = next((x for x in segs if x.d == i), None)
            e.isn = ((first.seq - 1) & MASK) if first is not None else 0
    if ends[0].wscale is None or ends[1].wscale is None:
        for e in ends:  # RFC 7323 2.2: no scaling unless both SYNs carry the option
            e.wscale = 0 if first_syn is not None else e.wscale
    series: dict[int, list[Series]] = {}
    for d in (0, 1):
        lst: list[Series] = []
        put = _putter(lst, limit)
        put("in flight", "bytes", flight_series(segs, d, arrival=False))
        put("peer window", "bytes", pts[d]["peer window"])
        put("RTT sample", "us", pts[d]["rtt"], step=False)
        put("SRTT", "us", pts[d]["srtt"])
        put("RTO", "us", pts[d]["rto"])
        if acked[d]:
            base = acked[d][0][1]
            offs = unwrap([a for _, a in acked[d]], base)
            put(
                "goodput",
                "bytes/s",
                goodput_series([(t, x) for (t, _), x in zip(acked[d], offs, strict=True)]),
            )
        series[d] = lst

    notes = [
        "Reconstructed from packets seen at one capture point: every time is the capture time, "
        "so arrows in the ladder are horizontal.",
        "Inferred: client and server roles (from the first SYN), retransmissions (a sequence range "
        "already seen), their causes (duplicate ACKs / SACK, elapsed time against an RFC 6298 RTO), "
        "RTT samples (" + ("timestamps, RFC 7323" if use_ts else "Karn's rule, RFC 6298 3") + "), "
        "SRTT and RTO (RFC 6298 2, with its 1 s minimum), bytes in flight (SND.MAX - SND.UNA at the "
        "capture point).",
        "Not in a capture: cwnd, ssthresh and the pacing rate (the sender's private variables), and "
        "which end's losses happened after the capture point.",
    ]
    if skipped:
        notes.append(f"{skipped:,} packets of the capture were not TCP over IP and are left out.")
    for ss in series.values():
        for x in ss:
            if x.total:
                notes.append(
                    f"{x.name}: {len(x.points):,} of {x.total:,} points kept (each bucket's min and max)."
                )
    view = ConnectionView(
        title=f"{ends[0].endpoint} -> {ends[1].endpoint}",
        source="capture",
        exact=False,
        ends=ends,
        segs=segs,
        series=series,
        summary=[],
        notes=notes,
    )
    view.summary = common_summary(view)
    if causes:
        view.summary.append(
            SummarySection(
                "Retransmissions by inferred cause",
                ["cause", "count"],
                [[k, f"{v:,}"] for k, v in sorted(causes.items(), key=lambda kv: -kv[1])],
            )
        )
    hs = _handshake(segs)
    if hs:
        view.summary.insert(1, SummarySection("Handshake (capture times)", ["step", "time"], hs))
    return view


def _putter(lst: list[Series], limit: int) -> Callable[..., None]:
    """A function appending a (decimated) series to ``lst``."""

    def put(name: str, unit: str, points: list[tuple[int, float]], step: bool = True) -> None:
        if points:
            small = decimate(points, limit)
            total = len(points) if small is not points else 0
            lst.append(Series(name, unit, small, step, total, hold=name != "goodput"))

    return put


def _cause(s: Seg, me: _Dir, dupacks: int, sack_high: int | None, rtt: _Rtt, t: int) -> str:
    if dupacks >= 3 or (sack_high is not None and _after(sack_high, s.seq)):
        return f"fast retransmit ({dupacks} dup ACKs{', SACK' if sack_high is not None else ''})"
    first = me.sent_at.get(s.seq)
    if first is not None and t - first >= 0.9 * rtt.rto:
        return "RTO"
    if me.snd_max is not None and (s.seq + s.seg_len) & MASK == me.snd_max:
        return "TLP (the last segment, sooner than an RTO)"
    return "retransmission (cause not visible)"


def _handshake(segs: list[Seg]) -> list[list[str]]:
    syn = next((s for s in segs if s.flags & (SYN | ACK) == SYN), None)
    if syn is None:
        return []
    rows = [["SYN", "0"]]
    synack = next((s for s in segs if s.flags & (SYN | ACK) == SYN | ACK and s.d != syn.d), None)
    if synack is not None:
        rows.append(["SYN-ACK after", fmt_us(synack.ts - syn.ts)])
        ack = next(
            (
                s
                for s in segs
                if s.d == syn.d and s.ts >= synack.ts and s.flags & ACK and not s.flags & SYN
            ),
            None,
        )
        if ack is not None:
            rows.append(["ACK after", fmt_us(ack.ts - syn.ts)])
    return rows

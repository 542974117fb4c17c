"""Plots of a connection: sequence number over time (a Stevens graph, as tcptrace and
Wireshark draw it) and congestion window, ssthresh and RTT over time, as PNG.

:class:`PlotData` gathers what the plots need, compactly, either live (it is a
link observer and a tracer for the core) or from a JSON Lines trace
(:meth:`PlotData.from_records`). Drawing needs matplotlib (the ``plot`` extra);
it is imported only when drawing, with the non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synack.extras import require_extra
from synack.trace.packet import endpoint_str, peek
from synack.wire.seq import MASK, gt, lt
from synack.wire.tcp import ACK, FIN, SYN, flag_names

__all__ = ["FlowSeries", "PlotData", "cwnd_graph", "plot_transfer", "stevens_graph"]

_HUGE = 1 << 30  # an ssthresh at or above this is "infinite" and not drawn


@dataclass
class FlowSeries:
    """One direction of a connection, as seen on the wire."""

    isn: int | None = None
    snd_max: int | None = None
    payload_bytes: int = 0
    data: list[tuple[int, int, int, bool]] = field(default_factory=list)  # t, seq, len, rtx
    acks: list[tuple[int, int]] = field(default_factory=list)  # t, ack
    lost: list[tuple[int, int]] = field(default_factory=list)  # t, seq


@dataclass
class ConnSeries:
    """The core's view of one connection: congestion window and RTT."""

    cwnd: list[tuple[int, int, int]] = field(default_factory=list)  # t, cwnd, ssthresh
    rtt: list[tuple[int, int, int, int]] = field(default_factory=list)  # t, sample, srtt, rto


class PlotData:
    """Collects segments (from link observations) and cwnd/RTT (from core records)."""

    def __init__(self) -> None:
        self.flows: dict[tuple[str, str], FlowSeries] = {}
        self.conns: dict[str, ConnSeries] = {}
        self._names: dict[tuple[bytes, int], str] = {}

    # --------------------------------------------------------------- inputs
    def observe(self, now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        """Link observer: ``send`` and ``drop`` observations."""
        if what != "send" and what != "drop":
            return
        info = peek(packet)
        if info is None:
            return
        src = self._name(info.src, info.sport)
        dst = self._name(info.dst, info.dport)
        self._segment(now, what, src, dst, info.flags, info.seq, info.ack, info.payload_len)

    def trace(self, record: Mapping[str, Any]) -> None:
        """Tracer for the core: keeps ``cwnd`` and ``rtt`` records."""
        ev = record.get("ev")
        if ev == "cwnd":
            series = self.conns.setdefault(str(record.get("conn", "")), ConnSeries())
            series.cwnd.append((int(record["t"]), int(record["cwnd"]), int(record["ssthresh"])))
        elif ev == "rtt":
            series = self.conns.setdefault(str(record.get("conn", "")), ConnSeries())
            series.rtt.append(
                (
                    int(record["t"]),
                    int(record["sample_us"]),
                    int(record["srtt_us"]),
                    int(record["rto_us"]),
                )
            )

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> PlotData:
        """Build from trace records (``ev: link`` send/drop records and core records)."""
        data = cls()
        names = {name: bit for bit, name in _FLAG_BITS}
        for rec in records:
            if rec.get("ev") == "link":
                what = rec.get("what")
                if (what == "send" or what == "drop") and "seq" in rec:
                    flags = 0
                    for n in rec.get("flags", ()):
                        flags |= names.get(n, 0)
                    data._segment(
                        int(rec["t"]),
                        str(what),
                        str(rec["src"]),
                        str(rec["dst"]),
                        flags,
                        int(rec["seq"]),
                        int(rec["ack"]),
                        int(rec["len"]),
                    )
            else:
                data.trace(rec)
        return data

    # ------------------------------------------------------------ queries
    def data_flow(self) -> tuple[tuple[str, str], FlowSeries] | None:
        """The direction that carried the most payload."""
        if not self.flows:
            return None
        key = max(self.flows, key=lambda k: self.flows[k].payload_bytes)
        return key, self.flows[key]

    def conn_of(self, flow: tuple[str, str]) -> ConnSeries | None:
        """The core's series for the sending side of ``flow``, if traced."""
        want = f"{_unbracket(flow[0])}-{_unbracket(flow[1])}"
        series = self.conns.get(want)
        if series is not None:
            return series
        return max(self.conns.values(), key=lambda s: len(s.cwnd), default=None)

    # ------------------------------------------------------------ helpers
    def _name(self, addr: bytes, port: int) -> str:
        key = (addr, port)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = endpoint_str(addr, port)
        return name

    def _segment(
        self, t: int, what: str, src: str, dst: str, flags: int, seq: int, ack: int, length: int
    ) -> None:
        flow = self.flows.get((src, dst))
        if flow is None:
            flow = self.flows[(src, dst)] = FlowSeries()
        if flags & SYN and flow.isn is None:
            flow.isn = seq
        if flow.isn is None:
            flow.isn = (seq - 1) & MASK
        if what == "drop":
            if length:
                flow.lost.append((t, seq))
            return
        seg_len = length + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
        if length:
            rtx = flow.snd_max is not None and lt(seq, flow.snd_max)
            flow.data.append((t, seq, length, rtx))
            if not rtx:
                flow.payload_bytes += length
        end = (seq + seg_len) & MASK
        if flow.snd_max is None or gt(end, flow.snd_max):
            flow.snd_max = end
        if flags & ACK:
            flow.acks.append((t, ack))


_FLAG_BITS = [(1 << i, flag_names(1 << i)[0]) for i in range(12)]


def _unbracket(endpoint: str) -> str:
    if endpoint.startswith("["):
        addr, _, port = endpoint[1:].partition("]:")
        return f"{addr}:{port}"
    return endpoint


# ------------------------------------------------------------------ drawing


def _pyplot() -> Any:
    require_extra("matplotlib", extra="plot", feature="plots")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _draw_sequence(ax: Any, data: PlotData) -> None:
    found = data.data_flow()
    if found is None:
        ax.text(0.5, 0.5, "no segments", ha="center", transform=ax.transAxes)
        return
    (src, dst), flow = found
    isn = flow.isn or 0

    def rel(seq: int) -> float:  # megabytes from the ISN
        return ((seq - isn) & MASK) / 1e6

    new = [(t / 1e6, rel(s)) for t, s, _, rtx in flow.data if not rtx]
    again = [(t / 1e6, rel(s)) for t, s, _, rtx in flow.data if rtx]
    back = data.flows.get((dst, src))
    if new:
        ax.scatter(*zip(*new, strict=True), s=2, color="tab:blue", label="data sent")
    if again:
        ax.scatter(*zip(*again, strict=True), s=8, color="tab:red", label="retransmission")
    if flow.lost:
        pts = [(t / 1e6, rel(s)) for t, s in flow.lost]
        ax.scatter(*zip(*pts, strict=True), s=14, marker="x", color="black", label="lost")
    if back is not None and back.acks:
        acks = [(t / 1e6, rel(a)) for t, a in back.acks]
        ax.step(*zip(*acks, strict=True), where="post", color="tab:green", lw=1, label="ACK")
    ax.set_title(f"Sequence numbers: {src} -> {dst}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("relative sequence number (MB)")
    ax.legend(loc="upper left", fontsize="small", markerscale=2)
    ax.grid(True, alpha=0.3)


def _draw_cwnd(ax: Any, series: ConnSeries | None) -> None:
    if series is None or not series.cwnd:
        ax.text(0.5, 0.5, "no cwnd records", ha="center", transform=ax.transAxes)
        return
    t = [x[0] / 1e6 for x in series.cwnd]
    ax.step(t, [x[1] / 1000 for x in series.cwnd], where="post", label="cwnd")
    ss = [(x[0] / 1e6, x[2] / 1000) for x in series.cwnd if x[2] < _HUGE]
    if ss:
        ax.step(*zip(*ss, strict=True), where="post", ls="--", label="ssthresh")
    ax.set_title("Congestion window")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("kB")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(True, alpha=0.3)


def _draw_rtt(ax: Any, series: ConnSeries | None) -> None:
    if series is None or not series.rtt:
        ax.text(0.5, 0.5, "no RTT samples", ha="center", transform=ax.transAxes)
        return
    t = [x[0] / 1e6 for x in series.rtt]
    ax.scatter(t, [x[1] / 1000 for x in series.rtt], s=3, label="RTT sample")
    ax.plot(t, [x[2] / 1000 for x in series.rtt], label="SRTT")
    ax.plot(t, [x[3] / 1000 for x in series.rtt], ls=":", label="RTO")
    ax.set_title("Round-trip time")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("ms (log scale)")
    ax.set_yscale("log")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(True, alpha=0.3)


def stevens_graph(data: PlotData, path: str | Path, *, title: str | None = None) -> None:
    """Sequence number against time for the direction carrying data, as PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    _draw_sequence(ax, data)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def cwnd_graph(data: PlotData, path: str | Path, *, title: str | None = None) -> None:
    """The sender's cwnd/ssthresh and RTT/SRTT/RTO against time, as PNG."""
    plt = _pyplot()
    found = data.data_flow()
    series = data.conn_of(found[0]) if found is not None else None
    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 7), dpi=100, sharex=True)
    _draw_cwnd(a, series)
    _draw_rtt(b, series)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def plot_transfer(data: PlotData, path: str | Path, *, title: str | None = None) -> None:
    """All three panels (sequence, cwnd, RTT) in one PNG."""
    plt = _pyplot()
    found = data.data_flow()
    series = data.conn_of(found[0]) if found is not None else None
    fig, axes = plt.subplots(3, 1, figsize=(10, 11), dpi=100)
    _draw_sequence(axes[0], data)
    _draw_cwnd(axes[1], series)
    _draw_rtt(axes[2], series)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)

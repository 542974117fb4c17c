"""Figures of the attack lab (matplotlib, the ``plot`` extra): one per ``--plot`` run, and the report's.

Every function writes a PNG with the Agg backend and returns nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synack.attack.analytic import SPACE

if TYPE_CHECKING:
    from synack.attack.attackers import ChallengeAckSideChannel, IsnPredictor
    from synack.attack.syn_flood import FloodStats

__all__ = [
    "plot_isn_prediction",
    "plot_reset_sweep",
    "plot_side_channel",
    "plot_spray",
    "plot_syn_flood",
    "plot_syn_flood_sweep",
]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError("plots need matplotlib: pip install 'synack[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def plot_isn_prediction(
    program: IsnPredictor, server_isn: int | None, path: str | Path, *, title: str
) -> None:
    """The ISNs the attacker saw, its guesses, and the ISN it never saw, against time."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if not program.samples:
        ax.text(0.5, 0.5, "no probe answered", ha="center", transform=ax.transAxes)
        _save(fig, path)
        return
    base = program.samples[0][1]

    def rel(x: int) -> float:
        d = (x - base) % SPACE
        return d - SPACE if d >= SPACE // 2 else d

    ts = [t / 1e6 for t, _ in program.samples]
    ax.plot(
        ts, [rel(x) for _, x in program.samples], "o", color="tab:blue", label="probe ISNs (seen)"
    )
    t_spoof = (program.samples[-1][0] + program.gap) / 1e6
    if program.predictions:
        guesses = [rel(g) for g in program.predictions]
        ax.plot(
            [t_spoof] * len(guesses),
            guesses,
            "_",
            color="tab:gray",
            markersize=12,
            alpha=0.5,
            label=f"the attacker's {len(guesses):,} guesses",
        )
    if server_isn is not None:
        ax.plot(
            [t_spoof],
            [rel(server_isn)],
            "*",
            color="tab:red",
            markersize=14,
            label="ISN of the SYN-ACK to the trusted host (unseen)",
        )
    ax.set_xlabel("time the SYN left the attacker (s)")
    ax.set_ylabel("ISN - first probe's ISN")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path)


def plot_spray(
    *,
    first_seq: int,
    step: int,
    count: int,
    per_step: int,
    rcv_nxt: int,
    window: int,
    hit: int | None,
    path: str | Path,
    title: str,
) -> None:
    """A window-stepping spray: where its segments fall in the sequence space, and the window.

    Left: the whole space (the window is far too thin to see); right: a zoom
    around the victim's window, RCV.NXT .. RCV.NXT + window.
    """
    plt = _pyplot()
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(10, 4.2))
    steps = -(-count // per_step)
    stride = max(1, steps // 2000)
    xs = list(range(0, steps, stride))
    ax.plot(
        [i * per_step + 1 for i in xs],
        [((first_seq + i * step) % SPACE) / SPACE for i in xs],
        ".",
        markersize=2,
        color="tab:gray",
        label="attacker's segments",
    )
    ax.axhline(rcv_nxt / SPACE, color="tab:green", linewidth=1, label="victim's RCV.NXT")
    if hit is not None:
        i = (hit - 1) // per_step
        ax.plot(
            [hit],
            [((first_seq + i * step) % SPACE) / SPACE],
            "*",
            color="tab:red",
            markersize=14,
            label=f"#{hit:,}: in the window",
        )
    ax.set_xlabel("attempt")
    ax.set_ylabel("sequence number / 2^32")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    # Zoom: ten steps either side of RCV.NXT.
    off = (rcv_nxt - first_seq) % SPACE
    centre = off // step
    idx = range(max(0, centre - 10), min(steps, centre + 11))
    zoom.axhspan(0, window, color="tab:green", alpha=0.2, label="receive window")
    zoom.plot(
        [i * per_step + 1 for i in idx],
        [((first_seq + i * step - rcv_nxt + SPACE // 2) % SPACE) - SPACE // 2 for i in idx],
        "o",
        color="tab:gray",
        label="attacker's segments",
    )
    zoom.set_xlabel("attempt")
    zoom.set_ylabel("SEG.SEQ - RCV.NXT (octets)")
    zoom.set_title("around the victim's window")
    zoom.legend(loc="upper left", fontsize=8)
    zoom.grid(alpha=0.3)
    _save(fig, path)


def plot_syn_flood(
    stats: FloodStats, backlog: int, warm: int, span: int, path: str | Path, *, title: str
) -> None:
    """Half-open connections in the listen queue over time, and each client's fate."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if stats.backlog:
        ax.step(
            [t / 1e6 for t, _ in stats.backlog],
            [n for _, n in stats.backlog],
            where="post",
            color="tab:blue",
            label="connections in the listen queue",
        )
    ax.axhline(backlog, color="tab:blue", linestyle="--", linewidth=1, label=f"backlog {backlog}")
    ax.axvspan(warm / 1e6, (warm + span) / 1e6, color="tab:gray", alpha=0.1, label="measured")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("half-open connections")
    ax.set_ylim(0, backlog * 1.15)
    ax2 = ax.twinx()
    ok = [(s / 1e6, d / 1e6) for s, d in stats.outcomes if d is not None]
    bad = [s / 1e6 for s, d in stats.outcomes if d is None]
    if ok:
        ax2.plot(
            *zip(*ok, strict=True),
            "o",
            color="tab:green",
            markersize=4,
            label="client connected (connect time)",
        )
    if bad:
        ax2.plot(bad, [0] * len(bad), "x", color="tab:red", markersize=5, label="client gave up")
    ax2.set_ylabel("connect time (s)")
    ax2.set_ylim(bottom=-0.5)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="lower right", fontsize=8)
    ax.set_title(title)
    _save(fig, path)


def plot_reset_sweep(rows: Sequence[Mapping[str, Any]], path: str | Path, *, title: str) -> None:
    """Packets to reset a connection against its receive window, measured and analytic.

    ``rows``: ``window``, ``mean``, ``se``, ``expected``, ``sweep`` for RFC 793
    rules, and optionally ``survived`` (the sweep length, RFC 5961 on).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    ws = [r["window"] for r in rows]
    ax.plot(
        ws, [r["sweep"] for r in rows], "-", color="tab:gray", label="2^32 / window (a full sweep)"
    )
    ax.plot(
        ws,
        [r["expected"] for r in rows],
        "--",
        color="tab:blue",
        label="(2^32/window + 1) / 2 (model)",
    )
    ax.errorbar(
        ws,
        [r["mean"] for r in rows],
        yerr=[3 * r["se"] for r in rows],
        fmt="o",
        color="tab:blue",
        capsize=3,
        label="measured, RFC 5961 off (mean, 3 SE)",
    )
    on = [r for r in rows if r.get("survived")]
    if on:
        ax.plot(
            [r["window"] for r in on],
            [r["survived"] for r in on],
            "v",
            color="tab:red",
            label="RFC 5961 on: still alive after a full sweep",
        )
    ax.axhline(
        SPACE / 2, color="tab:red", linestyle=":", label="RFC 5961 on: (2^32 + 1) / 2 (model)"
    )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("receive window (octets)")
    ax.set_ylabel("spoofed RSTs until the connection dies")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_syn_flood_sweep(
    rows: Sequence[Mapping[str, Any]], path: str | Path, *, title: str
) -> None:
    """A full queue and client success against the flood rate, cookies off and on.

    ``rows``: ``rate``, ``cookies``, ``first_full``, ``flood_full``, ``model_full``,
    ``success``, ``success_se``, ``model_success``, ``connect_s``, ``model_connect_s``.
    """
    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    off = [r for r in rows if not r["cookies"]]
    on = [r for r in rows if r["cookies"]]
    rates = [r["rate"] for r in off]
    ax.plot(
        rates, [r["model_full"] for r in off], "-", color="tab:gray", label="queue full: Erlang B"
    )
    ax.plot(
        rates, [r["flood_full"] for r in off], "o", color="tab:red", label="queue full: flood SYNs"
    )
    ax.plot(
        rates,
        [r["first_full"] for r in off],
        "s",
        color="tab:blue",
        fillstyle="none",
        label="queue full: clients' first SYNs",
    )
    ax.errorbar(
        rates,
        [r["success"] for r in off],
        yerr=[3 * r["success_se"] for r in off],
        fmt="^",
        color="tab:green",
        capsize=3,
        label="clients connected, cookies off (3 SE)",
    )
    ax.plot(
        rates,
        [r["model_success"] for r in off],
        ":",
        color="tab:green",
        label="cookies off, if tries were independent",
    )
    if on:
        ax.plot(
            [r["rate"] for r in on],
            [r["success"] for r in on],
            "*",
            color="tab:purple",
            markersize=12,
            label="clients connected, cookies on",
        )
    ax.set_xscale("log")
    ax.set_xlabel("flood rate (SYN/s)")
    ax.set_ylabel("fraction")
    ax.set_ylim(-0.02, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title)
    with_t = [r for r in off if r.get("connect_s") is not None]
    ax2.plot(
        [r["rate"] for r in with_t],
        [r["connect_s"] for r in with_t],
        "o-",
        color="tab:green",
        label="cookies off: mean connect time of clients that got in",
    )
    ax2.plot(
        rates,
        [r["model_connect_s"] for r in off],
        ":",
        color="tab:green",
        label="cookies off, if tries were independent",
    )
    if on:
        ax2.plot(
            [r["rate"] for r in on],
            [r["connect_s"] for r in on],
            "*",
            color="tab:purple",
            markersize=12,
            label="cookies on",
        )
    ax2.set_xscale("log")
    ax2.set_xlabel("flood rate (SYN/s)")
    ax2.set_ylabel("seconds")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7)
    _save(fig, path)


def plot_side_channel(program: ChallengeAckSideChannel, path: str | Path, *, title: str) -> None:
    """Each round's count of challenge ACKs, and what the attacker still does not know."""
    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    rounds = list(range(1, len(program.history) + 1))
    counts = [c for _, _, c, _ in program.history]
    ax.plot(rounds, counts, "o-", color="tab:blue", label="challenge ACKs for its 100 RSTs")
    if program.baseline is not None:
        ax.axhline(program.baseline, color="tab:gray", linestyle="--", label="calibration")
    ax.set_ylabel("challenge ACKs counted")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax2.semilogy(rounds, [max(1, u) for _, _, _, u in program.history], "s-", color="tab:red")
    ax2.set_ylabel("values RCV.NXT may still be")
    ax2.set_xlabel("round")
    ax2.grid(alpha=0.3, which="both")
    _save(fig, path)

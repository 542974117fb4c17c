"""``synack experiment report``: the standard figures and a Markdown table of a sweep.

From a results file (:mod:`synack.lab.results`) it groups the runs that differ
only in their seed, gives each group's mean and 95% confidence interval, and
draws, where the sweep varies what they need:

- goodput per flow against the loss rate, with the Mathis and PFTK models at
  each RTT (needs ``loss`` swept);
- goodput against the 95th-percentile queueing delay, per algorithm, as
  Pantheon shows its results (delay axis reversed: better is up and right);
- Jain's fairness index against the number of flows (needs ``flows`` swept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synack.lab.extra import require
from synack.lab.results import read_results
from synack.lab.spec import DEFAULTS
from synack.sim.experiments import mathis, mean_ci, pftk

__all__ = ["Report", "group_rows", "markdown_table", "write_report"]

_PARAMS = [k for k in DEFAULTS if k != "seed"]


@dataclass
class Group:
    """Runs that differ only in their seed."""

    key: dict[str, Any]
    rows: list[dict[str, Any]]

    def stat(self, metric: str) -> tuple[float, float, float] | None:
        xs = [r[metric] for r in self.rows if r.get(metric) is not None]
        return mean_ci(xs) if xs else None


@dataclass
class Report:
    """What :func:`write_report` wrote."""

    markdown: Path
    figures: list[Path]
    groups: int
    runs: int


def varied(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The parameters (seed excepted) that take more than one value in ``rows``."""
    return [k for k in _PARAMS if len({repr(r.get(k)) for r in rows}) > 1]


def group_rows(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[Group]]:
    """``(keys, groups)``: the varied parameters and the runs grouped by them, in file order."""
    keys = varied(rows)
    groups: dict[tuple[str, ...], Group] = {}
    for r in rows:
        k = tuple(repr(r.get(x)) for x in keys)
        if k not in groups:
            groups[k] = Group({x: r.get(x) for x in keys}, [])
        groups[k].rows.append(r)
    return keys, list(groups.values())


def _ci_text(stat: tuple[float, float, float] | None, fmt: str) -> str:
    if stat is None:
        return "-"
    m, lo, hi = stat
    if hi > lo:
        return f"{m:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"
    return f"{m:{fmt}}"


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """One line per group: the varied parameters, the seeds, and the main metrics."""
    keys, groups = group_rows(rows)
    head = [*keys, "seeds", "goodput Mbit/s", "Jain", "queue p50 ms", "queue p95 ms",
            "retransmissions", "loss events", "errors"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in groups:
        ok = [r for r in g.rows if r.get("error") is None]
        cells = [str(g.key[k]) for k in keys]
        cells.append(str(len(g.rows)))
        cells.append(_ci_text(g.stat("goodput_mbps"), ".2f"))
        cells.append(_ci_text(g.stat("jain"), ".3f"))
        cells.append(_ci_text(g.stat("queue_delay_p50_ms"), ".1f"))
        cells.append(_ci_text(g.stat("queue_delay_p95_ms"), ".1f"))
        cells.append(_ci_text(g.stat("retransmissions"), ".0f"))
        cells.append(_ci_text(g.stat("loss_events"), ".0f"))
        cells.append(str(len(g.rows) - len(ok)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _label(key: dict[str, Any], skip: Sequence[str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in key.items() if k not in skip) or "all"


def _figures(rows: list[dict[str, Any]], out: Path, stem: str) -> list[tuple[Path, str]]:
    require("matplotlib", "plot", "the report's figures")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.get("error") is None]
    keys = varied(ok)
    made: list[tuple[Path, str]] = []

    # 1. Goodput per flow against loss, with the models at each RTT.
    if "loss" in keys and any(r["loss"] > 0 for r in ok):
        series_keys = [k for k in keys if k != "loss"]
        _, groups = group_rows(ok)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        lines: dict[str, list[tuple[float, float, float]]] = {}
        for g in groups:
            if g.key["loss"] <= 0:
                continue
            per_flow = [r["goodput_mbps"] / r["flows"] for r in g.rows]
            m, lo, hi = mean_ci(per_flow)
            lines.setdefault(_label(g.key, ["loss"]), []).append((g.key["loss"], m, (hi - lo) / 2))
        for label, pts in lines.items():
            pts.sort()
            ax.errorbar([p[0] * 100 for p in pts], [p[1] for p in pts],
                        yerr=[p[2] for p in pts], marker="o", capsize=3, label=label)  # fmt: skip
        ps = sorted({r["loss"] for r in ok if r["loss"] > 0})
        grid = [ps[0] * (ps[-1] / ps[0]) ** (i / 40) for i in range(41)] if len(ps) > 1 else ps
        mss = next((r["mss_bytes"] for r in ok if r.get("mss_bytes")), 1448)
        for rtt in sorted({r["rtt"] for r in ok}):
            t = rtt / 1000
            ax.plot([g * 100 for g in grid], [mathis(mss, t, g) * 8 / 1e6 for g in grid],
                    ls="--", lw=1, color="gray")  # fmt: skip
            t_rto = max(1.0, 4 * t)
            ax.plot([g * 100 for g in grid], [pftk(mss, t, g, t_rto) * 8 / 1e6 for g in grid],
                    ls=":", lw=1, color="gray")  # fmt: skip
            ax.annotate(f"{rtt:g} ms", (grid[0] * 100, mathis(mss, t, grid[0]) * 8 / 1e6),
                        fontsize="x-small", color="gray")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("loss rate (%)")
        ax.set_ylabel("goodput per flow (Mbit/s)")
        ax.set_title("Goodput against loss (dashed: Mathis, dotted: PFTK)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="x-small", title=", ".join(series_keys) or None)
        fig.tight_layout()
        path = out / f"{stem}-loss.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(
            (path, "Goodput per flow against the loss rate, with the Mathis and PFTK models.")
        )

    # 2. Throughput against delay, per algorithm (Pantheon's view).
    if any(r.get("queue_delay_p95_ms") is not None for r in ok):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        by_cc: dict[str, list[dict[str, Any]]] = {}
        for r in ok:
            by_cc.setdefault(r["cc"], []).append(r)
        for cc, rs in by_cc.items():
            xs = [r["queue_delay_p95_ms"] for r in rs]
            ys = [r["goodput_mbps"] for r in rs]
            dots = ax.scatter(xs, ys, s=10, alpha=0.35)
            ax.scatter([sum(xs) / len(xs)], [sum(ys) / len(ys)], s=90, marker="D",
                       color=dots.get_facecolor()[0], edgecolor="black", label=cc, zorder=3)  # fmt: skip
        ax.invert_xaxis()
        ax.set_xlabel("95th percentile queueing delay (ms, reversed)")
        ax.set_ylabel("goodput (Mbit/s)")
        ax.set_title("Throughput and delay per algorithm (each run; diamond: mean)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        path = out / f"{stem}-delay.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append((path, "Goodput against queueing delay per algorithm, as Pantheon draws it."))

    # 3. Fairness against the number of flows.
    if "flows" in keys:
        _, groups = group_rows(ok)
        fig, ax = plt.subplots(figsize=(7, 4))
        fl: dict[str, list[tuple[float, float, float]]] = {}
        for g in groups:
            m, lo, hi = mean_ci([r["jain"] for r in g.rows])
            fl.setdefault(_label(g.key, ["flows"]), []).append((g.key["flows"], m, (hi - lo) / 2))
        for label, fpts in fl.items():
            fpts.sort()
            ax.errorbar([p[0] for p in fpts], [p[1] for p in fpts], yerr=[p[2] for p in fpts],
                        marker="o", capsize=3, label=label)  # fmt: skip
        ax.set_xlabel("flows sharing the bottleneck")
        ax.set_ylabel("Jain's fairness index")
        ax.set_ylim(top=1.01)
        ax.set_title("Fairness against the number of flows (mean, 95% CI)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="x-small")
        fig.tight_layout()
        path = out / f"{stem}-fairness.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append((path, "Jain's fairness index against the number of flows."))
    return made


def write_report(
    results: str | Path, out_dir: str | Path | None = None, *, plots: bool = True
) -> Report:
    """Write ``REPORT.md`` and the figures for ``results`` into ``out_dir``.

    ``out_dir`` defaults to ``RESULTS-report/`` beside the results file.
    """
    src = Path(results)
    rows, meta = read_results(src)
    if not rows:
        raise ValueError(f"{src} holds no runs")
    out = Path(out_dir) if out_dir is not None else src.with_name(src.stem + "-report")
    out.mkdir(parents=True, exist_ok=True)
    figures = _figures(rows, out, src.stem) if plots else []
    failed = sum(r.get("error") is not None for r in rows)
    seeds = sorted({r["seed"] for r in rows})
    wall = sum(r.get("wall_seconds") or 0.0 for r in rows)
    lines = [
        f"# Sweep report: {src.name}",
        "",
        f"{len(rows)} runs, seeds {', '.join(map(str, seeds))}, synack {meta.get('version', '?')}, "
        f"scheduler {meta.get('scheduler', '?')}; {wall:.0f} s of run time"
        + (f"; **{failed} runs failed**" if failed else "")
        + ". Each line is the mean over seeds with its 95% confidence interval.",
        "",
        markdown_table(rows),
        "",
    ]
    for path, caption in figures:
        lines += [f"![{caption}]({path.name})", "", f"*{caption}*", ""]
    if meta.get("spec"):
        lines += ["The spec:", "", "```toml", meta["spec"].strip(), "```", ""]
    md = out / "REPORT.md"
    md.write_text("\n".join(lines))
    return Report(md, [p for p, _ in figures], len(group_rows(rows)[1]), len(rows))

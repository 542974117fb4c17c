"""``synack sim``: a bulk transfer over a simulated link, verified with SHA-256.

Units on the command line: ``--rtt`` milliseconds, ``--bandwidth`` Mbit/s,
probabilities in [0, 1], ``--bytes`` a count (``10M``, ``1G`` and ``64Ki``
suffixes accepted).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import tempfile
from pathlib import Path

from synack.cc import available as available_cc
from synack.cli.base import CommandFailed, UsageError
from synack.cli.progress import Transfer, rate
from synack.cli.units import (
    link_mtu,
    non_negative_float,
    non_negative_int,
    output_file,
    parse_count,
    parse_queue,
    positive_float,
    probability,
    segment_size,
)
from synack.cli.view import add_view_option, write_view
from synack.extras import require_extra
from synack.lab.units import parse_aqm
from synack.sim.link import GilbertElliott, LinkConfig
from synack.sim.rules import DropRule, parse_rule
from synack.sim.scenario import CLIENT_ADDR, SERVER_ADDR, SERVER_PORT, TransferResult, run_transfer
from synack.tcp.config import Config

__all__ = ["configure", "link_from_args", "run", "summary_lines"]


def _burst(text: str) -> GilbertElliott:
    rate, _, length = text.partition(":")
    try:
        return GilbertElliott.from_rate(probability(rate), float(length) if length else 3.0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _rule(text: str) -> DropRule:
    try:
        return parse_rule(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack sim``."""
    p.add_argument(
        "--bytes",
        type=parse_count,
        default=10_000_000,
        metavar="N",
        help="bytes to send, e.g. 10M, 1G, 64Ki",
    )
    p.add_argument(
        "--rtt", type=non_negative_float, default=20.0, metavar="MS", help="round-trip time in ms"
    )
    p.add_argument(
        "--bandwidth",
        type=non_negative_float,
        default=0.0,
        metavar="MBIT/S",
        help="Mbit/s each way (0: unlimited)",
    )
    p.add_argument(
        "--queue",
        type=parse_queue,
        default=(None, None),
        metavar="N|Np|NB",
        help="drop-tail queue: N packets, or a size in bytes like 64KB (default unbounded)",
    )
    p.add_argument(
        "--loss", type=probability, default=0.0, metavar="P", help="Bernoulli loss probability"
    )
    p.add_argument(
        "--burst-loss",
        type=_burst,
        metavar="P[:LEN]",
        help="Gilbert-Elliott loss: average rate P in bursts of LEN packets (default 3)",
    )
    p.add_argument(
        "--periodic-loss",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="drop every Nth packet (0: none)",
    )
    p.add_argument(
        "--reorder", type=probability, default=0.0, metavar="P", help="reordering probability"
    )
    p.add_argument(
        "--reorder-delay",
        type=non_negative_float,
        default=1.0,
        metavar="MS",
        help="extra delay of a reordered packet, ms",
    )
    p.add_argument(
        "--duplicate", type=probability, default=0.0, metavar="P", help="duplication probability"
    )
    p.add_argument(
        "--corrupt", type=probability, default=0.0, metavar="P", help="bit-corruption probability"
    )
    p.add_argument(
        "--mtu", type=link_mtu, help="link MTU in bytes, 128 to 65535 (the MSS follows it)"
    )
    p.add_argument(
        "--drop",
        action="append",
        type=_rule,
        default=[],
        metavar="RULE",
        help="scripted drop on the data direction, e.g. syn, data:5-7 (repeatable)",
    )
    p.add_argument(
        "--one-way",
        action="store_true",
        help="impair only the data direction (default: both directions)",
    )
    p.add_argument(
        "--mss", type=segment_size, help="MSS in bytes (default 1460, or MTU - 40 with --mtu)"
    )
    p.add_argument("--cc", default="newreno", choices=available_cc(), help="congestion control")
    p.add_argument(
        "--aqm",
        default="droptail",
        metavar="NAME[:ARGS]",
        help="the data link's queue manager: droptail, red[:MIN:MAX[:MAX_P]], "
        "codel[:TARGET_MS:INTERVAL_MS], step[:K] (needs --bandwidth)",
    )
    p.add_argument(
        "--ecn",
        action="store_true",
        help="ECN (RFC 3168) at both ends; the queue manager marks instead of dropping",
    )
    p.add_argument(
        "--min-rto",
        type=positive_float,
        metavar="MS",
        help="the RTO's floor in ms at both ends (default 200, Linux's; 1000 is RFC 6298 2.4's)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of every random choice")
    p.add_argument(
        "--time-limit",
        type=positive_float,
        metavar="SECONDS",
        default=3600.0,
        help="simulated seconds to give up after",
    )
    p.add_argument(
        "--pcap", type=output_file, metavar="FILE", help="write every packet sent to a pcap file"
    )
    p.add_argument(
        "--trace", type=output_file, metavar="FILE", help="write the JSON Lines trace to FILE"
    )
    p.add_argument(
        "--plot",
        type=output_file,
        metavar="FILE.png",
        help="sequence/cwnd/RTT plot (needs the plot extra)",
    )
    add_view_option(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: on a terminal, for transfers of 50 MB or more)",
    )


def link_from_args(args: argparse.Namespace) -> tuple[LinkConfig, LinkConfig]:
    """The data-direction and ACK-direction link configurations the options describe."""
    qp, qb = args.queue
    bandwidth = round(args.bandwidth * 1_000_000) or None
    plain = LinkConfig(
        delay=round(args.rtt * 1000) // 2,
        bandwidth=bandwidth,
        queue_packets=qp,
        queue_bytes=qb,
        mtu=args.mtu,
    )
    impaired = LinkConfig(
        delay=plain.delay,
        bandwidth=bandwidth,
        queue_packets=qp,
        queue_bytes=qb,
        mtu=args.mtu,
        loss=args.loss,
        burst=args.burst_loss,
        periodic_loss=args.periodic_loss,
        reorder=args.reorder,
        reorder_delay=round(args.reorder_delay * 1000),
        duplicate=args.duplicate,
        corrupt=args.corrupt,
    )
    rules = tuple(args.drop)
    aqm = parse_aqm(args.aqm, ecn=args.ecn)
    forward = dataclasses.replace(impaired, rules=rules, aqm=aqm)
    backward = plain if args.one_way else impaired
    return forward, backward


def _describe_link(cfg: LinkConfig, rtt_ms: float) -> str:
    parts = [f"RTT {rtt_ms:g} ms"]
    parts.append(f"{cfg.bandwidth / 1e6:g} Mbit/s" if cfg.bandwidth else "unlimited bandwidth")
    if cfg.queue_packets is not None:
        parts.append(f"queue {cfg.queue_packets} packets")
    if cfg.queue_bytes is not None:
        parts.append(f"queue {cfg.queue_bytes} bytes")
    if cfg.mtu is not None:
        parts.append(f"MTU {cfg.mtu}")
    for name in ("loss", "reorder", "duplicate", "corrupt"):
        v = getattr(cfg, name)
        if v:
            parts.append(f"{name} {v:g}")
    if cfg.burst is not None:
        parts.append(f"burst loss {cfg.burst.mean_loss:.3g} (mean burst {1 / cfg.burst.r:g})")
    if cfg.periodic_loss:
        parts.append(f"every {cfg.periodic_loss}th packet lost")
    if cfg.rules:
        parts.append("drop " + ", ".join(r.label for r in cfg.rules))
    if cfg.aqm is not None:
        name = type(cfg.aqm).__name__.lower()
        parts.append(f"{name} marking (ECN)" if cfg.aqm.ecn else name)
    return ", ".join(parts)


_TIMED_OUT = re.compile(r"TimedOut\(reason='(\w+)'\)")
_TIMEOUT_WORDS = {
    "syn_retries": "the connection never opened: no answer to the SYN before the retries ran out",
    "data_retries": "the connection gave up: no acknowledgement before the retries ran out",
}


def failure(r: TransferResult) -> str:
    """One line on why a transfer did not complete."""
    error = r.error or "the data did not arrive intact"
    found = _TIMED_OUT.fullmatch(error)
    if found is not None:
        error = _TIMEOUT_WORDS.get(found[1], f"the connection timed out ({found[1]})")
    if r.bytes_delivered == 0:
        return f"nothing was delivered: {error}"
    return f"{r.bytes_delivered:,} bytes delivered, then {error}"


def summary_lines(
    r: TransferResult,
    forward: LinkConfig,
    backward: LinkConfig,
    rtt: float,
    requested: int | None = None,
) -> list[str]:
    """The human-readable summary of a transfer (of ``requested`` bytes, if given)."""
    nbytes = r.bytes_sent if requested is None else requested
    lines = [
        f"synack sim: {nbytes:,} bytes from {CLIENT_ADDR} to {SERVER_ADDR}:{SERVER_PORT}",
        f"  data link   {_describe_link(forward, rtt)}",
    ]
    if backward != forward:
        lines.append(f"  ack link    {_describe_link(backward, rtt)}")
    if r.bytes_delivered == 0 and nbytes:
        lines.append("  delivered   nothing")
    else:
        check = "SHA-256 verified" if r.verified else "NOT verified"
        lines += [
            f"  delivered   {r.bytes_delivered:,} bytes, {check}",
            f"  goodput     {rate(r.goodput_bytes_per_s)} over {r.sim_seconds:.6f} s simulated",
        ]
    speed = r.sim_seconds / r.wall_seconds if r.wall_seconds > 0 else 0.0
    lines.append(f"  wall time   {r.wall_seconds:.3f} s ({speed:.1f} simulated seconds per second)")
    lines.append(
        f"  segments    {r.segments_sent:,} sent by the sender ({r.data_segments_sent:,} new data), "
        f"{r.retransmissions:,} retransmissions"
    )
    drops = ", ".join(f"{k} {v:,}" for k, v in r.drops.items()) or "none"
    lines.append(f"  drops       {drops}")
    marks = sum(int(str(link.get("marks", 0))) for link in r.links.values())
    if marks or r.counters.get("conn.ecn.reductions"):
        lines.append(
            f"  ecn         {marks:,} packets marked CE, "
            f"{r.counters.get('conn.ecn.reductions', 0):,} window reductions for ECE"
        )
    lines.append(f"  mss {r.mss}, cc {r.cc}, seed {r.seed}")
    if not r.completed:
        lines.append(f"  error       {failure(r)}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Run ``synack sim``."""
    with tempfile.TemporaryDirectory(prefix="synack-sim-") as tmp:
        trace = args.trace or (str(Path(tmp) / "sim.jsonl") if args.view else None)
        try:
            status = _run(args, trace)
        except CommandFailed:  # the transfer did not complete: its page still shows why
            if args.view:
                write_view(trace, args.view)
            raise
        if args.view:
            write_view(trace, args.view)
    return status


def _run(args: argparse.Namespace, trace: str | None) -> int:
    try:
        forward, backward = link_from_args(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    plot = None
    if args.plot:
        require_extra("matplotlib", extra="plot", feature="plots")  # before a long run
        from synack.trace.plot import PlotData

        plot = PlotData()
    show = args.progress
    if show is None:
        show = sys.stderr.isatty() and args.bytes >= 50_000_000
    bar = (
        Transfer(
            "simulating",
            args.bytes,
            bar=True,
            extra="sim {task.fields[sim]:.1f} s",
            fields={"sim": 0.0},
        )
        if show
        else None
    )

    def update(delivered: int, total: int, now: int) -> None:
        assert bar is not None
        bar.update(delivered, sim=now / 1e6)

    try:
        result = run_transfer(
            args.bytes,
            forward,
            reverse=backward,
            seed=args.seed,
            cc=args.cc,
            config=_config(args),
            mss=args.mss if args.mss is not None or args.mtu is None else min(args.mtu - 40, 65495),
            pcap=args.pcap,
            trace=trace,
            plot=plot,
            progress=update if bar is not None else None,
            time_limit=round(args.time_limit * 1_000_000),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if bar is not None:
            bar.stop()
    lines = summary_lines(result, forward, backward, args.rtt, requested=args.bytes)
    if plot is not None:
        from synack.trace.plot import plot_transfer

        plot_transfer(plot, args.plot, title=lines[0])
        lines.append(f"  plot        {args.plot}")
    if args.pcap:
        lines.append(f"  pcap        {args.pcap}")
    if args.trace:
        lines.append(f"  trace       {args.trace}")
    print("\n".join(lines))
    if args.json:
        print(json.dumps(result.to_json(), separators=(", ", ": ")))
    if not result.completed:
        raise CommandFailed(failure(result))
    return 0


def _config(args: argparse.Namespace) -> Config | None:
    """The connections' settings the options change (``None``: every default)."""
    if not args.ecn and args.min_rto is None:
        return None
    default = Config()
    min_rto = default.min_rto if args.min_rto is None else round(args.min_rto * 1000)
    if min_rto > default.max_rto:
        raise UsageError(
            f"--min-rto {args.min_rto:g}: at most {default.max_rto // 1000} ms, the RTO's ceiling"
        )
    return Config(ecn=args.ecn, min_rto=min_rto)

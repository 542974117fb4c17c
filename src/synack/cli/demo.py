"""``synack demo``: the textbook connection on the simulator, as a ladder diagram."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from synack.cli.base import UsageError
from synack.cli.units import non_negative_float, output_file
from synack.cli.view import add_view_option, write_view
from synack.sim.demo import LOSABLE, run_demo

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack demo``."""
    p.add_argument("--client-isn", type=int, default=1000, help="client ISN (default 1000)")
    p.add_argument("--server-isn", type=int, default=5000, help="server ISN (default 5000)")
    p.add_argument("--random-isn", action="store_true", help="choose ISNs per RFC 6528 instead")
    p.add_argument(
        "--lose",
        choices=sorted(LOSABLE),
        help="drop the first segment of this kind; shows the timeout and the retransmission",
    )
    p.add_argument(
        "--pcap", type=output_file, metavar="FILE", help="write every packet sent to a pcap file"
    )
    p.add_argument(
        "--trace", type=output_file, metavar="FILE", help="write the JSON Lines trace to FILE"
    )
    add_view_option(p, default="demo.html")
    p.add_argument(
        "-r", "--relative", action="store_true", help="sequence numbers relative to the ISNs"
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="show windows, options and packet sizes"
    )
    p.add_argument("--no-time", action="store_true", help="leave out the timestamps")
    p.add_argument(
        "--delay", type=non_negative_float, default=10.0, help="one-way delay in ms (default 10)"
    )
    p.add_argument(
        "--attack",
        action="store_true",
        help="then an off-path attacker spoofs the client, against predictable and RFC 6528 ISNs",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``synack demo``."""
    if args.attack:
        return _attack(args)
    with tempfile.TemporaryDirectory(prefix="synack-demo-") as tmp:
        trace = args.trace or (str(Path(tmp) / "demo.jsonl") if args.view else None)
        status = _run(args, trace)
        if status != 2 and args.view:
            write_view(trace, args.view)
    return status


def _run(args: argparse.Namespace, trace: str | None) -> int:
    try:
        result = run_demo(
            client_isn=args.client_isn,
            server_isn=args.server_isn,
            random_isn=args.random_isn,
            lose=args.lose,
            pcap=args.pcap,
            trace=trace,
            relative=args.relative,
            timestamps=not args.no_time,
            verbose=args.verbose,
            delay_us=round(args.delay * 1000),
        )
    except ValueError as exc:
        print(f"synack demo: {exc}", file=sys.stderr)
        return 2
    if trace is not None and trace != args.trace:  # our temporary trace: not worth a line
        result.footer = [line for line in result.footer if trace not in line]
    sys.stdout.write(result.text())
    if not result.ok:
        print(
            "synack demo: the exchange did not complete (the ladder above shows where it stopped)",
            file=sys.stderr,
        )
    return 0 if result.ok else 1


def _attack(args: argparse.Namespace) -> int:
    """``synack demo --attack``: the handshake, then the spoofed connection (synack.attack.demo)."""
    others = {
        "--client-isn": args.client_isn != 1000,
        "--server-isn": args.server_isn != 5000,
        "--random-isn": args.random_isn,
        "--lose": args.lose is not None,
        "--pcap": args.pcap is not None,
        "--trace": args.trace is not None,
        "--relative": args.relative,
        "--verbose": args.verbose,
        "--no-time": args.no_time,
        "--delay": args.delay != 10.0,
        "--view": args.view is not None,
    }
    given = [flag for flag, on in others.items() if on]
    if given:
        raise UsageError(f"--attack runs its own scenario: drop {', '.join(given)}")
    from synack.attack.demo import run_attack_demo

    result = run_attack_demo()
    sys.stdout.write(result.text())
    return 0 if result.accepted_predictable and not result.accepted_random else 1

"""The ``synack`` command line: one argparse subcommand per feature.

Every subcommand is a :class:`Command` in :data:`COMMANDS`, the one place to
register a new one: give it a name, a help line, a function that adds its
arguments and a function that runs it and returns the exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from synack import __version__
from synack.api.commands import (
    configure_connect,
    configure_get,
    configure_netns,
    configure_send,
    configure_serve,
    run_connect,
    run_get,
    run_netns,
    run_send,
    run_serve,
)
from synack.sim import commands as sim_commands
from synack.sim import validate as sim_validate
from synack.trace import commands as trace_commands
from synack.wire import (
    ACK,
    SYN,
    MaxSegmentSize,
    NoOperation,
    SackPermitted,
    Segment,
    Timestamps,
    WindowScale,
    emit_tcp_packet,
    format_segment,
    pad_options,
    parse_tcp_packet,
    str_to_addr,
)
from synack.wire.seq import add

__all__ = ["COMMANDS", "Command", "build_parser", "handshake_lines", "main"]


@dataclass(frozen=True)
class Command:
    """A subcommand: ``configure`` adds its arguments, ``run`` does the work."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ------------------------------------------------------------------- handshake
# `synack handshake` computes the three-way handshake of RFC 9293 3.5 with the
# wire layer alone: each segment is derived from the one before it, emitted to
# IPv4 bytes, parsed back and rendered. (`synack demo` runs the real thing on
# the simulator: see synack.sim.commands.)

CLIENT_ADDR = "192.168.1.100"
SERVER_ADDR = "10.0.0.5"
CLIENT_PORT = 40000
SERVER_PORT = 80


def handshake_lines(
    client_isn: int = 1000,
    server_isn: int = 5000,
    *,
    relative: bool = False,
    verbose: bool = False,
) -> list[str]:
    """The handshake between the demo client and server, one rendered line per segment.

    Raises ``RuntimeError`` if a segment does not survive emit and parse unchanged.
    """
    client, server = str_to_addr(CLIENT_ADDR), str_to_addr(SERVER_ADDR)
    client_name = f"Client ({CLIENT_ADDR})"
    server_name = f"Server ({SERVER_ADDR}:{SERVER_PORT})"

    # RFC 9293 3.5: SYN carries the client's ISN; the SYN-ACK acknowledges it and
    # carries the server's; the ACK acknowledges that. ack = seq + SEG.LEN.
    syn = Segment(
        CLIENT_PORT,
        SERVER_PORT,
        client_isn,
        flags=SYN,
        window=65535,
        options=(
            MaxSegmentSize(1460),
            SackPermitted(),
            Timestamps(1, 0),
            NoOperation(),
            WindowScale(7),
        ),
    )
    syn_ack = Segment(
        SERVER_PORT,
        CLIENT_PORT,
        server_isn,
        ack=add(syn.seq, syn.seg_len),
        flags=SYN | ACK,
        window=65535,
        options=(
            MaxSegmentSize(1460),
            SackPermitted(),
            Timestamps(2, 1),
            NoOperation(),
            WindowScale(7),
        ),
    )
    final_ack = Segment(
        CLIENT_PORT,
        SERVER_PORT,
        syn_ack.ack,
        ack=add(syn_ack.seq, syn_ack.seg_len),
        flags=ACK,
        window=512,
        options=(NoOperation(), NoOperation(), Timestamps(3, 2)),
    )

    lines = []
    for seg, from_client in ((syn, True), (syn_ack, False), (final_ack, True)):
        src, dst = (client, server) if from_client else (server, client)
        packet = emit_tcp_packet(src, dst, seg)
        _, parsed = parse_tcp_packet(packet)
        if parsed != replace(seg, options=pad_options(seg.options)):
            raise RuntimeError(f"round trip changed {seg!r} into {parsed!r}")
        isns = (client_isn, server_isn) if from_client else (server_isn, client_isn)
        text = format_segment(
            parsed,
            isn_sender=isns[0] if relative else None,
            isn_receiver=isns[1] if relative else None,
            window=verbose,
            options=verbose,
        )
        if verbose:
            text += f"  ({len(packet)} bytes)"
        who = (
            f"{client_name} -> {server_name}" if from_client else f"{server_name} -> {client_name}"
        )
        lines.append(f"{who}   {text}")
    return lines


def _configure_handshake(p: argparse.ArgumentParser) -> None:
    p.add_argument("--client-isn", type=int, default=1000, help="client ISN (default 1000)")
    p.add_argument("--server-isn", type=int, default=5000, help="server ISN (default 5000)")
    p.add_argument(
        "-r", "--relative", action="store_true", help="sequence numbers relative to the ISNs"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show window, options, sizes")


def _run_handshake(args: argparse.Namespace) -> int:
    for isn in (args.client_isn, args.server_isn):
        if not 0 <= isn < 2**32:
            print(f"synack handshake: ISN {isn} is not in [0, 2**32)", file=sys.stderr)
            return 2
    for line in handshake_lines(
        args.client_isn, args.server_isn, relative=args.relative, verbose=args.verbose
    ):
        print(line)
    return 0


# -------------------------------------------------------------------- registry

COMMANDS: tuple[Command, ...] = (
    Command(
        "demo",
        "a TCP connection on the simulator: handshake, data, close, as a ladder diagram",
        sim_commands.configure_demo,
        sim_commands.run_demo_command,
    ),
    Command(
        "sim",
        "a verified bulk transfer over a simulated link with delay, loss, reordering, ...",
        sim_commands.configure_sim,
        sim_commands.run_sim_command,
    ),
    Command(
        "experiment",
        "congestion-control validation (Mathis, PFTK, CUBIC, fairness, utilisation): "
        "writes docs/congestion.md",
        sim_validate.configure_experiment,
        sim_validate.run_experiment_command,
    ),
    Command(
        "plot",
        "plot a JSON Lines trace: sequence numbers, cwnd and RTT over time, as PNG",
        trace_commands.configure_plot,
        trace_commands.run_plot_command,
    ),
    Command(
        "handshake",
        "compute a TCP three-way handshake with the wire layer alone, one line per segment",
        _configure_handshake,
        _run_handshake,
    ),
    Command(
        "serve", "serve echo, discard or http (files) over a TAP device", configure_serve, run_serve
    ),
    Command("get", "HTTP GET a URL over a TAP device", configure_get, run_get),
    Command(
        "send", "send N bytes to ADDR:PORT over a TAP device and report", configure_send, run_send
    ),
    Command(
        "connect",
        "netcat-like: stdin/stdout to ADDR:PORT over a TAP device",
        configure_connect,
        run_connect,
    ),
    Command(
        "netns",
        "create or delete a private namespace with a TAP device for synack",
        configure_netns,
        run_netns,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="synack", description="synack: a user-space TCP (RFC 9293) in Python."
    )
    parser.add_argument("--version", action="version", version=f"synack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``synack`` with ``argv`` (default: the process arguments); return the exit status."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args._run
    return run(args)

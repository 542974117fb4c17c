"""``synack handshake``: the three-way handshake computed with the wire layer alone.

Each segment is derived from the one before it (RFC 9293 3.5), emitted to IPv4
bytes, parsed back and rendered. (``synack demo`` runs the real thing on the
simulator.)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

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

__all__ = ["configure", "handshake_lines", "run"]


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


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--client-isn", type=int, default=1000, help="client ISN (default 1000)")
    p.add_argument("--server-isn", type=int, default=5000, help="server ISN (default 5000)")
    p.add_argument(
        "-r", "--relative", action="store_true", help="sequence numbers relative to the ISNs"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show window, options, sizes")


def run(args: argparse.Namespace) -> int:
    for isn in (args.client_isn, args.server_isn):
        if not 0 <= isn < 2**32:
            print(f"synack handshake: ISN {isn} is not in [0, 2**32)", file=sys.stderr)
            return 2
    for line in handshake_lines(
        args.client_isn, args.server_isn, relative=args.relative, verbose=args.verbose
    ):
        print(line)
    return 0

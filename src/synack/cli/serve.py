"""``synack serve``: echo, discard or HTTP (files) over a TAP device."""

from __future__ import annotations

import argparse
import asyncio

from synack.api import aio
from synack.api.apps import ConnectionReport, Handler, discard_handler, echo_handler, http_handler
from synack.cli.base import UsageError
from synack.cli.tap import (
    add_link_options,
    check_link_options,
    describe,
    finish,
    open_runtime,
    run_async,
)
from synack.cli.units import directory, non_negative_int, port

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack serve``."""
    p.add_argument("app", choices=["echo", "discard", "http"], help="what to serve")
    p.add_argument("dir", nargs="?", help="directory to serve (http)")
    p.add_argument("--port", type=port, default=80, help="TCP port (default 80)")
    p.add_argument(
        "--max-connections",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="exit after N connections (0: never)",
    )
    add_link_options(p)


def run(args: argparse.Namespace) -> int:
    """Run ``synack serve``."""
    if args.app == "http":
        if not args.dir:
            raise UsageError("http needs a DIR to serve files from")
        try:
            args.dir = directory(args.dir)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(str(exc)) from None
    elif args.dir:
        raise UsageError(f"{args.app} serves no files: leave out {args.dir!r}")
    check_link_options(args)
    served = 0

    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = open_runtime(args, loop)
        done = loop.create_future()

        def report(rep: ConnectionReport) -> None:
            nonlocal served
            served += 1
            line = f"{rep.peer} received {rep.received} sent {rep.sent} in {rep.seconds:.3f}s"
            if rep.sha256:
                line += f" sha256 {rep.sha256}"
            if rep.error:
                line += f" error {rep.error}"
            print(line, flush=True)
            if args.max_connections and served >= args.max_connections and not done.done():
                done.set_result(None)

        handler: Handler
        if args.app == "echo":
            handler = echo_handler(report)
        elif args.app == "discard":
            handler = discard_handler(report)
        else:
            handler = http_handler(args.dir, report)
        try:
            server = await aio.start_server(handler, port=args.port, runtime=runtime, limit=1 << 20)
            where = " ".join(
                f"[{a[0]}]:{a[1]}" if ":" in a[0] else f"{a[0]}:{a[1]}" for a in server.addresses
            )
            print(f"synack: serving {args.app} on {where} ({describe(runtime)})", flush=True)
            await done
            await runtime.settle(2.0)  # let the last FIN/ACKs go out
            return 0
        finally:
            finish(runtime)

    return run_async(main, command="serve", summary=lambda: f"served {served} connections")

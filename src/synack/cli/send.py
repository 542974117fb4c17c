"""``synack send``: send N bytes to ADDR:PORT over a TAP device and report the SHA-256."""

from __future__ import annotations

import argparse
import asyncio
import sys

from synack.api.apps import send_bytes
from synack.cli.tap import (
    add_link_options,
    connector,
    describe,
    finish,
    log,
    open_runtime,
    run_async,
)
from synack.cli.units import parse_count, parse_hostport

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack send``."""
    add_link_options(p)
    p.add_argument("dest", type=parse_hostport, metavar="ADDR:PORT")
    p.add_argument(
        "--bytes", type=parse_count, default=10**6, metavar="N", help="how much (e.g. 100M)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``synack send``."""

    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = open_runtime(args, loop)
        try:
            log(args, f"synack: {describe(runtime)}")

            connect = connector(runtime)

            host, port = args.dest
            res = await send_bytes(connect, host, port, args.bytes)
            print(
                f"sent {res.bytes} bytes in {res.seconds:.3f}s ({res.mb_per_s:.1f} MB/s) sha256 {res.sha256}"
            )
            await runtime.settle(2.0)
            return 0
        except OSError as exc:
            print(f"synack send: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        finally:
            finish(runtime)

    return run_async(main)

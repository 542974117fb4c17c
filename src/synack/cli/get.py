"""``synack get``: HTTP GET a URL over a TAP device."""

from __future__ import annotations

import argparse
import asyncio
import sys

from synack.api.apps import http_get
from synack.cli.tap import (
    add_link_options,
    connector,
    describe,
    finish,
    log,
    open_runtime,
    run_async,
)

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack get``."""
    add_link_options(p)
    p.add_argument("url", help="http://ADDRESS[:PORT]/PATH")
    p.add_argument("-o", "--output", metavar="FILE", help="write the body here (default: discard)")


def run(args: argparse.Namespace) -> int:
    """Run ``synack get``."""

    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = open_runtime(args, loop)
        try:
            log(args, f"synack: {describe(runtime)}")

            connect = connector(runtime, limit=1 << 20)

            res = await http_get(connect, args.url, args.output)
            print(
                f"HTTP {res.status}: {res.bytes} bytes in {res.seconds:.3f}s "
                f"({res.mb_per_s:.1f} MB/s) sha256 {res.sha256}",
                flush=True,
            )
            return 0 if res.status == 200 else 1
        except OSError as exc:
            print(f"synack get: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        finally:
            finish(runtime)

    return run_async(main)

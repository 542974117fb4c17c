"""``synack connect``: netcat over synack, stdin and stdout to ADDR:PORT over a TAP device."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading

from synack.api import aio
from synack.cli.tap import add_link_options, describe, finish, log, open_runtime, run_async
from synack.cli.units import parse_hostport

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack connect``."""
    add_link_options(p)
    p.add_argument("dest", type=parse_hostport, metavar="ADDR:PORT")


def run(args: argparse.Namespace) -> int:
    """Run ``synack connect``."""

    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = open_runtime(args, loop)
        try:
            host, port = args.dest
            reader, writer = await aio.open_connection(host, port, runtime=runtime)
            log(args, f"synack: connected to {host}:{port} ({describe(runtime)})")

            def pump_stdin() -> None:
                stdin = sys.stdin.buffer
                while chunk := stdin.read1(65536):  # type: ignore[union-attr]
                    loop.call_soon_threadsafe(writer.write, chunk)
                loop.call_soon_threadsafe(writer.write_eof)

            threading.Thread(target=pump_stdin, daemon=True).start()
            out = sys.stdout.buffer
            while data := await reader.read(65536):
                out.write(data)
                out.flush()
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            await runtime.settle(2.0)
            return 0
        except OSError as exc:
            print(f"synack connect: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        finally:
            finish(runtime)

    return run_async(main)

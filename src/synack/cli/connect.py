"""``synack connect``: netcat over synack, stdin and stdout to ADDR:PORT over a TAP device.

stdin is read by the event loop itself (non-blocking, ``loop.add_reader``), not
by a thread: Ctrl-C then stops everything cleanly, even while stdin is idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys

from synack.cli.base import CommandFailed, describe_os_error
from synack.cli.tap import (
    add_client_options,
    add_link_options,
    check_link_options,
    connector,
    describe,
    finish,
    graceful_exit,
    log,
    open_runtime,
    run_async,
)
from synack.cli.units import parse_hostport

__all__ = ["configure", "run"]

_CHUNK = 65536


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack connect``."""
    p.add_argument("dest", type=parse_hostport, metavar="ADDR:PORT")
    add_link_options(p)
    add_client_options(p)


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


async def read_chunk(loop: asyncio.AbstractEventLoop, fd: int) -> bytes:
    """The next chunk from ``fd`` (b"" at end of file), waiting in the loop, not in a thread.

    ``fd`` must be non-blocking; a regular file (which the loop cannot watch) is
    simply read, as it never blocks.
    """
    while True:
        try:
            return os.read(fd, _CHUNK)
        except BlockingIOError:
            pass
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, _wake, ready)
        try:
            await ready
        finally:
            loop.remove_reader(fd)


class _Counts:
    def __init__(self) -> None:
        self.sent = 0
        self.received = 0

    def summary(self) -> str:
        return f"sent {self.sent:,} bytes, received {self.received:,} bytes"


def run(args: argparse.Namespace) -> int:
    """Run ``synack connect``."""
    host, port = args.dest
    check_link_options(args, peers=[host])
    counts = _Counts()

    async def copy_stdin(loop: asyncio.AbstractEventLoop, writer: asyncio.StreamWriter) -> None:
        try:
            fd = sys.stdin.fileno()
        except (AttributeError, ValueError, OSError):  # no stdin at all: nothing to send
            writer.write_eof()
            return
        was_blocking = os.get_blocking(fd)
        os.set_blocking(fd, False)
        try:
            while chunk := await read_chunk(loop, fd):
                writer.write(chunk)
                counts.sent += len(chunk)
                await writer.drain()
            writer.write_eof()
        finally:
            os.set_blocking(fd, was_blocking)

    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = open_runtime(args, loop)
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await connector(runtime, args)(host, port)
            log(args, f"synack: connected to {host}:{port} ({describe(runtime)})")
            pump = asyncio.ensure_future(copy_stdin(loop, writer))
            out = sys.stdout.buffer
            try:
                while data := await reader.read(_CHUNK):
                    counts.received += len(data)
                    out.write(data)
                    out.flush()
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await pump
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            await runtime.settle(2.0)
            return 0
        except asyncio.CancelledError:
            # Ctrl-C: close as the kernel closes the sockets of a process that exits.
            if writer is not None:
                writer.close()
                await graceful_exit(runtime)
            raise
        except OSError as exc:
            raise CommandFailed(f"{describe_os_error(exc)} ({counts.summary()})") from exc
        finally:
            finish(runtime)

    return run_async(main, command="connect", summary=counts.summary, max_time=args.max_time)

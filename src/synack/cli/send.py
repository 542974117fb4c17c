"""``synack send``: send N bytes to ADDR:PORT over a TAP device and report the SHA-256."""

from __future__ import annotations

import argparse
import asyncio

from synack.api.apps import send_bytes
from synack.cli.base import CommandFailed, describe_os_error
from synack.cli.progress import Transfer, add_progress_option, want_progress
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
from synack.cli.units import parse_count, parse_hostport

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack send``."""
    p.add_argument("dest", type=parse_hostport, metavar="ADDR:PORT")
    p.add_argument(
        "--bytes", type=parse_count, default=10**6, metavar="N", help="how much (e.g. 100M)"
    )
    add_link_options(p)
    add_client_options(p)
    add_progress_option(p)


def run(args: argparse.Namespace) -> int:
    """Run ``synack send``."""
    host, port = args.dest
    check_link_options(args, peers=[host])
    transfer = Transfer("sent", args.bytes)

    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = open_runtime(args, loop)
        try:
            log(args, f"synack: {describe(runtime)}")
            if want_progress(args):
                transfer.show()
            res = await send_bytes(
                connector(runtime, args), host, port, args.bytes, progress=transfer.update
            )
            transfer.stop()
            print(
                f"sent {res.bytes} bytes in {res.seconds:.3f}s ({res.mb_per_s:.1f} MB/s) sha256 {res.sha256}",
                flush=True,
            )
            await runtime.settle(2.0)
            return 0
        except asyncio.CancelledError:
            transfer.stop()
            await graceful_exit(runtime)
            raise
        except OSError as exc:
            raise CommandFailed(f"{describe_os_error(exc)} ({transfer.summary()})") from exc
        finally:
            transfer.stop()
            finish(runtime)

    return run_async(main, command="send", summary=transfer.summary, max_time=args.max_time)

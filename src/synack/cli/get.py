"""``synack get``: HTTP GET a URL over a TAP device, the body to stdout or a file, like curl."""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.parse
from pathlib import Path
from typing import BinaryIO

from synack.api.apps import http_get
from synack.cli.base import CommandFailed, UsageError, describe_os_error, silence_stdout
from synack.cli.progress import Transfer, add_progress_option, want_progress
from synack.cli.tap import (
    add_client_options,
    add_link_options,
    check_link_options,
    connector,
    describe,
    finish,
    log,
    open_runtime,
    run_async,
)
from synack.cli.units import output_file, parse_url

__all__ = ["configure", "run"]


def _output(text: str) -> str | Path:
    return "-" if text == "-" else output_file(text)


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack get``."""
    p.add_argument("url", type=parse_url, help="http://ADDRESS[:PORT]/PATH (an IP address)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "-o",
        "--output",
        type=_output,
        metavar="FILE",
        help="write the body to FILE; '-' is stdout (the default, as with curl)",
    )
    where.add_argument(
        "-O",
        "--remote-name",
        action="store_true",
        help="write the body to a file named as the URL's last path segment, here",
    )
    add_link_options(p)
    add_client_options(p)
    add_progress_option(p, when="on a terminal, unless the body goes to it")


class _TerminalGuard:
    """stdout when it is a terminal and nobody asked for it: refuse binary, as curl does."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.checked = False

    def write(self, data: bytes) -> int:
        if not self.checked:
            self.checked = True
            if b"\0" in data:
                raise CommandFailed(
                    "the body is binary: not writing it to the terminal "
                    "(use -o FILE, -O, or -o - to have it anyway)"
                )
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def _remote_name(url: str) -> Path:
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path).rpartition("/")[2]
    if not name or name in (".", ".."):
        raise UsageError(f"-O needs a file name at the end of the URL ({url}): use -o FILE")
    try:
        return output_file(name)
    except argparse.ArgumentTypeError as exc:
        raise CommandFailed(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Run ``synack get``."""
    url = args.url
    check_link_options(args, peers=[url.host])
    to_stdout = not args.remote_name and args.output in (None, "-")
    sink: str | Path | BinaryIO
    if args.remote_name:
        sink = _remote_name(url.url)
    elif not to_stdout:
        sink = args.output
    elif args.output is None and sys.stdout.isatty():
        sink = _TerminalGuard(sys.stdout.buffer)  # type: ignore[assignment]
    else:
        sink = sys.stdout.buffer
    body_on_terminal = to_stdout and sys.stdout.isatty()
    transfer = Transfer("received")

    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = open_runtime(args, loop)
        try:
            log(args, f"synack: {describe(runtime)}")
            if want_progress(args) and (args.progress or not body_on_terminal):
                transfer.show()
            res = await http_get(
                connector(runtime, args, limit=1 << 20), url.url, sink, progress=transfer.update
            )
            transfer.stop()
            line = (
                f"HTTP {res.status}: {res.bytes} bytes in {res.seconds:.3f}s "
                f"({res.mb_per_s:.1f} MB/s) sha256 {res.sha256}"
            )
            # The result goes to stdout, unless the body is there already.
            if not to_stdout:
                print(line, flush=True)
            elif not args.quiet or res.status != 200:
                print(line, file=sys.stderr, flush=True)
            return 0 if res.status == 200 else 1
        except BrokenPipeError as exc:
            silence_stdout()
            raise CommandFailed(
                f"cannot write the body: stdout was closed ({transfer.summary()})"
            ) from exc
        except OSError as exc:
            raise CommandFailed(f"{describe_os_error(exc)} ({transfer.summary()})") from exc
        finally:
            transfer.stop()
            finish(runtime)

    return run_async(main, command="get", summary=transfer.summary, max_time=args.max_time)

"""Per-call cost of the blocking socket API: many small ``send()`` calls (issue 10, finding 6).

Two synack hosts on an in-process wire (``PairLink``) in one stack thread; the
user's thread writes small blocks with ``sock.sendall`` (blocking) to a
receiver that only counts. The number is the application's write rate until the
last byte has been received. The goal: at least 5 MB/s for 100-byte writes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from synack.api import aio  # noqa: E402
from synack.api import socket as ssock  # noqa: E402
from synack.api.runtime import PairLink, Runtime  # noqa: E402
from synack.tcp.endpoint import Endpoint  # noqa: E402

MB = 1_000_000


class _Counter(asyncio.Protocol):
    def __init__(self, total: int, done: threading.Event) -> None:
        self.left = total
        self.done = done

    def data_received(self, data: bytes) -> None:
        self.left -= len(data)
        if self.left <= 0:
            self.done.set()


def small_writes(size: int, total: int) -> float:
    """MB/s of ``total`` bytes written as ``size``-byte blocking sends, until all were received."""
    a, b = PairLink.pair()
    done = threading.Event()

    def client_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint(["10.0.0.1"], isn_secret=b"c" * 32), a, loop)

    def server_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint(["10.0.0.2"], isn_secret=b"s" * 32), b, loop)

    with ssock.Stack(client_rt) as client, ssock.Stack.sibling(client, server_rt) as server:

        async def listen() -> aio.Server:
            return await aio.create_server(
                lambda: _Counter(total, done), port=9, runtime=server.runtime
            )

        server.run(listen(), 10)
        block = b"x" * size
        with ssock.create_connection(("10.0.0.2", 9), timeout=30, stack=client) as sock:
            start = time.perf_counter()
            for _ in range(total // size):
                sock.sendall(block)
            if not done.wait(120):
                raise RuntimeError("the receiver did not get everything")
            return total / (time.perf_counter() - start) / MB


def run(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--total", type=int, default=20 * MB, help="bytes per case")
    args = parser.parse_args(list(argv))
    print(
        "blocking send() of small blocks, synack -> synack over PairLink (goal >= 5 MB/s at 100 B)"
    )
    for size in (100, 1000, 10_000):
        rate = small_writes(size, args.total)
        print(f"  {size:>6} B per send: {rate:7.1f} MB/s ({rate * MB / size:>10,.0f} calls/s)")


if __name__ == "__main__":
    run(sys.argv[1:])

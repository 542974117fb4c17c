"""The options every TAP subcommand shares (``--tap``, ``--addr``, ``--netns``, ...) and the stack they open.

``serve``, ``get``, ``send`` and ``connect`` run synack on a TAP device
(``--tap``, attached if it exists, created otherwise), optionally inside a
network namespace (``--netns``, e.g. one made by ``synack netns up``), with
synack's own addresses (``--addr 10.0.0.5/24``, repeatable, IPv6 too).
:func:`add_link_options` adds the options, :func:`open_runtime` opens the
stack they describe, :func:`finish` closes it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from synack.api import aio
from synack.api.runtime import DeviceLink, Runtime, open_tap_runtime
from synack.cli.units import parse_count
from synack.link.device import DEFAULT_OFFLOADS
from synack.link.impair import Impairment
from synack.trace.jsonl import JsonlWriter
from synack.trace.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapWriter

__all__ = [
    "add_link_options",
    "connector",
    "describe",
    "finish",
    "log",
    "open_runtime",
    "run_async",
]


def add_link_options(p: argparse.ArgumentParser) -> None:
    """Add the link options (one group, ``link``) to a TAP subcommand's parser."""
    g = p.add_argument_group("link")
    g.add_argument(
        "--tap", required=True, metavar="NAME", help="TAP device to attach to (created if missing)"
    )
    g.add_argument(
        "--addr",
        action="append",
        metavar="ADDR/PREFIX",
        help="synack's own address, e.g. 10.0.0.5/24 or fd00::5/64 (repeatable; default 10.0.0.5/24)",
    )
    g.add_argument("--netns", metavar="NAME", help="open the TAP inside this network namespace")
    g.add_argument(
        "--gateway", action="append", default=[], metavar="ADDR", help="default router (per family)"
    )
    g.add_argument(
        "--mtu", type=int, default=1500, help="link MTU (default 1500); the MSS follows it"
    )
    g.add_argument(
        "--tun", action="store_true", help="the device is a TUN (IP packets, no Ethernet)"
    )
    g.add_argument(
        "--no-offload",
        dest="offload",
        action="store_false",
        help="no IFF_VNET_HDR, offloads off: MTU-sized packets with full checksums",
    )
    p.set_defaults(offload=DEFAULT_OFFLOADS)
    g.add_argument(
        "--impair-in",
        type=_impairment,
        metavar="SPEC",
        help="impair received packets, netem-style: loss=2%%,delay=10ms,jitter=1ms,reorder=10%%",
    )
    g.add_argument(
        "--impair-out", type=_impairment, metavar="SPEC", help="impair synack's packets (same SPEC)"
    )
    g.add_argument(
        "--drop",
        type=float,
        default=0.0,
        metavar="P",
        help="drop this fraction of synack's packets",
    )
    g.add_argument("--seed", type=int, default=1, help="seed for the impairments (default 1)")
    g.add_argument(
        "--buffer",
        type=parse_count,
        default=4 << 20,
        metavar="SIZE",
        help="send and receive buffer (default 4Mi)",
    )
    g.add_argument(
        "--pcap", metavar="FILE", help="write every frame synack sends and receives to FILE"
    )
    g.add_argument("--trace", metavar="FILE", help="write the core's trace records as JSON Lines")
    g.add_argument("-q", "--quiet", action="store_true", help="print only results")


# Files a runtime writes (pcap, trace), closed by _finish.
_OUTPUTS: dict[int, list[Callable[[], None]]] = {}


def open_runtime(args: argparse.Namespace, loop: asyncio.AbstractEventLoop) -> Runtime:
    """Open the TAP stack the link options describe, with its pcap and trace files."""
    closers: list[Callable[[], None]] = []
    capture: Callable[[int, str, bytes], None] | None = None
    tracer: JsonlWriter | None = None
    if args.pcap:
        pcap = PcapWriter(args.pcap, LINKTYPE_RAW if args.tun else LINKTYPE_ETHERNET)
        closers.append(pcap.close)
        # pcap wants wall-clock time; the runtime's clock is the loop's monotonic one.
        offset = round(time.time() * 1_000_000) - round(loop.time() * 1_000_000)

        def capture(now: int, direction: str, frame: bytes) -> None:
            pcap.write(now + offset, frame)

    if args.trace:
        tracer = JsonlWriter(args.trace)
        closers.append(tracer.close)
    try:
        runtime = open_tap_runtime(
            tap=args.tap,
            addrs=args.addr or ["10.0.0.5/24"],
            loop=loop,
            netns=args.netns,
            gateways=args.gateway,
            offloads=args.offload,
            mtu=args.mtu,
            kind="tun" if args.tun else "tap",
            impair_in=args.impair_in,
            impair_out=_out_impairment(args),
            seed=args.seed,
            buffer=args.buffer,
            capture=capture,
            tracer=tracer,
        )
    except BaseException:
        for close in closers:
            close()
        raise
    _OUTPUTS[id(runtime)] = closers
    return runtime


def _impairment(text: str) -> Impairment:
    try:
        return Impairment.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _out_impairment(args: argparse.Namespace) -> Impairment | None:
    out: Impairment | None = args.impair_out
    if args.drop:
        out = dataclasses.replace(out or Impairment(), loss=args.drop)
    return out


def describe(runtime: Runtime) -> str:
    """One line about the device: kind, name, MAC and offloads."""
    link = runtime.link
    if not isinstance(link, DeviceLink):
        return "link"
    dev = link.device
    offloads = [n for bit, n in ((1, "csum"), (2, "tso4"), (4, "tso6")) if dev.offload_flags & bit]
    return f"{dev.kind} {dev.name}, mac {link.netif.mac.hex(':')}, offloads {','.join(offloads) or 'off'}"


def finish(runtime: Runtime) -> None:
    """Close the runtime and its output files; report what the impairments did (on stderr)."""
    runtime.close(linger=0)  # the commands settle() first: what is left is reset
    for close in _OUTPUTS.pop(id(runtime), []):
        close()
    link = runtime.link
    if isinstance(link, DeviceLink):
        for name, path in (("in", link.rx_path), ("out", link.tx_path)):
            if path is not None:
                counts = " ".join(f"{k} {v}" for k, v in path.counters.items())
                print(f"synack: impairment {name}: {counts}", file=sys.stderr, flush=True)


def log(args: argparse.Namespace, text: str) -> None:
    """A progress line on stderr, unless ``--quiet``."""
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def run_async(main: Callable[[asyncio.AbstractEventLoop], Coroutine[Any, Any, int]]) -> int:
    """Run ``main(loop)`` in a new event loop; SIGINT/SIGTERM cancel it (exit status 130)."""

    async def wrapper() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(main(loop))
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            return 130

    return asyncio.run(wrapper())


def connector(
    runtime: Runtime, *, limit: int = 2**16
) -> Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
    """``open_connection`` bound to ``runtime``, for the client commands."""

    async def connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await aio.open_connection(host, port, runtime=runtime, limit=limit)

    return connect

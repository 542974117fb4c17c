"""The ``synack serve/get/send/connect/netns`` subcommands: their options and what they run.

``synack.cli`` registers these; each is a ``configure(parser)`` adding options and
a ``run(args) -> exit status``. The stack runs on a TAP device (``--tap``,
attached if it exists, created otherwise), optionally inside a network namespace
(``--netns``, e.g. one made by ``synack netns up``), with synack's own addresses
(``--addr 10.0.0.5/24``, repeatable, IPv6 too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from synack.api import aio
from synack.api.apps import (
    ConnectionReport,
    Handler,
    discard_handler,
    echo_handler,
    http_get,
    http_handler,
    send_bytes,
)
from synack.api.runtime import DeviceLink, Runtime, open_tap_runtime
from synack.link.device import DEFAULT_OFFLOADS
from synack.link.impair import Impairment
from synack.link.netns import NetnsLab, netns_exists
from synack.trace.jsonl import JsonlWriter
from synack.trace.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapWriter

__all__ = [
    "configure_connect",
    "configure_get",
    "configure_netns",
    "configure_send",
    "configure_serve",
    "parse_hostport",
    "parse_size",
    "run_connect",
    "run_get",
    "run_netns",
    "run_send",
    "run_serve",
]

_SIZE_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "ki": 2**10, "mi": 2**20, "gi": 2**30}


def parse_size(text: str) -> int:
    """``1000``, ``20M``, ``1G``, ``64Ki`` (an optional trailing ``B``) as a byte count."""
    t = text.strip().lower()
    t = t.removesuffix("b")
    i = len(t)
    while i and not t[i - 1].isdigit():
        i -= 1
    number, suffix = t[:i], t[i:]
    if not number or suffix not in _SIZE_SUFFIXES or not number.isdigit():
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100M, 1G, 64Ki)")
    return int(number) * _SIZE_SUFFIXES[suffix]


def parse_hostport(text: str) -> tuple[str, int]:
    """``10.0.0.1:80`` or ``[fd00::1]:80``."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"expected ADDRESS:PORT, got {text!r}")
    host = host.removeprefix("[").removesuffix("]")
    return host, int(port)


# ------------------------------------------------------------------ the stack


def _add_link_options(p: argparse.ArgumentParser) -> None:
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
        type=parse_size,
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


def _open_runtime(args: argparse.Namespace, loop: asyncio.AbstractEventLoop) -> Runtime:
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


def _describe(runtime: Runtime) -> str:
    link = runtime.link
    if not isinstance(link, DeviceLink):
        return "link"
    dev = link.device
    offloads = [n for bit, n in ((1, "csum"), (2, "tso4"), (4, "tso6")) if dev.offload_flags & bit]
    return f"{dev.kind} {dev.name}, mac {link.netif.mac.hex(':')}, offloads {','.join(offloads) or 'off'}"


def _finish(runtime: Runtime) -> None:
    """Close the runtime and its output files; report what the impairments did (on stderr)."""
    runtime.close()
    for close in _OUTPUTS.pop(id(runtime), []):
        close()
    link = runtime.link
    if isinstance(link, DeviceLink):
        for name, path in (("in", link.rx_path), ("out", link.tx_path)):
            if path is not None:
                counts = " ".join(f"{k} {v}" for k, v in path.counters.items())
                print(f"synack: impairment {name}: {counts}", file=sys.stderr, flush=True)


def _log(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def _run_async(main: Callable[[asyncio.AbstractEventLoop], Coroutine[Any, Any, int]]) -> int:
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


# ---------------------------------------------------------------------- serve


def configure_serve(p: argparse.ArgumentParser) -> None:
    _add_link_options(p)
    p.add_argument("--port", type=int, default=80, help="TCP port (default 80)")
    p.add_argument(
        "--max-connections",
        type=int,
        default=0,
        metavar="N",
        help="exit after N connections (0: never)",
    )
    p.add_argument("app", choices=["echo", "discard", "http"], help="what to serve")
    p.add_argument("dir", nargs="?", help="directory to serve (http)")


def run_serve(args: argparse.Namespace) -> int:
    if args.app == "http" and not args.dir:
        print("synack serve: http needs a DIR", file=sys.stderr)
        return 2

    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = _open_runtime(args, loop)
        done = loop.create_future()
        served = 0

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
            print(f"synack: serving {args.app} on {where} ({_describe(runtime)})", flush=True)
            await done
            await runtime.settle(2.0)  # let the last FIN/ACKs go out
            return 0
        finally:
            _finish(runtime)

    return _run_async(main)


# ------------------------------------------------------------------------ get


def configure_get(p: argparse.ArgumentParser) -> None:
    _add_link_options(p)
    p.add_argument("url", help="http://ADDRESS[:PORT]/PATH")
    p.add_argument("-o", "--output", metavar="FILE", help="write the body here (default: discard)")


def run_get(args: argparse.Namespace) -> int:
    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = _open_runtime(args, loop)
        try:
            _log(args, f"synack: {_describe(runtime)}")

            connect = _connector(runtime, limit=1 << 20)

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
            _finish(runtime)

    return _run_async(main)


def _connector(
    runtime: Runtime, **kwargs: int
) -> Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
    """``open_connection`` bound to ``runtime``, for the client commands."""

    async def connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await aio.open_connection(host, port, runtime=runtime, **kwargs)

    return connect


# ----------------------------------------------------------------------- send


def configure_send(p: argparse.ArgumentParser) -> None:
    _add_link_options(p)
    p.add_argument("dest", type=parse_hostport, metavar="ADDR:PORT")
    p.add_argument(
        "--bytes", type=parse_size, default=10**6, metavar="N", help="how much (e.g. 100M)"
    )


def run_send(args: argparse.Namespace) -> int:
    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = _open_runtime(args, loop)
        try:
            _log(args, f"synack: {_describe(runtime)}")

            connect = _connector(runtime)

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
            _finish(runtime)

    return _run_async(main)


# -------------------------------------------------------------------- connect


def configure_connect(p: argparse.ArgumentParser) -> None:
    _add_link_options(p)
    p.add_argument("dest", type=parse_hostport, metavar="ADDR:PORT")


def run_connect(args: argparse.Namespace) -> int:
    async def main(loop: asyncio.AbstractEventLoop) -> int:
        runtime = _open_runtime(args, loop)
        try:
            host, port = args.dest
            reader, writer = await aio.open_connection(host, port, runtime=runtime)
            _log(args, f"synack: connected to {host}:{port} ({_describe(runtime)})")

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
            _finish(runtime)

    return _run_async(main)


# ---------------------------------------------------------------------- netns


def configure_netns(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["up", "down"], help="create or delete")
    p.add_argument("name", help="namespace name")
    p.add_argument("--tap", default="tap0", help="TAP device inside it (default tap0)")
    p.add_argument(
        "--kernel-addr",
        action="append",
        metavar="ADDR/PREFIX",
        help="the kernel's address on the TAP (repeatable; default 10.0.0.1/24 and fd00::1/64)",
    )


def run_netns(args: argparse.Namespace) -> int:
    lab = NetnsLab(args.name, tap=args.tap)
    if args.kernel_addr:
        lab.kernel_addrs = tuple(args.kernel_addr)
    if args.action == "down":
        if not netns_exists(args.name):
            print(f"synack netns: no namespace {args.name!r}", file=sys.stderr)
            return 1
        lab.down()
        print(f"deleted namespace {args.name}")
        return 0
    if netns_exists(args.name):
        print(f"synack netns: namespace {args.name!r} exists already", file=sys.stderr)
        return 1
    try:
        lab.up()
    except Exception as exc:
        print(f"synack netns: {exc}", file=sys.stderr)
        return 1
    kaddrs = ", ".join(lab.kernel_addrs)
    print(f"namespace {args.name}: {args.tap} with kernel address {kaddrs}")
    print("next:")
    print(
        f"  synack serve --netns {args.name} --tap {args.tap} --addr 10.0.0.5/24 --port 80 http ."
    )
    print(f"  ip netns exec {args.name} curl -o /dev/null http://10.0.0.5/FILE")
    print(f"  synack netns down {args.name}")
    return 0

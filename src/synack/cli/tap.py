"""The options every TAP subcommand shares (``--tap``, ``--addr``, ``--netns``, ...) and the stack they open.

``serve``, ``get``, ``send`` and ``connect`` run synack on a TAP device
(``--tap``, attached if it exists, created otherwise), optionally inside a
network namespace (``--netns``, e.g. one made by ``synack netns up``), with
synack's own addresses (``--addr 10.0.0.5/24``, repeatable, IPv6 too).

This module is the one place where those options are defined and checked:
:func:`add_link_options` adds them (each with an argparse type that refuses a
malformed value), :func:`check_link_options` checks what needs more than one
option or the machine (the namespace exists, IPv6 has a large enough MTU, the
peer's family has an address), :func:`open_runtime` opens the stack and turns
the ways that can fail into one line, :func:`finish` closes it.
:func:`run_async` runs a command's coroutine with Ctrl-C and ``--max-time``
handling, :func:`connector` applies ``--connect-timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import ipaddress
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from synack.api import aio
from synack.api.runtime import DeviceLink, Runtime, open_tap_runtime, tap_config
from synack.cli.base import CommandFailed, UsageError, describe_os_error
from synack.cli.units import (
    MIN_MTU_IPV6,
    host_address,
    interface_address,
    interface_name,
    link_mtu,
    namespace_name,
    output_file,
    parse_count,
    positive_float,
    probability,
)
from synack.link.device import DEFAULT_OFFLOADS
from synack.link.impair import Impairment
from synack.link.netns import in_netns, netns_exists
from synack.trace.jsonl import JsonlWriter
from synack.trace.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapWriter

__all__ = [
    "DEFAULT_ADDR",
    "add_client_options",
    "add_link_options",
    "check_link_options",
    "connector",
    "describe",
    "finish",
    "graceful_exit",
    "log",
    "open_runtime",
    "run_async",
]

DEFAULT_ADDR = "10.0.0.5/24"
# RFC 4291 2.5.6: link-local addresses are on every IPv6 link.
_LINK_LOCAL6 = ipaddress.ip_network("fe80::/10")
# The smallest send/receive buffer: one maximum-size segment's worth.
MIN_BUFFER = 1024


def _buffer_size(text: str) -> int:
    value = parse_count(text)
    if value < MIN_BUFFER:
        raise argparse.ArgumentTypeError(
            f"a buffer needs at least {MIN_BUFFER} bytes, got {text!r}"
        )
    return value


def _impairment(text: str) -> Impairment:
    try:
        return Impairment.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_link_options(p: argparse.ArgumentParser) -> None:
    """Add the link options (one group, ``link``) to a TAP subcommand's parser."""
    g = p.add_argument_group("link")
    g.add_argument(
        "--tap",
        required=True,
        type=interface_name,
        metavar="NAME",
        help="TAP device to attach to (created if missing)",
    )
    g.add_argument(
        "--addr",
        action="append",
        type=interface_address,
        metavar="ADDR[/PREFIX]",
        help=f"synack's own address, e.g. 10.0.0.5/24 or fd00::5/64; without a prefix /24 "
        f"(IPv4) or /64 (IPv6) (repeatable; default {DEFAULT_ADDR})",
    )
    g.add_argument(
        "--netns",
        type=namespace_name,
        metavar="NAME",
        help="open the TAP inside this network namespace (see synack netns up)",
    )
    g.add_argument(
        "--gateway",
        action="append",
        default=[],
        type=host_address,
        metavar="ADDR",
        help="default router (per family)",
    )
    g.add_argument(
        "--mtu", type=link_mtu, default=1500, help="link MTU (default 1500); the MSS follows it"
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
        help="impair received packets, netem-style: loss=2%%,delay=10ms,jitter=1ms,reorder=10%%,"
        "mark=5%% (CE on ECN-capable packets)",
    )
    g.add_argument(
        "--impair-out", type=_impairment, metavar="SPEC", help="impair synack's packets (same SPEC)"
    )
    g.add_argument(
        "--drop",
        type=probability,
        default=0.0,
        metavar="P",
        help="drop this fraction of synack's packets (0 to 1)",
    )
    g.add_argument("--seed", type=int, default=1, help="seed for the impairments (default 1)")
    g.add_argument(
        "--ecn",
        action="store_true",
        help="Explicit Congestion Notification (RFC 3168): ask for it in the SYN (or agree in "
        "the SYN-ACK), send data ECN-capable, slow down on CE marks",
    )
    g.add_argument(
        "--buffer",
        type=_buffer_size,
        default=4 << 20,
        metavar="SIZE",
        help="send and receive buffer (default 4Mi)",
    )
    g.add_argument(
        "--pcap",
        type=output_file,
        metavar="FILE",
        help="write every frame synack sends and receives to FILE",
    )
    g.add_argument(
        "--trace",
        type=output_file,
        metavar="FILE",
        help="write the core's trace records as JSON Lines",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="print only results")


def add_client_options(p: argparse.ArgumentParser) -> None:
    """``--connect-timeout`` and ``--max-time``, as curl has them."""
    g = p.add_argument_group("time limits")
    g.add_argument(
        "--connect-timeout",
        type=positive_float,
        metavar="SECONDS",
        help="give up if the connection is not open within this time "
        "(default: when the SYN retransmissions run out, about 3 minutes)",
    )
    g.add_argument(
        "-m",
        "--max-time",
        type=positive_float,
        metavar="SECONDS",
        help="give up if the whole operation takes longer than this",
    )


def check_link_options(args: argparse.Namespace, peers: Sequence[str] = ()) -> None:
    """Check what no single option's type can: raise :class:`UsageError` or :class:`CommandFailed`.

    ``peers`` are the addresses the command will talk to: each needs an address
    of its family among ``--addr``.
    """
    if not args.addr:
        args.addr = [DEFAULT_ADDR]
    ifaces = [ipaddress.ip_interface(a) for a in args.addr]
    families = {i.version for i in ifaces}
    if 6 in families and args.mtu < MIN_MTU_IPV6:
        raise UsageError(
            f"IPv6 needs an MTU of at least {MIN_MTU_IPV6} (RFC 8200 5), got --mtu {args.mtu}"
        )

    def on_link(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return addr in _LINK_LOCAL6 or any(addr in i.network for i in ifaces)

    def networks(version: int) -> str:
        return ", ".join(str(i) for i in ifaces if i.version == version)

    gateways = {ipaddress.ip_address(g) for g in args.gateway}
    for gateway in gateways:
        if gateway.version not in families:
            raise UsageError(f"--gateway {gateway}: no --addr of its IP version")
        if not on_link(gateway):
            # As `ip route add default via` refuses it: a router must be a neighbour.
            raise UsageError(
                f"--gateway {gateway} is on none of synack's networks "
                f"({networks(gateway.version)}): a gateway must be on the link"
            )
    for peer in peers:
        addr = ipaddress.ip_address(peer)
        version = addr.version
        if version not in families:
            example = "fd00::5/64" if version == 6 else DEFAULT_ADDR
            raise UsageError(
                f"{peer} is an IPv{version} address but synack has no IPv{version} "
                f"address: add --addr {example}"
            )
        if any(addr == i.ip for i in ifaces):
            raise UsageError(
                f"{peer} is synack's own address (--addr): synack has no loopback; "
                "talk to another host on the link"
            )
        if not on_link(addr) and not any(g.version == version for g in gateways):
            # Linux's connect() would fail with ENETUNREACH: there is no route.
            raise UsageError(
                f"{peer} is on none of synack's networks ({networks(version)}) and there "
                f"is no --gateway: add --gateway ROUTER, or an --addr on {peer}'s network"
            )
    if args.netns is not None and not netns_exists(args.netns):
        raise CommandFailed(
            f"no network namespace {args.netns!r} (create one with: synack netns up {args.netns})"
        )


# Files a runtime writes (pcap, trace), closed by finish().
_OUTPUTS: dict[int, list[Callable[[], None]]] = {}


def _device_exists(name: str, netns: str | None) -> bool:
    try:
        with in_netns(netns):
            socket.if_nametoindex(name)
    except OSError:
        return False
    return True


def open_runtime(args: argparse.Namespace, loop: asyncio.AbstractEventLoop) -> Runtime:
    """Open the TAP stack the link options describe, with its pcap and trace files.

    Every way this can fail that the user can fix raises :class:`CommandFailed`
    with one line; nothing is left open.
    """
    check_link_options(args)
    existed = _device_exists(args.tap, args.netns)
    closers: list[Callable[[], None]] = []
    capture: Callable[[int, str, bytes], None] | None = None
    tracer: JsonlWriter | None = None
    try:
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
        runtime = open_tap_runtime(
            tap=args.tap,
            addrs=args.addr,
            loop=loop,
            netns=args.netns,
            gateways=args.gateway,
            offloads=args.offload,
            mtu=args.mtu,
            kind="tun" if args.tun else "tap",
            impair_in=args.impair_in,
            impair_out=_out_impairment(args),
            seed=args.seed,
            config=tap_config(args.mtu, args.buffer, ecn=args.ecn),
            capture=capture,
            tracer=tracer,
        )
    except OSError as exc:
        for close in closers:
            close()
        raise CommandFailed(_device_error(args, exc)) from exc
    except BaseException:
        for close in closers:
            close()
        raise
    _OUTPUTS[id(runtime)] = closers
    if not existed:
        kind = "TUN" if args.tun else "TAP"
        log(
            args,
            f"synack: created {kind} device {args.tap}; it is down with no kernel address "
            f"until you run: ip addr add ADDR/PREFIX dev {args.tap} && ip link set {args.tap} up",
        )
    return runtime


def _device_error(args: argparse.Namespace, exc: OSError) -> str:
    kind = "TUN" if args.tun else "TAP"
    if exc.errno == errno.EBUSY:
        return f"{args.tap} is in use by another process (one process per {kind} device)"
    if exc.errno in (errno.EPERM, errno.EACCES):
        return (
            f"cannot open {kind} device {args.tap}: permission denied (needs root or CAP_NET_ADMIN)"
        )
    if exc.errno == errno.ENOENT and exc.filename == "/dev/net/tun":
        return "no /dev/net/tun: this kernel has no TUN/TAP driver loaded (modprobe tun)"
    if exc.errno == errno.EINVAL:
        return f"cannot open {args.tap}: {exc.strerror}"
    return f"cannot open {kind} device {args.tap}: {describe_os_error(exc)}"


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
    """Close the runtime (RST for what is still open) and its output files; report impairments."""
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


def run_async(
    main: Callable[[asyncio.AbstractEventLoop], Coroutine[Any, Any, int]],
    *,
    command: str,
    summary: Callable[[], str] | None = None,
    max_time: float | None = None,
) -> int:
    """Run ``main(loop)`` in a new event loop, with Ctrl-C and ``--max-time``.

    SIGINT or SIGTERM cancels ``main`` (a second one cancels its clean-up too);
    the command then prints one line, with ``summary()`` (what it had done, as
    iperf3 does), and exits with status 130 (128 + SIGINT). ``max_time`` seconds
    cancel it the same way and raise :class:`CommandFailed`.
    """
    why: list[str] = []

    async def wrapper() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(main(loop))

        def stop(reason: str) -> None:
            why.append(reason)
            task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, "interrupted")
        timer = loop.call_later(max_time, stop, "max_time") if max_time is not None else None
        try:
            return await task
        except asyncio.CancelledError:
            return -1
        finally:
            if timer is not None:
                timer.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    status = asyncio.run(wrapper())
    if status != -1:
        return status
    done = f": {summary()}" if summary is not None else ""
    if why and why[0] == "max_time":
        raise CommandFailed(f"gave up after {max_time:g} s (--max-time){done}")
    print(f"synack {command}: interrupted{done}", file=sys.stderr, flush=True)
    return 130


def connector(
    runtime: Runtime, args: argparse.Namespace, *, limit: int = 2**16
) -> Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
    """``open_connection`` bound to ``runtime``, with ``--connect-timeout``; failures are one line."""

    async def connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            return await asyncio.wait_for(
                aio.open_connection(host, port, runtime=runtime, limit=limit), args.connect_timeout
            )
        except TimeoutError:
            if args.connect_timeout is None:
                raise CommandFailed(
                    f"cannot connect to {where}: the SYN was never answered"
                ) from None
            raise CommandFailed(
                f"cannot connect to {where} within {args.connect_timeout:g} s (--connect-timeout)"
            ) from None
        except ConnectionRefusedError:
            raise CommandFailed(f"cannot connect to {where}: connection refused") from None
        except OSError as exc:
            raise CommandFailed(f"cannot connect to {where}: {describe_os_error(exc)}") from None

    return connect


async def graceful_exit(runtime: Runtime, seconds: float = 1.0) -> None:
    """After a cancelled transfer: let FINs go out for a moment, as the kernel would after exit.

    A process that exits has its sockets closed for it: queued data and a FIN go
    out. synack's stack lives in this process, so it waits ``seconds`` at most
    for that, then :func:`finish` resets what is left.
    """
    with contextlib.suppress(asyncio.CancelledError):
        await runtime.settle(seconds)

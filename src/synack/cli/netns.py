"""``synack netns up|down``: a private network namespace with a TAP device for synack."""

from __future__ import annotations

import argparse
import os

from synack.cli.base import CommandFailed
from synack.cli.units import interface_address, interface_name, namespace_name
from synack.link.netns import NetnsError, NetnsLab, delete_netns, netns_exists

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``synack netns``."""
    p.add_argument("action", choices=["up", "down"], help="create or delete")
    p.add_argument(
        "name", type=namespace_name, help="namespace name (letters, digits, '_', '.', '-')"
    )
    p.add_argument(
        "--tap", type=interface_name, default="tap0", help="TAP device inside it (default tap0)"
    )
    p.add_argument(
        "--kernel-addr",
        action="append",
        type=interface_address,
        metavar="ADDR/PREFIX",
        help="the kernel's address on the TAP (repeatable; default 10.0.0.1/24 and fd00::1/64)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``synack netns``."""
    lab = NetnsLab(args.name, tap=args.tap)
    if args.kernel_addr:
        lab.kernel_addrs = tuple(args.kernel_addr)
    if args.action == "down":
        if not netns_exists(args.name):
            raise CommandFailed(f"no namespace {args.name!r}")
        try:
            delete_netns(args.name, check=True)
        except NetnsError as exc:
            raise CommandFailed(_with_hint(exc)) from None
        print(f"deleted namespace {args.name}")
        return 0
    if netns_exists(args.name):
        raise CommandFailed(f"namespace {args.name!r} exists already")
    try:
        lab.up()  # deletes what it made if a step fails
    except NetnsError as exc:
        raise CommandFailed(_with_hint(exc)) from None
    kaddrs = ", ".join(lab.kernel_addrs)
    print(f"namespace {args.name}: {args.tap} with kernel address {kaddrs}")
    print("next:")
    print(
        f"  synack serve --netns {args.name} --tap {args.tap} --addr 10.0.0.5/24 --port 80 http ."
    )
    print(f"  ip netns exec {args.name} curl -o /dev/null http://10.0.0.5/FILE")
    print(f"  synack netns down {args.name}")
    return 0


def _with_hint(exc: NetnsError) -> str:
    """``ip``'s reason, and what to do when it is a matter of privilege."""
    text = str(exc)
    if os.geteuid() != 0 and ("not permitted" in text or "denied" in text):
        text += " (network namespaces need root or CAP_SYS_ADMIN)"
    return text

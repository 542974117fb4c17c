"""Argument types shared by the subcommands: counts with suffixes, probabilities, ADDR:PORT.

Each is an ``argparse`` ``type=`` function: it returns the value or raises
:class:`argparse.ArgumentTypeError`, which argparse turns into a one-line usage
error (exit status 2).
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
import urllib.parse
from pathlib import Path
from typing import NamedTuple

from synack import units

__all__ = [
    "HttpUrl",
    "directory",
    "host_address",
    "interface_address",
    "interface_name",
    "link_mtu",
    "namespace_name",
    "non_negative_float",
    "non_negative_int",
    "output_file",
    "parse_count",
    "parse_hostport",
    "parse_queue",
    "parse_url",
    "port",
    "positive_count",
    "positive_float",
    "probability",
    "segment_size",
]

# Without a prefix, --addr gets the usual size of a LAN: /24 for IPv4, /64 for IPv6
# (RFC 4291 2.5.4: interface identifiers are 64 bits). A /32 would make every peer
# off-link, so every packet would need a gateway.
DEFAULT_PREFIX = {4: 24, 6: 64}
# The MSS is the MTU less 40 octets of IPv4 and TCP headers, and synack's core (like
# Linux, TCP_MIN_MSS) takes no MSS under 88: so an MTU of at least 128. An IPv4 packet
# is at most 65535 octets (RFC 791), and so is the MTU of a Linux TUN/TAP device.
MIN_MTU, MAX_MTU = 128, 65535
MIN_MSS, MAX_MSS = 88, 65495
# RFC 8200 5: IPv6 needs links with an MTU of at least 1280 octets.
MIN_MTU_IPV6 = 1280


def parse_count(text: str) -> int:
    """``10000``, ``10M``, ``1G``, ``64Ki``, ``1.5MB`` (optionally ending in ``B``) as an int."""
    try:
        return units.parse_count(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_queue(text: str) -> tuple[int | None, int | None]:
    """``100`` or ``100p`` packets; ``64KB``/``150000B`` bytes -> (packets, bytes)."""
    try:
        return units.parse_queue(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def probability(text: str) -> float:
    """A probability in [0, 1]."""
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a probability: {text!r}") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"probability must be in [0, 1], got {p}")
    return p


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (no ``nan`` or ``inf``: a time or a rate has to end somewhere)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def non_negative_int(text: str) -> int:
    """A whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_count(text: str) -> int:
    """A count (with suffixes, see :func:`parse_count`) of at least 1."""
    value = parse_count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    v = non_negative_float(text)
    if v == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return v


def port(text: str) -> int:
    """A TCP port, 1 to 65535 (port 0 is not a port one can connect to or serve on)."""
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, got {text!r}")
    return int(text)


def host_address(text: str) -> str:
    """An IPv4 or IPv6 address (synack resolves no names), in its canonical form."""
    try:
        return str(ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]")))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an IP address: {text!r} (synack has no DNS: use 10.0.0.1 or fd00::1)"
        ) from None


def parse_hostport(text: str) -> tuple[str, int]:
    """``10.0.0.1:80`` or ``[fd00::1]:80``: an IP address and a port."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected ADDRESS:PORT, got {text!r}")
    if ":" in host and not host.startswith("["):
        raise argparse.ArgumentTypeError(f"write an IPv6 address in brackets: [{host}]:{port_text}")
    if host.startswith("[") != host.endswith("]"):
        raise argparse.ArgumentTypeError(f"unbalanced brackets in {text!r} (try [fd00::1]:80)")
    return host_address(host), port(port_text)


def interface_address(text: str) -> str:
    """``10.0.0.5/24`` or ``fd00::5/64``; without a prefix, /24 (IPv4) or /64 (IPv6)."""
    t = text.strip()
    try:
        if "/" not in t:
            t = f"{t}/{DEFAULT_PREFIX[ipaddress.ip_address(t).version]}"
        iface = ipaddress.ip_interface(t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an address with a prefix: {text!r} (try 10.0.0.5/24 or fd00::5/64)"
        ) from None
    if iface.ip.is_multicast or iface.ip.is_unspecified:
        raise argparse.ArgumentTypeError(f"{iface.ip} cannot be a host's own address")
    return str(iface)


def segment_size(text: str) -> int:
    """An MSS in octets, 88 to 65495 (what fits a 65535-octet IPv4 packet)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of octets: {text!r}") from None
    if not MIN_MSS <= value <= MAX_MSS:
        raise argparse.ArgumentTypeError(f"an MSS is {MIN_MSS} to {MAX_MSS} octets, got {value}")
    return value


def link_mtu(text: str) -> int:
    """A link MTU in octets, 68 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of octets: {text!r}") from None
    if not MIN_MTU <= value <= MAX_MTU:
        raise argparse.ArgumentTypeError(f"an MTU is {MIN_MTU} to {MAX_MTU} octets, got {value}")
    return value


# Linux interface names: at most IFNAMSIZ - 1 = 15 bytes, no "/", ":" or whitespace,
# not "." or ".." (dev_valid_name in net/core/dev.c).
_IFNAME = re.compile(r"[^/:\s]{1,15}")


def interface_name(text: str) -> str:
    """A Linux network interface name such as ``tap0``."""
    if not _IFNAME.fullmatch(text) or text in (".", "..") or len(text.encode()) > 15:
        raise argparse.ArgumentTypeError(
            f"not an interface name: {text!r} (1 to 15 characters, no '/', ':' or spaces)"
        )
    return text


# The names `ip netns` keeps in /run/netns (and synack.link.netns accepts).
_NETNS = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def namespace_name(text: str) -> str:
    """A network namespace name: letters, digits, ``_ . -``, at most 64 characters."""
    if not _NETNS.fullmatch(text) or text in (".", ".."):
        raise argparse.ArgumentTypeError(
            f"not a namespace name: {text!r} (letters, digits, '_', '.', '-'; up to 64)"
        )
    return text


def output_file(text: str) -> Path:
    """A file the command will write: checked now, so a long run does not fail at its end.

    The check opens the file for appending (as root, permission bits say little)
    and removes it again if it did not exist.
    """
    path = Path(text)
    try:
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"cannot write {text}: it is a directory")
        if not path.parent.is_dir():
            raise argparse.ArgumentTypeError(f"cannot write {text}: no directory {path.parent}")
        existed = path.exists()
        with path.open("ab"):
            pass
    except OSError as exc:  # e.g. a directory on the way that we may not search
        raise argparse.ArgumentTypeError(f"cannot write {text}: {exc.strerror}") from None
    if not existed:
        path.unlink(missing_ok=True)
    return path


def directory(text: str) -> Path:
    """An existing, readable directory."""
    path = Path(text)
    try:
        is_dir = path.is_dir()
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read directory {text}: {exc.strerror}") from None
    if not is_dir:
        raise argparse.ArgumentTypeError(f"no directory {text}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot read directory {text}: permission denied")
    return path


class HttpUrl(NamedTuple):
    """An ``http://ADDRESS[:PORT]/PATH`` URL, checked."""

    url: str
    host: str
    port: int
    path: str


def parse_url(text: str) -> HttpUrl:
    """``http://10.0.0.1:8000/file`` or ``http://[fd00::1]/``: http, an IP address, a port."""
    hint = "(try http://10.0.0.1:8000/FILE)"
    bad = [c for c in text if not "!" <= c <= "~"]
    if bad:
        # RFC 3986 2: a URL is printable ASCII; anything else travels percent-encoded.
        raise argparse.ArgumentTypeError(
            f"{bad[0]!r} cannot be in a URL: percent-encode it (a space is %20), in {text!r}"
        )
    parts = urllib.parse.urlsplit(text)
    if parts.scheme != "http":
        what = f"{parts.scheme}:// URLs" if parts.scheme else "URLs without http://"
        raise argparse.ArgumentTypeError(f"{what} are not supported, only http:// {hint}")
    if not parts.hostname:
        raise argparse.ArgumentTypeError(f"no host in {text!r} {hint}")
    try:
        port_number = parts.port
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}: a port is 1 to 65535") from None
    if port_number == 0:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}: a port is 1 to 65535")
    return HttpUrl(text, host_address(parts.hostname), port_number or 80, parts.path or "/")

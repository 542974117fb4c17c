"""Shell commands in backticks: the well-known sysctls, mapped to synack's :class:`Config`.

packetdrill scripts set up the kernel with shell commands
(```sysctl -q net.ipv4.tcp_sack=0```). synack has no sysctls; it has a
:class:`~synack.tcp.Config`. :data:`SYSCTLS` is the table from one to the
other, for the settings scripts commonly change. A command made only of
``sysctl`` assignments from the table (and ``ip route ... initcwnd N``) is
understood: its :class:`Config` changes apply to sockets created after it, and
``--linux`` mode applies the same settings to the kernel in the runner's
namespace. Any other command is reported and skipped, never run on synack,
and in ``--linux`` mode run (inside the namespace) only with ``--allow-shell``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["SYSCTLS", "ParsedCommand", "Sysctl", "parse_command"]


@dataclass(frozen=True, slots=True)
class Sysctl:
    """One row of the table: the sysctl, what it sets in :class:`Config`, and how."""

    name: str
    config: str
    convert: Callable[[str], dict[str, Any]]
    doc: str


def _flag(field_name: str) -> Callable[[str], dict[str, Any]]:
    def convert(value: str) -> dict[str, Any]:
        if value not in ("0", "1"):
            raise ValueError(f"expected 0 or 1, got {value!r}")
        return {field_name: value == "1"}

    return convert


def _int(field_name: str, scale: int = 1) -> Callable[[str], dict[str, Any]]:
    def convert(value: str) -> dict[str, Any]:
        return {field_name: int(value) * scale}

    return convert


def _orphan_retries(value: str) -> dict[str, Any]:
    # Linux's tcp_orphan_retries(): "0 means 8" (the default).
    n = int(value)
    return {"orphan_retries": n if n > 0 else 8}


def _triple(field_name: str, index: int) -> Callable[[str], dict[str, Any]]:
    def convert(value: str) -> dict[str, Any]:
        parts = value.split()
        if len(parts) != 3:
            raise ValueError(f"expected three numbers 'min default max', got {value!r}")
        return {field_name: int(parts[index])}

    return convert


def _ecn(value: str) -> dict[str, Any]:
    # Linux: 0 off, 1 request and accept ECN (RFC 3168), 2 accept only (its
    # default), 3 and up Accurate ECN. synack's Config.ecn both requests and accepts.
    if value not in ("0", "1"):
        raise ValueError(
            "synack negotiates RFC 3168 ECN both ways or not at all: "
            "tcp_ecn=0 or 1 (no accept-only 2, no Accurate ECN 3)"
        )
    return {"ecn": value == "1"}


def _cc(value: str) -> dict[str, Any]:
    names = {"reno": "newreno", "cubic": "cubic", "bbr": "bbr"}
    if value not in names:
        raise ValueError(f"congestion control {value!r}: synack has reno, cubic and bbr")
    return {"congestion_control": names[value]}


def _recovery(value: str) -> dict[str, Any]:
    # Linux's tcp_recovery bit 0 (0x1) turns RACK loss detection on.
    return {"rack": bool(int(value, 0) & 1)}


SYSCTLS: Final[dict[str, Sysctl]] = {
    s.name: s
    for s in (
        Sysctl("net.ipv4.tcp_sack", "sack", _flag("sack"), "offer SACK-permitted (RFC 2018)"),
        Sysctl("net.ipv4.tcp_dsack", "dsack", _flag("dsack"), "send D-SACK blocks (RFC 2883)"),
        Sysctl(
            "net.ipv4.tcp_timestamps",
            "timestamps",
            _flag("timestamps"),
            "offer the Timestamps option (RFC 7323)",
        ),
        Sysctl(
            "net.ipv4.tcp_window_scaling",
            "window_scaling",
            _flag("window_scaling"),
            "offer Window Scale (RFC 7323)",
        ),
        Sysctl(
            "net.ipv4.tcp_ecn", "ecn", _ecn, "0 or 1: RFC 3168 ECN off, or requested and accepted"
        ),
        Sysctl(
            "net.ipv4.tcp_ecn_fallback",
            "ecn_fallback",
            _flag("ecn_fallback"),
            "a resent SYN is a non-ECN-setup SYN (RFC 3168 6.1.1.1)",
        ),
        Sysctl(
            "net.ipv4.tcp_rto_min_us",
            "min_rto",
            _int("min_rto"),
            "lower bound of the RTO, microseconds (Linux 6.11+)",
        ),
        Sysctl(
            "net.ipv4.tcp_syn_retries",
            "syn_retries",
            _int("syn_retries"),
            "SYN retransmissions before connect() fails",
        ),
        Sysctl(
            "net.ipv4.tcp_retries2",
            "data_retries_r2",
            _int("data_retries_r2"),
            "RFC 9293 R2: data retransmissions before the connection is dropped",
        ),
        Sysctl(
            "net.ipv4.tcp_orphan_retries",
            "orphan_retries",
            _orphan_retries,
            "timeouts or zero-window probes before an orphaned connection is dropped (0 means 8)",
        ),
        Sysctl(
            "net.ipv4.tcp_keepalive_time",
            "keepalive_idle",
            _int("keepalive_idle", 1_000_000),
            "idle seconds before the first keep-alive",
        ),
        Sysctl(
            "net.ipv4.tcp_keepalive_intvl",
            "keepalive_interval",
            _int("keepalive_interval", 1_000_000),
            "seconds between keep-alives",
        ),
        Sysctl(
            "net.ipv4.tcp_keepalive_probes",
            "keepalive_probes",
            _int("keepalive_probes"),
            "unanswered keep-alives before the connection is dropped",
        ),
        Sysctl(
            "net.ipv4.tcp_congestion_control",
            "congestion_control",
            _cc,
            "reno (synack's newreno), cubic or bbr",
        ),
        Sysctl(
            "net.ipv4.tcp_recovery",
            "rack",
            _recovery,
            "bit 0x1: RACK-TLP loss detection (RFC 8985)",
        ),
        Sysctl(
            "net.ipv4.tcp_rmem",
            "recv_buffer",
            _triple("recv_buffer", 2),
            "'min default max': the max sizes the receive buffer (and so the window scale)",
        ),
        Sysctl(
            "net.ipv4.tcp_wmem",
            "send_buffer",
            _triple("send_buffer", 1),
            "'min default max': the default sizes the send buffer",
        ),
    )
}
"""The sysctls the runner understands, by name."""


@dataclass
class ParsedCommand:
    """What a backtick command means to the runner.

    ``config`` are the :class:`Config` changes; ``sysctls`` the ``(name, value)``
    assignments to apply to the kernel in ``--linux`` mode; ``route`` the
    ``ip route`` attributes (``initcwnd``) to apply there. ``unknown`` is the
    command when it is not understood as a whole (it is skipped).
    """

    config: dict[str, Any] = field(default_factory=dict)
    sysctls: list[tuple[str, str]] = field(default_factory=list)
    route: dict[str, str] = field(default_factory=dict)
    unknown: str | None = None


def parse_command(text: str) -> ParsedCommand:
    """Interpret a backtick command. Raises ``ValueError`` for a bad known value."""
    out = ParsedCommand()
    for part in _split(text):
        try:
            words = shlex.split(part)
        except ValueError:
            out.unknown = text
            return out
        if not words:
            continue
        if words[0] == "sysctl":
            if not _sysctl(words[1:], out):
                out.unknown = text
                return out
        elif words[:2] == ["ip", "route"] and "initcwnd" in words:
            value = words[words.index("initcwnd") + 1 :][:1]
            if not value or not value[0].isdigit():
                raise ValueError("ip route ... initcwnd needs a number of segments")
            out.config["initial_window"] = int(value[0])
            out.route["initcwnd"] = value[0]
        else:
            out.unknown = text
            return out
    return out


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("&&", ";").replace("\n", ";").split(";")]


def _sysctl(args: list[str], out: ParsedCommand) -> bool:
    assignments = [a for a in args if not a.startswith("-")]
    if not assignments or any("=" not in a for a in assignments):
        return False  # a read, not a setting
    for a in assignments:
        name, _, value = a.partition("=")
        name, value = name.strip().replace("/", "."), value.strip()
        row = SYSCTLS.get(name)
        if row is not None:
            try:
                out.config.update(row.convert(value))
            except ValueError as exc:
                raise ValueError(f"{name}={value}: {exc}") from None
            out.sysctls.append((name, value))
        else:
            return False
    return True

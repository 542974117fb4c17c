"""Socket options (``setsockopt``/``getsockopt``) as changes to a connection's :class:`Config`.

One table maps each supported ``(level, name)`` to a :class:`~synack.tcp.config.Config`
field and the conversion between the socket module's value (seconds,
milliseconds, flags, names) and the field's (integer microseconds, octets). The
blocking sockets and asyncio's ``Server.sockets`` both use it; a connected
socket applies a change with :meth:`Connection.reconfigure
<synack.tcp.connection.Connection.reconfigure>`, a listening one to its
listener's config (inherited by the connections it accepts), an unconnected
one at ``connect()``. Options that are not in the table raise
``OSError(ENOPROTOOPT)``, never pretend.
"""

from __future__ import annotations

import errno
import socket as _so
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from synack.cc import available

__all__ = [
    "CONFIG_OPTIONS",
    "ConfigOption",
    "decode_int",
    "encode_value",
    "option_name",
]

_US: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class ConfigOption:
    """One socket option backed by a :class:`Config` field."""

    name: str
    field: str
    to_config: Callable[[Any], Any]
    from_config: Callable[[Any], Any]


def _flag(value: Any) -> bool:
    return bool(decode_int(value))


def _positive(value: Any) -> int:
    n = decode_int(value)
    if n <= 0:
        raise OSError(errno.EINVAL, "Invalid argument: must be positive")
    return n


def _seconds(value: Any) -> int:
    return _positive(value) * _US


def _user_timeout(value: Any) -> int | None:
    # Linux: milliseconds, 0 restores the default (no user timeout).
    ms = decode_int(value)
    if ms < 0:
        raise OSError(errno.EINVAL, "Invalid argument: negative timeout")
    return ms * 1000 if ms else None


# Linux's TCP_FIN_TIMEOUT_MAX: TCP_LINGER2 caps larger values at 120 seconds.
_LINGER2_MAX: Final = 120


def _linger2(value: Any) -> int:
    # Linux (do_tcp_setsockopt): negative = no FIN-WAIT-2 wait at all, 0 = the
    # system default (net.ipv4.tcp_fin_timeout, 60 s), else seconds up to 120.
    seconds = decode_int(value)
    if seconds < 0:
        return 0
    return (min(seconds, _LINGER2_MAX) if seconds else 60) * _US


def _from_linger2(value: int | None) -> int:
    # Linux's getsockopt answers -1 for "no wait", else seconds. None (wait for
    # ever, which Linux cannot be told) reads as 0.
    if value is None:
        return 0
    return -1 if value == 0 else value // _US


def _cc_name(value: Any) -> str:
    name = value.rstrip(b"\0").decode() if isinstance(value, bytes | bytearray) else str(value)
    if name not in available():
        # What Linux answers for a module it does not have.
        raise OSError(
            errno.ENOENT, f"no congestion control {name!r} (have {', '.join(available())})"
        )
    return name


def _byte(value: Any) -> int:
    n = decode_int(value)
    if not 0 <= n <= 255:
        raise OSError(errno.EINVAL, "Invalid argument: 0..255")
    return n


def _ttl(value: Any) -> int:
    n = decode_int(value)
    if n == -1:
        return 64  # Linux: -1 restores the default
    if not 1 <= n <= 255:
        raise OSError(errno.EINVAL, "Invalid argument: 1..255")
    return n


def _same(value: Any) -> Any:
    return value


def _int(value: Any) -> int:
    return int(value)


def _from_us(value: int) -> int:
    return value // _US


def _from_user_timeout(value: int | None) -> int:
    return 0 if value is None else value // 1000


def _cc_bytes(value: str) -> bytes:
    return value.encode()


_T: Final = _so.IPPROTO_TCP
_S: Final = _so.SOL_SOCKET

CONFIG_OPTIONS: Final[dict[tuple[int, int], ConfigOption]] = {
    (_T, _so.TCP_NODELAY): ConfigOption("TCP_NODELAY", "nodelay", _flag, _int),
    (_S, _so.SO_KEEPALIVE): ConfigOption("SO_KEEPALIVE", "keepalive", _flag, _int),
    (_T, _so.TCP_KEEPIDLE): ConfigOption("TCP_KEEPIDLE", "keepalive_idle", _seconds, _from_us),
    (_T, _so.TCP_KEEPINTVL): ConfigOption(
        "TCP_KEEPINTVL", "keepalive_interval", _seconds, _from_us
    ),
    (_T, _so.TCP_KEEPCNT): ConfigOption("TCP_KEEPCNT", "keepalive_probes", _positive, _same),
    (_S, _so.SO_RCVBUF): ConfigOption("SO_RCVBUF", "recv_buffer", _positive, _same),
    (_S, _so.SO_SNDBUF): ConfigOption("SO_SNDBUF", "send_buffer", _positive, _same),
    (_T, _so.TCP_MAXSEG): ConfigOption("TCP_MAXSEG", "mss", _positive, _same),
    (_T, _so.TCP_USER_TIMEOUT): ConfigOption(
        "TCP_USER_TIMEOUT", "user_timeout", _user_timeout, _from_user_timeout
    ),
    (_T, _so.TCP_LINGER2): ConfigOption(
        "TCP_LINGER2", "fin_wait_2_timeout", _linger2, _from_linger2
    ),
    (_T, _so.TCP_CONGESTION): ConfigOption(
        "TCP_CONGESTION", "congestion_control", _cc_name, _cc_bytes
    ),
    (_so.IPPROTO_IP, _so.IP_TOS): ConfigOption("IP_TOS", "tos", _byte, _same),
    (_so.IPPROTO_IP, _so.IP_TTL): ConfigOption("IP_TTL", "ttl", _ttl, _same),
    (_so.IPPROTO_IPV6, _so.IPV6_TCLASS): ConfigOption("IPV6_TCLASS", "tos", _byte, _same),
    (_so.IPPROTO_IPV6, _so.IPV6_UNICAST_HOPS): ConfigOption(
        "IPV6_UNICAST_HOPS", "ttl", _ttl, _same
    ),
}
"""Options stored in the connection's Config, by ``(level, optname)``."""


def decode_int(value: Any) -> int:
    """An integer option value: an int, or the C ``int`` in a bytes buffer."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, bytes | bytearray | memoryview) and len(value) >= 4:
        return int(struct.unpack("i", bytes(value[:4]))[0])
    raise OSError(errno.EINVAL, f"Invalid argument: option value {value!r}")


def encode_value(value: Any, buflen: int | None) -> int | bytes:
    """What ``getsockopt`` returns: the int, or bytes of ``buflen`` when one is given."""
    if isinstance(value, bytes):
        if buflen is None:  # as the kernel: without a buffer length, the first C int
            return int(struct.unpack("i", value[:4].ljust(4, b"\0"))[0])
        return value[:buflen].ljust(buflen, b"\0")
    if buflen is None:
        return int(value)
    return struct.pack("i", int(value))[:buflen].ljust(buflen, b"\0")


def option_name(level: int, optname: int) -> str:
    """A readable name for an error message."""
    known = CONFIG_OPTIONS.get((level, optname))
    if known is not None:
        return known.name
    prefix = _PREFIXES.get(level)
    if prefix is not None:
        names = sorted(
            name
            for name in dir(_so)
            if name.startswith(prefix)
            and getattr(_so, name) == optname
            # options only: not the CAN J1939 / vsock families' SO_ names, nor IP_ limits
            and not name.startswith(("SO_J1939", "SO_VM_", "IP_DEFAULT_", "IP_MAX_"))
        )
        if names:
            return names[0]
    return f"level {level} option {optname}"


_PREFIXES: Final = {_S: "SO_", _T: "TCP_", _so.IPPROTO_IP: "IP_", _so.IPPROTO_IPV6: "IPV6_"}

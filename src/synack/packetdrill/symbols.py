"""The symbolic constants packetdrill scripts use, with their Linux values.

Scripts name socket options, flags and errors as C code does (``SOL_SOCKET``,
``TCP_NODELAY``, ``O_NONBLOCK``, ``POLLIN``, ``ECONNREFUSED``). The values are
Linux's (``<sys/socket.h>``, ``<netinet/tcp.h>``, ``<fcntl.h>``, ``<poll.h>``,
``<errno.h>``): the same numbers reach the kernel in ``--linux`` mode, and the
synack socket layer reads them back by name.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ERRNO", "ERRNO_NAMES", "SYMBOLS", "errno_name", "lookup"]

SYMBOLS: Final[dict[str, int]] = {
    # <sys/socket.h>
    "AF_INET": 2,
    "AF_INET6": 10,
    "PF_INET": 2,
    "PF_INET6": 10,
    "SOCK_STREAM": 1,
    "SOCK_NONBLOCK": 0o4000,
    "SOCK_CLOEXEC": 0o2000000,
    "IPPROTO_IP": 0,
    "IPPROTO_TCP": 6,
    "IPPROTO_IPV6": 41,
    "SOL_SOCKET": 1,
    "SOL_TCP": 6,
    "SO_REUSEADDR": 2,
    "SO_ERROR": 4,
    "SO_SNDBUF": 7,
    "SO_RCVBUF": 8,
    "SO_KEEPALIVE": 9,
    "SO_OOBINLINE": 10,
    "SO_LINGER": 13,
    "SO_REUSEPORT": 15,
    "SO_RCVLOWAT": 18,
    "MSG_OOB": 0x1,
    "MSG_PEEK": 0x2,
    "MSG_DONTWAIT": 0x40,
    "MSG_WAITALL": 0x100,
    "MSG_NOSIGNAL": 0x4000,
    "SHUT_RD": 0,
    "SHUT_WR": 1,
    "SHUT_RDWR": 2,
    # <netinet/tcp.h>
    "TCP_NODELAY": 1,
    "TCP_MAXSEG": 2,
    "TCP_CORK": 3,
    "TCP_KEEPIDLE": 4,
    "TCP_KEEPINTVL": 5,
    "TCP_KEEPCNT": 6,
    "TCP_SYNCNT": 7,
    "TCP_LINGER2": 8,
    "TCP_DEFER_ACCEPT": 9,
    "TCP_WINDOW_CLAMP": 10,
    "TCP_INFO": 11,
    "TCP_QUICKACK": 12,
    "TCP_CONGESTION": 13,
    "TCP_USER_TIMEOUT": 18,
    "TCP_NOTSENT_LOWAT": 25,
    # <fcntl.h>
    "F_GETFL": 3,
    "F_SETFL": 4,
    "O_RDONLY": 0,
    "O_WRONLY": 1,
    "O_RDWR": 2,
    "O_NONBLOCK": 0o4000,
    # <poll.h>
    "POLLIN": 0x001,
    "POLLPRI": 0x002,
    "POLLOUT": 0x004,
    "POLLERR": 0x008,
    "POLLHUP": 0x010,
    "POLLNVAL": 0x020,
    "POLLRDNORM": 0x040,
    "POLLRDBAND": 0x080,
    "POLLWRNORM": 0x100,
    "POLLWRBAND": 0x200,
    "POLLRDHUP": 0x2000,
}
"""Every named constant a script may use as a system-call argument."""

ERRNO: Final[dict[str, tuple[int, str]]] = {
    "EPERM": (1, "Operation not permitted"),
    "ENOENT": (2, "No such file or directory"),
    "EINTR": (4, "Interrupted system call"),
    "EBADF": (9, "Bad file descriptor"),
    "EAGAIN": (11, "Resource temporarily unavailable"),
    "EWOULDBLOCK": (11, "Resource temporarily unavailable"),
    "ENOMEM": (12, "Cannot allocate memory"),
    "EFAULT": (14, "Bad address"),
    "EINVAL": (22, "Invalid argument"),
    "EPIPE": (32, "Broken pipe"),
    "ENOTSOCK": (88, "Socket operation on non-socket"),
    "EMSGSIZE": (90, "Message too long"),
    "ENOPROTOOPT": (92, "Protocol not available"),
    "EPROTONOSUPPORT": (93, "Protocol not supported"),
    "EOPNOTSUPP": (95, "Operation not supported"),
    "EAFNOSUPPORT": (97, "Address family not supported by protocol"),
    "EADDRINUSE": (98, "Address already in use"),
    "EADDRNOTAVAIL": (99, "Cannot assign requested address"),
    "ENETUNREACH": (101, "Network is unreachable"),
    "ECONNABORTED": (103, "Software caused connection abort"),
    "ECONNRESET": (104, "Connection reset by peer"),
    "EISCONN": (106, "Transport endpoint is already connected"),
    "ENOTCONN": (107, "Transport endpoint is not connected"),
    "ESHUTDOWN": (108, "Cannot send after transport endpoint shutdown"),
    "ETIMEDOUT": (110, "Connection timed out"),
    "ECONNREFUSED": (111, "Connection refused"),
    "EHOSTUNREACH": (113, "No route to host"),
    "EALREADY": (114, "Operation already in progress"),
    "EINPROGRESS": (115, "Operation now in progress"),
}
"""Linux errno names, numbers and ``strerror`` texts."""

ERRNO_NAMES: Final[dict[int, str]] = {}
for _name, (_num, _text) in ERRNO.items():
    ERRNO_NAMES.setdefault(_num, _name)


def lookup(name: str) -> int | None:
    """The value of a symbolic constant or errno name, or ``None``."""
    value = SYMBOLS.get(name)
    if value is None and name in ERRNO:
        return ERRNO[name][0]
    return value


def errno_name(number: int) -> str:
    """``ECONNRESET`` for 104; ``errno 999`` for numbers without a name here."""
    return ERRNO_NAMES.get(number, f"errno {number}")

"""BSD socket calls over a synack :class:`~synack.tcp.Endpoint`, in virtual time.

packetdrill drives the stack under test through system calls. This module is
the system-call layer for synack: ``socket``, ``bind``, ``listen``, ``accept``,
``connect``, ``send``/``recv``, ``shutdown``, ``close``, ``setsockopt``,
``getsockopt``, ``fcntl`` and ``poll``, with Linux's semantics and error
numbers, over the sans-I/O core. It keeps no clock of its own: each call takes
``now``. A call that would block raises :class:`WouldBlock`; the runner
retries it as the endpoint makes progress (a blocking socket) or reports
``EAGAIN`` (a non-blocking one). Errors are :class:`SysError` with an errno
name.

What the socket layer, not the TCP core, decides (as the kernel's socket
layer does):

* ``close()`` with unread data, or with ``SO_LINGER`` {1, 0}, aborts the
  connection with a RST (RFC 9293 3.10.4 leaves this to the application
  interface; RFC 1122 4.2.2.13 says a host SHOULD send a RST when data is
  pending at CLOSE, and for data that arrives after CLOSE).
* Closing a listener resets the connections it had not handed to ``accept``.
* ``setsockopt`` maps to :class:`~synack.tcp.Config` fields (before the SYN)
  or to :meth:`~synack.tcp.Connection.reconfigure` (after it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from synack.packetdrill.symbols import ERRNO, SYMBOLS
from synack.tcp import (
    Config,
    Connection,
    Endpoint,
    Listener,
    Reset,
    SoftError,
    State,
    TimedOut,
)
from synack.tcp.errors import TcpError

__all__ = ["SysError", "VSocket", "VirtualSockets", "WouldBlock"]

_SOL_SOCKET: Final = SYMBOLS["SOL_SOCKET"]
_IPPROTO_TCP: Final = SYMBOLS["IPPROTO_TCP"]
_O_NONBLOCK: Final = SYMBOLS["O_NONBLOCK"]
_O_RDWR: Final = SYMBOLS["O_RDWR"]
_MSG_OOB: Final = SYMBOLS["MSG_OOB"]
_MSG_PEEK: Final = SYMBOLS["MSG_PEEK"]
_MSG_DONTWAIT: Final = SYMBOLS["MSG_DONTWAIT"]
_MSG_NOSIGNAL: Final = SYMBOLS["MSG_NOSIGNAL"]

POLLIN, POLLPRI, POLLOUT = SYMBOLS["POLLIN"], SYMBOLS["POLLPRI"], SYMBOLS["POLLOUT"]
POLLERR, POLLHUP, POLLNVAL = SYMBOLS["POLLERR"], SYMBOLS["POLLHUP"], SYMBOLS["POLLNVAL"]
POLLRDNORM, POLLWRNORM = SYMBOLS["POLLRDNORM"], SYMBOLS["POLLWRNORM"]
POLLRDHUP = SYMBOLS["POLLRDHUP"]

# Linux's congestion-control names and synack's.
_CC_NAMES: Final = {"reno": "newreno", "newreno": "newreno", "cubic": "cubic", "bbr": "bbr"}
_CC_LINUX: Final = {"newreno": "reno", "cubic": "cubic", "bbr": "bbr"}

_SYNCHRONIZED_SEND: Final = (State.ESTABLISHED, State.CLOSE_WAIT)
_OPENING: Final = (State.SYN_SENT, State.SYN_RECEIVED)


class SysError(Exception):
    """A system call failed with ``errno`` (a name such as ``ECONNREFUSED``)."""

    def __init__(self, errno: str, detail: str = "") -> None:
        super().__init__(f"{errno}{': ' + detail if detail else ''}")
        self.errno = errno
        self.detail = detail


class WouldBlock(Exception):
    """The call cannot complete now; a blocking socket waits for progress."""


@dataclass(eq=False)
class VSocket:
    """A socket: its settings, and the listener or connection behind it."""

    family: int
    config: Config
    nonblocking: bool = False
    bound: tuple[str, int] | None = None
    listener: Listener | None = None
    conn: Connection | None = None
    connect_started: bool = False
    connect_reported: bool = False
    error: str | None = None
    soft_error: str | None = None
    shut_rd: bool = False
    shut_wr: bool = False
    linger: tuple[int, int] | None = None
    closed: bool = False
    reset: bool = False
    opts: dict[tuple[int, int], Any] = field(default_factory=dict)


class VirtualSockets:
    """The socket calls of one host, over ``endpoint``.

    ``local`` and ``remote`` are the addresses ``...`` stands for in ``bind``
    and ``connect``; ``bind_port`` and ``connect_port`` their ports (8080 in
    packetdrill). Call :meth:`on_events` after anything that may have produced
    endpoint events.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        local: str,
        remote: str,
        bind_port: int = 8080,
        connect_port: int = 8080,
    ) -> None:
        self.endpoint = endpoint
        self.local = local
        self.remote = remote
        self.bind_port = bind_port
        self.connect_port = connect_port
        self.by_conn: dict[Connection, VSocket] = {}
        self.orphans: set[Connection] = set()
        self.config = endpoint.config

    # ------------------------------------------------------------- events
    def on_events(self, now: int) -> None:
        """Take the endpoint's events: errors for sockets, and the orphans' data."""
        while (item := self.endpoint.next_event()) is not None:
            conn, ev = item
            if conn in self.orphans:
                # RFC 1122 4.2.2.13: data arriving after CLOSE gets a RST
                # (what Linux does for an orphaned connection: tcp_reset on data).
                if conn.recv_available and conn.state is not State.CLOSED:
                    self.orphans.discard(conn)
                    conn.abort(now)
                continue
            sock = self.by_conn.get(conn)
            if sock is None:
                continue
            if isinstance(ev, Reset):
                opening = sock.connect_started and not sock.connect_reported
                if ev.refused or opening:
                    sock.error = "ECONNREFUSED"
                elif conn.peer_closed:
                    # A reset in CLOSE-WAIT: the peer had already finished
                    # sending, so Linux (tcp_reset) reports EPIPE, not ECONNRESET.
                    sock.error = "EPIPE"
                else:
                    sock.error = "ECONNRESET"
                sock.reset = True
            elif isinstance(ev, TimedOut):
                sock.error = sock.soft_error or "ETIMEDOUT"
            elif isinstance(ev, SoftError):
                sock.soft_error = _SOFT_ERRNO.get(ev.reason, "EHOSTUNREACH")

    # -------------------------------------------------------------- calls
    def socket(self, family: int, type_: int, proto: int) -> VSocket:
        if family not in (SYMBOLS["AF_INET"], SYMBOLS["AF_INET6"]):
            raise SysError("EAFNOSUPPORT", f"address family {family}")
        kind = type_ & ~(SYMBOLS["SOCK_NONBLOCK"] | SYMBOLS["SOCK_CLOEXEC"])
        if kind != SYMBOLS["SOCK_STREAM"] or proto not in (0, _IPPROTO_TCP):
            raise SysError("EPROTONOSUPPORT", "synack's runner has TCP sockets only")
        return VSocket(family, self.config, nonblocking=bool(type_ & SYMBOLS["SOCK_NONBLOCK"]))

    def bind(self, s: VSocket, addr: tuple[str, int] | None) -> None:
        self._open(s)
        if s.bound is not None or s.conn is not None or s.listener is not None:
            raise SysError("EINVAL", "socket already bound")
        host, port = addr if addr is not None else (self.local, self.bind_port)
        if port in self.endpoint._listeners:
            raise SysError("EADDRINUSE")
        s.bound = (host, port)

    def listen(self, s: VSocket, backlog: int) -> None:
        self._open(s)
        if s.conn is not None:
            raise SysError("EINVAL", "listen() on a connected socket")
        if s.listener is not None:
            s.listener.backlog = max(1, backlog + 1)
            return
        port = s.bound[1] if s.bound else self.bind_port
        try:
            # Linux lets backlog + 1 connections wait in the accept queue.
            s.listener = self.endpoint.listen(port, backlog=max(1, backlog + 1), config=s.config)
        except TcpError as exc:
            raise SysError("EADDRINUSE", str(exc)) from None

    def accept(self, s: VSocket) -> VSocket:
        self._open(s)
        lst = s.listener
        if lst is None:
            raise SysError("EINVAL", "accept() on a socket that is not listening")
        conn = lst.accept()
        if conn is None:
            raise WouldBlock
        child = VSocket(s.family, conn.config, conn=conn, connect_reported=True)
        self.by_conn[conn] = child
        if conn.state is State.CLOSED:
            child.error = "ECONNRESET"
        return child

    def connect(self, s: VSocket, addr: tuple[str, int] | None, now: int) -> None:
        self._open(s)
        if s.listener is not None:
            raise SysError("EISCONN")
        if s.conn is not None:
            st = s.conn.state
            if s.error and not s.connect_reported:
                s.connect_reported = True
                err, s.error = s.error, None
                raise SysError(err)
            if st in _OPENING:
                if s.nonblocking:
                    raise SysError("EALREADY")
                raise WouldBlock
            if not s.connect_reported:
                s.connect_reported = True
                return
            raise SysError("EISCONN")
        host, port = addr if addr is not None else (self.remote, self.connect_port)
        local_port = s.bound[1] if s.bound else None
        local_addr = s.bound[0] if s.bound else None
        try:
            conn = self.endpoint.connect(
                host, port, now, local_port=local_port, local_addr=local_addr, config=s.config
            )
        except TcpError as exc:
            raise SysError("EADDRINUSE", str(exc)) from None
        except ValueError as exc:
            raise SysError("EINVAL", str(exc)) from None
        s.conn = conn
        s.connect_started = True
        self.by_conn[conn] = s
        if s.nonblocking:
            raise SysError("EINPROGRESS")
        raise WouldBlock

    def connect_done(self, s: VSocket) -> None:
        """A blocking connect's retry: returns once established, raises on failure."""
        conn = s.conn
        assert conn is not None
        if s.error:
            s.connect_reported = True
            err, s.error = s.error, None
            raise SysError(err)
        if conn.state in _OPENING:
            raise WouldBlock
        s.connect_reported = True

    def send(self, s: VSocket, data: bytes, flags: int, now: int) -> int:
        """Queue data; returns octets taken (``WouldBlock`` if none fit)."""
        self._open(s)
        conn = s.conn
        if s.error:
            err, s.error = s.error, None
            raise SysError(err)
        if conn is None or s.listener is not None:
            raise SysError("EPIPE" if s.listener is None else "ENOTCONN")
        if s.shut_wr or s.reset or conn.state not in (*_OPENING, *_SYNCHRONIZED_SEND):
            raise SysError("EPIPE")
        if conn.state in _OPENING:
            raise WouldBlock  # Linux waits for the handshake (sk_stream_wait_connect)
        if not data:
            return 0
        n = conn.send(data, urgent=bool(flags & _MSG_OOB))
        if n == 0:
            raise WouldBlock
        return n

    def recv(self, s: VSocket, size: int, flags: int) -> bytes:
        """Take in-order data; ``b""`` at end of stream (``WouldBlock`` if none yet)."""
        self._open(s)
        if flags & _MSG_OOB:
            raise SysError("EINVAL", "synack delivers urgent data inline (SO_OOBINLINE)")
        if flags & _MSG_PEEK:
            raise SysError("EOPNOTSUPP", "MSG_PEEK is not supported by synack's socket layer")
        conn = s.conn
        if conn is None:
            raise SysError("ENOTCONN")
        if conn.recv_available and not s.shut_rd:
            urgent = conn.urgent_pending
            if urgent > 1:
                # BSD sockets (and Linux) stop a read at the urgent mark, the last
                # urgent octet: it is read on its own (SO_OOBINLINE semantics).
                size = min(size, urgent - 1)
            return conn.recv(size)
        if s.error:
            err, s.error = s.error, None
            raise SysError(err)
        if s.shut_rd or conn.peer_closed or s.reset or conn.state is State.CLOSED:
            return b""
        if conn.state in _OPENING and s.connect_started and s.nonblocking:
            raise SysError("EAGAIN")
        raise WouldBlock

    def shutdown(self, s: VSocket, how: int, now: int) -> None:
        self._open(s)
        conn = s.conn
        if conn is None or conn.state in (State.CLOSED, State.SYN_SENT):
            raise SysError("ENOTCONN")
        if how not in (0, 1, 2):
            raise SysError("EINVAL")
        if how in (0, 2):
            s.shut_rd = True
        if how in (1, 2) and not s.shut_wr:
            s.shut_wr = True
            conn.close(now)

    def close(self, s: VSocket, now: int) -> None:
        self._open(s)
        s.closed = True
        if s.listener is not None:
            lst = s.listener
            lst.close()
            # Linux (inet_csk_listen_stop) resets the connections nobody accepted.
            for child in [*lst.ready, *lst.pending]:
                child.abort(now)
            return
        conn = s.conn
        if conn is None:
            return
        self.by_conn.pop(conn, None)
        if _closed(conn):
            return
        unread = conn.recv_available > 0
        if (s.linger is not None and s.linger[0] and s.linger[1] == 0) or unread:
            # RFC 1122 4.2.2.13 / RFC 9293 3.10.5: abort, with a RST where the peer
            # holds state.
            conn.abort(now)
            return
        # The socket is gone (an orphan, in Linux's words), shut down for writing
        # before or not: FIN-WAIT-2 is bounded by Config.fin_wait_2_timeout.
        conn.close(now, abandon=True)
        if not _closed(conn):
            self.orphans.add(conn)

    def setsockopt(self, s: VSocket, level: int, name: int, value: Any, now: int) -> None:
        self._open(s)
        key = (level, name)
        change = _config_change(level, name, value)
        if change is None:
            if key in _NOOP_OPTIONS:
                s.opts[key] = value
                return
            if key == (_SOL_SOCKET, SYMBOLS["SO_LINGER"]):
                s.linger = value
                s.opts[key] = value
                return
            raise SysError("ENOPROTOOPT", f"option {level}/{name} is not supported by synack")
        s.opts[key] = value
        try:
            if s.conn is not None and s.conn.state is not State.CLOSED:
                s.conn.reconfigure(now, **change)
                s.config = s.conn.config
            else:
                s.config = replace(s.config, **change)
                if s.listener is not None:
                    s.listener.config = s.config
        except TcpError as exc:
            raise SysError("EINVAL", str(exc)) from None
        except (ValueError, KeyError) as exc:
            raise SysError("EINVAL", str(exc)) from None

    def getsockopt(self, s: VSocket, level: int, name: int) -> Any:
        self._open(s)
        key = (level, name)
        cfg = s.conn.config if s.conn is not None else s.config
        if key == (_SOL_SOCKET, SYMBOLS["SO_ERROR"]):
            err, s.error = s.error, None
            return ERRNO[err][0] if err else 0
        if key == (_IPPROTO_TCP, SYMBOLS["TCP_NODELAY"]):
            return int(cfg.nodelay)
        if key == (_IPPROTO_TCP, SYMBOLS["TCP_MAXSEG"]):
            if s.conn is not None and s.conn.state not in (State.CLOSED, State.LISTEN):
                return s.conn.mss
            return cfg.mss
        if key == (_SOL_SOCKET, SYMBOLS["SO_KEEPALIVE"]):
            return int(cfg.keepalive)
        if key == (_IPPROTO_TCP, SYMBOLS["TCP_KEEPIDLE"]):
            return cfg.keepalive_idle // 1_000_000
        if key == (_IPPROTO_TCP, SYMBOLS["TCP_KEEPINTVL"]):
            return cfg.keepalive_interval // 1_000_000
        if key == (_IPPROTO_TCP, SYMBOLS["TCP_KEEPCNT"]):
            return cfg.keepalive_probes
        if key == (_IPPROTO_TCP, SYMBOLS["TCP_USER_TIMEOUT"]):
            return 0 if cfg.user_timeout is None else cfg.user_timeout // 1000
        if key == (_IPPROTO_TCP, SYMBOLS["TCP_CONGESTION"]):
            return _CC_LINUX.get(cfg.congestion_control, cfg.congestion_control).encode()
        if key in s.opts:
            return s.opts[key]
        if key in _NOOP_OPTIONS:
            return 0
        raise SysError("ENOPROTOOPT", f"option {level}/{name} is not supported by synack")

    def fcntl(self, s: VSocket, cmd: int, arg: int) -> int:
        self._open(s)
        if cmd == SYMBOLS["F_GETFL"]:
            return _O_RDWR | (_O_NONBLOCK if s.nonblocking else 0)
        if cmd == SYMBOLS["F_SETFL"]:
            s.nonblocking = bool(arg & _O_NONBLOCK)
            return 0
        raise SysError("EINVAL", f"fcntl command {cmd} is not supported")

    def poll_events(self, s: VSocket) -> int:
        """The ``revents`` Linux's ``tcp_poll`` gives (before masking with ``events``)."""
        if s.closed:
            return POLLNVAL
        if s.listener is not None:
            return POLLIN | POLLRDNORM if s.listener.ready else 0
        conn = s.conn
        if conn is None:
            return POLLOUT | POLLWRNORM | POLLHUP  # a new socket: TCP_CLOSE, nothing shut down
        st = conn.state
        gone = st is State.CLOSED or s.reset
        rcv_shut = gone or conn.peer_closed or s.shut_rd
        snd_shut = gone or s.shut_wr
        mask = POLLERR if s.error else 0
        if gone or (rcv_shut and snd_shut):
            mask |= POLLHUP
        if rcv_shut:
            mask |= POLLIN | POLLRDNORM | POLLRDHUP
        if st in _OPENING and not gone:
            return mask  # connecting: nothing to read or write yet
        if conn.recv_available:
            mask |= POLLIN | POLLRDNORM
        if snd_shut or conn.send_buffer_free > 0:
            mask |= POLLOUT | POLLWRNORM
        return mask

    def nonblocking(self, s: VSocket, flags: int = 0) -> bool:
        return s.nonblocking or bool(flags & _MSG_DONTWAIT)

    @staticmethod
    def _open(s: VSocket) -> None:
        if s.closed:
            raise SysError("EBADF")


_SOFT_ERRNO: Final = {
    "host_unreachable": "EHOSTUNREACH",
    "net_unreachable": "ENETUNREACH",
    "port_unreachable": "ECONNREFUSED",
    "proto_unreachable": "ENOPROTOOPT",
    "time_exceeded": "EHOSTUNREACH",
}

_NOOP_OPTIONS: Final = {
    # Accepted and remembered, no effect on synack: address reuse is always
    # allowed in the runner's private namespace, and synack never enters
    # Linux's quick-ACK mode, delivers urgent data inline, and has no cork.
    (_SOL_SOCKET, SYMBOLS["SO_REUSEADDR"]),
    (_SOL_SOCKET, SYMBOLS["SO_REUSEPORT"]),
    (_SOL_SOCKET, SYMBOLS["SO_OOBINLINE"]),
    (_IPPROTO_TCP, SYMBOLS["TCP_QUICKACK"]),
}


def _closed(conn: Connection) -> bool:
    """Is the connection gone (a call may have just changed its state)?"""
    return conn.state is State.CLOSED


def _seconds(v: Any) -> int:
    if not isinstance(v, int) or v < 1:
        raise SysError("EINVAL", f"{v!r} is not a positive number of seconds")
    return v * 1_000_000


def _config_change(level: int, name: int, value: Any) -> dict[str, Any] | None:
    """The :class:`Config` fields a socket option sets, or ``None`` if it sets none."""
    table: dict[tuple[int, int], Callable[[Any], dict[str, Any]]] = {
        (_SOL_SOCKET, SYMBOLS["SO_RCVBUF"]): lambda v: {"recv_buffer": int(v)},
        (_SOL_SOCKET, SYMBOLS["SO_SNDBUF"]): lambda v: {"send_buffer": int(v)},
        (_SOL_SOCKET, SYMBOLS["SO_KEEPALIVE"]): lambda v: {"keepalive": bool(v)},
        (_IPPROTO_TCP, SYMBOLS["TCP_NODELAY"]): lambda v: {"nodelay": bool(v)},
        (_IPPROTO_TCP, SYMBOLS["TCP_MAXSEG"]): lambda v: {"mss": int(v)},
        (_IPPROTO_TCP, SYMBOLS["TCP_KEEPIDLE"]): lambda v: {"keepalive_idle": _seconds(v)},
        (_IPPROTO_TCP, SYMBOLS["TCP_KEEPINTVL"]): lambda v: {"keepalive_interval": _seconds(v)},
        (_IPPROTO_TCP, SYMBOLS["TCP_KEEPCNT"]): lambda v: {"keepalive_probes": int(v)},
        (_IPPROTO_TCP, SYMBOLS["TCP_USER_TIMEOUT"]): lambda v: {
            "user_timeout": int(v) * 1000 if v else None
        },
        (_IPPROTO_TCP, SYMBOLS["TCP_CONGESTION"]): _cc_change,
        # Linux: -1 = no FIN-WAIT-2 wait, 0 = tcp_fin_timeout (60 s), else seconds (max 120).
        (_IPPROTO_TCP, SYMBOLS["TCP_LINGER2"]): lambda v: {
            "fin_wait_2_timeout": 0 if int(v) < 0 else (min(int(v), 120) or 60) * 1_000_000
        },
    }
    fn = table.get((level, name))
    return None if fn is None else fn(value)


def _cc_change(value: Any) -> dict[str, Any]:
    name = value.decode() if isinstance(value, bytes) else str(value)
    name = name.rstrip("\x00")
    if name not in _CC_NAMES:
        raise SysError("ENOENT", f"congestion control {name!r} is not available")
    return {"congestion_control": _CC_NAMES[name]}

"""Blocking, socket-module style API over synack, for code written against ``socket``.

A :class:`Stack` runs a synack :class:`~synack.api.runtime.Runtime` in its own
thread (an asyncio loop); :class:`socket` objects talk to it from any thread and
block, time out or raise ``BlockingIOError`` exactly as their standard-library
namesakes do, with the standard exceptions (``ConnectionRefusedError``,
``ConnectionResetError``, ``TimeoutError``, ``BrokenPipeError``, ``OSError`` with
an errno). ``fileno()`` is an eventfd that is readable when ``recv``/``accept``
would not block, so ``select``/``selectors`` (and ``socketserver``) work.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import dataclasses
import errno
import io
import ipaddress
import os
import socket as _stdsocket
import struct
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Literal, Protocol, TypeVar

from synack.api import aio, sockopt
from synack.api.aio import Server, SynackTransport
from synack.api.runtime import Runtime, open_tap_runtime
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.errors import InvalidStateError
from synack.tcp.info import TcpInfo

__all__ = [
    "AF_INET",
    "AF_INET6",
    "SHUT_RD",
    "SHUT_RDWR",
    "SHUT_WR",
    "SOCK_STREAM",
    "Stack",
    "create_connection",
    "get_default_stack",
    "set_default_stack",
    "socket",
]

AF_INET = _stdsocket.AF_INET
AF_INET6 = _stdsocket.AF_INET6
SOCK_STREAM = _stdsocket.SOCK_STREAM
SHUT_RD = _stdsocket.SHUT_RD
SHUT_WR = _stdsocket.SHUT_WR
SHUT_RDWR = _stdsocket.SHUT_RDWR

T = TypeVar("T")

_RECV_HIGH = 1 << 20  # pause reading (close synack's window) above this much unread data
_RECV_LOW = 1 << 18
_SEND_QUEUE = 1 << 16  # send() blocks while this much waits for the stack's thread

# tcp(7), TCP_CORK: "there is a 200 millisecond ceiling on the time for which output is
# corked by TCP_CORK. If this ceiling is reached, then queued data is automatically
# transmitted." Seconds a partial segment waits at most.
CORK_CEILING = 0.2

# recv()/send() flags: the ones with a meaning here; MSG_NOSIGNAL and friends change
# nothing (Python ignores SIGPIPE already); any other flag raises EOPNOTSUPP.
_RECV_FLAGS = _stdsocket.MSG_PEEK | _stdsocket.MSG_DONTWAIT | _stdsocket.MSG_WAITALL
_SEND_FLAGS = _stdsocket.MSG_DONTWAIT
_HARMLESS_FLAGS = (
    _stdsocket.MSG_NOSIGNAL
    | _stdsocket.MSG_CMSG_CLOEXEC
    | getattr(_stdsocket, "MSG_MORE", 0)  # a hint: sending at once is always correct
    | _stdsocket.MSG_EOR
)


def _timed_out() -> TimeoutError:
    """What a socket timeout raises in CPython: ``TimeoutError('timed out')``, no errno."""
    return TimeoutError("timed out")


def _check_flags(flags: int, allowed: int, call: str) -> None:
    unknown = flags & ~(allowed | _HARMLESS_FLAGS)
    if unknown:
        names = [
            name
            for name in dir(_stdsocket)
            if name.startswith("MSG_") and getattr(_stdsocket, name) & unknown
        ]
        raise OSError(
            errno.EOPNOTSUPP,
            f"Operation not supported: {call}() flag {' | '.join(sorted(names)) or hex(unknown)} "
            "on a synack socket",
        )


class Stack:
    """A synack runtime in a background thread; the home of :class:`socket` objects."""

    def __init__(self, runtime_factory: Callable[[asyncio.AbstractEventLoop], Runtime]) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready: concurrent.futures.Future[Runtime] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._main, args=(runtime_factory,), name="synack-stack", daemon=True
        )
        self._thread.start()
        self.runtime = self._ready.result()
        self.closed = False
        self._owns_loop = True
        # As on Linux, a program's end closes its connections without losing data.
        atexit.register(self.close)

    @classmethod
    def sibling(
        cls, other: Stack, runtime_factory: Callable[[asyncio.AbstractEventLoop], Runtime]
    ) -> Stack:
        """Another host (runtime) on ``other``'s thread and loop, e.g. both ends of a :class:`PairLink`."""
        stack = cls.__new__(cls)
        stack.loop = other.loop
        stack._thread = other._thread
        stack.runtime = other.call(runtime_factory, other.loop)
        stack.closed = False
        stack._owns_loop = False
        atexit.register(stack.close)
        return stack

    @classmethod
    def tap(cls, tap: str, addrs: Sequence[str], **kwargs: Any) -> Stack:
        """A stack on a TAP device: ``Stack.tap("tap0", ["10.0.0.5/24"], netns="lab")``."""
        return cls(lambda loop: open_tap_runtime(tap=tap, addrs=addrs, loop=loop, **kwargs))

    def _main(self, factory: Callable[[asyncio.AbstractEventLoop], Runtime]) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            runtime = factory(self.loop)
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(runtime)
        self.loop.run_forever()

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the stack's thread and return its result."""
        if threading.current_thread() is self._thread:
            return fn(*args)
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return fut.result()

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        """Schedule ``fn(*args)`` in the stack's thread without waiting."""
        self.loop.call_soon_threadsafe(fn, *args)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine in the stack's loop and wait for it (cancelling it on timeout)."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise _timed_out() from None

    def close(self, linger: float | None = None) -> None:
        """Close every connection without losing data, close the device and stop the thread.

        Blocks while the runtime lingers (see :meth:`Runtime.close
        <synack.api.runtime.Runtime.close>`): at most ``linger`` seconds (default
        the runtime's :attr:`~synack.api.runtime.Runtime.linger`,
        :data:`~synack.api.runtime.DEFAULT_LINGER`) for closed connections to
        deliver their data and FIN; ``linger=0`` resets everything at once. A
        stack still open when the interpreter exits is closed this way too.
        """
        if self.closed:
            return
        atexit.unregister(self.close)
        try:
            self.call(self.runtime.close, linger)
            self.run(self.runtime.wait_closed())
        finally:
            self.closed = True
            if self._owns_loop:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(timeout=10)
                if not self.loop.is_running():
                    self.loop.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default_stack: Stack | None = None


def set_default_stack(stack: Stack | None) -> None:
    """The stack used by sockets created without ``stack=``."""
    global _default_stack
    _default_stack = stack


def get_default_stack() -> Stack:
    if _default_stack is None:
        raise RuntimeError("no synack stack: pass stack= or call set_default_stack()")
    return _default_stack


# Held while both readinesses of a socket change together (a connect that ended, a
# connection lost): synack.patch's pollers take it after they wake, then look again,
# so that they see both, as a kernel socket's poll() does.
READINESS_CHANGE = threading.Lock()


class _Readiness:
    """An eventfd that is readable exactly while a condition holds (level-triggered)."""

    def __init__(self) -> None:
        self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._set = False
        self._lock = threading.Lock()

    def update(self, ready: bool) -> None:
        if ready is self._set:
            return
        with self._lock:
            if self.fd < 0:
                return
            if ready and not self._set:
                os.eventfd_write(self.fd, 1)
                self._set = True
            elif not ready and self._set:
                with contextlib.suppress(BlockingIOError):
                    os.eventfd_read(self.fd)
                self._set = False

    def close(self) -> None:
        with self._lock:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


class _SocketProtocol(asyncio.Protocol):
    """Loop-side half of a connected socket: buffers data both ways for the user's thread.

    Writes from the user's thread go into :attr:`outgoing` and return at once; one
    ``call_soon_threadsafe(flush)`` at a time moves them to the transport in the
    stack's thread, so a small ``send()`` costs no round trip to that thread.
    """

    def __init__(
        self,
        stack: Stack,
        readable: _Readiness | None = None,
        writable: _Readiness | None = None,
    ) -> None:
        self.stack = stack
        self.cond = threading.Condition()
        self.buffer = bytearray()
        self.outgoing = bytearray()
        self.flush_scheduled = False
        # TCP_CORK: only whole segments leave until uncorked (or closed), or until the
        # rest has waited CORK_CEILING. cork_armed (under cond): that wait has begun, or a
        # flush to begin it is scheduled; cork_timer (the stack's thread): its timer.
        self.corked = False
        self.cork_armed = False
        self.cork_timer: asyncio.TimerHandle | None = None
        # SO_LINGER's time when on: the stack's close gives this connection that long
        # instead of its own linger (0: it resets it).
        self.close_linger: float | None = None
        self.eof = False
        self.error: Exception | None = None
        # As Linux's sk_err: a connection's error is reported once (by recv, send or
        # SO_ERROR); afterwards recv() returns b"" and send() raises EPIPE.
        self.error_reported = False
        self.lost = False
        self.write_paused = False
        self.read_paused = False
        self.transport: SynackTransport | None = None
        self.readiness = readable if readable is not None else _Readiness()
        self.writability = writable if writable is not None else _Readiness()
        # Called once connected (listening sockets queue the new connection here).
        self.on_made: Callable[[_SocketProtocol], None] | None = None

    # ------------------------------------------------ the user's thread (under cond)

    def can_send(self) -> bool:
        return self.lost or (not self.write_paused and len(self.outgoing) < _SEND_QUEUE)

    def segment(self) -> int:
        """The connection's MSS (what a corked socket sends in whole pieces)."""
        transport = self.transport
        return transport.connection.mss if transport is not None else 536

    def queue(self, view: memoryview) -> int:
        """Take up to the queue's room of ``view``; schedule a flush if none is pending."""
        n = min(len(view), _SEND_QUEUE - len(self.outgoing))
        self.outgoing += view[:n]
        if not self.flush_scheduled and (
            not self.corked or not self.cork_armed or len(self.outgoing) >= self.segment()
        ):
            self.flush_scheduled = True
            self.cork_armed = self.corked
            self.stack.loop.call_soon_threadsafe(self.flush)
        if len(self.outgoing) >= _SEND_QUEUE:
            self.writability.update(False)
        return n

    # ------------------------------------------------------ the stack's thread

    def set_cork(self, corked: bool) -> None:
        """TCP_CORK on or off; off sends what waited."""
        with self.cond:
            self.corked = corked
            if not corked and self.outgoing and not self.flush_scheduled:
                self.flush_scheduled = True
                self.stack.loop.call_soon_threadsafe(self.flush)

    def flush(self, everything: bool = False) -> None:
        """Move queued writes to the transport (corked: whole segments only, unless ``everything``).

        What a corked socket holds back leaves by itself :data:`CORK_CEILING`
        seconds after it began to wait, as on Linux.
        """
        with self.cond:
            self.flush_scheduled = False
            take = len(self.outgoing)
            if self.corked and not everything:
                mss = self.segment()
                take = take // mss * mss
            data = bytes(self.outgoing[:take])
            del self.outgoing[:take]
            held = bool(self.outgoing)
            self.cork_armed = held
        if held and self.cork_timer is None:
            self.cork_timer = self.stack.loop.call_later(CORK_CEILING, self._cork_ceiling)
        elif not held and self.cork_timer is not None:
            self.cork_timer.cancel()
            self.cork_timer = None
        transport = self.transport
        if data and transport is not None and not self.lost:
            transport.write(data)
        with self.cond:
            self.writability.update(self.can_send())
            self.cond.notify_all()

    def _cork_ceiling(self) -> None:
        """The corked rest has waited long enough: send it."""
        self.cork_timer = None
        self.flush(everything=True)

    def close_transport(self, abort: bool) -> Connection | None:
        """The socket's close(): flush, then FIN (or RST with ``abort``)."""
        transport = self.transport
        if transport is None:
            return None
        if abort:
            transport.abort()
        else:
            self.flush(everything=True)
            transport.close()
        return transport.connection

    def shutdown_write(self) -> None:
        self.flush(everything=True)
        if self.transport is not None and not self.lost:
            self.transport.write_eof()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, SynackTransport)
        self.transport = transport
        self.writability.update(True)
        if self.on_made is not None:
            self.on_made(self)

    def data_received(self, data: bytes) -> None:
        with self.cond:
            self.buffer += data
            if (
                len(self.buffer) > _RECV_HIGH
                and not self.read_paused
                and self.transport is not None
            ):
                self.read_paused = True
                self.transport.pause_reading()
            self.readiness.update(True)
            self.cond.notify_all()

    def eof_received(self) -> bool:
        with self.cond:
            self.eof = True
            self.readiness.update(True)
            self.cond.notify_all()
        return True  # half-close: the user may still send

    def connection_lost(self, exc: Exception | None) -> None:
        if self.cork_timer is not None:
            self.cork_timer.cancel()
            self.cork_timer = None
        with self.cond:
            self.lost = True
            if exc is not None and self.error is None:
                self.error = exc
                if self.eof and isinstance(exc, ConnectionResetError):
                    # A RST after the peer's FIN (CLOSE-WAIT): Linux reports EPIPE
                    # (tcp_reset), so send() raises BrokenPipeError; recv() already
                    # returns b"".
                    self.error = BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
            with READINESS_CHANGE:
                self.readiness.update(True)
                self.writability.update(True)
            self.cond.notify_all()

    def take_error(self) -> OSError | None:
        """(under cond) The connection's error if not reported yet; it is reported now."""
        err = self.error
        if err is None or self.error_reported:
            return None
        self.error_reported = True
        if isinstance(err, OSError):
            return type(err)(*err.args)
        return OSError(errno.EIO, str(err))

    def pause_writing(self) -> None:
        with self.cond:
            self.write_paused = True
            self.writability.update(False)

    def resume_writing(self) -> None:
        with self.cond:
            self.write_paused = False
            self.writability.update(self.can_send())
            self.cond.notify_all()

    def _resume_reading(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.resume_reading()


def _family_of(host: str) -> int:
    return AF_INET6 if ipaddress.ip_address(host).version == 6 else AF_INET


def _ip_literal(host: str, family: int) -> str:
    """``host`` as an IP address of ``family``; names raise (synack does no DNS)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        raise _stdsocket.gaierror(
            _stdsocket.EAI_NONAME, f"synack takes IP addresses, not names: {host!r}"
        ) from None
    if (ip.version == 6) != (family == AF_INET6):
        raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
    return str(ip)


class socket:  # noqa: N801 - named after the standard class it stands in for
    """A TCP socket on a synack :class:`Stack`, with the standard ``socket`` methods.

    ``fileno()`` is an eventfd that is readable exactly when ``recv``/``accept``
    would not block; :meth:`writable_fileno` is one readable when ``send`` (or a
    non-blocking ``connect``) would not block: :mod:`synack.api.patch` teaches
    ``select`` and ``selectors`` to use it for write readiness. Socket options
    are real (see :meth:`setsockopt`).
    """

    def __init__(
        self,
        family: int = AF_INET,
        type: int = SOCK_STREAM,
        proto: int = 0,
        fileno: int | None = None,
        *,
        stack: Stack | None = None,
    ) -> None:
        if fileno is not None:
            raise OSError(errno.EBADF, "synack sockets have no kernel descriptor to adopt")
        if family not in (AF_INET, AF_INET6):
            raise OSError(errno.EAFNOSUPPORT, "synack sockets are AF_INET or AF_INET6")
        if type & 0xF != SOCK_STREAM:
            raise OSError(errno.ESOCKTNOSUPPORT, "synack sockets are SOCK_STREAM")
        if proto not in (0, _stdsocket.IPPROTO_TCP):
            raise OSError(errno.EPROTONOSUPPORT, "Protocol not supported")
        self.family = family
        self.type = SOCK_STREAM
        self.proto = proto
        self._stack = stack if stack is not None else get_default_stack()
        self._timeout: float | None = _stdsocket.getdefaulttimeout()
        if type & _stdsocket.SOCK_NONBLOCK:
            self._timeout = 0.0
        self._bound: tuple[str, int] | None = None
        self._reserved: int | None = None
        self._readable = _Readiness()
        self._writable = _Readiness()
        self._proto: _SocketProtocol | None = None
        self._connecting: tuple[concurrent.futures.Future[Any], _SocketProtocol] | None = None
        self._so_error = 0
        # A non-blocking connect() said EINPROGRESS: the next connect() after it
        # completed returns 0 once (Linux), then EISCONN.
        self._connect_unreported = False
        self._connect_failed = False
        self._server: Server | None = None
        self._accept_cond = threading.Condition()
        self._accept_queue: deque[_SocketProtocol] = deque()
        # Config fields set by setsockopt before connect() or listen().
        self._options: dict[str, Any] = {}
        self._reuseaddr = False
        self._v6only = False
        self._linger: tuple[int, int] = (0, 0)
        self._cork = False
        self._shut_rd = False
        self._shut_wr = False
        self._closed = False
        self._close_pending = False
        self._io_refs = 0

    @property
    def stack(self) -> Stack:
        """The :class:`Stack` this socket lives on."""
        return self._stack

    # ---------------------------------------------------------------- timeouts

    def settimeout(self, value: float | None) -> None:
        if value is not None and value < 0:
            raise ValueError("Timeout value out of range")
        self._timeout = None if value is None else float(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    # ----------------------------------------------------------------- options

    def setsockopt(
        self, level: int, optname: int, value: int | bytes | None, optlen: int | None = None
    ) -> None:
        """Set an option; see README "Socket options" for the list and their meaning.

        Connection settings (TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT,
        SO_RCVBUF/SO_SNDBUF, TCP_MAXSEG, TCP_USER_TIMEOUT, TCP_CONGESTION, IP_TOS,
        IP_TTL and their IPv6 twins) apply at once to a connected socket, to the
        connections a listening socket accepts from then on, or at ``connect()``.
        SO_REUSEADDR, SO_LINGER and IPV6_V6ONLY belong to the socket. Anything
        else raises ``OSError(ENOPROTOOPT)``.
        """
        self._check_open()
        key = (level, optname)
        if value is None:
            raise OSError(errno.EINVAL, "Invalid argument: no value")
        if key == (_stdsocket.SOL_SOCKET, _stdsocket.SO_REUSEADDR):
            self._reuseaddr = bool(sockopt.decode_int(value))
            return
        if key == (_stdsocket.SOL_SOCKET, _stdsocket.SO_LINGER):
            if not isinstance(value, bytes | bytearray) or len(value) < 8:
                raise OSError(errno.EINVAL, "Invalid argument: SO_LINGER takes struct linger")
            onoff, seconds = struct.unpack("ii", bytes(value[:8]))
            self._linger = (1 if onoff else 0, max(0, seconds))
            if self._proto is not None:
                self._proto.close_linger = self._linger_time()
            return
        if key == (_stdsocket.IPPROTO_TCP, _stdsocket.TCP_CORK):
            self._cork = bool(sockopt.decode_int(value))
            if self._proto is not None:
                self._proto.set_cork(self._cork)
            return
        if key == (_stdsocket.IPPROTO_IPV6, _stdsocket.IPV6_V6ONLY):
            if self.family != AF_INET6:
                raise OSError(errno.ENOPROTOOPT, "Protocol not available: IPV6_V6ONLY")
            self._v6only = bool(sockopt.decode_int(value))
            return
        option = sockopt.CONFIG_OPTIONS.get(key)
        if option is None:
            raise OSError(
                errno.ENOPROTOOPT,
                f"Protocol not available: {sockopt.option_name(level, optname)} "
                "is not a synack socket option",
            )
        changes = {option.field: option.to_config(value)}
        if self._proto is not None and self._proto.transport is not None:
            self._stack.call(
                _reconfigure, self._stack.runtime, self._proto.transport.connection, changes
            )
        elif self._server is not None:
            self._stack.call(_configure_listener, self._server, changes)
        else:
            try:
                dataclasses.replace(self._base_config(), **{**self._options, **changes})
            except ValueError as exc:
                raise OSError(errno.EINVAL, f"Invalid argument: {exc}") from None
            self._options.update(changes)

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> int | bytes:
        """Read an option (the ones :meth:`setsockopt` takes, SO_ERROR, SO_TYPE, SO_ACCEPTCONN)."""
        self._check_open()
        key = (level, optname)
        sol = _stdsocket.SOL_SOCKET
        if key == (sol, _stdsocket.SO_ERROR):
            self._poll_connect()
            err, self._so_error = self._so_error, 0
            if not err and self._proto is not None:
                with self._proto.cond:
                    pending = self._proto.take_error()
                err = (pending.errno or errno.EIO) if pending is not None else 0
            return sockopt.encode_value(err, buflen)
        if key == (sol, _stdsocket.SO_TYPE):
            return sockopt.encode_value(SOCK_STREAM, buflen)
        if key == (sol, _stdsocket.SO_DOMAIN):
            return sockopt.encode_value(self.family, buflen)
        if key == (sol, _stdsocket.SO_PROTOCOL):
            return sockopt.encode_value(_stdsocket.IPPROTO_TCP, buflen)
        if key == (sol, _stdsocket.SO_ACCEPTCONN):
            return sockopt.encode_value(int(self._server is not None), buflen)
        if key == (sol, _stdsocket.SO_REUSEADDR):
            return sockopt.encode_value(int(self._reuseaddr), buflen)
        if key == (sol, _stdsocket.SO_LINGER):
            if buflen is None:
                return self._linger[0]
            return struct.pack("ii", *self._linger)[:buflen]
        if key == (_stdsocket.IPPROTO_TCP, _stdsocket.TCP_CORK):
            return sockopt.encode_value(int(self._cork), buflen)
        if key == (_stdsocket.IPPROTO_IPV6, _stdsocket.IPV6_V6ONLY) and self.family == AF_INET6:
            return sockopt.encode_value(int(self._v6only), buflen)
        option = sockopt.CONFIG_OPTIONS.get(key)
        if option is None:
            raise OSError(
                errno.ENOPROTOOPT,
                f"Protocol not available: {sockopt.option_name(level, optname)}"
                + (" (use tcp_info())" if optname == _stdsocket.TCP_INFO else ""),
            )
        conn = self._connection()
        if conn is not None:
            if option.field == "mss":
                return sockopt.encode_value(self._stack.call(lambda: conn.mss), buflen)
            config = conn.config
        elif self._server is not None:
            config = self._server.listener.config
        else:
            config = dataclasses.replace(self._base_config(), **self._options)
        return sockopt.encode_value(option.from_config(getattr(config, option.field)), buflen)

    def tcp_info(self) -> TcpInfo:
        """TCP_INFO's equivalent: the connection's state, RTT, RTO, cwnd, counters and options."""
        self._check_open()
        conn = self._connection()
        if conn is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return self._stack.call(conn.info)

    def _base_config(self) -> Config:
        return self._stack.runtime.endpoint.config

    def _config(self) -> Config | None:
        if not self._options:
            return None
        return dataclasses.replace(self._base_config(), **self._options)

    def _connection(self) -> Connection | None:
        self._poll_connect()
        if self._proto is not None and self._proto.transport is not None:
            return self._proto.transport.connection
        return None

    # ----------------------------------------------------------------- naming

    def fileno(self) -> int:
        """An eventfd that is readable when ``recv`` or ``accept`` would not block (-1 once closed)."""
        return -1 if self._closed else self._readable.fd

    def writable_fileno(self) -> int:
        """An eventfd that is readable when ``send`` would not block, or a connect finished."""
        return -1 if self._closed else self._writable.fd

    def getsockname(self) -> tuple[Any, ...]:
        self._check_open()
        conn = self._connection()
        if conn is not None:
            return tuple(aio.sockaddr(*conn.local))
        if self._bound is not None:
            return self._addr(*self._bound)
        return self._addr(self._any(), 0)

    def getpeername(self) -> tuple[Any, ...]:
        self._check_open()
        conn = self._connection()
        if conn is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return tuple(aio.sockaddr(*conn.remote))

    def _addr(self, host: str, port: int) -> tuple[Any, ...]:
        return (host, port) if self.family == AF_INET else (host, port, 0, 0)

    def _any(self) -> str:
        return "0.0.0.0" if self.family == AF_INET else "::"

    # --------------------------------------------------------- connection set-up

    def bind(self, address: tuple[Any, ...]) -> None:
        """Claim the address now: port 0 gets a free port at once (``getsockname()``)."""
        self._check_open()
        if self._bound is not None or self._proto is not None or self._connecting is not None:
            raise OSError(errno.EINVAL, "Invalid argument: the socket is already bound")
        host, port = str(address[0] or ""), int(address[1])
        if host in ("", "0.0.0.0", "::"):
            host = self._any()
        else:
            try:
                host = _ip_literal(host, self.family)
            except _stdsocket.gaierror:
                raise OSError(
                    errno.EADDRNOTAVAIL, f"Cannot assign requested address: {host!r} (a name)"
                ) from None
            packed = ipaddress.ip_address(host).packed
            if packed not in self._stack.runtime.endpoint.addresses:
                raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
        runtime = self._stack.runtime
        port = self._stack.call(lambda: runtime.reserve_port(port, reuse=self._reuseaddr))
        self._reserved = port
        self._bound = (host, port)

    def connect(self, address: tuple[Any, ...]) -> None:
        """Active open; in non-blocking mode raises ``BlockingIOError(EINPROGRESS)`` and goes on.

        Then ``writable_fileno()`` becomes readable when it has finished, and
        ``getsockopt(SOL_SOCKET, SO_ERROR)`` tells how (0 or an errno).
        """
        self._check_open()
        self._poll_connect()
        if self._proto is not None:
            if self._connect_unreported:
                self._connect_unreported = False
                return
            raise OSError(errno.EISCONN, "Transport endpoint is already connected")
        if self._server is not None:
            raise OSError(errno.EINVAL, "Invalid argument: the socket is listening")
        if self._connecting is None:
            if self._so_error:
                err, self._so_error = self._so_error, 0
                raise OSError(err, os.strerror(err))
            self._start_connect(address)
            if self._timeout == 0.0:
                self._connect_unreported = True
                raise BlockingIOError(errno.EINPROGRESS, "Operation now in progress")
        elif self._timeout == 0.0:
            raise BlockingIOError(errno.EALREADY, "Operation already in progress")
        assert self._connecting is not None
        future, _ = self._connecting
        try:
            future.result(self._timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            self._connecting = None
            raise _timed_out() from None
        except BaseException as exc:
            self._connecting = None
            self._connect_unreported = False
            self._connect_failed = isinstance(exc, OSError)
            raise
        self._poll_connect()
        self._connect_unreported = False

    def _start_connect(self, address: tuple[Any, ...]) -> None:
        host, port = str(address[0]), int(address[1])
        self._connect_failed = False
        self._readable.update(False)
        try:
            host = _ip_literal(host, self.family)
        except _stdsocket.gaierror:
            # A name: the kernel's resolver answers (synack does no DNS itself).
            infos = _stdsocket.getaddrinfo(host, port, self.family, _stdsocket.SOCK_STREAM)
            host = str(infos[0][4][0])
        local_port = self._bound[1] if self._bound else None
        local_addr = self._bound[0] if self._bound and self._bound[0] != self._any() else None
        protocol = _SocketProtocol(self._stack, self._readable, self._writable)
        protocol.corked = self._cork
        protocol.close_linger = self._linger_time()
        runtime = self._stack.runtime
        config = self._config()

        async def go() -> None:
            await aio.create_connection(
                lambda: protocol,
                host,
                port,
                runtime=runtime,
                local_port=local_port,
                local_addr=local_addr,
                config=config,
                nodelay=False,  # a kernel socket starts with Nagle on
            )

        future = asyncio.run_coroutine_threadsafe(go(), self._stack.loop)
        self._connecting = (future, protocol)
        readable, writable = self._readable, self._writable

        def done(f: concurrent.futures.Future[Any]) -> None:
            # As Linux: a finished connect is writable, a failed one readable too
            # (readable first, so that writable implies it; synack.patch's pollers
            # look again when they wake, to see both).
            with READINESS_CHANGE:
                if f.cancelled() or f.exception() is not None:
                    readable.update(True)
                writable.update(True)

        future.add_done_callback(done)

    def _poll_connect(self) -> None:
        """Take the result of a connect started in non-blocking mode, once it is done."""
        pending = self._connecting
        if pending is None:
            return
        future, protocol = pending
        if not future.done():
            if protocol.transport is not None:  # connected; the future hears it a bit later
                self._connecting = None
                self._proto = protocol
            return
        self._connecting = None
        exc = None if future.cancelled() else future.exception()
        if future.cancelled():
            self._so_error = errno.ECONNABORTED
        elif exc is not None:
            self._so_error = exc.errno if isinstance(exc, OSError) and exc.errno else errno.EIO
            self._connect_failed = True
        else:
            self._proto = protocol

    def connect_ex(self, address: tuple[Any, ...]) -> int:
        try:
            self.connect(address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return 0

    def listen(self, backlog: int = 128) -> None:
        self._check_open()
        if self._server is not None:
            return
        if self._proto is not None or self._connecting is not None:
            raise OSError(errno.EINVAL, "Invalid argument: the socket is connected")
        if self._bound is None:
            self.bind((self._any(), 0))
        assert self._bound is not None
        host, port = self._bound
        ready = self._readable
        stack = self._stack

        def queue(protocol: _SocketProtocol) -> None:
            with self._accept_cond:
                self._accept_queue.append(protocol)
                ready.update(True)
                self._accept_cond.notify_all()

        def factory() -> asyncio.BaseProtocol:
            protocol = _SocketProtocol(stack)
            protocol.on_made = queue
            return protocol

        self._server = stack.run(
            aio.create_server(
                factory,
                host,
                port,
                runtime=stack.runtime,
                backlog=max(1, backlog),
                config=self._config(),
                nodelay=False,
            )
        )

    def accept(self) -> tuple[socket, tuple[Any, ...]]:
        self._check_open()
        if self._server is None:
            raise OSError(errno.EINVAL, "Invalid argument: accept() before listen()")
        with self._accept_cond:
            if not self._wait(self._accept_cond, lambda: bool(self._accept_queue) or self._closed):
                if self._timeout == 0.0:
                    raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
                raise _timed_out()
            self._check_open()
            protocol = self._accept_queue.popleft()
            self._readable.update(bool(self._accept_queue))
        child = socket(self.family, SOCK_STREAM, stack=self._stack)
        child._readable.close()
        child._writable.close()
        child._readable, child._writable = protocol.readiness, protocol.writability
        child._proto = protocol
        child._timeout = _stdsocket.getdefaulttimeout()
        # Socket-level options are inherited from the listener, as on Linux.
        child._linger, child._cork, child._reuseaddr = self._linger, self._cork, self._reuseaddr
        protocol.corked = self._cork
        protocol.close_linger = self._linger_time()
        return child, child.getpeername()

    # -------------------------------------------------------------- data

    def _connected(self) -> _SocketProtocol:
        self._check_open()
        self._poll_connect()
        if self._proto is None:
            if self._connecting is not None and self._timeout == 0.0:
                raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return self._proto

    def _call_timeout(self, flags: int) -> float | None:
        """How long this call may wait: MSG_DONTWAIT makes a blocking socket's call not
        wait; a socket with a timeout waits for it anyway (CPython polls first)."""
        if flags & _stdsocket.MSG_DONTWAIT and self._timeout is None:
            return 0.0
        return self._timeout

    def _wait(
        self,
        cond: threading.Condition,
        predicate: Callable[[], bool],
        timeout: float | Literal["socket"] | None = "socket",
    ) -> bool:
        wait = self._timeout if timeout == "socket" else timeout
        if wait == 0.0:
            return predicate()
        return cond.wait_for(predicate, wait)

    def send(self, data: bytes | bytearray | memoryview, flags: int = 0) -> int:
        """Queue what fits of ``data``; flags: MSG_DONTWAIT (MSG_NOSIGNAL, MSG_MORE: no effect)."""
        _check_flags(flags, _SEND_FLAGS, "send")
        self._check_open()
        self._poll_connect()
        if self._proto is None and self._connecting is None:
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))  # as Linux
        proto = self._connected()
        if self._shut_wr:
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
        view = memoryview(data).cast("B")
        if not view:
            return 0
        timeout = self._call_timeout(flags)
        with proto.cond:
            if not proto.can_send() and not self._wait(proto.cond, proto.can_send, timeout):
                if timeout == 0.0:
                    raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
                raise _timed_out()
            if proto.lost:
                if not proto.eof:
                    err = proto.take_error()
                    if err is not None:
                        raise err
                raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
            return proto.queue(view)

    def sendall(self, data: bytes | bytearray | memoryview, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        while view:
            n = self.send(view, flags)
            view = view[n:]

    def sendto(self, data: bytes | bytearray | memoryview, *args: Any) -> int:
        """``sendto(data[, flags], address)``: on a connected TCP socket the address is ignored."""
        if len(args) not in (1, 2):
            raise TypeError(f"sendto() takes 2 or 3 arguments ({len(args) + 1} given)")
        return self.send(data, args[0] if len(args) == 2 else 0)

    def sendmsg(
        self,
        buffers: Any,
        ancdata: Any = (),
        flags: int = 0,
        address: Any = None,
    ) -> int:
        """``sendmsg`` without ancillary data (TCP has none to carry here)."""
        if list(ancdata):
            raise OSError(errno.EOPNOTSUPP, "Operation not supported: ancillary data on synack")
        return self.send(b"".join(bytes(memoryview(b).cast("B")) for b in buffers), flags)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """``socket.sendfile`` without the zero-copy path: read and ``sendall``."""
        if offset:
            file.seek(offset)
        total = 0
        while count is None or total < count:
            chunk = file.read(min(1 << 16, count - total) if count is not None else 1 << 16)
            if not chunk:
                break
            self.sendall(chunk)
            total += len(chunk)
        if hasattr(file, "seek"):
            file.seek(offset + total)
        return total

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Read up to ``bufsize`` octets; flags: MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL.

        As on Linux: data first, then b"" at the end of the stream; a reset is
        raised once (``ConnectionResetError``), b"" after that; ``shutdown(SHUT_RD)``
        (from any thread) makes a waiting or later ``recv`` return what is buffered,
        then b"".
        """
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        _check_flags(flags, _RECV_FLAGS, "recv")
        self._check_open()
        self._poll_connect()
        if self._proto is None and self._connect_failed:
            return b""  # as Linux after a failed connect (its error went to SO_ERROR/connect)
        proto = self._connected()
        if bufsize == 0:
            return b""
        timeout = self._call_timeout(flags)
        # CPython waits for a socket with a timeout in poll(), then reads from a
        # non-blocking descriptor: MSG_WAITALL waits for it all only when blocking.
        want = bufsize if flags & _stdsocket.MSG_WAITALL and self._timeout is None else 1

        def ready() -> bool:
            return len(proto.buffer) >= want or proto.eof or proto.lost or self._shut_rd

        with proto.cond:
            if not self._wait(proto.cond, ready, timeout) and not (want > 1 and proto.buffer):
                if timeout == 0.0:
                    raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
                raise _timed_out()
            if proto.buffer:
                data = bytes(proto.buffer[:bufsize])
                if flags & _stdsocket.MSG_PEEK:
                    return data
                del proto.buffer[:bufsize]
                if proto.read_paused and len(proto.buffer) < _RECV_LOW:
                    proto.read_paused = False
                    self._stack.call_soon(proto._resume_reading)
                proto.readiness.update(
                    bool(proto.buffer) or proto.eof or proto.lost or self._shut_rd
                )
                return data
            if not proto.eof and not self._shut_rd:
                err = proto.take_error()
                if err is not None:
                    raise err
            return b""

    def recv_into(self, buffer: bytearray | memoryview, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        want = nbytes or len(view)
        data = self.recv(want, flags)
        view[: len(data)] = data
        return len(data)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, None]:
        """``recv`` and no address, as for a connected TCP socket."""
        return self.recv(bufsize, flags), None

    def recvfrom_into(
        self, buffer: bytearray | memoryview, nbytes: int = 0, flags: int = 0
    ) -> tuple[int, None]:
        return self.recv_into(buffer, nbytes, flags), None

    def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, flags: int = 0
    ) -> tuple[bytes, list[Any], int, None]:
        """``recv`` as ``recvmsg`` returns it: no ancillary data, no message flags."""
        return self.recv(bufsize, flags), [], 0, None

    def dup(self) -> socket:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported: synack sockets cannot be dup()ed")

    def shutdown(self, how: int) -> None:
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise OSError(errno.EINVAL, "Invalid argument")
        proto = self._connected()
        if how in (SHUT_RD, SHUT_RDWR):
            with proto.cond:
                self._shut_rd = True
                proto.readiness.update(True)
                proto.cond.notify_all()  # a recv() waiting in another thread returns
        if how in (SHUT_WR, SHUT_RDWR) and not self._shut_wr:
            self._shut_wr = True
            if not proto.lost and not self._stack.closed:
                self._stack.call(proto.shutdown_write)

    # ------------------------------------------------------------- closing

    def close(self) -> None:
        """Close (FIN after sent data) once no ``makefile`` object is open.

        With SO_LINGER on and a time of 0 the connection is reset instead; with a
        time of N seconds a blocking socket's close waits up to N seconds for the
        peer to acknowledge the data and the FIN.
        """
        if self._closed:
            return
        if self._io_refs > 0:
            self._close_pending = True
            return
        self._really_close()

    def _really_close(self) -> None:
        self._closed = True
        stack = self._stack
        self._poll_connect()
        if self._connecting is not None:
            self._connecting[0].cancel()
            self._connecting = None
        if self._proto is not None and not stack.closed:
            onoff, seconds = self._linger
            conn = stack.call(self._proto.close_transport, bool(onoff and not seconds))
            if conn is not None and onoff and seconds and self._timeout != 0.0:
                runtime = stack.runtime
                stack.run(runtime.wait_until(lambda: runtime.delivered(conn), seconds))
        if self._server is not None:
            if not stack.closed:
                stack.call(self._server.close)
            with self._accept_cond:
                self._accept_cond.notify_all()
        if self._reserved is not None and not stack.closed:
            stack.call(stack.runtime.release_port, self._reserved)
        self._reserved = None
        self._readable.close()
        self._writable.close()

    def detach(self) -> int:
        raise OSError(errno.EOPNOTSUPP, "synack sockets have no kernel descriptor to detach")

    def _linger_time(self) -> float | None:
        """SO_LINGER's time in seconds when it is on (0: close resets), else None."""
        onoff, seconds = self._linger
        return float(seconds) if onoff else None

    def _check_open(self) -> None:
        if self._closed:
            raise OSError(errno.EBADF, "Bad file descriptor")

    def __enter__(self) -> socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<synack.socket {state} family={self.family} timeout={self._timeout}>"

    # ------------------------------------------------------------- makefile

    def makefile(
        self,
        mode: str = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> Any:
        """A file object over the socket, as ``socket.socket.makefile`` returns."""
        return make_file(self, mode, buffering, encoding, errors, newline)

    def _decref_io(self) -> None:
        self._io_refs -= 1
        if self._io_refs <= 0 and self._close_pending:
            self._really_close()


def _reconfigure(runtime: Runtime, conn: Connection, changes: dict[str, Any]) -> None:
    try:
        conn.reconfigure(runtime.now(), **changes)
    except (ValueError, InvalidStateError) as exc:
        raise OSError(errno.EINVAL, f"Invalid argument: {exc}") from None
    runtime.kick()


def _configure_listener(server: Server, changes: dict[str, Any]) -> None:
    listener = server.listener
    try:
        listener.config = dataclasses.replace(listener.config, **changes)
    except ValueError as exc:
        raise OSError(errno.EINVAL, f"Invalid argument: {exc}") from None


class _FileSocket(Protocol):
    """What :func:`make_file` needs of a socket (plain or TLS)."""

    _io_refs: int

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int: ...

    def send(self, data: Any, flags: int = 0) -> int: ...

    def fileno(self) -> int: ...

    def _decref_io(self) -> None: ...


def make_file(
    sock: _FileSocket,
    mode: str = "r",
    buffering: int | None = None,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
) -> Any:
    """``makefile`` for synack's sockets: a raw, buffered or text file over ``sock``.

    As ``socket.socket.makefile``: the socket stays open until every file made
    this way is closed too (``sock._io_refs`` counts them).
    """
    if not set(mode) <= {"r", "w", "b"}:
        raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
    writing = "w" in mode
    reading = "r" in mode or not writing
    raw = _SocketIO(sock, reading, writing)
    sock._io_refs += 1
    size = io.DEFAULT_BUFFER_SIZE if buffering is None or buffering < 0 else buffering
    if size == 0:
        if "b" not in mode:
            raise ValueError("unbuffered streams must be binary")
        return raw
    buffer: io.BufferedIOBase
    if reading and writing:
        buffer = io.BufferedRWPair(raw, raw, size)
    elif reading:
        buffer = io.BufferedReader(raw, size)
    else:
        buffer = io.BufferedWriter(raw, size)
    if "b" in mode:
        return buffer
    text = io.TextIOWrapper(buffer, encoding, errors, newline)  # type: ignore[type-var]
    text.mode = mode  # type: ignore[misc]
    return text


class _SocketIO(io.RawIOBase):
    """Raw file I/O over a synack socket (what ``makefile`` buffers)."""

    def __init__(self, sock: _FileSocket, reading: bool, writing: bool) -> None:
        super().__init__()
        self._sock = sock
        self._reading = reading
        self._writing = writing

    def readable(self) -> bool:
        return self._reading

    def writable(self) -> bool:
        return self._writing

    def readinto(self, b: Any) -> int:
        return self._sock.recv_into(b)

    def write(self, b: Any) -> int:
        return self._sock.send(b)

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        self._sock._decref_io()


def create_connection(
    address: tuple[str, int],
    timeout: Any = _stdsocket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    source_address: tuple[str, int] | None = None,
    *,
    all_errors: bool = False,
    stack: Stack | None = None,
) -> socket:
    """Like :func:`socket.create_connection` (IP literals only: synack does no DNS)."""
    host, port = str(address[0]), int(address[1])
    try:
        family = _family_of(host.split("%", 1)[0])
    except ValueError:
        raise _stdsocket.gaierror(
            _stdsocket.EAI_NONAME, f"synack takes IP addresses, not names: {host!r}"
        ) from None
    sock = socket(family, SOCK_STREAM, stack=stack)
    try:
        if timeout is not _stdsocket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
            sock.settimeout(timeout)
        if source_address is not None:
            sock.bind(source_address)
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock

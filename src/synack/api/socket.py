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
import errno
import io
import ipaddress
import os
import socket as _stdsocket
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from synack.api import aio
from synack.api.aio import Server, SynackTransport
from synack.api.runtime import Runtime, open_tap_runtime

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
_SEND_CHUNK = 1 << 18


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
            raise TimeoutError(errno.ETIMEDOUT, "timed out") from None

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


class _Readiness:
    """An eventfd that is readable exactly while a condition holds (level-triggered)."""

    def __init__(self) -> None:
        self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._set = False

    def update(self, ready: bool) -> None:
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
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _SocketProtocol(asyncio.Protocol):
    """Loop-side half of a connected socket: buffers data for the user's thread."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.cond = threading.Condition()
        self.buffer = bytearray()
        self.eof = False
        self.error: Exception | None = None
        self.lost = False
        self.write_paused = False
        self.read_paused = False
        self.transport: SynackTransport | None = None
        self.readiness = _Readiness()
        # Called once connected (listening sockets queue the new connection here).
        self.on_made: Callable[[_SocketProtocol], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, SynackTransport)
        self.transport = transport
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
        with self.cond:
            self.lost = True
            if exc is not None and self.error is None:
                self.error = exc
            self.readiness.update(True)
            self.cond.notify_all()

    def pause_writing(self) -> None:
        with self.cond:
            self.write_paused = True

    def resume_writing(self) -> None:
        with self.cond:
            self.write_paused = False
            self.cond.notify_all()

    def _resume_reading(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.resume_reading()


def _family_of(host: str) -> int:
    return AF_INET6 if ipaddress.ip_address(host).version == 6 else AF_INET


class socket:  # noqa: N801 - named after the standard class it stands in for
    """A TCP socket on a synack :class:`Stack`, with the standard ``socket`` methods."""

    def __init__(
        self,
        family: int = AF_INET,
        type: int = SOCK_STREAM,
        proto: int = 0,
        *,
        stack: Stack | None = None,
    ) -> None:
        if family not in (AF_INET, AF_INET6):
            raise OSError(errno.EAFNOSUPPORT, "synack sockets are AF_INET or AF_INET6")
        if type & 0xF != SOCK_STREAM:
            raise OSError(errno.ESOCKTNOSUPPORT, "synack sockets are SOCK_STREAM")
        self.family = family
        self.type = SOCK_STREAM
        self.proto = proto
        self._stack = stack if stack is not None else get_default_stack()
        self._timeout: float | None = _stdsocket.getdefaulttimeout()
        self._bound: tuple[str, int] | None = None
        self._proto: _SocketProtocol | None = None
        self._server: Server | None = None
        self._accept_cond = threading.Condition()
        self._accept_queue: deque[_SocketProtocol] = deque()
        self._accept_ready: _Readiness | None = None
        self._shut_rd = False
        self._shut_wr = False
        self._closed = False
        self._io_refs = 0

    # ---------------------------------------------------------------- options

    def settimeout(self, value: float | None) -> None:
        if value is not None and value < 0:
            raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def setsockopt(
        self, level: int, optname: int, value: int | bytes, optlen: int | None = None
    ) -> None:
        """Accepted for compatibility (SO_REUSEADDR, TCP_NODELAY, ...); synack has no per-socket options yet."""

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> int:
        return 0

    # ----------------------------------------------------------------- naming

    def fileno(self) -> int:
        """An eventfd that is readable when ``recv`` or ``accept`` would not block."""
        self._check_open()
        if self._proto is not None:
            return self._proto.readiness.fd
        if self._accept_ready is not None:
            return self._accept_ready.fd
        return -1

    def getsockname(self) -> tuple[Any, ...]:
        self._check_open()
        if self._proto is not None and self._proto.transport is not None:
            return tuple(self._proto.transport.get_extra_info("sockname"))
        if self._bound is not None:
            return self._addr(*self._bound)
        return self._addr("0.0.0.0" if self.family == AF_INET else "::", 0)

    def getpeername(self) -> tuple[Any, ...]:
        self._check_open()
        if self._proto is None or self._proto.transport is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return tuple(self._proto.transport.get_extra_info("peername"))

    def _addr(self, host: str, port: int) -> tuple[Any, ...]:
        return (host, port) if self.family == AF_INET else (host, port, 0, 0)

    # --------------------------------------------------------- connection set-up

    def bind(self, address: tuple[Any, ...]) -> None:
        self._check_open()
        host, port = address[0], int(address[1])
        self._bound = (host or ("0.0.0.0" if self.family == AF_INET else "::"), port)

    def connect(self, address: tuple[Any, ...]) -> None:
        self._check_open()
        if self._proto is not None:
            raise OSError(errno.EISCONN, "Transport endpoint is already connected")
        host, port = str(address[0]), int(address[1])
        if _family_of(host) != self.family:
            raise OSError(errno.EAFNOSUPPORT, "address family mismatch")
        local_port = self._bound[1] if self._bound and self._bound[1] else None
        protocol = _SocketProtocol(self._stack)

        async def go() -> None:
            await aio.create_connection(
                lambda: protocol, host, port, runtime=self._stack.runtime, local_port=local_port
            )

        if self._timeout == 0.0:
            raise BlockingIOError(errno.EINPROGRESS, "synack sockets connect in blocking mode only")
        self._stack.run(go(), self._timeout)
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
        host, port = self._bound if self._bound is not None else (None, 0)
        ready = _Readiness()
        self._accept_ready = ready
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
            aio.create_server(factory, host, port, runtime=stack.runtime, backlog=max(1, backlog))
        )
        self._bound = (host or ("0.0.0.0" if self.family == AF_INET else "::"), self._server.port)

    def accept(self) -> tuple[socket, tuple[Any, ...]]:
        self._check_open()
        if self._server is None:
            raise OSError(errno.EINVAL, "Invalid argument: accept() before listen()")
        with self._accept_cond:
            if not self._wait(self._accept_cond, lambda: bool(self._accept_queue) or self._closed):
                if self._timeout == 0.0:
                    raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
                raise TimeoutError(errno.ETIMEDOUT, "timed out")
            self._check_open()
            protocol = self._accept_queue.popleft()
            assert self._accept_ready is not None
            self._accept_ready.update(bool(self._accept_queue))
        child = socket(self.family, SOCK_STREAM, stack=self._stack)
        child._proto = protocol
        child._timeout = _stdsocket.getdefaulttimeout()
        return child, child.getpeername()

    # -------------------------------------------------------------- data

    def _connected(self) -> _SocketProtocol:
        self._check_open()
        if self._proto is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return self._proto

    def _wait(self, cond: threading.Condition, predicate: Callable[[], bool]) -> bool:
        if self._timeout == 0.0:
            return predicate()
        return cond.wait_for(predicate, self._timeout)

    def send(self, data: bytes | bytearray | memoryview, flags: int = 0) -> int:
        proto = self._connected()
        if self._shut_wr:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        view = memoryview(data).cast("B")
        if not view:
            return 0
        with proto.cond:
            if not self._wait(proto.cond, lambda: not proto.write_paused or proto.lost):
                if self._timeout == 0.0:
                    raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
                raise TimeoutError(errno.ETIMEDOUT, "timed out")
            if proto.lost:
                if isinstance(proto.error, ConnectionResetError):
                    raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
                raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        chunk = bytes(view[:_SEND_CHUNK])
        transport = proto.transport
        assert transport is not None
        self._stack.call(transport.write, chunk)
        return len(chunk)

    def sendall(self, data: bytes | bytearray | memoryview, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        while view:
            n = self.send(view)
            view = view[n:]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        proto = self._connected()
        if self._shut_rd or bufsize == 0:
            return b""
        with proto.cond:
            if not self._wait(proto.cond, lambda: bool(proto.buffer) or proto.eof or proto.lost):
                if self._timeout == 0.0:
                    raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
                raise TimeoutError(errno.ETIMEDOUT, "timed out")
            if proto.buffer:
                data = bytes(proto.buffer[:bufsize])
                del proto.buffer[:bufsize]
                if proto.read_paused and len(proto.buffer) < _RECV_LOW:
                    proto.read_paused = False
                    self._stack.call_soon(proto._resume_reading)
                proto.readiness.update(bool(proto.buffer) or proto.eof or proto.lost)
                return data
            if proto.error is not None:
                err = proto.error
                raise type(err)(*err.args)
            return b""

    def recv_into(self, buffer: bytearray | memoryview, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        want = nbytes or len(view)
        data = self.recv(want, flags)
        view[: len(data)] = data
        return len(data)

    def shutdown(self, how: int) -> None:
        proto = self._connected()
        if how in (SHUT_RD, SHUT_RDWR):
            self._shut_rd = True
        if how in (SHUT_WR, SHUT_RDWR) and not self._shut_wr:
            self._shut_wr = True
            transport = proto.transport
            if transport is not None and not proto.lost:
                self._stack.call(transport.write_eof)

    # ------------------------------------------------------------- closing

    def close(self) -> None:
        """Close (FIN after sent data) once no ``makefile`` object is open."""
        if self._closed:
            return
        if self._io_refs > 0:
            self._close_pending = True
            return
        self._really_close()

    def _really_close(self) -> None:
        self._closed = True
        if self._proto is not None:
            proto = self._proto
            transport = proto.transport
            if transport is not None and not self._stack.closed:
                self._stack.call(transport.close)
            with proto.cond:
                proto.readiness.close()
        if self._server is not None:
            if not self._stack.closed:
                self._stack.call(self._server.close)
            with self._accept_cond:
                self._accept_cond.notify_all()
        if self._accept_ready is not None:
            with self._accept_cond:
                self._accept_ready.close()

    def detach(self) -> int:
        raise OSError(errno.EOPNOTSUPP, "synack sockets have no kernel descriptor to detach")

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
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        raw = _SocketIO(self, reading, writing)
        self._io_refs += 1
        if buffering is None:
            buffering = -1
        if buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        buffer: io.BufferedIOBase
        if reading and writing:
            buffer = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if "b" in mode:
            return buffer
        text = io.TextIOWrapper(buffer, encoding, errors, newline)  # type: ignore[type-var]
        text.mode = mode  # type: ignore[misc]
        return text

    def _decref_io(self) -> None:
        self._io_refs -= 1
        if self._io_refs <= 0 and getattr(self, "_close_pending", False):
            self._really_close()


class _SocketIO(io.RawIOBase):
    """Raw file I/O over a synack socket (what ``makefile`` buffers)."""

    def __init__(self, sock: socket, reading: bool, writing: bool) -> None:
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
    timeout: float | None = None,
    source_address: tuple[str, int] | None = None,
    *,
    stack: Stack | None = None,
) -> socket:
    """Like :func:`socket.create_connection` (IP literals only: synack does no DNS)."""
    host, port = address
    sock = socket(_family_of(host), SOCK_STREAM, stack=stack)
    try:
        if timeout is not None:
            sock.settimeout(timeout)
        if source_address is not None:
            sock.bind(source_address)
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock

"""asyncio on any event loop over a :class:`~synack.api.socket.Stack` running in its own thread.

A :class:`~synack.api.aio.SynackTransport` lives in the stack's loop. An asyncio
program runs its own loop (``asyncio.run``) in another thread, so
:func:`create_connection` and :func:`create_server` give it a
:class:`BridgeTransport` in *its* loop, joined to the synack transport by
``call_soon_threadsafe`` both ways: data and events hop threads, flow control
is kept (the program's protocol is paused while the stack has more than the
write-buffer limit of its data, and the stack stops reading while the
program's protocol is paused). The bridge is a real asyncio transport
(``_start_tls_compatible``, buffered protocols), so ``ssl=`` uses asyncio's own
TLS layer on top of it. :mod:`synack.api.patch` installs these as
``loop.create_connection`` / ``loop.create_server``.
"""

from __future__ import annotations

import asyncio
import errno
import socket as _stdsocket
import ssl as _ssl
from collections import deque
from collections.abc import Callable
from typing import Any

from synack.api import aio, sockopt
from synack.api.aio import StreamTransport, SynackTransport
from synack.api.socket import Stack, _configure_listener, _reconfigure

__all__ = ["BridgeServer", "BridgeTransport", "create_connection", "create_server"]


class _StackSide(asyncio.Protocol):
    """The protocol in the stack's loop: forwards everything to the program's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.bridge: BridgeTransport | None = None
        self.transport: SynackTransport | None = None
        self.on_made: Callable[[_StackSide], None] | None = None
        self._early: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def _send(self, fn_name: str, *args: Any) -> None:
        bridge = self.bridge
        if bridge is None:
            self._early.append((getattr(BridgeTransport, fn_name), args))
            return
        self.loop.call_soon_threadsafe(getattr(bridge, fn_name), *args)

    def attach(self, bridge: BridgeTransport) -> None:
        """(stack's loop) The program's side exists: replay what came before it."""
        self.bridge = bridge
        for fn, args in self._early:
            self.loop.call_soon_threadsafe(fn, bridge, *args)
        self._early.clear()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, SynackTransport)
        self.transport = transport
        if self.on_made is not None:
            self.on_made(self)

    def data_received(self, data: bytes) -> None:
        self._send("_on_data", data)

    def eof_received(self) -> bool:
        self._send("_on_eof")
        return True  # the program decides (its protocol's eof_received)

    def connection_lost(self, exc: Exception | None) -> None:
        self._send("_on_lost", exc)

    def pause_writing(self) -> None:
        self._send("_on_stack_paused", True)

    def resume_writing(self) -> None:
        self._send("_on_stack_paused", False)

    def written(self, n: int) -> None:
        self._send("_on_written", n)


class _BridgeSocket:
    """What ``get_extra_info("socket")`` gives: the connection's names and options."""

    family: int
    type = _stdsocket.SOCK_STREAM
    proto = _stdsocket.IPPROTO_TCP

    def __init__(self, stack: Stack, transport: SynackTransport) -> None:
        self._stack = stack
        self._transport = transport
        local = transport.get_extra_info("sockname")[0]
        self.family = _stdsocket.AF_INET6 if ":" in local else _stdsocket.AF_INET

    def getsockname(self) -> Any:
        return self._transport.get_extra_info("sockname")

    def getpeername(self) -> Any:
        return self._transport.get_extra_info("peername")

    def fileno(self) -> int:
        return -1

    def setsockopt(self, level: int, optname: int, value: int | bytes) -> None:
        option = aio._config_option(level, optname)
        changes = {option.field: option.to_config(value)}
        runtime = self._stack.runtime
        self._stack.call(_reconfigure, runtime, self._transport.connection, changes)

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> int | bytes:
        option = aio._config_option(level, optname)
        value = getattr(self._transport.connection.config, option.field)
        return sockopt.encode_value(option.from_config(value), buflen)


class BridgeTransport(StreamTransport):
    """An asyncio transport in the program's loop for a synack connection in the stack's loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        stack: Stack,
        side: _StackSide,
        protocol: asyncio.BaseProtocol,
        *,
        paused: bool = False,
    ) -> None:
        transport = side.transport
        assert transport is not None
        super().__init__(
            protocol,
            {
                "peername": transport.get_extra_info("peername"),
                "sockname": transport.get_extra_info("sockname"),
                "socket": _BridgeSocket(stack, transport),
                "connection": transport.connection,
            },
        )
        self._loop = loop
        self._stack = stack
        self._side = side
        self._remote = transport
        self._rx: deque[tuple[str, Any]] = deque()
        self._reading_paused = paused
        self._crossing = 0  # octets written here, not yet taken by the stack's transport
        self._stack_paused = False
        self._protocol_paused = False
        self._eof_written = False

    # ------------------------------------------------ events from the stack's loop

    def _on_data(self, data: bytes) -> None:
        self._rx.append(("data", data))
        self._deliver()

    def _on_eof(self) -> None:
        self._rx.append(("eof", None))
        self._deliver()

    def _on_lost(self, exc: Exception | None) -> None:
        self._rx.append(("lost", exc))
        self._deliver()

    def _on_stack_paused(self, paused: bool) -> None:
        self._stack_paused = paused
        self._flow()

    def _on_written(self, n: int) -> None:
        self._crossing -= n
        self._flow()

    def _deliver(self) -> None:
        while self._rx and not self._lost:
            kind, value = self._rx[0]
            if kind == "lost":
                self._rx.clear()
                self._lost = True
                self._protocol.connection_lost(value)
                return
            if self._reading_paused:
                return
            self._rx.popleft()
            if kind == "data":
                if not self._closing:
                    self._hand_over(value)
            elif not self._closing and not self._protocol.eof_received():  # type: ignore[attr-defined]
                self.close()

    def _flow(self) -> None:
        want = self._stack_paused or self._crossing > self._high
        if want and not self._protocol_paused:
            self._protocol_paused = True
            self._protocol.pause_writing()
        elif (
            not want
            and self._protocol_paused
            and not self._stack_paused
            and self._crossing <= self._low
        ):
            self._protocol_paused = False
            self._protocol.resume_writing()

    # ---------------------------------------------------------- the program's calls

    def _remote_call(self, fn: Callable[..., object], *args: Any) -> None:
        self._stack.loop.call_soon_threadsafe(fn, *args)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        if self._eof_written:
            raise RuntimeError("Cannot call write() after write_eof()")
        if not data or self._closing or self._lost:
            return
        chunk = bytes(data)
        self._crossing += len(chunk)
        self._remote_call(_write, self._side, chunk)
        self._flow()

    def write_eof(self) -> None:
        if self._eof_written:
            return
        self._eof_written = True
        self._remote_call(self._remote.write_eof)

    def get_write_buffer_size(self) -> int:
        return max(0, self._crossing)

    def _limits_changed(self) -> None:
        self._flow()

    def pause_reading(self) -> None:
        if not self._reading_paused:
            self._reading_paused = True
            self._remote_call(self._remote.pause_reading)

    def resume_reading(self) -> None:
        if self._reading_paused:
            self._reading_paused = False
            self._remote_call(self._remote.resume_reading)
            self._deliver()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._remote_call(self._remote.close)

    def abort(self) -> None:
        self._closing = True
        self._remote_call(self._remote.abort)

    def __repr__(self) -> str:
        return f"<synack BridgeTransport {self.get_extra_info('peername')}>"


def _write(side: _StackSide, data: bytes) -> None:
    """(stack's loop) Write for the program, then tell it how much crossed."""
    transport = side.transport
    if transport is not None:
        transport.write(data)
    side.written(len(data))


async def _wrap(
    loop: asyncio.AbstractEventLoop,
    stack: Stack,
    side: _StackSide,
    protocol: asyncio.BaseProtocol,
    ssl: _ssl.SSLContext | bool | None,
    *,
    server_side: bool,
    server_hostname: str | None,
    ssl_handshake_timeout: float | None,
) -> asyncio.Transport:
    """The program's transport for ``side``: a bridge, TLS on top when ``ssl``."""
    bridge = BridgeTransport(loop, stack, side, protocol, paused=ssl is not None)
    stack.call_soon(side.attach, bridge)
    if ssl is None:
        protocol.connection_made(bridge)
        return bridge
    context = _ssl.create_default_context() if ssl is True else ssl
    assert isinstance(context, _ssl.SSLContext)
    try:
        tls = await loop.start_tls(
            bridge,
            protocol,
            context,
            server_side=server_side,
            server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
        )
    except BaseException:
        bridge.abort()
        raise
    assert tls is not None
    protocol.connection_made(tls)
    return tls


async def create_connection(
    stack: Stack,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    host: str,
    port: int,
    *,
    ssl: _ssl.SSLContext | bool | None = None,
    server_hostname: str | None = None,
    local_addr: tuple[str, int] | None = None,
    ssl_handshake_timeout: float | None = None,
) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """``loop.create_connection`` for the running loop, over ``stack``."""
    loop = asyncio.get_running_loop()
    side = _StackSide(loop)
    local_host = (
        local_addr[0] if local_addr and local_addr[0] not in ("", "0.0.0.0", "::") else None
    )
    local_port = local_addr[1] if local_addr and local_addr[1] else None
    try:
        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(
                aio.create_connection(
                    lambda: side,
                    host,
                    port,
                    runtime=stack.runtime,
                    local_addr=local_host,
                    local_port=local_port,
                ),
                stack.loop,
            )
        )
    except OSError as exc:
        if exc.errno not in _CONNECT_ERRORS:
            raise
        # asyncio's words for a connect that failed (base_events' sock_connect).
        address = (host, port) if ":" not in host else (host, port, 0, 0)
        raise OSError(exc.errno, f"Connect call failed {address}") from None
    protocol = protocol_factory()
    hostname = server_hostname if server_hostname is not None else host
    transport = await _wrap(
        loop,
        stack,
        side,
        protocol,
        ssl,
        server_side=False,
        server_hostname=hostname if ssl else None,
        ssl_handshake_timeout=ssl_handshake_timeout,
    )
    return transport, protocol


_CONNECT_ERRORS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
    }
)


class _ServerSocket(aio.ListeningSocket):
    """A bridged server's socket: options go to the listener in the stack's thread."""

    def __init__(self, stack: Stack, server: aio.Server, family: int) -> None:
        super().__init__(server, family)
        self._stack = stack

    def setsockopt(self, level: int, optname: int, value: int | bytes) -> None:
        option = aio._config_option(level, optname)
        changes = {option.field: option.to_config(value)}
        self._stack.call(_configure_listener, self._server, changes)


class BridgeServer(asyncio.AbstractServer):
    """``asyncio.Server``'s shape for a synack server serving a program's loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        stack: Stack,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        ssl: _ssl.SSLContext | None,
        ssl_handshake_timeout: float | None,
    ) -> None:
        self._loop = loop
        self._stack = stack
        self._factory = protocol_factory
        self._ssl = ssl
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._server: aio.Server | None = None
        self._serving = False
        self._closed: asyncio.Future[None] = loop.create_future()
        self._tasks: set[asyncio.Task[asyncio.Transport]] = set()
        # Accepted before start_serving(): they wait, as in a kernel backlog.
        self._waiting: list[_StackSide] = []
        self._serving_forever: asyncio.Future[None] | None = None

    def _made(self, side: _StackSide) -> None:
        """(stack's loop) A connection was accepted."""
        self._loop.call_soon_threadsafe(self._accept, side)

    def _accept(self, side: _StackSide) -> None:
        if not self._serving:
            if self._closed.done():
                if side.transport is not None:
                    self._stack.call_soon(side.transport.abort)
            else:
                self._waiting.append(side)
            return
        protocol = self._factory()
        task = self._loop.create_task(
            _wrap(
                self._loop,
                self._stack,
                side,
                protocol,
                self._ssl,
                server_side=True,
                server_hostname=None,
                ssl_handshake_timeout=self._ssl_handshake_timeout,
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[asyncio.Transport]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # a failed TLS handshake ends only that connection

    @property
    def sockets(self) -> tuple[aio.ListeningSocket, ...]:
        server = self._server
        if server is None or not self._serving:
            return ()
        return tuple(_ServerSocket(self._stack, server, s.family) for s in server.sockets)

    def close(self) -> None:
        if not self._serving and self._closed.done():
            return
        self._serving = False
        if self._server is not None:
            self._stack.call(self._server.close)
        for side in self._waiting:
            if side.transport is not None:
                self._stack.call_soon(side.transport.abort)
        self._waiting.clear()
        if not self._closed.done():
            self._closed.set_result(None)
        if self._serving_forever is not None and not self._serving_forever.done():
            self._serving_forever.cancel()  # serve_forever() raises CancelledError
        self._serving_forever = None

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    def _start(self) -> None:
        if self._closed.done():
            raise RuntimeError(f"server {self!r} is closed")
        self._serving = True
        waiting, self._waiting = self._waiting, []
        for side in waiting:
            self._accept(side)

    async def start_serving(self) -> None:
        self._start()

    async def serve_forever(self) -> None:
        """Serve until cancelled; then the server is closed (asyncio's contract)."""
        if self._serving_forever is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        self._start()
        self._serving_forever = self._loop.create_future()
        try:
            await self._serving_forever  # until cancelled, or close() cancels it
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever = None

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)


async def create_server(
    stack: Stack,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    host: str | None = None,
    port: int = 0,
    *,
    backlog: int = 100,
    ssl: _ssl.SSLContext | None = None,
    ssl_handshake_timeout: float | None = None,
    start_serving: bool = True,
) -> BridgeServer:
    """``loop.create_server`` for the running loop, over ``stack``."""
    loop = asyncio.get_running_loop()
    server = BridgeServer(loop, stack, protocol_factory, ssl, ssl_handshake_timeout)

    def factory() -> asyncio.BaseProtocol:
        side = _StackSide(loop)
        side.on_made = server._made
        return side

    server._server = await asyncio.wrap_future(
        asyncio.run_coroutine_threadsafe(
            aio.create_server(factory, host, port, runtime=stack.runtime, backlog=backlog),
            stack.loop,
        )
    )
    server._serving = start_serving
    return server

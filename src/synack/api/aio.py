"""asyncio over synack: transports, ``create_connection``/``create_server``, and streams.

:class:`SynackTransport` is an :class:`asyncio.Transport` over one synack
connection, so any asyncio protocol runs on it, and :func:`open_connection` /
:func:`start_server` hand out the standard library's own
:class:`asyncio.StreamReader` / :class:`asyncio.StreamWriter` wired to it. Flow
control is real in both directions: ``write`` fills the connection's send
buffer and then the transport's buffer, above whose high-water mark the
protocol is paused (``drain`` waits); a reader that stops reading stops
``Connection.recv``, which closes synack's receive window towards the peer.

Every call runs in the runtime's event loop. The runtime comes from the
``runtime=`` argument or from :func:`set_default_runtime`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import ipaddress
import os
import socket
import ssl as _ssl
from collections.abc import Awaitable, Callable
from typing import Any

from synack.api import sockopt
from synack.api.runtime import Runtime
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Listener
from synack.tcp.errors import ConnectionClosedError, PortInUseError
from synack.tcp.events import (
    Closed,
    Connected,
    DataReceived,
    Event,
    PeerClosed,
    Reset,
    SendBufferSpace,
    SoftError,
    TimedOut,
)
from synack.tcp.reasons import SoftErrorReason, TimeoutReason
from synack.tcp.state import State
from synack.wire.ip import addr_to_str

__all__ = [
    "ListeningSocket",
    "Server",
    "StreamTransport",
    "SynackTransport",
    "create_connection",
    "create_server",
    "get_default_runtime",
    "open_connection",
    "set_default_runtime",
    "start_server",
]

_default_runtime: Runtime | None = None

# States in which a closed-by-the-user connection may still receive data.
_PEER_MAY_SEND = frozenset(
    {State.SYN_RECEIVED, State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2}
)

# The errno of a connection that gave up after these ICMP soft errors (the
# kinds are synack.wire.icmp.ICMP_KINDS; the others give ETIMEDOUT).
_SOFT_ERRNO: dict[SoftErrorReason, int] = {
    "host_unreachable": errno.EHOSTUNREACH,
    "net_unreachable": errno.ENETUNREACH,
    "port_unreachable": errno.ECONNREFUSED,
    "proto_unreachable": errno.ENOPROTOOPT,
}


def set_default_runtime(runtime: Runtime | None) -> None:
    """The runtime used when a call gets no ``runtime=`` argument."""
    global _default_runtime
    _default_runtime = runtime


def get_default_runtime() -> Runtime:
    """The default runtime; raises RuntimeError if none was set."""
    if _default_runtime is None:
        raise RuntimeError("no synack runtime: pass runtime= or call set_default_runtime()")
    return _default_runtime


def _resolve(runtime: Runtime | None) -> Runtime:
    rt = runtime if runtime is not None else get_default_runtime()
    if rt.closing:
        raise OSError(errno.EBADF, "the synack runtime is closed")
    return rt


def sockaddr(addr: bytes, port: int) -> tuple[str, int] | tuple[str, int, int, int]:
    """A socket-module style address tuple: ``(host, port)`` or ``(host, port, 0, 0)``."""
    if len(addr) == 4:
        return (addr_to_str(addr), port)
    return (addr_to_str(addr), port, 0, 0)


def _parse_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise socket.gaierror(
            socket.EAI_NONAME, f"synack takes IP addresses, not names: {host!r}"
        ) from None


# Soft errors that end an active open at once (see _Connector).
_UNREACHABLE: frozenset[SoftErrorReason] = frozenset({"host_unreachable", "net_unreachable"})


def timed_out_error(reason: TimeoutReason, soft_error: SoftErrorReason | None) -> OSError:
    """The exception for a connection that gave up; RFC 9293 3.9.2 reports the last soft error."""
    code = _SOFT_ERRNO.get(soft_error) if soft_error is not None else None
    if code is not None:
        return OSError(code, f"{errno.errorcode[code]}: {soft_error} ({reason})")
    return TimeoutError(errno.ETIMEDOUT, f"connection timed out ({reason})")


class StreamTransport(asyncio.Transport):
    """What synack's stream transports share: :class:`SynackTransport` here and
    :class:`~synack.api.bridge.BridgeTransport` (the same connection seen from
    another thread's loop).

    The protocol, asyncio's write-buffer limits (64 KiB high, a quarter of it
    low), the reading and closing questions, and handing received data to an
    :class:`asyncio.Protocol` (``data_received``) or an
    :class:`asyncio.BufferedProtocol` (``get_buffer``/``buffer_updated``) alike,
    so ``loop.start_tls()`` (whose TLS layer is a buffered protocol) runs over it.
    """

    # loop.start_tls() only upgrades transports that say they can be upgraded.
    _start_tls_compatible = True

    def __init__(self, protocol: asyncio.BaseProtocol, extra: dict[str, Any]) -> None:
        super().__init__(extra=extra)
        self._protocol = protocol
        self._high = 64 * 1024
        self._low = 16 * 1024
        self._reading_paused = False
        self._closing = False
        self._lost = False

    def _hand_over(self, data: bytes) -> None:
        """Give received ``data`` to the protocol, whichever kind it is."""
        protocol = self._protocol
        if isinstance(protocol, asyncio.BufferedProtocol):
            _feed_buffered(protocol, data)
        else:
            protocol.data_received(data)  # type: ignore[attr-defined]

    def _limits_changed(self) -> None:
        """Called after :meth:`set_write_buffer_limits` (a subclass may pause or resume writing)."""

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (self._low, self._high)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = 64 * 1024 if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high, self._low = high, low
        self._limits_changed()

    def is_reading(self) -> bool:
        return not self._reading_paused and not self._closing and not self._lost

    def is_closing(self) -> bool:
        return self._closing or self._lost

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol


class SynackTransport(StreamTransport):
    """An asyncio transport over one synack :class:`~synack.tcp.connection.Connection`.

    It feeds :class:`asyncio.Protocol` and :class:`asyncio.BufferedProtocol`
    alike (see :class:`StreamTransport`).
    """

    def __init__(self, runtime: Runtime, conn: Connection, protocol: asyncio.BaseProtocol) -> None:
        super().__init__(
            protocol,
            {
                "peername": sockaddr(*conn.remote),
                "sockname": sockaddr(*conn.local),
                "socket": None,
                "connection": conn,
            },
        )
        self._runtime = runtime
        self._conn = conn
        self._pending = bytearray()
        self._writing_paused = False
        self._eof_wanted = False
        self._fin_sent = False
        self._abandoned = False
        self._peer_eof = False
        self._peer_eof_delivered = False
        self.soft_error: SoftErrorReason | None = None
        runtime.handlers[conn] = self

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def close_linger(self) -> float | None:
        """What :meth:`Runtime.close` gives this connection instead of its own linger.

        Its protocol's ``close_linger`` (a socket's SO_LINGER time when on; 0
        resets), or None.
        """
        value = getattr(self._protocol, "close_linger", None)
        return None if value is None else float(value)

    def start(self, *, notify: bool = True) -> None:
        """Tell the protocol it is connected and hand it what already arrived.

        With ``notify=False`` the protocol is not told (``loop.start_tls()`` tells
        its TLS layer instead); call :meth:`pause_reading` first to hold the data.
        """
        if notify:
            self._protocol.connection_made(self)
        if self._conn.peer_closed:
            self._peer_eof = True
        self._deliver()
        if self._conn.state is State.CLOSED:
            self._lose(None)

    # ------------------------------------------------------------- events

    def on_event(self, event: Event) -> None:
        if isinstance(event, DataReceived):
            self._deliver()
        elif isinstance(event, SendBufferSpace):
            self._push()
            self._maybe_resume_writing()
        elif isinstance(event, PeerClosed):
            self._peer_eof = True
            self._deliver()
        elif isinstance(event, Reset):
            self._lose(ConnectionResetError(errno.ECONNRESET, os.strerror(errno.ECONNRESET)))
        elif isinstance(event, TimedOut):
            self._lose(timed_out_error(event.reason, self.soft_error))
        elif isinstance(event, SoftError):
            self.soft_error = event.reason
        elif isinstance(event, Closed):
            self._deliver()
            if self._peer_eof or self._eof_wanted:
                self._lose(None)
            else:
                # Neither side closed: aborted under the user (Runtime.close()).
                self._lose(ConnectionAbortedError(errno.ECONNABORTED, "connection aborted"))

    def _deliver(self) -> None:
        if self._lost or self._reading_paused:
            return
        conn = self._conn
        if conn.recv_available:
            data = conn.recv()
            self._runtime.kick()  # reading may open the window: a window update
            if not self._closing:
                self._hand_over(data)
        if self._peer_eof and not self._peer_eof_delivered and not conn.recv_available:
            self._peer_eof_delivered = True
            if self._closing:
                return
            keep_open = self._protocol.eof_received()  # type: ignore[attr-defined]
            if not keep_open:
                self.close()

    def _lose(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._pending.clear()
        if self._runtime.handlers.get(self._conn) is self:
            if exc is None and self._conn.state in _PEER_MAY_SEND:
                # Closed by the user while the connection finishes its FIN handshake:
                # keep draining what the peer still sends so its window stays open.
                self._runtime.handlers[self._conn] = _Drainer(self._runtime, self._conn)
            else:
                del self._runtime.handlers[self._conn]
        self._runtime.loop.call_soon(self._protocol.connection_lost, exc)

    # ------------------------------------------------------------ writing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        if self._eof_wanted:
            raise RuntimeError("Cannot call write() after write_eof()")
        if not data or self._lost:
            return
        self._pending += data
        self._push()
        if not self._writing_paused and len(self._pending) > self._high:
            self._writing_paused = True
            self._protocol.pause_writing()

    def _push(self) -> None:
        if self._lost:
            return
        conn = self._conn
        pending = self._pending
        if pending:
            try:
                with memoryview(pending) as view:
                    n = conn.send(view)
            except ConnectionClosedError:
                # The connection ended in this same batch of input (events are still
                # being dispatched): its Reset/TimedOut/Closed event decides the error.
                pending.clear()
                return
            if n:
                del pending[:n]
                self._runtime.kick()
        if not pending and self._eof_wanted and not self._fin_sent:
            self._fin_sent = True
            self._abandoned = self._closing
            if conn.state is not State.CLOSED:
                # close() (not write_eof()): nobody will read any more, so the
                # connection's FIN-WAIT-2 is bounded (Config.fin_wait_2_timeout).
                self._runtime.close_connection(conn, abandon=self._closing)
        elif not pending and self._closing and self._fin_sent and not self._abandoned:
            # close() after write_eof(): the FIN went already; now the user is gone.
            self._abandoned = True
            if conn.state is not State.CLOSED:
                self._runtime.close_connection(conn, abandon=True)
        if not pending and self._closing and self._fin_sent:
            self._lose(None)

    def _maybe_resume_writing(self) -> None:
        if self._writing_paused and len(self._pending) <= self._low:
            self._writing_paused = False
            self._protocol.resume_writing()

    def write_eof(self) -> None:
        """Half-close: a FIN follows the buffered data; reading continues."""
        if self._eof_wanted:
            return
        self._eof_wanted = True
        self._push()

    def get_write_buffer_size(self) -> int:
        return len(self._pending)

    # ------------------------------------------------------------ reading

    def pause_reading(self) -> None:
        self._reading_paused = True

    def resume_reading(self) -> None:
        if self._reading_paused:
            self._reading_paused = False
            self._deliver()

    # ----------------------------------------------------------- closing

    def close(self) -> None:
        """Send FIN after buffered data; the protocol hears ``connection_lost(None)`` once flushed."""
        if self._closing:
            return
        self._closing = True
        self._eof_wanted = True
        self._push()

    def abort(self) -> None:
        """Reset the connection (RST) and drop buffered data."""
        self._closing = True
        if not self._lost:
            self._runtime.abort(self._conn)
            self._lose(None)

    def __repr__(self) -> str:
        return f"<SynackTransport {self._conn!r}>"


def _feed_buffered(protocol: asyncio.BufferedProtocol, data: bytes) -> None:
    """Hand ``data`` to a buffered protocol, in as many buffers as it asks for."""
    view = memoryview(data)
    while view:
        buf = memoryview(protocol.get_buffer(len(view))).cast("B")
        n = min(len(buf), len(view))
        if n == 0:
            raise RuntimeError("get_buffer() returned an empty buffer")
        buf[:n] = view[:n]
        protocol.buffer_updated(n)
        view = view[n:]


class _Drainer:
    """Reads and discards data for a connection the user closed (until it is gone)."""

    def __init__(self, runtime: Runtime, conn: Connection) -> None:
        self._runtime = runtime
        self._conn = conn
        self.on_event(DataReceived(conn.recv_available))

    def on_event(self, event: Event) -> None:
        if self._conn.recv_available:
            self._conn.recv()
            self._runtime.kick()
        if isinstance(event, Closed | Reset | TimedOut):
            self._runtime.handlers.pop(self._conn, None)


class _Connector:
    """Waits for an active open to complete or fail."""

    def __init__(self, runtime: Runtime, conn: Connection) -> None:
        self.future: asyncio.Future[None] = runtime.loop.create_future()
        self.soft_error: SoftErrorReason | None = None
        self._conn = conn

    def on_event(self, event: Event) -> None:
        if self.future.done():
            return
        if isinstance(event, Connected):
            self.future.set_result(None)
        elif isinstance(event, Reset):
            if event.refused or self._conn.state is not State.ESTABLISHED:
                self.future.set_exception(
                    ConnectionRefusedError(errno.ECONNREFUSED, os.strerror(errno.ECONNREFUSED))
                )
            else:
                self.future.set_exception(
                    ConnectionResetError(errno.ECONNRESET, os.strerror(errno.ECONNRESET))
                )
        elif isinstance(event, TimedOut):
            self.future.set_exception(timed_out_error(event.reason, self.soft_error))
        elif isinstance(event, SoftError):
            self.soft_error = event.reason
            if event.reason in _UNREACHABLE and self._conn.state is State.SYN_SENT:
                # connect() fails at once when the peer cannot be reached (a neighbour
                # that never answered ARP/NS, or an ICMP unreachable), as Linux does
                # (RFC 5461 4.1: soft errors abort a connection still being opened),
                # instead of after every SYN retransmission (minutes). The connection
                # stays a soft-error case once synchronized (RFC 1122 4.2.3.9).
                code = _SOFT_ERRNO[event.reason]
                self.future.set_exception(OSError(code, f"{os.strerror(code)} ({event.reason})"))
        elif isinstance(event, Closed):
            self.future.set_exception(
                ConnectionAbortedError(errno.ECONNABORTED, os.strerror(errno.ECONNABORTED))
            )


def _asyncio_config(rt: Runtime, config: Config | None, nodelay: bool) -> Config | None:
    """``config`` with TCP_NODELAY when ``nodelay``: asyncio sets it on every TCP
    transport (``base_events._set_nodelay``), so request/response code does not
    wait for Nagle's algorithm and delayed ACKs."""
    if not nodelay:
        return config
    return dataclasses.replace(config if config is not None else rt.endpoint.config, nodelay=True)


async def create_connection(
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    host: str,
    port: int,
    *,
    runtime: Runtime | None = None,
    local_port: int | None = None,
    local_addr: str | None = None,
    config: Config | None = None,
    ssl: _ssl.SSLContext | bool | None = None,
    server_hostname: str | None = None,
    nodelay: bool = True,
) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """Like ``loop.create_connection``: active open, then ``(transport, protocol)``.

    As asyncio does for every TCP transport, the connection has TCP_NODELAY
    (Nagle off; ``nodelay=False`` keeps the setting of ``config``).

    With ``ssl`` (an :class:`ssl.SSLContext`, or True for the default client
    context) the transport is asyncio's TLS transport over the connection,
    handshake done, checking ``server_hostname`` (default ``host``).

    ``config`` replaces the endpoint's settings for this connection (socket
    options set before ``connect()``). Raises ConnectionRefusedError (RST to our
    SYN), TimeoutError (SYN retries exhausted) or OSError with the errno of the
    last ICMP soft error.
    """
    rt = _resolve(runtime)
    config = _asyncio_config(rt, config, nodelay)
    now = rt.now()
    try:
        conn = rt.endpoint.connect(
            _parse_host(host),
            port,
            now,
            local_port=local_port,
            local_addr=local_addr,
            config=config,
        )
    except PortInUseError as exc:
        raise OSError(errno.EADDRINUSE, str(exc)) from None
    except ValueError as exc:
        raise OSError(errno.EADDRNOTAVAIL, str(exc)) from None
    connector = _Connector(rt, conn)
    rt.handlers[conn] = connector
    rt.pump(now)
    try:
        await connector.future
    except BaseException:
        rt.handlers.pop(conn, None)
        if conn.state is not State.CLOSED:
            rt.abort(conn)
        raise
    protocol = protocol_factory()
    transport = SynackTransport(rt, conn, protocol)
    transport.soft_error = connector.soft_error
    if ssl is None:
        transport.start()
        return transport, protocol
    transport.pause_reading()
    transport.start(notify=False)
    hostname = server_hostname if server_hostname is not None else host
    tls = await _start_tls(rt, transport, protocol, ssl, server_side=False, hostname=hostname)
    return tls, protocol


async def _start_tls(
    runtime: Runtime,
    transport: SynackTransport,
    protocol: asyncio.BaseProtocol,
    ssl: _ssl.SSLContext | bool,
    *,
    server_side: bool,
    hostname: str | None = None,
    handshake_timeout: float | None = None,
) -> asyncio.Transport:
    """TLS over ``transport`` with asyncio's own TLS layer; then tell ``protocol``."""
    context = _ssl.create_default_context() if ssl is True else ssl
    if not isinstance(context, _ssl.SSLContext):
        raise TypeError(f"ssl must be an SSLContext or True, not {ssl!r}")
    try:
        tls = await runtime.loop.start_tls(
            transport,
            protocol,
            context,
            server_side=server_side,
            server_hostname=None if server_side else hostname,
            ssl_handshake_timeout=handshake_timeout,
        )
    except BaseException:
        transport.abort()
        raise
    assert tls is not None
    protocol.connection_made(tls)
    return tls


class Server(asyncio.AbstractServer):
    """A listening port; the shape of :class:`asyncio.Server`."""

    def __init__(
        self,
        runtime: Runtime,
        port: int,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        backlog: int,
        *,
        host: str | None = None,
        config: Config | None = None,
        ssl: _ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
    ) -> None:
        self._runtime = runtime
        self.port = port
        self.host = host
        self._ssl = ssl
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._handshakes: set[asyncio.Task[asyncio.Transport]] = set()
        self._factory = protocol_factory
        self._listener = runtime.endpoint.listen(port, backlog=backlog, config=config)
        self._serving = True
        self._closed = runtime.loop.create_future()
        self.transports: set[SynackTransport] = set()
        runtime.acceptors[port] = self._accept_ready
        runtime.closables.add(self)

    @property
    def listener(self) -> Listener:
        """The endpoint's listener: its ``config`` is what accepted connections get."""
        return self._listener

    @property
    def sockets(self) -> tuple[ListeningSocket, ...]:
        """One :class:`ListeningSocket` per address family the server listens on (asyncio's shape)."""
        if not self._serving:
            return ()
        if self.host:
            families = [socket.AF_INET6 if ":" in self.host else socket.AF_INET]
        else:
            families = sorted(
                {
                    socket.AF_INET if len(a) == 4 else socket.AF_INET6
                    for a in self._runtime.endpoint.addresses
                }
            )
        return tuple(ListeningSocket(self, family) for family in families)

    @property
    def addresses(self) -> list[tuple[str, int] | tuple[str, int, int, int]]:
        """``(host, port)`` for each address the server listens on."""
        return [sockaddr(a, self.port) for a in self._runtime.endpoint.addresses]

    def _accept_ready(self) -> None:
        while (conn := self._listener.accept()) is not None:
            protocol = self._factory()
            transport = SynackTransport(self._runtime, conn, protocol)
            if self._ssl is None:
                transport.start()
                continue
            transport.pause_reading()  # the ClientHello waits for the TLS layer
            transport.start(notify=False)
            task = self._runtime.loop.create_task(
                _start_tls(
                    self._runtime,
                    transport,
                    protocol,
                    self._ssl,
                    server_side=True,
                    handshake_timeout=self._ssl_handshake_timeout,
                )
            )
            self._handshakes.add(task)
            task.add_done_callback(self._handshake_done)

    def _handshake_done(self, task: asyncio.Task[asyncio.Transport]) -> None:
        self._handshakes.discard(task)
        if not task.cancelled():
            task.exception()  # a failed handshake only ends that connection

    def close(self) -> None:
        if not self._serving:
            return
        self._serving = False
        self._listener.close()
        self._runtime.acceptors.pop(self.port, None)
        self._runtime.closables.discard(self)
        if not self._closed.done():
            self._closed.set_result(None)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._runtime.loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        return None

    async def serve_forever(self) -> None:
        await asyncio.shield(self._closed)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)


class ListeningSocket:
    """A synack server's listening socket as ``asyncio.Server.sockets`` lists it.

    It has the name (``getsockname()``) and the options of the listener
    (``getsockopt``/``setsockopt`` through :mod:`synack.api.sockopt`; changes
    apply to connections accepted afterwards), not a kernel descriptor.
    """

    type = socket.SOCK_STREAM
    proto = socket.IPPROTO_TCP

    def __init__(self, server: Server, family: int) -> None:
        self._server = server
        self.family = family

    def getsockname(self) -> tuple[str, int] | tuple[str, int, int, int]:
        host = self._server.host or ("0.0.0.0" if self.family == socket.AF_INET else "::")
        if self.family == socket.AF_INET:
            return (host, self._server.port)
        return (host, self._server.port, 0, 0)

    def fileno(self) -> int:
        return -1

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> int | bytes:
        if (level, optname) == (socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            return sockopt.encode_value(1, buflen)
        option = _config_option(level, optname)
        value = getattr(self._server.listener.config, option.field)
        return sockopt.encode_value(option.from_config(value), buflen)

    def setsockopt(self, level: int, optname: int, value: int | bytes) -> None:
        option = _config_option(level, optname)
        listener = self._server.listener
        try:
            listener.config = dataclasses.replace(
                listener.config, **{option.field: option.to_config(value)}
            )
        except ValueError as exc:
            raise OSError(errno.EINVAL, f"Invalid argument: {exc}") from None

    def __repr__(self) -> str:
        return f"<synack ListeningSocket {self.getsockname()}>"


def _config_option(level: int, optname: int) -> sockopt.ConfigOption:
    option = sockopt.CONFIG_OPTIONS.get((level, optname))
    if option is None:
        raise OSError(
            errno.ENOPROTOOPT, f"Protocol not available: {sockopt.option_name(level, optname)}"
        )
    return option


async def create_server(
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    host: str | None = None,
    port: int = 0,
    *,
    runtime: Runtime | None = None,
    backlog: int = 128,
    config: Config | None = None,
    ssl: _ssl.SSLContext | None = None,
    ssl_handshake_timeout: float | None = None,
    nodelay: bool = True,
) -> Server:
    """Like ``loop.create_server``: listen on ``port`` (0 picks a free one).

    Accepted connections have TCP_NODELAY, as asyncio's transports
    (``nodelay=False`` keeps the setting of ``config``).

    With ``ssl`` (a server :class:`ssl.SSLContext`) every accepted connection
    first does the TLS handshake; its protocol then hears ``connection_made``
    with asyncio's TLS transport.

    The listener takes SYNs for every address of the endpoint; ``host`` (one of
    them) only names the server's socket. ``config`` is the settings of the
    connections it accepts (socket options set on the listening socket).
    """
    rt = _resolve(runtime)
    config = _asyncio_config(rt, config, nodelay)
    named = host if host not in (None, "", "0.0.0.0", "::") else None
    if named is not None:
        packed = ipaddress.ip_address(_parse_host(named)).packed
        if packed not in rt.endpoint.addresses:
            raise OSError(errno.EADDRNOTAVAIL, f"{host} is not an address of this synack endpoint")
    if not port:
        port = rt.free_port()
    try:
        return Server(
            rt,
            port,
            protocol_factory,
            backlog,
            host=named,
            config=config,
            ssl=ssl,
            ssl_handshake_timeout=ssl_handshake_timeout,
        )
    except PortInUseError as exc:
        raise OSError(errno.EADDRINUSE, f"Address already in use: {exc}") from None


async def open_connection(
    host: str,
    port: int,
    *,
    runtime: Runtime | None = None,
    limit: int = 2**16,
    local_port: int | None = None,
    ssl: _ssl.SSLContext | bool | None = None,
    server_hostname: str | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Like :func:`asyncio.open_connection`, over synack (``ssl=`` for TLS)."""
    rt = _resolve(runtime)
    loop = rt.loop
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await create_connection(
        lambda: protocol,
        host,
        port,
        runtime=rt,
        local_port=local_port,
        ssl=ssl,
        server_hostname=server_hostname,
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer


async def start_server(
    client_connected_cb: Callable[
        [asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None
    ],
    host: str | None = None,
    port: int = 0,
    *,
    runtime: Runtime | None = None,
    limit: int = 2**16,
    backlog: int = 128,
    ssl: _ssl.SSLContext | None = None,
) -> Server:
    """Like :func:`asyncio.start_server`, over synack (``ssl=`` for TLS)."""
    rt = _resolve(runtime)
    loop = rt.loop

    def factory() -> asyncio.BaseProtocol:
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        return asyncio.StreamReaderProtocol(reader, client_connected_cb, loop=loop)

    return await create_server(factory, host, port, runtime=rt, backlog=backlog, ssl=ssl)

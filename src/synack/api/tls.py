"""TLS for the blocking sockets: :func:`wrap_socket`, what ``SSLContext.wrap_socket`` is for kernel sockets.

``ssl.SSLContext.wrap_socket`` needs a kernel descriptor, which a synack socket
does not have. :class:`TLSSocket` runs the same TLS (Python's ``ssl``, OpenSSL)
over a synack socket through a pair of :class:`ssl.MemoryBIO`: records the TLS
object writes are sent with the socket's ``sendall``, and what ``recv`` brings
is fed to it. It has :class:`ssl.SSLSocket`'s methods (``recv``, ``sendall``,
``makefile``, ``getpeercert``, ``version``, ``cipher``,
``selected_alpn_protocol``, ``unwrap``, ...), the socket's timeouts and
non-blocking mode (``SSLWantReadError`` / ``SSLWantWriteError`` as for kernel
sockets), and on a listening socket ``accept()`` returns TLS sockets.
:mod:`synack.api.patch` makes ``SSLContext.wrap_socket`` call :func:`wrap_socket`
for synack sockets, so ``http.client``, ``urllib`` and ``requests`` use it unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import socket as _stdsocket
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

from synack.api.socket import make_file, socket

__all__ = ["TLSSocket", "wrap_socket"]

T = TypeVar("T")

_RECORD = 16 * 1024 + 256  # one TLS record and change


def wrap_socket(
    context: ssl.SSLContext,
    sock: socket,
    server_side: bool = False,
    do_handshake_on_connect: bool = True,
    suppress_ragged_eofs: bool = True,
    server_hostname: str | None = None,
    session: ssl.SSLSession | None = None,
) -> TLSSocket:
    """``context.wrap_socket(sock, ...)`` for a synack socket (same arguments)."""
    return TLSSocket(
        context,
        sock,
        server_side=server_side,
        do_handshake_on_connect=do_handshake_on_connect,
        suppress_ragged_eofs=suppress_ragged_eofs,
        server_hostname=server_hostname,
        session=session,
    )


class TLSSocket:
    """A TLS connection over a synack :class:`~synack.api.socket.socket` (see the module docstring)."""

    def __init__(
        self,
        context: ssl.SSLContext,
        sock: socket,
        *,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> None:
        if server_side and server_hostname:
            raise ValueError("server_hostname can only be specified in client mode")
        if context.check_hostname and not server_side and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        self.context = context
        self.server_side = server_side
        self.server_hostname = server_hostname
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self._sock = sock
        self._session = session
        self._obj: ssl.SSLObject | None = None
        self._closed = False
        self._io_refs = 0
        self._close_pending = False
        if not sock.getsockopt(_stdsocket.SOL_SOCKET, _stdsocket.SO_ACCEPTCONN):
            self._start()

    def _start(self) -> None:
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._obj = self.context.wrap_bio(
            self._in,
            self._out,
            server_side=self.server_side,
            server_hostname=self.server_hostname,
            session=self._session,
        )
        try:
            self._sock.getpeername()
        except OSError:
            return  # not connected yet: connect() does the handshake
        if self.do_handshake_on_connect:
            self.do_handshake()

    # --------------------------------------------------------------- the pump

    def _tls(self) -> ssl.SSLObject:
        if self._obj is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return self._obj

    def _flush(self) -> None:
        data = self._out.read()
        if data:
            self._sock.sendall(data)

    def _run(self, step: Callable[[], T]) -> T:
        """Run one TLS call, moving records to and from the socket until it completes."""
        while True:
            try:
                result = step()
            except ssl.SSLWantReadError:
                self._flush()
                try:
                    data = self._sock.recv(_RECORD)
                except BlockingIOError:
                    raise ssl.SSLWantReadError("The operation did not complete (read)") from None
                if data:
                    self._in.write(data)
                else:
                    self._in.write_eof()
                continue
            except ssl.SSLError:
                # A failed handshake leaves its alert in the outgoing BIO: send it, as
                # OpenSSL over a kernel socket does, so the peer learns why.
                with contextlib.suppress(OSError):
                    self._flush()
                raise
            self._flush()
            return result

    # -------------------------------------------------------------- TLS calls

    def do_handshake(self) -> None:
        """The TLS handshake (done at wrap or connect time unless told not to)."""
        tls = self._tls()
        self._run(tls.do_handshake)

    def recv(self, bufsize: int = 1024, flags: int = 0) -> bytes:
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv() on TLSSocket")
        if bufsize == 0:
            return b""
        tls = self._tls()
        try:
            return self._run(lambda: tls.read(bufsize))
        except ssl.SSLZeroReturnError:
            return b""  # close_notify: a clean end
        except ssl.SSLEOFError:
            if self.suppress_ragged_eofs:
                return b""
            raise

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        data = self.recv(nbytes or len(view), flags)
        view[: len(data)] = data
        return len(data)

    def read(self, len: int = 1024, buffer: Any = None) -> bytes | int:
        if buffer is not None:
            return self.recv_into(buffer, len)
        return self.recv(len)

    def send(self, data: bytes | bytearray | memoryview, flags: int = 0) -> int:
        if flags:
            raise ValueError("non-zero flags not allowed in calls to send() on TLSSocket")
        tls = self._tls()
        view = memoryview(data).cast("B")
        return self._run(lambda: tls.write(view))

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self.send(data)

    def sendall(self, data: bytes | bytearray | memoryview, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        while view:
            n = self.send(view[:_RECORD], flags)
            view = view[n:]

    def pending(self) -> int:
        """Decrypted octets ready to read without the network."""
        return self._obj.pending() if self._obj is not None else 0

    def unwrap(self) -> socket:
        """Send close_notify, wait for the peer's, and hand back the plain socket."""
        tls = self._tls()
        self._run(tls.unwrap)
        self._obj = None
        return self._sock

    def getpeercert(self, binary_form: bool = False) -> Any:
        return self._tls().getpeercert(binary_form)

    def cipher(self) -> tuple[str, str, int] | None:
        return self._obj.cipher() if self._obj is not None else None

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        return self._obj.shared_ciphers() if self._obj is not None else None

    def version(self) -> str | None:
        return self._obj.version() if self._obj is not None else None

    def compression(self) -> str | None:
        return self._obj.compression() if self._obj is not None else None

    def selected_alpn_protocol(self) -> str | None:
        return self._obj.selected_alpn_protocol() if self._obj is not None else None

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        return self._obj.get_channel_binding(cb_type) if self._obj is not None else None

    @property
    def session(self) -> ssl.SSLSession | None:
        return self._obj.session if self._obj is not None else self._session

    @property
    def session_reused(self) -> bool | None:
        return self._obj.session_reused if self._obj is not None else None

    # ---------------------------------------------------------- socket calls

    def connect(self, address: tuple[Any, ...]) -> None:
        self._sock.connect(address)
        self._start()

    def connect_ex(self, address: tuple[Any, ...]) -> int:
        try:
            self.connect(address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return 0

    def accept(self) -> tuple[TLSSocket, tuple[Any, ...]]:
        """Accept a connection and wrap it (server side; handshake as configured)."""
        child, addr = self._sock.accept()
        try:
            wrapped = TLSSocket(
                self.context,
                child,
                server_side=True,
                do_handshake_on_connect=self.do_handshake_on_connect,
                suppress_ragged_eofs=self.suppress_ragged_eofs,
            )
        except BaseException:
            child.close()
            raise
        return wrapped, addr

    def shutdown(self, how: int) -> None:
        """Shut the socket down under TLS (as ``SSLSocket.shutdown``: TLS is over)."""
        self._obj = None
        self._sock.shutdown(how)

    def close(self) -> None:
        """Send close_notify (without waiting for the peer's) and close the socket."""
        if self._closed:
            return
        if self._io_refs > 0:
            self._close_pending = True
            return
        self._closed = True
        self._close_notify()
        self._sock.close()

    def _close_notify(self) -> None:
        """Best effort: send our close_notify (a clean end for the peer), wait for nothing."""
        tls = self._obj
        if tls is None:
            return
        with contextlib.suppress(ssl.SSLError, OSError, ValueError):
            tls.unwrap()
        with contextlib.suppress(OSError, ValueError):
            self._flush()

    def detach(self) -> int:
        raise OSError(errno.EOPNOTSUPP, "synack sockets have no kernel descriptor to detach")

    def makefile(
        self,
        mode: str = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> Any:
        """A file object over the TLS stream, as ``SSLSocket.makefile`` returns."""
        return make_file(self, mode, buffering, encoding, errors, newline)

    def _decref_io(self) -> None:
        self._io_refs -= 1
        if self._io_refs <= 0 and self._close_pending:
            self._close_pending = False
            self.close()

    def __getattr__(self, name: str) -> Any:
        # settimeout, gettimeout, setblocking, fileno, getsockname, getpeername,
        # setsockopt, getsockopt, tcp_info, bind, listen, family, type, ...
        return getattr(self._sock, name)

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<synack.TLSSocket {self.version() or 'no handshake'} over {self._sock!r}>"

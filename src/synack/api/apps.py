"""Small applications over synack's asyncio streams: echo, discard, an HTTP file server and client.

These are what ``synack serve`` and ``synack get/send/connect`` run; they only use
the stream API (:mod:`synack.api.aio`), so they run unchanged over a TAP device,
a :class:`~synack.api.runtime.PairLink` or the kernel (handy to compare). HTTP is
h11's: synack parses no HTTP itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO

import h11

__all__ = [
    "ConnectionReport",
    "Progress",
    "TransferResult",
    "discard_handler",
    "echo_handler",
    "http_get",
    "http_handler",
    "pattern_bytes",
    "send_bytes",
]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
_CHUNK = 256 * 1024


@dataclass
class ConnectionReport:
    """What a server saw on one connection (for logs and tests)."""

    peer: str
    received: int = 0
    sent: int = 0
    sha256: str = ""
    seconds: float = 0.0
    error: str = ""


@dataclass
class TransferResult:
    """What a client sent or received."""

    bytes: int
    sha256: str
    seconds: float
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds > 0 else 0.0


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return f"[{peer[0]}]:{peer[1]}" if ":" in str(peer[0]) else f"{peer[0]}:{peer[1]}"


def pattern_bytes(n: int, offset: int = 0) -> bytes:
    """``n`` bytes of a fixed, non-repeating-per-KB pattern starting at stream ``offset``."""
    block = bytes(range(256)) * 4 + b"synack"  # 1030 bytes: misaligned with 1024
    start = offset % len(block)
    reps = (start + n) // len(block) + 1
    return (block * reps)[start : start + n]


def echo_handler(report: Callable[[ConnectionReport], None] | None = None) -> Handler:
    """Echo everything back; half-close when the peer does (RFC 862 over TCP)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rep = ConnectionReport(_peer(writer))
        start = time.monotonic()
        try:
            while data := await reader.read(_CHUNK):
                rep.received += len(data)
                writer.write(data)
                rep.sent += len(data)
                await writer.drain()
            writer.write_eof()
            await writer.drain()
        except OSError as exc:
            rep.error = f"{type(exc).__name__}: {exc}"
        finally:
            writer.close()
            rep.seconds = time.monotonic() - start
            if report is not None:
                report(rep)

    return handle


def discard_handler(report: Callable[[ConnectionReport], None] | None = None) -> Handler:
    """Read and count everything (RFC 863), hashing it; close after the peer's FIN."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rep = ConnectionReport(_peer(writer))
        digest = hashlib.sha256()
        start = time.monotonic()
        try:
            while data := await reader.read(_CHUNK):
                rep.received += len(data)
                digest.update(data)
        except OSError as exc:
            rep.error = f"{type(exc).__name__}: {exc}"
        finally:
            rep.sha256 = digest.hexdigest()
            rep.seconds = time.monotonic() - start
            writer.close()
            if report is not None:
                report(rep)

    return handle


def _resolve_path(root: Path, target: bytes) -> Path | None:
    path = urllib.parse.unquote(urllib.parse.urlsplit(target.decode("latin-1")).path)
    candidate = (root / path.lstrip("/")).resolve()
    if candidate != root and root not in candidate.parents:
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


async def _send_h11(writer: asyncio.StreamWriter, conn: h11.Connection, event: h11.Event) -> None:
    data = conn.send(event)
    if data:
        writer.write(data)
        await writer.drain()


def _response(status: int, headers: list[tuple[str, str]]) -> h11.Response:
    """A response whose status line carries the standard reason phrase (RFC 9110 15)."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return h11.Response(status_code=status, headers=headers, reason=reason.encode())


def http_handler(
    root: str | Path, report: Callable[[ConnectionReport], None] | None = None
) -> Handler:
    """Serve files under ``root`` with GET and HEAD (HTTP/1.1 keep-alive, via h11)."""
    base = Path(root).resolve()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rep = ConnectionReport(_peer(writer))
        conn = h11.Connection(h11.SERVER)
        start = time.monotonic()
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    rep.received += len(data)
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Request):
                    rep.sent += await _answer(writer, conn, event, base)
                elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                        conn.start_next_cycle()
                        continue
                    break
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    break
        except h11.RemoteProtocolError as exc:
            rep.error = f"bad request: {exc}"
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                body = f"{exc}\n".encode()
                headers = [("Content-Length", str(len(body))), ("Connection", "close")]
                await _send_h11(writer, conn, _response(exc.error_status_hint, headers))
                await _send_h11(writer, conn, h11.Data(data=body))
                await _send_h11(writer, conn, h11.EndOfMessage())
        except OSError as exc:
            rep.error = f"{type(exc).__name__}: {exc}"
        finally:
            writer.close()
            rep.seconds = time.monotonic() - start
            if report is not None:
                report(rep)

    return handle


async def _answer(
    writer: asyncio.StreamWriter, conn: h11.Connection, req: h11.Request, base: Path
) -> int:
    method = req.method.upper()
    path = _resolve_path(base, req.target) if method in (b"GET", b"HEAD") else None
    if method not in (b"GET", b"HEAD"):
        status, body, ctype = 405, b"method not allowed\n", "text/plain"
    elif path is None:
        status, body, ctype = 404, b"not found\n", "text/plain"
    else:
        status, body, ctype = (
            200,
            b"",
            mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        )
    if status != 200 or path is None:
        headers = [
            ("Content-Type", ctype),
            ("Content-Length", str(len(body))),
            ("Server", "synack"),
        ]
        await _send_h11(writer, conn, _response(status, headers))
        if method != b"HEAD":
            await _send_h11(writer, conn, h11.Data(data=body))
        await _send_h11(writer, conn, h11.EndOfMessage())
        return len(body)
    size = path.stat().st_size
    headers = [("Content-Type", ctype), ("Content-Length", str(size)), ("Server", "synack")]
    await _send_h11(writer, conn, _response(200, headers))
    sent = 0
    if method == b"GET":
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                await _send_h11(writer, conn, h11.Data(data=chunk))
                sent += len(chunk)
    await _send_h11(writer, conn, h11.EndOfMessage())
    return sent


OpenConnection = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


Progress = Callable[[int, int | None], None]
"""Called as ``progress(bytes_so_far, total_or_None)`` as a transfer moves."""


async def http_get(
    open_connection: OpenConnection,
    url: str,
    out: str | os.PathLike[str] | BinaryIO | None,
    *,
    progress: Progress | None = None,
) -> TransferResult:
    """GET ``url`` (``http://ADDR[:PORT]/PATH``) and write the body to ``out``.

    ``out`` is a file name, a binary stream (left open, flushed) or None (discard).
    If the download is cancelled, the connection is reset: the rest of the body
    would never be read (RFC 1122 4.2.2.13: a CLOSE with data still pending sends RST).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only http://ADDRESS[:PORT]/PATH URLs are supported: {url!r}")
    host, port = parts.hostname, parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    start = time.monotonic()
    reader, writer = await open_connection(host, port)
    conn = h11.Connection(h11.CLIENT)
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{port}"
    request = h11.Request(
        method="GET",
        target=target,
        headers=[("Host", netloc), ("User-Agent", "synack"), ("Connection", "close")],
    )
    digest = hashlib.sha256()
    total = 0
    status: int | None = None
    headers: list[tuple[str, str]] = []
    own_sink = out is not None and not hasattr(out, "write")
    sink: BinaryIO | None = (
        open(out, "wb")  # type: ignore[arg-type]  # noqa: SIM115 - closed below
        if own_sink
        else out  # type: ignore[assignment]
    )
    try:
        await _send_h11(writer, conn, request)
        await _send_h11(writer, conn, h11.EndOfMessage())
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(_CHUNK))
            elif isinstance(event, h11.Response):
                status = event.status_code
                headers = [(k.decode(), v.decode()) for k, v in event.headers]
                if progress is not None:
                    progress(0, _content_length(headers))
            elif isinstance(event, h11.Data):
                digest.update(event.data)
                total += len(event.data)
                if sink is not None:
                    sink.write(event.data)
                if progress is not None:
                    progress(total, None)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
    except h11.RemoteProtocolError as exc:
        # A body cut short, or a response that is not HTTP: an error of the
        # connection's content, reported as one (ConnectionError is an OSError).
        writer.transport.abort()
        raise ConnectionError(f"bad HTTP response: {exc}") from exc
    except BaseException:
        writer.transport.abort()
        raise
    finally:
        if sink is not None:
            if own_sink:
                sink.close()
            else:
                sink.flush()
        writer.close()
    return TransferResult(total, digest.hexdigest(), time.monotonic() - start, status, headers)


def _content_length(headers: list[tuple[str, str]]) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length" and value.isdigit():
            return int(value)
    return None


async def send_bytes(
    open_connection: OpenConnection,
    host: str,
    port: int,
    count: int,
    *,
    read_reply: bool = True,
    progress: Progress | None = None,
) -> TransferResult:
    """Send ``count`` pattern bytes, half-close, and (optionally) read until the peer closes.

    Returns the hash of what was sent; ``bytes`` is what was sent. ``progress``
    hears how much has been handed to the connection.
    """
    start = time.monotonic()
    reader, writer = await open_connection(host, port)
    digest = hashlib.sha256()
    sent = 0
    try:
        while sent < count:
            chunk = pattern_bytes(min(_CHUNK, count - sent), sent)
            digest.update(chunk)
            writer.write(chunk)
            sent += len(chunk)
            await writer.drain()
            if progress is not None:
                progress(sent, count)
        writer.write_eof()
        await writer.drain()
        if read_reply:
            while await reader.read(_CHUNK):
                pass
    finally:
        writer.close()
    return TransferResult(sent, digest.hexdigest(), time.monotonic() - start)

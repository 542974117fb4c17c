"""The blocking socket API over synack: two hosts on an in-process wire in a stack thread."""

from __future__ import annotations

import errno
import hashlib
import http.client
import http.server
import select
import socketserver
import threading

import pytest

from synack.api import socket as ssock

CLIENT = "10.0.0.1"
SERVER = "10.0.0.2"

pytestmark = pytest.mark.timeout(60)


def _serve_echo(listener: ssock.socket) -> None:
    conn, _ = listener.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


def test_echo_with_shutdown_and_hash(stacks: tuple[ssock.Stack, ssock.Stack]) -> None:
    client_stack, server_stack = stacks
    with ssock.socket(stack=server_stack) as listener:
        listener.bind(("", 7))
        listener.listen()
        assert listener.getsockname() == ("0.0.0.0", 7)
        t = threading.Thread(target=_serve_echo, args=(listener,))
        t.start()
        payload = bytes(range(256)) * 8192  # 2 MB
        with ssock.create_connection((SERVER, 7), timeout=20, stack=client_stack) as sock:
            assert sock.getpeername() == (SERVER, 7)
            assert sock.getsockname()[0] == CLIENT

            def writer() -> None:
                sock.sendall(payload)
                sock.shutdown(ssock.SHUT_WR)

            w = threading.Thread(target=writer)
            w.start()
            got = bytearray()
            while chunk := sock.recv(100_000):
                got += chunk
            w.join()
        t.join()
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()


def test_connect_to_closed_port_is_refused(stacks: tuple[ssock.Stack, ssock.Stack]) -> None:
    client_stack, _ = stacks
    with pytest.raises(ConnectionRefusedError):
        ssock.create_connection((SERVER, 9), stack=client_stack)
    sock = ssock.socket(stack=client_stack)

    assert sock.connect_ex((SERVER, 9)) == errno.ECONNREFUSED
    sock.close()


def test_timeouts_and_non_blocking_mode(stacks: tuple[ssock.Stack, ssock.Stack]) -> None:
    client_stack, server_stack = stacks
    with ssock.socket(stack=server_stack) as listener:
        listener.bind((SERVER, 80))
        listener.listen(5)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
        with ssock.create_connection((SERVER, 80), stack=client_stack) as sock:
            listener.settimeout(5)
            peer, addr = listener.accept()
            assert addr == sock.getsockname()
            sock.settimeout(0.1)
            with pytest.raises(TimeoutError):
                sock.recv(10)
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(10)
            assert not sock.getblocking()
            r, _, _ = select.select([sock], [], [], 0)
            assert r == []
            peer.sendall(b"ready")
            r, _, _ = select.select([sock], [], [], 5)
            assert r == [sock]
            sock.setblocking(True)
            assert sock.recv(10) == b"ready"
            peer.close()
            assert sock.recv(10) == b""


def test_reset_surfaces_as_connection_reset_error(stacks: tuple[ssock.Stack, ssock.Stack]) -> None:
    client_stack, server_stack = stacks
    with ssock.socket(stack=server_stack) as listener:
        listener.bind((SERVER, 80))
        listener.listen()
        sock = ssock.create_connection((SERVER, 80), timeout=10, stack=client_stack)
        peer, _ = listener.accept()
        # Abort the server side through its transport: a RST.
        proto = peer._proto
        assert proto is not None
        assert proto.transport is not None
        server_stack.call(proto.transport.abort)
        with pytest.raises(ConnectionResetError):
            sock.recv(10)
        # As Linux (sk_err is reported once): then the end of the stream, and EPIPE.
        assert sock.recv(10) == b""
        with pytest.raises(BrokenPipeError):
            sock.send(b"x")
        sock.close()
        with pytest.raises(OSError, match="Bad file descriptor"):
            sock.recv(1)


def test_makefile_lines(stacks: tuple[ssock.Stack, ssock.Stack]) -> None:
    client_stack, server_stack = stacks
    with ssock.socket(stack=server_stack) as listener:
        listener.bind((SERVER, 80))
        listener.listen()
        sock = ssock.create_connection((SERVER, 80), timeout=10, stack=client_stack)
        peer, _ = listener.accept()
        wfile = peer.makefile("wb")
        wfile.write(b"line one\nline two\n")
        wfile.flush()
        wfile.close()
        peer.close()
        rfile = sock.makefile("r", encoding="ascii")
        assert rfile.readline() == "line one\n"
        assert rfile.read() == "line two\n"
        rfile.close()
        sock.close()


class _SynackHTTPConnection(http.client.HTTPConnection):
    """http.client over synack; connect() never falls back to kernel sockets."""

    stack: ssock.Stack

    def connect(self) -> None:
        self.sock = ssock.create_connection((self.host, self.port), timeout=10, stack=self.stack)


class _Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_socketserver_and_http_client_run_on_synack_sockets(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, server_stack = stacks
    server = socketserver.TCPServer((SERVER, 8080), _Hello, bind_and_activate=False)
    server.socket = ssock.socket(stack=server_stack)  # type: ignore[assignment]
    server.server_bind()
    server.server_activate()
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    t.start()
    try:
        conn = _SynackHTTPConnection(SERVER, 8080, timeout=10)
        conn.stack = client_stack
        for path in ("/a", "/bb"):
            conn.request("GET", path)
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.read() == f"hello {path}".encode()
        conn.close()
    finally:
        server.shutdown()
        t.join()
        server.server_close()

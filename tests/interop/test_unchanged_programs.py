"""Ordinary Python programs, unchanged, on synack: ``synack run`` and ``synack.patch`` against the kernel.

Each program is a plain script (or ``python -m http.server``) that knows nothing
of synack; ``synack run --netns LAB --tap tap0 -- python ...`` runs it with its
TCP on synack, in a namespace this test creates, and the kernel's TCP is on the
other side (curl, Python's http.server, a kernel echo server, Python's ssl).
TLS uses a certificate authority and a certificate for both addresses made at
test time (trustme).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import synack
from synack.api import socket as ssock
from synack.link.netns import NetnsLab
from tests.interop.conftest import KERNEL, SYNACK
from tests.interop.helpers import Proc, env_without_proxies, in_ns, running, synack_argv

pytestmark = [pytest.mark.netns, pytest.mark.timeout(180)]

HELLO = "hello from the kernel's http.server\n"

# A kernel-side TCP echo server for one connection: echoes until EOF.
KERNEL_ECHO = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print('listening', flush=True)
c, _ = s.accept()
while d := c.recv(65536):
    c.sendall(d)
c.close(); print('done', flush=True)
"""

# A kernel-side client: send a line, half-close, print what comes back.
KERNEL_CLIENT = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(sys.argv[3].encode() + b'\\n'); s.shutdown(socket.SHUT_WR)
got = b''.join(iter(lambda: s.recv(65536), b''))
print(got.decode().strip(), flush=True)
"""

# The kernel's HTTPS server: http.server with Python's ssl.
KERNEL_HTTPS = """
import http.server, ssl, sys, functools
cert, key, root = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); ctx.load_cert_chain(cert, key)
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
httpd = http.server.ThreadingHTTPServer(('10.0.0.1', 8443), handler)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print('serving', flush=True)
httpd.serve_forever()
"""

PROGRAMS = {
    "socketserver_echo.py": """
        import socketserver

        class Upper(socketserver.StreamRequestHandler):
            def handle(self):
                for line in self.rfile:
                    self.wfile.write(line.upper())

        with socketserver.ThreadingTCPServer(("", 9001), Upper) as server:
            print("ready", server.server_address, flush=True)
            server.handle_request()
    """,
    "http_client.py": """
        import http.client, sys
        conn = http.client.HTTPConnection(sys.argv[1], 8000, timeout=20)
        conn.request("GET", "/hello.txt")
        response = conn.getresponse()
        print(response.status, response.read().decode().strip())
        conn.request("HEAD", "/hello.txt")  # the same connection, kept alive
        response = conn.getresponse()
        response.read()
        print(response.status, response.getheader("Content-Length"))
        conn.close()
    """,
    "urllib_get.py": """
        import sys, urllib.request
        with urllib.request.urlopen(sys.argv[1], timeout=20) as response:
            print(response.status, response.read().decode().strip())
    """,
    "requests_get.py": """
        import sys, requests
        with requests.Session() as session:
            for _ in range(2):  # the second request reuses the pooled connection
                r = session.get(sys.argv[1], timeout=20, verify=sys.argv[2] if len(sys.argv) > 2 else True)
                print(r.status_code, r.text.strip())
    """,
    "h11_client.py": """
        import socket, sys, h11
        sock = socket.create_connection((sys.argv[1], 8000), timeout=20)
        conn = h11.Connection(our_role=h11.CLIENT)
        sock.sendall(conn.send(h11.Request(method="GET", target="/hello.txt",
                                           headers=[("Host", sys.argv[1]), ("Connection", "close")])))
        sock.sendall(conn.send(h11.EndOfMessage()))
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        sock.close()
        print(status, body.decode().strip())
    """,
    "asyncio_echo_server.py": """
        import asyncio

        async def main():
            done = asyncio.Event()

            async def handle(reader, writer):
                while line := await reader.readline():
                    writer.write(line[::-1].strip() + b"\\n")
                    await writer.drain()
                writer.close()
                await writer.wait_closed()
                done.set()

            server = await asyncio.start_server(handle, "0.0.0.0", 9002)
            async with server:
                print("ready", server.sockets[0].getsockname(), flush=True)
                await done.wait()

        asyncio.run(main())
    """,
    "asyncio_client.py": """
        import asyncio, sys

        async def main():
            reader, writer = await asyncio.open_connection(sys.argv[1], 9003)
            writer.write(b"ping over asyncio\\n")
            await writer.drain()
            print((await reader.readline()).decode().strip())
            writer.close()
            await writer.wait_closed()

        asyncio.run(main())
    """,
    "https_server.py": """
        import http.server, ssl, sys, functools
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[1], sys.argv[2])
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])
        with http.server.HTTPServer(("", 4443), handler) as httpd:
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
            print("ready", flush=True)
            httpd.handle_request()
    """,
    "https_client.py": """
        import ssl, sys, urllib.request
        ctx = ssl.create_default_context(cafile=sys.argv[2])
        with urllib.request.urlopen(sys.argv[1], timeout=20, context=ctx) as response:
            print(response.status, response.read().decode().strip())
    """,
}


@pytest.fixture
def programs(tmp_path: Path) -> Path:
    """The programs above, as files; and a web root with hello.txt."""
    for name, text in PROGRAMS.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_text(HELLO)
    return tmp_path


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, str]:
    """A CA and a certificate for both addresses (kernel and synack), as PEM files."""
    ca = trustme.CA()
    cert = ca.issue_cert(KERNEL, SYNACK)
    paths = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "cert.pem", "key": tmp_path / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(paths["cert"]), append=True)
    cert.private_key_pem.write_to_path(str(paths["key"]))
    return {k: str(v) for k, v in paths.items()}


def _synack_run(lab: NetnsLab, *program: str) -> list[str]:
    return synack_argv(lab, "run", "-q", "--", sys.executable, *program)


def _run_to_end(lab: NetnsLab, *program: str, cwd: Path) -> str:
    env = {**env_without_proxies(), "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        _synack_run(lab, *program), capture_output=True, text=True, timeout=90, cwd=cwd, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _background(lab: NetnsLab, name: str, *program: str, cwd: Path) -> Proc:
    env = {**env_without_proxies(), "PYTHONUNBUFFERED": "1"}
    return Proc(_synack_run(lab, *program), name, env=env, cwd=cwd)


@pytest.fixture
def kernel_http(lab_tap: NetnsLab, programs: Path) -> Iterator[NetnsLab]:
    """The kernel's ``python -m http.server`` on 10.0.0.1:8000, serving hello.txt."""
    argv = in_ns(
        lab_tap, sys.executable, "-u", "-m", "http.server", "8000", "--bind", KERNEL,
        "--directory", str(programs / "www"),
    )  # fmt: skip
    with running(argv, "kernel http.server") as k:
        k.expect("Serving HTTP")
        yield lab_tap


# ------------------------------------------------------------ synack serves


def test_python_m_http_server_serves_the_kernels_curl(lab_tap: NetnsLab, programs: Path) -> None:
    proc = _background(lab_tap, "http.server", "-m", "http.server", "8000", cwd=programs / "www")
    try:
        proc.expect("Serving HTTP on", timeout=60)
        for url in (f"http://{SYNACK}:8000/hello.txt", "http://[fd00::5]:8000/hello.txt"):
            got = lab_tap.run(
                ["curl", "--noproxy", "*", "-sS", "-g", "--max-time", "20", url],
                timeout=60,
                env=env_without_proxies(),
            )
            assert got.stdout == HELLO, got.stderr
    finally:
        proc.stop()
    assert "10.0.0.1 - - " in proc.stderr  # http.server logged both requests
    assert "fd00::1 - - " in proc.stderr


def test_socketserver_threading_tcp_server(lab_tap: NetnsLab, programs: Path) -> None:
    with _as_running(
        _background(lab_tap, "socketserver", "socketserver_echo.py", cwd=programs)
    ) as proc:
        proc.expect("ready", timeout=60)
        got = lab_tap.run(
            [sys.executable, "-c", KERNEL_CLIENT, SYNACK, "9001", "shout"], timeout=60
        )
        assert got.stdout.strip() == "SHOUT", got.stderr
        assert proc.wait(30) == 0


def test_asyncio_streams_echo_server(lab_tap: NetnsLab, programs: Path) -> None:
    with _as_running(
        _background(lab_tap, "asyncio server", "asyncio_echo_server.py", cwd=programs)
    ) as proc:
        line = proc.expect("ready", timeout=60)
        assert "9002" in line
        got = lab_tap.run(
            [sys.executable, "-c", KERNEL_CLIENT, SYNACK, "9002", "asyncio"], timeout=60
        )
        assert got.stdout.strip() == "oicnysa", got.stderr
        assert proc.wait(30) == 0


def test_https_server_with_pythons_ssl_to_the_kernels_curl(
    lab_tap: NetnsLab, programs: Path, certs: dict[str, str]
) -> None:
    with _as_running(
        _background(
            lab_tap,
            "https server",
            "https_server.py",
            certs["cert"],
            certs["key"],
            str(programs / "www"),
            cwd=programs,
        )
    ) as proc:
        proc.expect("ready", timeout=60)
        got = lab_tap.run(
            ["curl", "--noproxy", "*", "-sS", "--max-time", "20", "--cacert", certs["ca"],
             f"https://{SYNACK}:4443/hello.txt"],
            timeout=60, env=env_without_proxies(),
        )  # fmt: skip
        assert got.stdout == HELLO, got.stderr
        assert proc.wait(30) == 0


# ------------------------------------------------------- synack is the client


def test_http_client(kernel_http: NetnsLab, programs: Path) -> None:
    out = _run_to_end(kernel_http, "http_client.py", KERNEL, cwd=programs)
    assert out.splitlines() == [f"200 {HELLO.strip()}", f"200 {len(HELLO)}"]


def test_urllib_request(kernel_http: NetnsLab, programs: Path) -> None:
    out = _run_to_end(kernel_http, "urllib_get.py", f"http://{KERNEL}:8000/hello.txt", cwd=programs)
    assert out.strip() == f"200 {HELLO.strip()}"


def test_requests_and_urllib3(kernel_http: NetnsLab, programs: Path) -> None:
    out = _run_to_end(
        kernel_http, "requests_get.py", f"http://{KERNEL}:8000/hello.txt", cwd=programs
    )
    assert out.splitlines() == [f"200 {HELLO.strip()}"] * 2


def test_h11_over_a_plain_socket(kernel_http: NetnsLab, programs: Path) -> None:
    out = _run_to_end(kernel_http, "h11_client.py", KERNEL, cwd=programs)
    assert out.strip() == f"200 {HELLO.strip()}"


def test_asyncio_streams_client(lab_tap: NetnsLab, programs: Path) -> None:
    with running(in_ns(lab_tap, sys.executable, "-c", KERNEL_ECHO, KERNEL, "9003"), "echo") as k:
        k.expect("listening")
        out = _run_to_end(lab_tap, "asyncio_client.py", KERNEL, cwd=programs)
        k.expect("done")
    assert out.strip() == "ping over asyncio"


def test_https_clients_urllib_and_requests_to_the_kernels_ssl(
    lab_tap: NetnsLab, programs: Path, certs: dict[str, str]
) -> None:
    argv = in_ns(
        lab_tap, sys.executable, "-c", KERNEL_HTTPS, certs["cert"], certs["key"],
        str(programs / "www"),
    )  # fmt: skip
    with running(argv, "kernel https") as k:
        k.expect("serving")
        url = f"https://{KERNEL}:8443/hello.txt"
        out = _run_to_end(lab_tap, "https_client.py", url, certs["ca"], cwd=programs)
        assert out.strip() == f"200 {HELLO.strip()}"
        out = _run_to_end(lab_tap, "requests_get.py", url, certs["ca"], cwd=programs)
        assert out.splitlines() == [f"200 {HELLO.strip()}"] * 2


# ------------------------------------------------------------ synack.patch


def test_synack_patch_in_process_urllib_and_asyncio(kernel_http: NetnsLab) -> None:
    lab = kernel_http
    original = socket.socket
    with ssock.Stack.tap(lab.tap, [f"{SYNACK}/24"], netns=lab.name) as stack:
        with synack.patch(stack):
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(f"http://{KERNEL}:8000/hello.txt", timeout=20) as response:
                body = response.read().decode()

            async def fetch() -> bytes:
                reader, writer = await asyncio.open_connection(KERNEL, 8000)
                writer.write(b"GET /hello.txt HTTP/1.0\r\n\r\n")
                data = await reader.read()
                writer.close()
                return data

            raw = asyncio.run(fetch())
        assert socket.socket is original  # restored
    assert body == HELLO
    assert raw.endswith(HELLO.encode())


class _as_running:  # noqa: N801 - used like helpers.running
    """``with`` for a :class:`Proc` started already: stopped on exit."""

    def __init__(self, proc: Proc) -> None:
        self.proc = proc

    def __enter__(self) -> Proc:
        return self.proc

    def __exit__(self, *exc: object) -> None:
        self.proc.stop()

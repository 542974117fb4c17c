"""TLS on both synack APIs against the kernel side running Python's ``ssl`` (issue 10, finding 5).

A certificate authority and one certificate for both addresses are made at test
time (trustme); the kernel side is a small Python program in the test's
namespace, the synack side uses ``synack.aio`` (``ssl=``) and
``synack.api.tls.wrap_socket`` directly (the unchanged-program tests cover the
patched ``SSLContext.wrap_socket``).
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import sys
import threading
from pathlib import Path

import pytest
import trustme

from synack.api import aio
from synack.api import socket as ssock
from synack.api.tls import wrap_socket
from synack.link.netns import NetnsLab
from tests.interop.conftest import KERNEL, SYNACK
from tests.interop.helpers import in_ns, running

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

PAYLOAD = hashlib.shake_256(b"tls against the kernel").digest(1_000_000)

# The kernel's TLS server, one connection: a 4-octet length, that much data; it
# answers "<sha256> <TLS version>" and closes. (TLS has no half-close.)
KERNEL_TLS_SERVER = """
import hashlib, socket, ssl, sys
cert, key = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); ctx.load_cert_chain(cert, key)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('10.0.0.1', 8443)); srv.listen(1); print('listening', flush=True)
raw, _ = srv.accept()
with ctx.wrap_socket(raw, server_side=True) as c:
    f = c.makefile('rb')
    data = f.read(int.from_bytes(f.read(4), 'big'))
    c.sendall(hashlib.sha256(data).hexdigest().encode() + b' ' + c.version().encode())
print('done', flush=True)
"""

# The kernel's TLS client: the same exchange from the other side.
KERNEL_TLS_CLIENT = """
import hashlib, socket, ssl, sys
host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
payload = hashlib.shake_256(b'tls against the kernel').digest(1_000_000)
ctx = ssl.create_default_context(cafile=ca)
with ctx.wrap_socket(socket.create_connection((host, port), timeout=30), server_hostname=host) as s:
    s.sendall(len(payload).to_bytes(4, 'big') + payload)
    answer = b''
    while b := s.recv(1000):
        answer += b
    version = s.version()
print(answer.decode(), version, flush=True)
"""


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, str]:
    ca = trustme.CA()
    cert = ca.issue_cert(KERNEL, SYNACK)
    files = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "cert.pem", "key": tmp_path / "key.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.private_key_and_cert_chain_pem.write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    return {k: str(v) for k, v in files.items()}


def _client_context(certs: dict[str, str]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certs["ca"])


def _server_context(certs: dict[str, str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs["cert"], certs["key"])
    return ctx


def _expected() -> str:
    return hashlib.sha256(PAYLOAD).hexdigest()


def test_asyncio_client_with_ssl_to_the_kernels_ssl_server(
    lab: NetnsLab, stack: ssock.Stack, certs: dict[str, str]
) -> None:
    server = in_ns(lab, sys.executable, "-c", KERNEL_TLS_SERVER, certs["cert"], certs["key"])
    with running(server, "kernel tls server") as k:
        k.expect("listening")

        async def talk() -> bytes:
            reader, writer = await aio.open_connection(
                KERNEL, 8443, runtime=stack.runtime, ssl=_client_context(certs)
            )
            assert writer.get_extra_info("ssl_object") is not None
            writer.write(len(PAYLOAD).to_bytes(4, "big") + PAYLOAD)
            await writer.drain()
            answer = await reader.read()
            writer.close()
            return answer

        answer = stack.run(talk(), 60)
        k.expect("done")
    digest, version = answer.decode().split()
    assert digest == _expected()
    assert version in ("TLSv1.2", "TLSv1.3")


def test_asyncio_server_with_ssl_to_the_kernels_ssl_client(
    lab: NetnsLab, stack: ssock.Stack, certs: dict[str, str]
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = int.from_bytes(await reader.readexactly(4), "big")
        data = await reader.readexactly(size)
        version = writer.get_extra_info("ssl_object").version()
        writer.write(f"{hashlib.sha256(data).hexdigest()} {version}".encode())
        await writer.drain()
        writer.close()

    async def start() -> aio.Server:
        return await aio.start_server(
            handler, port=4443, runtime=stack.runtime, ssl=_server_context(certs)
        )

    stack.run(start(), 10)
    result = lab.run(
        [sys.executable, "-c", KERNEL_TLS_CLIENT, SYNACK, "4443", certs["ca"]], timeout=60
    )
    assert result.returncode == 0, result.stderr
    digest, server_version, client_version = result.stdout.split()
    assert digest == _expected()
    assert server_version == client_version, result.stdout + result.stderr


def test_blocking_wrap_socket_server_to_the_kernels_ssl_client(
    lab: NetnsLab, stack: ssock.Stack, certs: dict[str, str]
) -> None:
    listener = wrap_socket(_server_context(certs), ssock.socket(stack=stack), server_side=True)
    listener.bind(("", 4444))
    listener.listen()
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with conn:
                f = conn.makefile("rb")
                size = int.from_bytes(f.read(4), "big")
                data = f.read(size)
                f.close()
                conn.sendall(f"{hashlib.sha256(data).hexdigest()} {conn.version()}".encode())
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=serve)
    t.start()
    result = lab.run(
        [sys.executable, "-c", KERNEL_TLS_CLIENT, SYNACK, "4444", certs["ca"]], timeout=60
    )
    t.join(30)
    listener.close()
    assert not errors, errors
    assert result.returncode == 0, result.stderr
    digest, server_version, client_version = result.stdout.split()
    assert digest == _expected()
    assert server_version == client_version, result.stdout + result.stderr

"""TLS over synack on both APIs, between two synack hosts (the kernel-side tests are in interop).

A certificate authority and a certificate for the server's address are made at
test time (trustme); both sides run Python's ``ssl`` (OpenSSL).
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import threading

import pytest
import trustme

from synack.api import aio
from synack.api import socket as ssock
from synack.api.tls import wrap_socket
from synack.api.vtime import run
from tests.api.conftest import SERVER
from tests.api.pairs import SERVER as PAIR_SERVER
from tests.api.pairs import make_pair

pytestmark = pytest.mark.timeout(60)

PAYLOAD = hashlib.shake_256(b"tls").digest(300_000)


def _contexts(host: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def test_blocking_tls_both_ways_with_certificate_checks(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, server_stack = stacks
    server_ctx, client_ctx = _contexts(SERVER)
    listener = wrap_socket(server_ctx, ssock.socket(stack=server_stack), server_side=True)
    listener.bind(("", 443))
    listener.listen()
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with conn:
                got = b""
                while len(got) < len(PAYLOAD):
                    got += conn.recv(65536)
                conn.sendall(hashlib.sha256(got).hexdigest().encode())
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=serve)
    t.start()
    raw = ssock.create_connection((SERVER, 443), timeout=10, stack=client_stack)
    with wrap_socket(client_ctx, raw, server_hostname=SERVER) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert ("IP Address", SERVER) in tls.getpeercert()["subjectAltName"]
        tls.sendall(PAYLOAD)
        with tls.makefile("rb") as f:
            answer = f.read()
    t.join(10)
    listener.close()
    assert not errors, errors
    assert answer.decode() == hashlib.sha256(PAYLOAD).hexdigest()


def test_blocking_tls_rejects_a_certificate_for_another_host(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, server_stack = stacks
    server_ctx, client_ctx = _contexts("10.9.9.9")  # not the server's address
    listener = wrap_socket(server_ctx, ssock.socket(stack=server_stack), server_side=True)
    listener.bind(("", 444))
    listener.listen()

    failures: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.close()
        except (ssl.SSLError, OSError) as exc:
            failures.append(exc)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    raw = ssock.create_connection((SERVER, 444), timeout=10, stack=client_stack)
    with pytest.raises(ssl.SSLCertVerificationError):
        wrap_socket(client_ctx, raw, server_hostname=SERVER)
    raw.close()
    server.join(10)
    listener.close()
    # The client told the server why, as OpenSSL over a kernel socket does: the
    # alert, not a bare end of the stream.
    (failure,) = failures
    assert not isinstance(failure, ssl.SSLEOFError), failure
    assert "ALERT_BAD_CERTIFICATE" in str(failure), failure


def test_asyncio_tls_with_ssl_arguments_and_start_tls() -> None:
    server_ctx, client_ctx = _contexts(PAIR_SERVER)

    async def main() -> tuple[bytes, bytes, str]:
        pair = make_pair(asyncio.get_running_loop())

        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readexactly(len(PAYLOAD)))
            await writer.drain()
            writer.close()

        await aio.start_server(echo, port=443, runtime=pair.server, ssl=server_ctx)
        reader, writer = await aio.open_connection(
            PAIR_SERVER, 443, runtime=pair.client, ssl=client_ctx
        )
        version = writer.get_extra_info("ssl_object").version()
        writer.write(PAYLOAD)
        echoed = await reader.read()
        writer.close()
        # start_tls on a plain connection (STARTTLS style), from the stream.
        await aio.start_server(
            lambda r, w: asyncio.ensure_future(_upgrade_then_echo(r, w, server_ctx)),
            port=25,
            runtime=pair.server,
        )
        reader, writer = await aio.open_connection(PAIR_SERVER, 25, runtime=pair.client)
        assert await reader.readline() == b"ready\n"
        await writer.start_tls(client_ctx, server_hostname=PAIR_SERVER)
        writer.write(b"secret\n")
        upgraded = await reader.readline()
        writer.close()
        return echoed, upgraded, version

    echoed, upgraded, version = run(main())
    assert echoed == PAYLOAD
    assert upgraded == b"SECRET\n"
    assert version in ("TLSv1.2", "TLSv1.3")


async def _upgrade_then_echo(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ctx: ssl.SSLContext
) -> None:
    writer.write(b"ready\n")
    await writer.drain()
    await writer.start_tls(ctx)
    line = await reader.readline()
    writer.write(line.upper())
    await writer.drain()
    writer.close()

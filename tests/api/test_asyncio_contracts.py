"""asyncio's contracts kept by synack's transports, as asyncio on Linux behaves.

Programs run unchanged under ``synack.patch`` (bridged transports) or use
``synack.aio`` directly; either way they get what asyncio gives on the kernel:
TCP_NODELAY on every TCP transport, asyncio's exception texts, servers that
hold connections until they serve and close when ``serve_forever`` is
cancelled. Two synack hosts on an in-process wire; about 2 s.
"""

from __future__ import annotations

import asyncio
import errno
import socket as stdsocket
import threading

import pytest

from synack.api import aio
from synack.api import socket as ssock
from synack.api.patch import patch

SERVER = "10.0.0.2"
T = stdsocket.IPPROTO_TCP

pytestmark = pytest.mark.timeout(60)


def _echo_once(listener: ssock.socket) -> None:
    conn, _ = listener.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


def test_asyncio_transports_have_tcp_nodelay_as_on_linux(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    """asyncio sets TCP_NODELAY on every TCP transport (base_events._set_nodelay)."""
    client_stack, server_stack = stacks
    with ssock.socket(stack=server_stack) as listener:
        listener.bind(("", 80))
        listener.listen()
        threading.Thread(target=_echo_once, args=(listener,), daemon=True).start()

        async def main() -> tuple[int, bool, bytes]:
            reader, writer = await asyncio.open_connection(SERVER, 80)
            sock = writer.get_extra_info("socket")
            flag = sock.getsockopt(T, stdsocket.TCP_NODELAY)
            nodelay = writer.get_extra_info("connection").config.nodelay
            writer.write(b"ping")
            echoed = await reader.readexactly(4)
            writer.close()
            await writer.wait_closed()
            return flag, nodelay, echoed

        with patch(client_stack):
            assert asyncio.run(main()) == (1, True, b"ping")
        # A blocking socket starts with Nagle on, as a kernel socket does.
        with ssock.socket(stack=client_stack) as plain:
            assert plain.getsockopt(T, stdsocket.TCP_NODELAY) == 0


def test_synack_aio_streams_have_tcp_nodelay_both_ways(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, server_stack = stacks
    accepted: list[bool] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer.get_extra_info("connection").config.nodelay)
        writer.close()

    async def serve() -> aio.Server:
        return await aio.start_server(handle, port=81, runtime=server_stack.runtime)

    async def connect() -> bool:
        _, writer = await aio.open_connection(SERVER, 81, runtime=client_stack.runtime)
        nodelay: bool = writer.get_extra_info("connection").config.nodelay
        writer.close()
        return nodelay

    server = server_stack.run(serve(), 10)
    assert client_stack.run(connect(), 10) is True
    server_stack.call(server.close)
    assert accepted == [True]


def test_a_refused_asyncio_connect_reads_as_asyncios_own(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    async def main() -> None:
        await asyncio.open_connection(SERVER, 99)

    with patch(stacks[0]), pytest.raises(ConnectionRefusedError) as refused:
        asyncio.run(main())
    assert refused.value.errno == errno.ECONNREFUSED
    assert str(refused.value) == "[Errno 111] Connect call failed ('10.0.0.2', 99)"


def test_a_server_holds_connections_until_it_serves_and_closes_when_serve_forever_ends(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, server_stack = stacks
    served: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(await reader.readline())
        writer.write(b"hello\n")
        await writer.drain()
        writer.close()

    def client() -> bytes:
        with ssock.create_connection((SERVER, 82), timeout=10, stack=client_stack) as sock:
            sock.sendall(b"hi\n")
            return sock.recv(100)

    async def main() -> None:
        server = await asyncio.start_server(handle, port=82, start_serving=False)
        assert not server.is_serving()
        # A connection that arrives before start_serving() waits for it (kernel backlog).
        got = asyncio.ensure_future(asyncio.to_thread(client))
        await asyncio.sleep(0.3)
        assert served == [] and not got.done()
        forever = asyncio.ensure_future(server.serve_forever())
        assert await asyncio.wait_for(got, 10) == b"hello\n"
        assert served == [b"hi\n"]
        with pytest.raises(RuntimeError, match="already being awaited"):
            await server.serve_forever()
        # Cancelling serve_forever() closes the server, as asyncio's does.
        forever.cancel()
        with pytest.raises(asyncio.CancelledError):
            await forever
        assert not server.is_serving()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.to_thread(client)

    with patch(server_stack):
        asyncio.run(main())

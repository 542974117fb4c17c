"""Closing a runtime or a stack loses no data: it lingers until closed connections deliver.

Two hosts on an in-process wire, in virtual time (the asyncio API) or in a stack
thread (the socket API). The receiving side counts what arrives with a plain
protocol, so nothing of the receiver is cancelled when the program's main
coroutine returns.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
from collections.abc import Callable

import pytest

from synack.api import aio
from synack.api import socket as ssock
from synack.api.runtime import DEFAULT_LINGER, PairLink, Runtime
from synack.api.vtime import run
from synack.tcp.endpoint import Endpoint
from synack.tcp.state import State
from tests.api.pairs import SERVER, make_pair

pytestmark = pytest.mark.timeout(60)

PAYLOAD = hashlib.shake_256(b"lifecycle").digest(5_000_000)


def collect(sinks: list[Sink]) -> Callable[[], Sink]:
    """A protocol factory that keeps every sink it makes."""

    def factory() -> Sink:
        sinks.append(Sink())
        return sinks[-1]

    return factory


class Sink(asyncio.Protocol):
    """Counts and hashes what arrives; remembers how the connection ended."""

    def __init__(self) -> None:
        self.received = 0
        self.sha = hashlib.sha256()
        self.eof = False
        self.lost: list[Exception | None] = []

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        self.sha.update(data)

    def eof_received(self) -> bool:
        self.eof = True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


def test_runtime_close_at_the_end_of_asyncio_run_delivers_all_data() -> None:
    # The program: write, close, wait_closed, runtime.close(), return.
    sinks: list[Sink] = []

    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())
        await aio.create_server(collect(sinks), port=9, runtime=pair.server)
        _reader, writer = await aio.open_connection(SERVER, 9, runtime=pair.client)
        writer.write(PAYLOAD)
        writer.close()
        await writer.wait_closed()
        pair.client.close()

    run(main())  # like asyncio.run: the linger task finishes before the loop closes
    assert sinks[0].received == len(PAYLOAD)
    assert sinks[0].sha.hexdigest() == hashlib.sha256(PAYLOAD).hexdigest()
    assert sinks[0].eof


def test_runtime_close_closes_open_streams_gracefully_and_wait_closed_waits() -> None:
    sinks: list[Sink] = []

    async def main() -> tuple[State, bool]:
        pair = make_pair(asyncio.get_running_loop())
        await aio.create_server(collect(sinks), port=9, runtime=pair.server)
        _reader, writer = await aio.open_connection(SERVER, 9, runtime=pair.client)
        writer.write(PAYLOAD[:1_000_000])  # never closed by the program
        conn = writer.transport.get_extra_info("connection")
        await pair.client.aclose()
        return conn.state, pair.client.closed

    state, closed = run(main())
    assert closed
    assert state is State.CLOSED
    assert sinks[0].received == 1_000_000
    assert sinks[0].eof  # a FIN, not a RST
    assert sinks[0].lost == [None]


def test_runtime_close_resets_a_connection_with_unread_data() -> None:
    # RFC 1122 4.2.2.13: CLOSE with received data pending SHOULD send a RST.
    async def main() -> list[Exception | None]:
        pair = make_pair(asyncio.get_running_loop())
        server_side: list[asyncio.StreamWriter] = []

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            server_side.append(writer)

        await aio.start_server(handler, port=9, runtime=pair.server)
        transport, sink = await aio.create_connection(Sink, SERVER, 9, runtime=pair.client)
        transport.write(b"x")
        await asyncio.sleep(0.1)
        server_side[0].transport.pause_reading()  # type: ignore[attr-defined]  # the server's program never reads
        transport.write(b"unread")
        await asyncio.sleep(0.1)
        await pair.server.aclose()
        await asyncio.sleep(0.1)
        assert isinstance(sink, Sink)
        return sink.lost

    lost = run(main())
    assert len(lost) == 1
    assert isinstance(lost[0], ConnectionResetError)


def test_linger_is_bounded_when_the_peer_never_acknowledges() -> None:
    drop = threading.Event()

    async def main() -> tuple[float, int]:
        pair = make_pair(asyncio.get_running_loop(), drop=lambda packet: drop.is_set())
        await aio.create_server(Sink, port=9, runtime=pair.server)
        transport, _ = await aio.create_connection(Sink, SERVER, 9, runtime=pair.client)
        drop.set()  # from now on the client's packets are lost
        transport.write(b"lost" * 1000)
        start = asyncio.get_running_loop().time()
        await pair.client.aclose(linger=3.0)
        return asyncio.get_running_loop().time() - start, len(pair.client.endpoint.connections())

    waited, left = run(main())
    assert waited == pytest.approx(3.0, abs=0.01)
    assert left == 0


class LingeringSink(Sink):
    """A Sink whose connection has its own linger, as a socket with SO_LINGER on has."""

    def __init__(self, close_linger: float | None) -> None:
        super().__init__()
        self.close_linger = close_linger


def test_a_connections_own_linger_replaces_the_runtimes_when_it_closes() -> None:
    # SO_LINGER on with N s: closing the runtime gives that connection N s, fewer or
    # more than the runtime's own linger (3 s here); 0 resets it at once.
    drop = threading.Event()
    own = [None, 1.0, 5.0, 0.0]
    records: list[dict[str, object]] = []

    async def main() -> tuple[float, list[float | None]]:
        loop = asyncio.get_running_loop()
        pair = make_pair(loop, drop=lambda packet: drop.is_set())
        pair.client.endpoint.tracer = records.append
        await aio.create_server(Sink, port=9, runtime=pair.server)
        ports = []
        for linger in own:
            transport, _ = await aio.create_connection(
                functools.partial(LingeringSink, linger), SERVER, 9, runtime=pair.client
            )
            transport.write(b"never acknowledged")
            ports.append(transport.get_extra_info("sockname")[1])
        drop.set()  # from now on the client's packets are lost
        start = round(loop.time() * 1e6)
        await pair.client.aclose(linger=3.0)
        # When each connection was reset: its move to CLOSED by an abort.
        resets = {
            r["conn"]: int(str(r["t"]))
            for r in records
            if r["ev"] == "state" and r["reason"] == "abort"
        }
        ends = [resets.get(f"10.0.0.1:{port}-{SERVER}:9") for port in ports]
        return loop.time() - start / 1e6, [t if t is None else (t - start) / 1e6 for t in ends]

    waited, ends = run(main())
    assert ends == [
        pytest.approx(3.0, abs=0.01),
        pytest.approx(1.0, abs=0.01),
        pytest.approx(5.0, abs=0.01),
        0.0,
    ]
    assert waited == pytest.approx(5.0, abs=0.01)


def test_default_linger_is_ten_seconds_and_linger_zero_resets_at_once() -> None:
    assert DEFAULT_LINGER == 10.0

    async def main() -> tuple[float, list[Exception | None]]:
        pair = make_pair(asyncio.get_running_loop())
        await aio.create_server(Sink, port=9, runtime=pair.server)
        transport, sink = await aio.create_connection(Sink, SERVER, 9, runtime=pair.client)
        transport.write(PAYLOAD)
        start = asyncio.get_running_loop().time()
        await pair.client.aclose(linger=0)
        assert isinstance(sink, Sink)
        return asyncio.get_running_loop().time() - start, sink.lost

    waited, lost = run(main())
    assert waited == 0
    assert isinstance(lost[0], ConnectionAbortedError)


def test_settle_waits_until_closed_connections_delivered() -> None:
    sinks: list[Sink] = []

    async def main() -> tuple[bool, int, bool]:
        pair = make_pair(asyncio.get_running_loop())
        await aio.create_server(collect(sinks), port=9, runtime=pair.server)
        transport, _ = await aio.create_connection(Sink, SERVER, 9, runtime=pair.client)
        transport.write(PAYLOAD)
        transport.close()
        settled = await pair.client.settle(30)
        got = sinks[0].received
        # A connection left open keeps settle() waiting until its timeout.
        await aio.create_connection(Sink, SERVER, 9, runtime=pair.client)
        open_one = await pair.client.settle(0.5)
        return settled, got, open_one

    settled, got, open_one = run(main())
    assert settled
    assert got == len(PAYLOAD)  # settle() returned only once the peer had it all
    assert not open_one


def test_leaving_a_stack_right_after_sendall_delivers_everything() -> None:
    a, b = PairLink.pair()

    def client_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint(["10.0.0.1"], isn_secret=b"c" * 32, name="client"), a, loop)

    def server_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint([SERVER], isn_secret=b"s" * 32, name="server"), b, loop)

    server = ssock.Stack(server_rt)
    try:
        sinks: list[Sink] = []

        async def serve() -> aio.Server:
            return await aio.create_server(collect(sinks), port=9, runtime=server.runtime)

        server.run(serve(), 10)
        client = ssock.Stack.sibling(server, client_rt)
        with client, ssock.create_connection((SERVER, 9), timeout=10, stack=client) as sock:
            sock.sendall(PAYLOAD)
        assert client.runtime.closed
        assert sinks[0].received == len(PAYLOAD)
        assert sinks[0].sha.hexdigest() == hashlib.sha256(PAYLOAD).hexdigest()
        assert sinks[0].eof
    finally:
        server.close()

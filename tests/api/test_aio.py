"""asyncio streams over synack: two endpoints on an in-process wire, in virtual time."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from synack.api import aio
from synack.api.vtime import VirtualTimeLoop, run
from synack.tcp.config import Config
from synack.tcp.state import State
from tests.api.pairs import CLIENT, SERVER, make_pair


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_echo_one_megabyte_round_trip() -> None:
    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())
        server = await aio.start_server(_echo, SERVER, 7, runtime=pair.server)
        reader, writer = await aio.open_connection(SERVER, 7, runtime=pair.client)
        payload = bytes(range(256)) * 4096
        received = bytearray()

        async def read_all() -> None:
            while chunk := await reader.read(100_000):
                received.extend(chunk)

        task = asyncio.create_task(read_all())
        writer.write(payload)
        await writer.drain()
        writer.write_eof()
        await task
        assert hashlib.sha256(received).hexdigest() == hashlib.sha256(payload).hexdigest()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())


def test_readline_readexactly_and_extra_info() -> None:
    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())
        got: dict[str, object] = {}

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            got["peer"] = writer.get_extra_info("peername")
            got["sock"] = writer.get_extra_info("sockname")
            writer.write(b"hello\nworld!")
            await writer.drain()
            writer.close()

        await aio.start_server(handler, port=80, runtime=pair.server)
        reader, writer = await aio.open_connection(
            SERVER, 80, runtime=pair.client, local_port=40000
        )
        assert await reader.readline() == b"hello\n"
        assert await reader.readexactly(6) == b"world!"
        assert await reader.read() == b""
        assert reader.at_eof()
        assert writer.get_extra_info("peername") == (SERVER, 80)
        assert writer.get_extra_info("sockname") == (CLIENT, 40000)
        assert got == {"peer": (CLIENT, 40000), "sock": (SERVER, 80)}
        with pytest.raises(asyncio.IncompleteReadError):
            await reader.readexactly(1)
        writer.close()
        await writer.wait_closed()

    run(main())


def test_connect_to_closed_port_raises_connection_refused() -> None:
    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())
        with pytest.raises(ConnectionRefusedError):
            await aio.open_connection(SERVER, 81, runtime=pair.client)

    run(main())


def test_connect_without_answer_times_out_after_syn_retries() -> None:
    async def main() -> float:
        pair = make_pair(asyncio.get_running_loop(), drop=lambda packet: True)
        start = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await aio.open_connection(SERVER, 80, runtime=pair.client)
        return asyncio.get_running_loop().time() - start

    # RFC 6298 (5.5): the RTO doubles after each SYN, capped at max_rto; the
    # connection gives up when the last retransmission's RTO expires.
    cfg = Config()
    expected = sum(min(cfg.initial_rto << i, cfg.max_rto) for i in range(cfg.syn_retries + 1))
    assert run(main()) == pytest.approx(expected / 1e6)


def test_half_close_lets_the_other_direction_continue() -> None:
    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request = await reader.read()  # until our peer's FIN
            writer.write(b"got " + str(len(request)).encode())
            await writer.drain()
            writer.close()

        await aio.start_server(handler, port=80, runtime=pair.server)
        reader, writer = await aio.open_connection(SERVER, 80, runtime=pair.client)
        writer.write(b"x" * 100_000)
        writer.write_eof()
        with pytest.raises(RuntimeError):
            writer.write(b"more")
        assert await reader.read() == b"got 100000"
        writer.close()
        await writer.wait_closed()

    run(main())


def test_drain_blocks_while_the_peer_does_not_read() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        pair = make_pair(loop, config=Config(send_buffer=64 * 1024, recv_buffer=64 * 1024))
        start_reading = asyncio.Event()
        total = 0

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal total
            await start_reading.wait()
            while data := await reader.read(65536):
                total += len(data)
            writer.close()

        await aio.start_server(handler, port=80, runtime=pair.server, limit=16 * 1024)
        _reader, writer = await aio.open_connection(SERVER, 80, runtime=pair.client)
        writer.write(b"y" * 2_000_000)
        drain = asyncio.ensure_future(writer.drain())
        await asyncio.sleep(5)
        assert not drain.done()
        # The peer's receive buffer is full (less than one MSS free: RFC 9293 3.8.6.2.2
        # keeps such a window closed), because the reader stopped pulling.
        conns = pair.server.endpoint.connections()
        assert conns[0].rcv_wnd < conns[0].mss
        assert writer.transport.get_write_buffer_size() > 1_000_000
        start_reading.set()
        await drain
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(1)
        assert total == 2_000_000

    run(main())


def test_reset_by_peer_surfaces_as_connection_reset_error() -> None:
    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readexactly(5)
            writer.transport.abort()

        await aio.start_server(handler, port=80, runtime=pair.server)
        reader, writer = await aio.open_connection(SERVER, 80, runtime=pair.client)
        writer.write(b"hello")
        with pytest.raises(ConnectionResetError):
            await reader.read()
        writer.write(b"x")  # discarded, as on a reset socket
        with pytest.raises(ConnectionResetError):
            await writer.drain()

    run(main())


def test_closed_client_finishes_and_connections_are_forgotten() -> None:
    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())
        await aio.start_server(_echo, port=7, runtime=pair.server)
        reader, writer = await aio.open_connection(SERVER, 7, runtime=pair.client)
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(1)
        assert [c.state for c in pair.client.endpoint.connections()] == [State.TIME_WAIT]
        assert pair.server.endpoint.connections() == []
        await asyncio.sleep(61)  # 2*MSL
        assert pair.client.endpoint.connections() == []
        assert pair.client.handlers == {}
        assert pair.server.handlers == {}

    run(main())


def test_many_concurrent_clients() -> None:
    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())
        await aio.start_server(_echo, port=7, runtime=pair.server)

        async def one(i: int) -> bytes:
            reader, writer = await aio.open_connection(SERVER, 7, runtime=pair.client)
            msg = f"client {i}\n".encode() * 100
            writer.write(msg)
            writer.write_eof()
            data = await reader.read()
            writer.close()
            return data if data == msg else b"mismatch"

        results = await asyncio.gather(*(one(i) for i in range(50)))
        assert all(r != b"mismatch" for r in results)

    run(main())


def test_virtual_loop_runs_plain_asyncio_sleep_instantly() -> None:
    loop = VirtualTimeLoop()
    try:
        loop.run_until_complete(asyncio.sleep(3600))
        assert loop.time() == pytest.approx(3600)
    finally:
        loop.close()


def test_closing_the_runtime_without_linger_aborts_open_streams() -> None:
    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())
        await aio.start_server(_echo, port=7, runtime=pair.server)
        reader, _writer = await aio.open_connection(SERVER, 7, runtime=pair.client)
        pair.client.close(linger=0)
        with pytest.raises(ConnectionAbortedError):
            await reader.read()
        await asyncio.sleep(1)
        # The peer got our RST.
        assert pair.server.endpoint.connections() == []

    run(main())


def test_settle_waits_for_the_last_ack_then_close_aborts_nothing() -> None:
    async def main() -> tuple[bool, State, bool]:
        pair = make_pair(asyncio.get_running_loop())

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()
            writer.close()

        await aio.start_server(handler, port=80, runtime=pair.server)
        _reader, writer = await aio.open_connection(SERVER, 80, runtime=pair.client)
        writer.write(b"bye")
        writer.close()
        settled = await pair.server.settle(5.0)
        conns = pair.server.endpoint.connections()
        state = conns[0].state if conns else State.CLOSED
        # A connection that stays open makes settle give up at its timeout.
        still_open = await aio.open_connection(SERVER, 80, runtime=pair.client)
        idle = await pair.client.settle(0.5)
        still_open[1].close()
        return settled, state, idle

    settled, state, idle = run(main())
    assert settled
    assert state in (State.CLOSED, State.TIME_WAIT)
    assert not idle

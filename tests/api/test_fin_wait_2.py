"""A closed socket's FIN-WAIT-2 is bounded; a half-closed one's is not (Config.fin_wait_2_timeout).

The peer (a synack server that never closes its side) acknowledges our FIN and
sends nothing more. After a transport's or socket's close() the connection is
gone 60 s later (Linux's tcp_fin_timeout; TCP_LINGER2 per socket); after
write_eof() / shutdown(SHUT_WR) the application may still read, and the
connection waits for the peer's FIN as long as it takes (RFC 9293 3.6).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket as stdsocket
import threading
import time
from collections.abc import Callable

import pytest

from synack.api import aio
from synack.api import socket as ssock
from synack.api.runtime import Runtime
from synack.api.vtime import run
from synack.tcp.connection import Connection
from synack.tcp.state import State
from tests.api.pairs import SERVER, make_pair

pytestmark = pytest.mark.timeout(60)

T = stdsocket.IPPROTO_TCP


class KeepsItsHalfOpen(asyncio.Protocol):
    """A server that reads our FIN and never closes its own side."""

    def eof_received(self) -> bool:
        return True


def _only_connection(rt: Runtime) -> Connection | None:
    conns = list(rt.endpoint.connections())
    assert len(conns) <= 1
    return conns[0] if conns else None


def _run_client(steps: Callable[[Runtime, asyncio.StreamWriter], object]) -> None:
    async def main() -> None:
        pair = make_pair(asyncio.get_running_loop())
        await aio.create_server(KeepsItsHalfOpen, port=9, runtime=pair.server)
        _reader, writer = await aio.open_connection(SERVER, 9, runtime=pair.client)
        result = steps(pair.client, writer)
        if asyncio.iscoroutine(result):
            await result

    run(main())


def test_a_closed_transport_leaves_fin_wait_2_after_sixty_seconds() -> None:
    async def steps(client: Runtime, writer: asyncio.StreamWriter) -> None:
        conn = _only_connection(client)
        assert conn is not None
        writer.close()
        await asyncio.sleep(1)
        assert conn.state is State.FIN_WAIT_2
        assert conn.abandoned
        await asyncio.sleep(58)
        assert conn.state is State.FIN_WAIT_2
        await asyncio.sleep(2)
        assert conn.state is State.CLOSED
        assert _only_connection(client) is None
        assert conn.counters["timeout.fin_wait_2"] == 1

    _run_client(steps)


def test_a_half_closed_transport_waits_for_the_peers_fin_then_close_bounds_it() -> None:
    async def steps(client: Runtime, writer: asyncio.StreamWriter) -> None:
        conn = _only_connection(client)
        assert conn is not None
        writer.write_eof()
        await asyncio.sleep(600)  # ten minutes: still waiting, as RFC 9293 3.6 allows
        assert conn.state is State.FIN_WAIT_2
        assert not conn.abandoned
        writer.close()  # now the user has gone: 60 s from here
        await asyncio.sleep(59)
        assert conn.state is State.FIN_WAIT_2
        await asyncio.sleep(2)
        assert conn.state is State.CLOSED

    _run_client(steps)


def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def _held_open_server(stacks: tuple[ssock.Stack, ssock.Stack], port: int) -> list[ssock.socket]:
    """Accept connections and keep them open (never read to EOF, never close)."""
    listener = ssock.socket(stack=stacks[1])
    listener.bind(("", port))
    listener.listen()
    held: list[ssock.socket] = [listener]

    def serve() -> None:
        with contextlib.suppress(OSError):
            held.append(listener.accept()[0])

    threading.Thread(target=serve, daemon=True).start()
    return held


def test_socket_close_uses_tcp_linger2_and_shutdown_does_not(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    held = _held_open_server(stacks, 21)
    sock = ssock.create_connection((SERVER, 21), timeout=10, stack=stacks[0])
    sock.setsockopt(T, stdsocket.TCP_LINGER2, 1)  # seconds
    conn = sock._connection()
    assert conn is not None
    assert conn.config.fin_wait_2_timeout == 1_000_000
    sock.shutdown(stdsocket.SHUT_WR)
    assert _wait_for(lambda: conn.state is State.FIN_WAIT_2)
    time.sleep(1.5)  # longer than TCP_LINGER2: a half-close is not bounded
    assert conn.state is State.FIN_WAIT_2
    sock.close()
    assert _wait_for(lambda: conn.state is State.CLOSED)
    assert conn.counters["timeout.fin_wait_2"] == 1
    for s in held:
        s.close()


def test_tcp_linger2_reads_and_writes_as_on_linux(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    held = _held_open_server(stacks, 22)
    sock = ssock.create_connection((SERVER, 22), timeout=10, stack=stacks[0])
    conn = sock._connection()
    assert conn is not None
    assert sock.getsockopt(T, stdsocket.TCP_LINGER2) == 60  # tcp_fin_timeout
    sock.setsockopt(T, stdsocket.TCP_LINGER2, 500)
    assert sock.getsockopt(T, stdsocket.TCP_LINGER2) == 120  # TCP_FIN_TIMEOUT_MAX
    sock.setsockopt(T, stdsocket.TCP_LINGER2, -1)
    assert sock.getsockopt(T, stdsocket.TCP_LINGER2) == -1
    assert conn.config.fin_wait_2_timeout == 0
    sock.setsockopt(T, stdsocket.TCP_LINGER2, 0)  # back to the default
    assert conn.config.fin_wait_2_timeout == 60_000_000
    sock.close()
    for s in held:
        s.close()

"""Fixtures of the API tests: two synack hosts on an in-process wire, in one stack thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from synack.api import socket as ssock
from synack.api.runtime import PairLink, Runtime
from synack.tcp.endpoint import Endpoint

CLIENT = "10.0.0.1"
SERVER = "10.0.0.2"


@pytest.fixture
def stacks() -> Iterator[tuple[ssock.Stack, ssock.Stack]]:
    a, b = PairLink.pair()

    def client_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint([CLIENT], isn_secret=b"c" * 32, name="client"), a, loop)

    def server_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint([SERVER], isn_secret=b"s" * 32, name="server"), b, loop)

    client = ssock.Stack(client_rt)
    server = ssock.Stack.sibling(client, server_rt)
    try:
        yield client, server
    finally:
        server.close()
        client.close()


@pytest.fixture
def echo_server(stacks: tuple[ssock.Stack, ssock.Stack]) -> Iterator[ssock.socket]:
    """A listening echo server on SERVER:7 (one thread per connection)."""
    _, server_stack = stacks
    listener = ssock.socket(stack=server_stack)
    listener.bind(("", 7))
    listener.listen()

    def echo(conn: ssock.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield listener
    listener.close()

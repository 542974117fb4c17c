"""Fixtures of the API tests: two synack hosts on an in-process wire, in one stack thread."""

from __future__ import annotations

import asyncio
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

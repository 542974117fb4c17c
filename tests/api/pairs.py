"""Two synack hosts joined by an in-process wire, in virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from synack.api.runtime import PairLink, Runtime
from synack.tcp.config import Config
from synack.tcp.endpoint import Endpoint

CLIENT = "10.0.0.1"
SERVER = "10.0.0.2"


@dataclass
class Pair:
    client: Runtime
    server: Runtime
    links: tuple[PairLink, PairLink]


def make_pair(
    loop: asyncio.AbstractEventLoop,
    *,
    config: Config | None = None,
    drop: Callable[[bytes], bool] | None = None,
) -> Pair:
    a, b = PairLink.pair()
    a.drop = drop
    cfg = config or Config()
    client = Runtime(
        Endpoint([CLIENT], config=cfg, isn_secret=b"c" * 32, port_seed=1, name="client"), a, loop
    )
    server = Runtime(
        Endpoint([SERVER], config=cfg, isn_secret=b"s" * 32, port_seed=2, name="server"), b, loop
    )
    return Pair(client, server, (a, b))

"""asyncio application code over the simulator: virtual time, impaired links, same results every run."""

from __future__ import annotations

import asyncio
import hashlib

from synack.api import aio
from synack.api.apps import echo_handler
from synack.api.simnet import SimNetwork
from synack.api.vtime import VirtualTimeLoop
from synack.sim.link import LinkConfig


def _transfer(seed: int, link: LinkConfig) -> tuple[str, float, dict[str, int]]:
    loop = VirtualTimeLoop()
    try:
        net = SimNetwork(loop, seed=seed)
        client, server = net.two_hosts("10.0.0.1", "10.0.0.2", link)

        async def main() -> tuple[str, float]:
            await aio.start_server(echo_handler(), port=7, runtime=server)
            reader, writer = await aio.open_connection("10.0.0.2", 7, runtime=client)
            payload = hashlib.shake_256(b"sim").digest(300_000)
            start = loop.time()

            async def send() -> None:
                writer.write(payload)
                await writer.drain()
                writer.write_eof()

            sender = asyncio.ensure_future(send())
            got = bytearray()
            while chunk := await reader.read(65536):
                got += chunk
            await sender
            writer.close()
            assert bytes(got) == payload
            return hashlib.sha256(got).hexdigest(), loop.time() - start

        digest, seconds = loop.run_until_complete(main())
        return digest, seconds, net.links["10.0.0.1->10.0.0.2"].drops
    finally:
        loop.close()


def test_echo_over_a_lossy_simulated_link_is_exact_and_repeatable() -> None:
    link = LinkConfig(delay=10_000, bandwidth=20_000_000, loss=0.02, reorder=0.05)
    first = _transfer(1, link)
    assert first == _transfer(1, link)  # same seed, same virtual times and drops
    digest, seconds, drops = first
    assert digest == hashlib.sha256(hashlib.shake_256(b"sim").digest(300_000)).hexdigest()
    assert sum(drops.values()) > 0
    # 300 kB each way over 20 Mbit/s links (120 ms of serialization) plus a 20 ms RTT.
    assert seconds > 0.14


def test_a_clean_link_takes_the_serialization_time() -> None:
    _digest, seconds, drops = _transfer(2, LinkConfig(delay=5_000, bandwidth=100_000_000))
    assert drops == {}
    assert 0.024 < seconds < 1.0

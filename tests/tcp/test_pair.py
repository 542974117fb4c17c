"""Two connections joined by a tiny lossy, reordering, duplicating link: bytes arrive exactly."""

from __future__ import annotations

import hashlib
import heapq
import random
from dataclasses import dataclass, field

import pytest

from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.wire.tcp import Segment

A = (bytes([192, 168, 1, 100]), 40000)
B = (bytes([10, 0, 0, 5]), 80)


@dataclass
class Link:
    """Delivers segments after a delay; drops, reorders and duplicates them (seeded)."""

    rng: random.Random
    loss: float = 0.0
    reorder: float = 0.0
    duplicate: float = 0.0
    delay: int = 20_000
    queue: list[tuple[int, int, Connection, Segment]] = field(default_factory=list)
    n: int = 0
    dropped: int = 0

    def send(self, now: int, to: Connection, seg: Segment) -> None:
        if self.rng.random() < self.loss:
            self.dropped += 1
            return
        copies = 2 if self.rng.random() < self.duplicate else 1
        for _ in range(copies):
            extra = self.rng.randrange(1, 3 * self.delay) if self.rng.random() < self.reorder else 0
            self.n += 1
            heapq.heappush(self.queue, (now + self.delay + extra, self.n, to, seg))


def run_pair(
    size: int, seed: int, *, loss: float, reorder: float, duplicate: float
) -> tuple[Connection, Connection, bytes, bytes, Link]:
    rng = random.Random(seed)
    cfg = Config(mss=1460, send_buffer=64 * 1024, recv_buffer=64 * 1024, min_rto=200_000)
    client = Connection(A, B, iss=rng.getrandbits(32), config=cfg)
    server = Connection(B, A, iss=rng.getrandbits(32), config=cfg)
    link = Link(random.Random(seed + 1), loss=loss, reorder=reorder, duplicate=duplicate)
    data = random.Random(seed + 2).randbytes(size)
    received = bytearray()
    server.listen(0)
    client.connect(0)
    now = 0
    sent = 0
    closed_client = closed_server = False
    while True:
        if client.state is State.ESTABLISHED and sent < size:
            sent += client.send(data[sent : sent + 32768])
        if sent == size and not closed_client and client.state is State.ESTABLISHED:
            client.close(now)
            closed_client = True
        received += server.recv()
        if server.peer_closed and not closed_server and server.state is State.CLOSE_WAIT:
            server.close(now)
            closed_server = True
        for src, dst in ((client, server), (server, client)):
            for seg in src.segments_to_send(now):
                link.send(now, dst, seg)
        deadlines = [d for d in (client.next_deadline(), server.next_deadline()) if d is not None]
        if link.queue:
            deadlines.append(link.queue[0][0])
        if not deadlines or now > 3_600_000_000:
            break
        now = max(now, min(deadlines))
        for conn in (client, server):
            d = conn.next_deadline()
            if d is not None and d <= now:
                conn.handle_timer(now)
        while link.queue and link.queue[0][0] <= now:
            _, _, to, seg = heapq.heappop(link.queue)
            to.receive_segment(seg, now)
    return client, server, data, bytes(received), link


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_megabyte_through_10_percent_loss_and_reordering(seed: int) -> None:
    client, server, data, received, link = run_pair(
        1_000_000, seed, loss=0.10, reorder=0.2, duplicate=0.02
    )
    assert link.dropped > 50  # the link really was lossy
    assert hashlib.sha256(received).digest() == hashlib.sha256(data).digest()
    # Both sides closed; the client, which closed first, went through TIME-WAIT.
    assert client.state is State.CLOSED
    assert server.state is State.CLOSED
    assert client.counters["retransmit.rto"] + client.counters["retransmit.fast"] > 0
    assert server.counters["out_of_order"] > 0


def test_clean_link_transfers_without_retransmission() -> None:
    client, _server, data, received, _ = run_pair(300_000, 7, loss=0.0, reorder=0.0, duplicate=0.0)
    assert received == data
    assert client.counters["retransmit.rto"] == 0
    assert client.counters["retransmit.segments"] == 0

"""Out-of-order data from a hostile sender: bounded work per segment, bounded ranges held.

Finding 8 of issue 16: with SACK, every out-of-order segment rebuilt the list of
all held ranges, so 1-byte segments with holes made the cost per segment grow
with the queue (quadratic in total; the SegmentSmack class, CVE-2018-5390).
Work is measured as Python lines executed in synack (deterministic), not time.
"""

from __future__ import annotations

from synack.tcp import Config, Endpoint
from tests.security.peer import US, HandPeer, lines_executed

CONFIG = Config(recv_buffer=256 * 1024, delayed_ack=0)


def sacking_peer() -> HandPeer:
    server = Endpoint([US], config=CONFIG, isn_secret=b"s" * 32, port_seed=1)
    server.listen(80)
    peer = HandPeer(server)
    peer.open(sack=True, timestamps=True)
    return peer


def test_work_per_out_of_order_segment_does_not_grow_with_the_ranges_held() -> None:
    peer = sacking_peer()

    # 1-byte segments at every other offset: each one opens a new range (a hole
    # at offset 0 keeps them all out of order), and each gets a SACKing ACK.
    def batch(first: int, n: int) -> int:
        with lines_executed() as lines:
            for i in range(first, first + n):
                answers = peer.data(2 * i + 2, b"x")
                assert answers and answers[-1].sack_blocks[0] == (
                    peer.isn + 1 + 2 * i + 2,
                    peer.isn + 1 + 2 * i + 3,
                )
            return lines()

    early = batch(0, 50)
    batch(50, 400)
    late = batch(450, 50)  # 450 ranges held now
    assert late < early * 1.5, (early, late)


def test_held_ranges_are_bounded_and_segments_beyond_the_bound_are_not_sacked() -> None:
    peer = sacking_peer()
    first_blocks = []
    for i in range(2000):
        answers = peer.data(2 * i + 2, b"y")
        first_blocks.append(answers[-1].sack_blocks[0] if answers[-1].sack_blocks else None)
    held = set(first_blocks[:512])
    # The first 512 ranges are held and each is reported as it arrives ...
    assert all(
        b == (peer.isn + 3 + 2 * i, peer.isn + 4 + 2 * i) for i, b in enumerate(first_blocks[:512])
    )
    # ... later ones are neither held nor reported: the first block stays an old one.
    assert all(b in held for b in first_blocks[512:])
    assert peer.endpoint.counters["drop.ooo_queue_full"] == 2000 - 512
    # Filling the holes delivers everything held, in order, and nothing else.
    conn = peer.endpoint.connections()[0]
    peer.data(0, b"ab")
    for i in range(511):
        answers = peer.data(2 * i + 3, b"z")
    assert answers[-1].ack == (peer.isn + 1 + 1025) & 0xFFFFFFFF
    assert conn.recv() == b"aby" + b"zy" * 511

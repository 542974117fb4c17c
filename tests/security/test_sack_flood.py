"""A SACK flood with absurd blocks costs little per ACK and changes nothing.

A hostile receiver can put any four blocks in every ACK. Blocks that are empty,
reversed, beyond SND.NXT or far below SND.UNA are discarded one by one
(``drop.sack_block_invalid``) without touching the scoreboard.
"""

from __future__ import annotations

import random

from synack.tcp import Config, Endpoint, State
from synack.wire.tcp import ACK, NoOperation, Sack, Segment, Timestamps
from tests.security.peer import US, HandPeer, lines_executed


def test_absurd_sack_blocks_are_discarded_at_a_small_constant_cost() -> None:
    server = Endpoint([US], config=Config(initial_window=100), isn_secret=b"s" * 32)
    server.listen(80)
    peer = HandPeer(server)
    conn = peer.open(sack=True, timestamps=True, window=65535, wscale=7)
    conn.send(bytes(200_000))
    flight = [s for s in peer.answers() if s.payload]
    assert len(flight) >= 90
    una = peer.rcv_nxt
    nxt = (flight[-1].seq + len(flight[-1].payload)) & 0xFFFFFFFF
    rng = random.Random(5)

    def flood(n: int) -> int:
        with lines_executed() as lines:
            for _ in range(n):
                # Three blocks fit beside Timestamps in 40 octets of options.
                blocks = (
                    (rng.getrandbits(32), rng.getrandbits(32)),
                    ((nxt + 1) & 0xFFFFFFFF, (nxt + 1000) & 0xFFFFFFFF),  # beyond SND.NXT
                    ((una + 500) & 0xFFFFFFFF, (una + 100) & 0xFFFFFFFF),  # reversed
                )
                opts = (NoOperation(), NoOperation(), Timestamps(peer.tsval, 0))
                opts += (NoOperation(), NoOperation(), Sack(blocks))  # type: ignore[assignment]
                peer.send(Segment(peer.sport, 80, peer.snd_nxt, una, ACK, 65535, 0, opts))
            return lines()

    first = flood(100)
    later = flood(900)
    assert later < 9 * first * 1.2  # constant cost per ACK
    assert first < 100 * 1500  # and a small one: well under a full scoreboard walk each
    assert conn.counters["drop.sack_block_invalid"] >= 2 * 1000
    assert conn.state is State.ESTABLISHED
    assert conn.info().snd_una == una  # nothing was acknowledged by any of it

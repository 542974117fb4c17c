"""A peer's tiny MSS is raised to a floor (issue 16 finding 3, the CVE-2019-11479 class).

An MSS option of 1 made synack cut data into 1-octet segments: 1.71 million
segments in 20 s, 67 wire octets per octet of data. The MSS option is now
honoured down to 216 octets (FreeBSD's net.inet.tcp.minmss); below that, 216.
"""

from __future__ import annotations

import pytest

from synack.tcp import Endpoint
from tests.security.peer import US, HandPeer


@pytest.mark.parametrize(
    ("offered", "timestamps", "payload"),
    [
        (1, False, 216),
        (1, True, 216 - 12),  # RFC 6691: the Timestamps option comes out of the MSS
        (48, False, 216),
        (215, False, 216),
        (216, False, 216),
        (600, False, 600),  # above the floor: honoured as offered
    ],
)
def test_a_tiny_mss_option_is_raised_to_the_floor(
    offered: int, timestamps: bool, payload: int
) -> None:
    server = Endpoint([US], isn_secret=b"s" * 32, port_seed=1)
    server.listen(80)
    peer = HandPeer(server)
    conn = peer.open(mss=offered, timestamps=timestamps, sack=False, wscale=None)
    conn.send(bytes(5000))
    sizes: list[int] = []
    answers = peer.answers()
    for _ in range(100):
        sizes += [len(s.payload) for s in answers if s.payload]
        if sum(sizes) >= 5000:
            break
        answers = peer.acknowledge(sum(sizes))  # ACK everything so far: more comes
    assert max(sizes) == payload
    assert len(sizes) == -(-5000 // payload)

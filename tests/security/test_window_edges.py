"""The receive window is what was advertised, not the buffer behind it (issue 16 findings 5 and 6).

A receive buffer can be larger than the window advertised: here 100,000
octets behind a 16-bit window field without scaling (65,535 at most); with
scaling, the SYN-ACK alone offers at most 65,535 (RFC 7323 2.2). Segments
were judged against the buffer: a RST beyond the advertised window got a
challenge ACK, and data beyond it was queued and SACKed. RFC 9293 3.10.7.4
judges them against RCV.WND, the advertised window; RFC 5961 3.2 then drops an
out-of-window RST silently, and data outside the window is trimmed.
"""

from __future__ import annotations

from synack.tcp import Config, Endpoint, State
from synack.wire.tcp import ACK, RST, Segment
from tests.security.peer import US, HandPeer

OFFERED = 65535  # the most the window field offers without scaling
CONFIG = Config(recv_buffer=100_000, window_scaling=False)


def peer() -> HandPeer:
    server = Endpoint([US], config=CONFIG, isn_secret=b"s" * 32, port_seed=1)
    server.listen(80)
    p = HandPeer(server)
    p.open(sack=True, timestamps=False)
    return p


def test_rst_beyond_the_advertised_window_is_dropped_silently() -> None:
    p = peer()
    conn = p.endpoint.connections()[0]
    for off in (OFFERED, OFFERED + 1, 99_999, 200_000):
        answers = p.send(Segment(p.sport, 80, p.snd_nxt + off, p.rcv_nxt, RST | ACK, 1000))
        assert answers == []
    assert conn.state is State.ESTABLISHED
    assert p.endpoint.counters["drop.rst_out_of_window"] == 4


def test_rst_inside_the_advertised_window_still_gets_a_challenge_ack() -> None:
    # RFC 5961 3.2: in the window but not exactly RCV.NXT: a challenge ACK.
    p = peer()
    answers = p.send(Segment(p.sport, 80, p.snd_nxt + OFFERED - 1, p.rcv_nxt, RST, 1000))
    assert [(s.flags, s.ack) for s in answers] == [(ACK, p.snd_nxt)]


def test_data_beyond_the_advertised_window_is_neither_queued_nor_sacked() -> None:
    p = peer()
    conn = p.endpoint.connections()[0]
    (answer,) = p.data(OFFERED + 1000, b"z" * 1000)
    assert answer.ack == p.snd_nxt
    assert answer.sack_blocks == ()  # nothing held out of order
    # Straddling the right edge: only the part inside the window is kept.
    (answer,) = p.data(OFFERED - 500, b"y" * 1000)
    base = p.snd_nxt
    assert answer.sack_blocks == ((base + OFFERED - 500, base + OFFERED),)
    # Filling the window delivers exactly the window, and none of the rest.
    for off in range(0, OFFERED - 500, 1000):
        p.data(off, b"x" * min(1000, OFFERED - 500 - off))
    data = conn.recv()
    assert len(data) == OFFERED
    assert data.endswith(b"y" * 500)

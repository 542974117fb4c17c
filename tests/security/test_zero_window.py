"""Zero-window probing ends when the peer is gone (issue 16 finding 4; RFC 9293 3.8.6.1, 3.8.3).

A peer that advertised a zero window and then vanished kept the connection for
ever (1,444 probes in a simulated day). The window may stay closed for as long
as the receiver answers the probes (MUST-37), but probes it never answers are
retransmissions that go unacknowledged: R2 of them (``Config.data_retries_r2``,
15), or the user timeout, close the connection.
"""

from __future__ import annotations

from synack.tcp import Config, Endpoint, State, TimedOut
from tests.security.peer import US, HandPeer

DAY = 24 * 3600 * 1_000_000


def closed_window(config: Config) -> tuple[HandPeer, object]:
    server = Endpoint([US], config=config, isn_secret=b"s" * 32, port_seed=1)
    server.listen(80)
    peer = HandPeer(server)
    conn = peer.open(sack=False, timestamps=False, wscale=None)
    conn.send(bytes(10_000))
    sent = sum(len(s.payload) for s in peer.answers())
    assert sent > 0
    peer.acknowledge(sent, window=0)  # everything sent is acked; the window closes
    return peer, conn


def timed_out(peer: HandPeer) -> list[str]:
    out: list[str] = []
    while (item := peer.endpoint.next_event()) is not None:
        if isinstance(item[1], TimedOut):
            out.append(item[1].reason)
    return out


def test_a_vanished_peer_is_given_up_after_r2_unanswered_probes() -> None:
    peer, conn = closed_window(Config())
    probes = [s for s in peer.advance(DAY) if len(s.payload) == 1]
    assert conn.state is State.CLOSED  # type: ignore[attr-defined]
    assert len(probes) == 15  # RFC 9293 3.8.3 R2, Config.data_retries_r2
    assert timed_out(peer) == ["retransmissions"]


def test_the_user_timeout_also_ends_unanswered_probing() -> None:
    peer, conn = closed_window(Config(user_timeout=30_000_000))
    start = peer.now
    peer.advance(DAY)
    assert conn.state is State.CLOSED  # type: ignore[attr-defined]
    assert timed_out(peer) == ["user_timeout"]
    assert peer.now - start >= 30_000_000


def test_a_peer_that_answers_every_probe_keeps_the_connection_for_a_day() -> None:
    # MUST-37: "allow the window to stay zero indefinitely" while it is answered.
    peer, conn = closed_window(Config(user_timeout=30_000_000))
    probes = 0
    end = peer.now + DAY
    while peer.now < end:
        deadline = peer.endpoint.next_deadline()
        assert deadline is not None
        sent = [s for s in peer.advance(deadline - peer.now) if len(s.payload) == 1]
        for _ in sent:
            peer.send_ack(window=0)  # the probe is answered at once: still no room
        probes += len(sent)
    assert conn.state is State.ESTABLISHED  # type: ignore[attr-defined]
    assert probes >= 24 * 60  # one a minute at most: the backoff is capped at max_rto
    assert timed_out(peer) == []

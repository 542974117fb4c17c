"""Abandoned connections are bounded by Config.orphan_retries (Linux's tcp_orphan_retries).

Once the user has gone (a socket closed with data or a FIN still in flight,
``Connection.close(now, abandon=True)``), nobody is left to give up on a peer.
A peer that reads a response and then keeps its window at zero, answering
every probe (the Sockstress attack), kept such a connection and the data it
holds for ever: RFC 9293 3.8.6.1's MUST-37 keeps a probed connection open
"subject to the implementation's resource management concerns". Linux ends an
orphan after tcp_orphan_retries (0 means 8) timeouts or probes; so does synack.
A connection whose user is still there keeps MUST-37's guarantee
(tests/security/test_zero_window.py).
"""

from __future__ import annotations

import pytest

from synack.tcp import Config, Connection, Endpoint, State
from synack.wire.tcp import ACK, FIN, RST, Segment
from tests.security.peer import US, HandPeer
from tests.security.test_zero_window import DAY, closed_window, timed_out

# Linux, Documentation/networking/ip-sysctl.rst, tcp_orphan_retries: "Default
# value is 8." (the sysctl's 0 means 8).
LINUX_ORPHAN_RETRIES = 8


def answer_probes(peer: HandPeer, conn: Connection, until: int) -> int:
    """Answer every window probe at once with the window still zero; return how many."""
    probes = 0
    while peer.now < until and conn.state is not State.CLOSED:
        deadline = peer.endpoint.next_deadline()
        if deadline is None:
            break
        sent = [s for s in peer.advance(deadline - peer.now) if len(s.payload) == 1]
        for _ in sent:
            peer.send_ack(window=0)
        probes += len(sent)
    return probes


def test_the_default_is_linuxs_eight() -> None:
    assert Config().orphan_retries == LINUX_ORPHAN_RETRIES


def test_an_orphan_whose_peer_answers_every_probe_is_deleted_after_eight() -> None:
    peer, conn = closed_window(Config())
    assert isinstance(conn, Connection)
    start = peer.now
    conn.close(peer.now, abandon=True)
    assert conn.state is State.FIN_WAIT_1  # the FIN waits behind the unsent data
    probes = answer_probes(peer, conn, start + DAY)
    assert conn.state is State.CLOSED
    assert probes == LINUX_ORPHAN_RETRIES
    assert timed_out(peer) == ["orphan_retries"]
    assert conn.counters["timeout.orphan_retries"] == 1
    # Probes back off from the RTO: with Linux's 200 ms floor the eighth goes
    # out after 0.2 * (2**8 - 1) = 51 s, with RFC 6298's 1 s after 255 s; the
    # connection ends at the next backed-off interval. Bounded either way.
    assert 51_000_000 <= peer.now - start <= 10 * 60_000_000


def test_the_same_peer_keeps_a_connection_whose_user_is_still_there() -> None:
    # A half-close (shutdown(SHUT_WR)) is not an orphan: MUST-37 holds.
    peer, conn = closed_window(Config())
    assert isinstance(conn, Connection)
    conn.close(peer.now)
    probes = answer_probes(peer, conn, peer.now + 3600 * 1_000_000)
    assert conn.state is State.FIN_WAIT_1
    assert probes > 2 * LINUX_ORPHAN_RETRIES
    assert timed_out(peer) == []


def test_a_configured_orphan_retries_is_used() -> None:
    peer, conn = closed_window(Config(orphan_retries=3))
    assert isinstance(conn, Connection)
    conn.close(peer.now, abandon=True)
    assert answer_probes(peer, conn, peer.now + DAY) == 3
    assert conn.state is State.CLOSED


def test_an_orphan_whose_peer_vanished_gives_up_after_eight_timeouts_not_r2() -> None:
    peer, conn = closed_window(Config())
    assert isinstance(conn, Connection)
    # The window opens again: the rest of the data goes; then the user goes.
    first = [s for s in peer.send_ack(window=65535) if s.payload]
    assert first
    conn.close(peer.now, abandon=True)
    seq = first[0].seq
    resent = [s for s in peer.advance(DAY) if s.seq == seq and s.payload]
    assert conn.state is State.CLOSED
    # RFC 9293 3.8.3 R2 would be 15 retransmissions (Config.data_retries_r2).
    assert len(resent) == LINUX_ORPHAN_RETRIES
    assert timed_out(peer) == ["orphan_retries"]


def test_a_connection_whose_user_is_still_there_retransmits_r2_times() -> None:
    peer, conn = closed_window(Config())
    assert isinstance(conn, Connection)
    first = [s for s in peer.send_ack(window=65535) if s.payload]
    seq = first[0].seq
    resent = [s for s in peer.advance(DAY) if s.seq == seq and s.payload]
    assert conn.state is State.CLOSED
    assert len(resent) == 15  # RFC 9293 3.8.3 R2 (Config.data_retries_r2)
    assert timed_out(peer) == ["retransmissions"]


def test_orphan_retries_must_be_positive() -> None:
    with pytest.raises(ValueError, match="orphan_retries"):
        Config(orphan_retries=0)


# ------------------------------------------------ Endpoint.max_orphans


def orphan_candidates(
    n: int, max_orphans: int
) -> tuple[Endpoint, list[HandPeer], list[Connection]]:
    """``n`` connections to one endpoint, each with unsent data behind a zero window."""
    server = Endpoint([US], isn_secret=b"s" * 32, port_seed=1, max_orphans=max_orphans)
    server.listen(80)
    peers, conns = [], []
    for i in range(n):
        peer = HandPeer(server, sport=40000 + i)
        conn = peer.open(sack=False, timestamps=False, wscale=None)
        conn.send(bytes(100_000))
        sent = sum(len(s.payload) for s in peer.answers())
        peer.acknowledge(sent, window=0)
        peers.append(peer)
        conns.append(conn)
    return server, peers, conns


def test_one_orphan_too_many_is_reset_at_once() -> None:
    server, peers, conns = orphan_candidates(3, max_orphans=2)
    for peer, conn in zip(peers, conns, strict=True):
        conn.close(peer.now, abandon=True)
    out = peers[0].answers()  # everything the endpoint sends, to all three peers
    assert [c.state for c in conns] == [State.FIN_WAIT_1, State.FIN_WAIT_1, State.CLOSED]
    # Linux: tcp_close() with too many orphans sends a RST (TCPAbortOnMemory).
    assert [(s.dst_port, s.flags & RST) for s in out] == [(40002, RST)]
    assert server.counters["orphans.reset"] == 1


def test_an_orphan_that_ends_makes_room_for_another() -> None:
    server, peers, conns = orphan_candidates(3, max_orphans=1)
    conns[0].close(peers[0].now, abandon=True)
    peers[0].answers()
    assert conns[0].state is State.FIN_WAIT_1
    conns[1].close(peers[1].now, abandon=True)
    peers[1].answers()
    assert conns[1].state is State.CLOSED  # one too many
    # The first orphan's peer resets it: room for one more.
    p0 = peers[0]
    p0.send(Segment(p0.sport, p0.port, p0.snd_nxt, 0, RST, 0, 0))
    assert conns[0].state is State.CLOSED
    conns[2].close(peers[2].now, abandon=True)
    peers[2].answers()
    assert conns[2].state is State.FIN_WAIT_1
    assert server.counters["orphans.reset"] == 1


def test_a_half_close_is_not_an_orphan() -> None:
    server, peers, conns = orphan_candidates(2, max_orphans=1)
    for peer, conn in zip(peers, conns, strict=True):
        conn.close(peer.now)  # shutdown(SHUT_WR): the user is still there
        peer.answers()
    assert [c.state for c in conns] == [State.FIN_WAIT_1, State.FIN_WAIT_1]
    assert server.counters["orphans.reset"] == 0


def test_the_default_bound() -> None:
    assert Endpoint([US]).max_orphans == 1024
    with pytest.raises(ValueError, match="max_orphans"):
        Endpoint([US], max_orphans=-1)


def test_an_orphan_too_many_in_last_ack_is_reset_too() -> None:
    # The common server case: the client half-closes, the server closes with its
    # response still queued (LAST-ACK). RFC 9293 3.10.5's ABORT sends no RST in
    # LAST-ACK; reclaiming the connection must, or the client waits for ever.
    server, peers, conns = orphan_candidates(2, max_orphans=1)
    conns[0].close(peers[0].now, abandon=True)
    peers[0].answers()
    p1 = peers[1]
    p1.data(0, b"", flags=ACK | FIN, window=0)
    assert conns[1].state is State.CLOSE_WAIT
    conns[1].close(p1.now, abandon=True)
    out = p1.answers()
    assert conns[1].state is State.CLOSED
    assert [(s.dst_port, s.flags & RST) for s in out] == [(40001, RST)]
    assert server.counters["orphans.reset"] == 1


def test_an_orphan_whose_fin_is_acknowledged_no_longer_counts() -> None:
    # FIN-WAIT-2 holds no data and ends after fin_wait_2_timeout: peers that ACK
    # our FIN and never send their own must not fill max_orphans.
    server, peers, conns = orphan_candidates(1, max_orphans=1)
    p0 = HandPeer(server, sport=41000)
    c0 = p0.open(sack=False, timestamps=False, wscale=None)
    c0.send(b"x" * 1000)
    c0.close(p0.now, abandon=True)
    sent = p0.answers()
    assert sent[-1].flags & FIN
    p0.acknowledge(1001)  # the data and the FIN
    assert c0.state is State.FIN_WAIT_2
    conns[0].close(peers[0].now, abandon=True)
    peers[0].answers()
    assert conns[0].state is State.FIN_WAIT_1
    assert server.counters["orphans.reset"] == 0


def test_a_one_octet_window_now_and_then_does_not_keep_an_orphan_alive() -> None:
    # Every seventh probe is answered with a one-octet window: the backoff must
    # go on (Linux's tcp_ack_probe resets it only when the window takes the head
    # segment), or the orphan trickles its data out for days.
    peer, conn = closed_window(Config())
    assert isinstance(conn, Connection)
    conn.close(peer.now, abandon=True)
    probes = 0
    window = 0  # what the peer last advertised
    end = peer.now + 3600 * 1_000_000
    while peer.now < end and conn.state is not State.CLOSED:
        deadline = peer.endpoint.next_deadline()
        if deadline is None:
            break
        for seg in peer.advance(deadline - peer.now):
            if seg.payload:
                probes += 1
                if window and seg.seq == peer.rcv_nxt:  # the one octet it had room for
                    peer.rcv_nxt = (seg.seq + 1) & 0xFFFFFFFF
                window = 1 if probes % 7 == 0 else 0
                peer.send_ack(window=window)
    assert conn.state is State.CLOSED
    assert timed_out(peer) == ["orphan_retries"]


def test_orphan_retries_is_at_most_the_probe_backoffs_sixteen() -> None:
    assert Config(orphan_retries=16).orphan_retries == 16
    with pytest.raises(ValueError, match=r"orphan_retries must be 1\.\.16"):
        Config(orphan_retries=17)

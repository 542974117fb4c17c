"""FIN-WAIT-2 of an abandoned connection is bounded (Config.fin_wait_2_timeout).

RFC 9293 3.6 lets a connection wait in FIN-WAIT-2 for as long as the peer keeps
its half open: right after a half-close, when the user may still read. Once the
user has gone (``close(now, abandon=True)``: the socket is closed), a peer that
acknowledged our FIN and never sends its own would hold the TCB for ever. Linux
bounds such orphaned sockets by net.ipv4.tcp_fin_timeout (60 s) or TCP_LINGER2,
counted from the later of close() and the ACK of the FIN, and then deletes the
socket without sending anything; a later segment from the peer gets a RST.
"""

from __future__ import annotations

import pytest

from synack.tcp.config import Config
from synack.tcp.events import Closed, DataReceived, StateChanged, TimedOut
from synack.tcp.state import State
from synack.wire.tcp import ACK, FIN, RST
from tests.tcp.helpers import (
    LOCAL_ISS,
    REMOTE_ISS,
    established,
    events,
    feed,
    fin_wait_2,
    out,
    us,
)

S = State
L, R = LOCAL_ISS + 1, REMOTE_ISS + 1
# Linux's net.ipv4.tcp_fin_timeout default: 60 seconds.
SIXTY_S = 60_000_000


def test_the_default_is_linuxs_sixty_seconds() -> None:
    assert Config().fin_wait_2_timeout == SIXTY_S


def test_after_a_half_close_fin_wait_2_lasts_as_long_as_the_peer_sends() -> None:
    # shutdown(SHUT_WR): the user still reads; RFC 9293 3.6 lets the peer keep
    # its half open for ever, and nothing times it out.
    conn = fin_wait_2()
    assert conn.next_deadline() is None
    day = 86_400_000_000
    conn.handle_timer(day)
    assert conn.state is S.FIN_WAIT_2
    feed(conn, day, seq=R, ack=L + 1, payload=b"late")
    assert conn.recv() == b"late"
    assert out(conn, day) == [us(seq=L + 1, ack=R + 4, window=64_000 - 4)]


def test_abandoned_before_the_ack_of_the_fin_closes_silently_sixty_seconds_after_it() -> None:
    conn = established()
    conn.close(1_000, abandon=True)
    assert out(conn, 1_000) == [us(flags=FIN | ACK)]
    assert conn.next_deadline() is not None  # the FIN's retransmission timer
    feed(conn, 5_000, ack=L + 1)  # the ACK of our FIN, no FIN of the peer's
    assert conn.state is S.FIN_WAIT_2
    deadline = 5_000 + SIXTY_S
    assert conn.next_deadline() == deadline
    events(conn)
    # The peer's segments (a window update here) do not restart it, as on Linux.
    feed(conn, 30_000_000, seq=R, ack=L + 1, window=1000)
    assert out(conn, 30_000_000) == []
    assert conn.next_deadline() == deadline
    conn.handle_timer(deadline - 1)
    assert conn.state is S.FIN_WAIT_2
    events(conn)
    conn.handle_timer(deadline)
    assert conn.state is S.CLOSED
    assert out(conn, deadline) == []  # Linux sends nothing when its timewait socket expires
    evs = events(conn)
    assert TimedOut("fin_wait_2") in evs
    assert StateChanged(S.FIN_WAIT_2, S.CLOSED, "FIN-WAIT-2 timeout") in evs
    assert evs[-1] == Closed()
    assert conn.counters["timeout.fin_wait_2"] == 1
    assert conn.next_deadline() is None


def test_abandoned_after_a_half_close_counts_from_the_close() -> None:
    # shutdown(SHUT_WR) first, the peer ACKs our FIN; the socket is closed 5 s later.
    conn = fin_wait_2()
    assert conn.next_deadline() is None
    conn.close(5_000_000, abandon=True)
    assert out(conn, 5_000_000) == []  # the FIN went long ago
    assert conn.next_deadline() == 5_000_000 + SIXTY_S
    conn.handle_timer(5_000_000 + SIXTY_S)
    assert conn.state is S.CLOSED
    assert out(conn, 5_000_000 + SIXTY_S) == []


def test_the_peers_fin_in_time_ends_in_time_wait_as_usual() -> None:
    conn = established()
    conn.close(0, abandon=True)
    out(conn)
    feed(conn, 1_000, ack=L + 1)
    assert conn.next_deadline() == 1_000 + SIXTY_S
    feed(conn, 2_000, ack=L + 1, flags=FIN | ACK)
    assert conn.state is S.TIME_WAIT
    assert out(conn, 2_000) == [us(seq=L + 1, ack=R + 1)]
    assert conn.timers.finwait2 is None
    assert conn.next_deadline() == 2_000 + 2 * Config().msl  # only 2 MSL is left


def test_a_configured_timeout_is_used() -> None:
    conn = fin_wait_2(fin_wait_2_timeout=1_000_000)  # TCP_LINGER2 = 1 s
    conn.close(10, abandon=True)
    assert conn.next_deadline() == 1_000_010
    conn.handle_timer(1_000_010)
    assert conn.state is S.CLOSED


def test_none_waits_for_ever_even_when_abandoned() -> None:
    conn = fin_wait_2(fin_wait_2_timeout=None)
    conn.close(0, abandon=True)
    assert conn.next_deadline() is None
    assert conn.state is S.FIN_WAIT_2


def test_zero_resets_a_connection_already_in_fin_wait_2() -> None:
    # Linux's close() with TCP_LINGER2 = -1 in FIN-WAIT-2: RST, CLOSED.
    conn = fin_wait_2(fin_wait_2_timeout=0)
    conn.close(0, abandon=True)
    assert conn.state is S.CLOSED
    [rst] = out(conn)
    assert (rst.flags, rst.seq) == (RST, L + 1)
    assert conn.counters["fin_wait_2.reset"] == 1


def test_zero_closes_at_the_ack_of_the_fin() -> None:
    conn = established(fin_wait_2_timeout=0)
    conn.close(0, abandon=True)
    out(conn)
    feed(conn, 1_000, ack=L + 1)
    assert conn.next_deadline() == 1_000
    conn.handle_timer(1_000)
    assert conn.state is S.CLOSED
    assert out(conn, 1_000) == []


def test_new_data_after_the_user_has_gone_is_answered_with_a_reset() -> None:
    # RFC 1122 4.2.2.13: "if new data is received after CLOSE is called, its TCP
    # SHOULD send a RST to show that data was lost" (Linux does, for a closed
    # socket): nobody will read it, and the peer must not think it was delivered.
    conn = fin_wait_2()
    conn.close(0, abandon=True)
    events(conn)
    feed(conn, 10, seq=R, ack=L + 1, payload=b"abc")
    assert DataReceived(3) not in events(conn)
    assert out(conn, 10) == [us(seq=L + 1, ack=0, flags=RST, window=0)]
    assert conn.state is S.CLOSED
    assert conn.counters["reset.data_after_close"] == 1


def test_a_duplicate_after_the_user_has_gone_is_only_acknowledged() -> None:
    # Old data (already taken before the close) is no loss: the usual ACK answers it.
    conn = fin_wait_2()
    feed(conn, 10, seq=R, ack=L + 1, payload=b"abc")
    out(conn, 10)
    conn.close(20, abandon=True)
    feed(conn, 30, seq=R, ack=L + 1, payload=b"abc")
    assert conn.state is S.FIN_WAIT_2
    assert [seg.flags & RST for seg in out(conn, 30)] == [0]


def test_a_half_closed_connection_still_takes_data() -> None:
    conn = fin_wait_2()  # shutdown(SHUT_WR): the user still reads
    feed(conn, 10, seq=R, ack=L + 1, payload=b"abc")
    assert DataReceived(3) in events(conn)
    assert conn.recv() == b"abc"
    assert conn.state is S.FIN_WAIT_2


def test_a_negative_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="fin_wait_2_timeout"):
        Config(fin_wait_2_timeout=-1)


def test_abandon_in_established_sends_the_fin_like_close() -> None:
    conn = established()
    conn.close(0, abandon=True)
    assert conn.state is S.FIN_WAIT_1
    assert out(conn) == [us(flags=FIN | ACK)]
    assert conn.abandoned
    assert conn.timers.finwait2 is None  # not before FIN-WAIT-2


def test_a_plain_close_does_not_abandon() -> None:
    conn = established()
    conn.close(0)
    assert not conn.abandoned

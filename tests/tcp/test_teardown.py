"""Closing: FIN in each state, half-close, simultaneous close, TIME-WAIT, ABORT, RST (RFC 9293 3.6)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from synack.tcp.connection import Connection
from synack.tcp.errors import ConnectionClosedError
from synack.tcp.events import Closed, PeerClosed, Reset, StateChanged
from synack.tcp.state import State
from synack.wire.tcp import ACK, FIN, PSH, RST, Segment
from tests.tcp.helpers import (
    LOCAL,
    LOCAL_ISS,
    REMOTE,
    REMOTE_ISS,
    close_wait,
    closing,
    established,
    events,
    feed,
    fin_wait_1,
    fin_wait_2,
    last_ack,
    out,
    syn_received,
    syn_sent,
    time_wait,
    us,
)

MSL = 30_000_000


def test_close_sends_fin_after_queued_data() -> None:
    conn = established(nodelay=True)
    conn.send(b"bye")
    conn.close(0)
    assert out(conn) == [us(flags=ACK | PSH | FIN, payload=b"bye")]
    assert conn.state is State.FIN_WAIT_1


def test_half_close_keeps_receiving_data() -> None:
    conn = fin_wait_2()
    feed(conn, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 2, flags=ACK | PSH, payload=b"more")
    assert out(conn) == [us(seq=LOCAL_ISS + 2, ack=REMOTE_ISS + 5, window=64_000 - 4)]
    assert conn.recv() == b"more"
    assert conn.state is State.FIN_WAIT_2


def test_peer_half_close_lets_us_keep_sending() -> None:
    conn = close_wait(nodelay=True)
    assert conn.peer_closed
    assert conn.send(b"still here") == 10
    assert out(conn) == [us(flags=ACK | PSH, ack=REMOTE_ISS + 2, payload=b"still here")]


def test_fin_reports_peer_closed_once() -> None:
    conn = established()
    feed(conn, flags=FIN | ACK)
    evs = events(conn)
    assert evs.count(PeerClosed()) == 1
    assert StateChanged(State.ESTABLISHED, State.CLOSE_WAIT, "rcv FIN") in evs


def test_active_close_runs_fin_wait_1_fin_wait_2_time_wait() -> None:
    conn = fin_wait_1()
    feed(conn, ack=LOCAL_ISS + 2)
    assert conn.state is State.FIN_WAIT_2
    feed(conn, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 2, flags=FIN | ACK)
    assert conn.state is State.TIME_WAIT
    assert out(conn) == [us(seq=LOCAL_ISS + 2, ack=REMOTE_ISS + 2)]
    assert Closed() in events(conn)


def test_fin_ack_of_fin_goes_straight_to_time_wait() -> None:
    conn = fin_wait_1()
    feed(conn, ack=LOCAL_ISS + 2, flags=FIN | ACK)
    assert conn.state is State.TIME_WAIT


def test_simultaneous_close_goes_through_closing() -> None:
    conn = closing()
    feed(conn, seq=REMOTE_ISS + 2, ack=LOCAL_ISS + 2)
    assert conn.state is State.TIME_WAIT


def test_time_wait_lasts_exactly_two_msl() -> None:
    conn = time_wait()
    assert conn.next_deadline() == 2 * MSL
    conn.handle_timer(2 * MSL - 1)
    assert conn.state is State.TIME_WAIT
    conn.handle_timer(2 * MSL)
    assert conn.state is State.CLOSED
    assert conn.next_deadline() is None


def test_retransmitted_fin_in_time_wait_is_acked_and_restarts_timer() -> None:
    conn = time_wait()
    # The peer did not get our ACK and retransmits its FIN.
    feed(conn, 10_000_000, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 2, flags=FIN | ACK)
    assert out(conn, 10_000_000) == [us(seq=LOCAL_ISS + 2, ack=REMOTE_ISS + 2)]
    assert conn.next_deadline() == 10_000_000 + 2 * MSL
    assert conn.state is State.TIME_WAIT


def test_last_ack_closes_on_ack_of_fin() -> None:
    conn = last_ack()
    feed(conn, seq=REMOTE_ISS + 2, ack=LOCAL_ISS + 2)
    assert conn.state is State.CLOSED
    assert Closed() in events(conn)


def test_fin_is_retransmitted_when_not_acked() -> None:
    conn = fin_wait_1()
    deadline = conn.next_deadline()
    assert deadline == 200_000  # the RTO, at its 200 ms floor
    conn.handle_timer(deadline)
    assert out(conn, deadline) == [us(flags=FIN | ACK)]


def test_out_of_order_fin_waits_for_the_data_before_it() -> None:
    conn = established()
    feed(conn, seq=REMOTE_ISS + 4, flags=FIN | ACK)  # FIN after 3 missing octets
    assert conn.state is State.ESTABLISHED
    assert out(conn) == [us()]  # duplicate ACK
    feed(conn, seq=REMOTE_ISS + 1, flags=ACK | PSH, payload=b"abc")
    assert conn.state is State.CLOSE_WAIT
    assert conn.recv() == b"abc"
    (ack,) = out(conn)
    assert ack.ack == REMOTE_ISS + 5


def test_abort_sends_rst_and_closes() -> None:
    conn = established()
    conn.abort(0)
    assert out(conn) == [Segment(LOCAL[1], REMOTE[1], LOCAL_ISS + 1, 0, RST)]
    assert conn.state is State.CLOSED
    assert events(conn)[-1] == Closed()


def test_abort_in_syn_sent_sends_nothing() -> None:
    conn = syn_sent()
    conn.abort(0)
    assert out(conn) == []
    assert conn.state is State.CLOSED


@pytest.mark.parametrize(
    "builder", [established, fin_wait_1, fin_wait_2, close_wait], ids=lambda f: f.__name__
)
def test_exact_rst_resets_synchronized_connection(builder: Callable[[], Connection]) -> None:
    conn = builder()
    feed(conn, seq=conn.rcv_nxt, ack=0, flags=RST)
    assert conn.state is State.CLOSED
    evs = events(conn)
    assert Reset() in evs
    assert evs[-1] == Closed()


@pytest.mark.parametrize("builder", [closing, last_ack, time_wait], ids=lambda f: f.__name__)
def test_rst_in_closing_states_closes_quietly(builder: Callable[[], Connection]) -> None:
    conn = builder()
    feed(conn, seq=conn.rcv_nxt, ack=0, flags=RST)
    assert conn.state is State.CLOSED
    assert Reset() not in events(conn)


def test_rst_in_passive_syn_received_returns_to_listen() -> None:
    conn = syn_received()
    feed(conn, seq=REMOTE_ISS + 1, ack=0, flags=RST)
    assert conn.state is State.LISTEN


def test_send_after_close_raises() -> None:
    conn = fin_wait_1()
    with pytest.raises(ConnectionClosedError):
        conn.send(b"late")


def test_close_twice_is_ok() -> None:
    conn = fin_wait_1()
    conn.close(0)
    assert out(conn) == []
    assert conn.state is State.FIN_WAIT_1


def test_close_in_syn_received_sends_fin_once_established() -> None:
    conn = syn_received()
    conn.close(0)
    assert conn.state is State.SYN_RECEIVED
    assert out(conn) == []
    feed(conn, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 1)
    assert conn.state is State.FIN_WAIT_1
    assert out(conn) == [us(flags=FIN | ACK)]


def test_close_in_syn_sent_deletes_the_tcb() -> None:
    conn = syn_sent()
    conn.close(0)
    assert conn.state is State.CLOSED
    assert out(conn) == []

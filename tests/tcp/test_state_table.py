"""The transition table against RFC 9293 Figure 5, and every one of its edges taken by the code.

``synack.tcp.state.TRANSITIONS`` is the state machine: the first test compares
it with the figure (written out here from the RFC, not from the table), the
second drives real connections through scenarios and records every
``(state, trigger)`` the code asks ``next_state`` for: each edge of the table
must be taken, so the table holds no edge the code never uses.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from synack.tcp import arrives as arrives_module
from synack.tcp.connection import Connection
from synack.tcp.events import StateChanged
from synack.tcp.state import TRANSITIONS, State, Trigger, next_state
from synack.wire.tcp import ACK, FIN, RST, SYN, MaxSegmentSize
from tests.tcp.helpers import (
    BUILDERS,
    LOCAL_ISS,
    REMOTE_ISS,
    close_wait,
    closing,
    established,
    events,
    feed,
    fin_wait_1,
    fin_wait_2,
    last_ack,
    listen,
    new_conn,
    out,
    syn_received,
    syn_sent,
    time_wait,
)

S = State
T = Trigger
L, R = LOCAL_ISS + 1, REMOTE_ISS + 1

# RFC 9293 Figure 5, edge by edge (source, destination), as the figure draws them.
FIGURE_5 = {
    (S.CLOSED, S.LISTEN),  # passive OPEN
    (S.CLOSED, S.SYN_SENT),  # active OPEN / snd SYN
    (S.LISTEN, S.CLOSED),  # CLOSE / delete TCB
    (S.LISTEN, S.SYN_RECEIVED),  # rcv SYN / snd SYN,ACK
    (S.LISTEN, S.SYN_SENT),  # SEND / snd SYN
    (S.SYN_SENT, S.CLOSED),  # CLOSE / delete TCB
    (S.SYN_SENT, S.SYN_RECEIVED),  # rcv SYN / snd SYN,ACK
    (S.SYN_SENT, S.ESTABLISHED),  # rcv SYN,ACK / snd ACK
    (S.SYN_RECEIVED, S.LISTEN),  # rcv RST (note 1: after a passive OPEN)
    (S.SYN_RECEIVED, S.ESTABLISHED),  # rcv ACK of SYN
    (S.SYN_RECEIVED, S.FIN_WAIT_1),  # CLOSE / snd FIN
    (S.ESTABLISHED, S.FIN_WAIT_1),  # CLOSE / snd FIN
    (S.ESTABLISHED, S.CLOSE_WAIT),  # rcv FIN / snd ACK
    (S.FIN_WAIT_1, S.FIN_WAIT_2),  # rcv ACK of FIN
    (S.FIN_WAIT_1, S.CLOSING),  # rcv FIN / snd ACK
    (S.FIN_WAIT_2, S.TIME_WAIT),  # rcv FIN / snd ACK
    (S.CLOSE_WAIT, S.LAST_ACK),  # CLOSE / snd FIN
    (S.CLOSING, S.TIME_WAIT),  # rcv ACK of FIN
    (S.LAST_ACK, S.CLOSED),  # rcv ACK of FIN
    (S.TIME_WAIT, S.CLOSED),  # Timeout=2MSL / delete TCB
}
# Figure 5's edges synack does not have (see synack.tcp.state's docstring).
NOT_TAKEN = {
    (S.LISTEN, S.SYN_SENT),  # SEND in LISTEN is refused (RFC 9293 3.10.2 allows it)
    (S.SYN_RECEIVED, S.FIN_WAIT_1),  # 3.10.4: the FIN waits until ESTABLISHED
}
# Edges the figure leaves out that the text has.
NOT_DRAWN = {
    (S.SYN_RECEIVED, S.CLOSE_WAIT),  # 3.10.7.4 eighth: a FIN before the ACK of our SYN
}
# Edges beyond RFC 9293: an abandoned connection's FIN-WAIT-2 ends (Linux's tcp_fin_timeout).
BEYOND_THE_RFC = {
    (S.FIN_WAIT_2, S.CLOSED),
}
# Note 3 and 3.10.5 ABORT, 3.8.3 R2 / USER TIMEOUT: to CLOSED from (almost) anywhere.
TO_CLOSED = {T.RCV_RST, T.ABORT, T.TIMEOUT}


def test_the_table_is_figure_5_with_the_edges_the_text_adds() -> None:
    drawn = {
        (src, dst)
        for (src, trig), dst in TRANSITIONS.items()
        if trig not in TO_CLOSED or (src, dst) in FIGURE_5
    }
    assert drawn == (FIGURE_5 - NOT_TAKEN) | NOT_DRAWN | BEYOND_THE_RFC
    for (src, trig), dst in TRANSITIONS.items():
        if trig in TO_CLOSED:
            assert dst is S.CLOSED and src is not S.CLOSED


def test_a_fin_that_acknowledges_ours_passes_through_fin_wait_2() -> None:
    # Figure 5 note 2's FIN-WAIT-1 -> TIME-WAIT, as 3.10.7.4 processes the segment:
    # fifth (the ACK of our FIN: FIN-WAIT-2), then eighth (the FIN: TIME-WAIT).
    conn = fin_wait_1()
    feed(conn, ack=L + 1, flags=FIN | ACK)
    changes = [e for e in events(conn) if isinstance(e, StateChanged)]
    assert [(e.old, e.new) for e in changes] == [
        (S.FIN_WAIT_1, S.FIN_WAIT_2),
        (S.FIN_WAIT_2, S.TIME_WAIT),
    ]


def test_an_edge_not_in_the_table_is_refused() -> None:
    with pytest.raises(Exception, match="no transition"):
        next_state(S.LISTEN, T.RCV_FIN)


# -------------------------------------------------------- every edge taken

Scenario = Callable[[], object]


def _syn_rcvd_simultaneous(**config: object) -> Connection:
    """SYN-RECEIVED by a simultaneous open (not a passive OPEN)."""
    conn = syn_sent(**config)
    feed(conn, seq=REMOTE_ISS, ack=0, flags=SYN, options=(MaxSegmentSize(1000),))
    out(conn)
    assert conn.state is S.SYN_RECEIVED
    return conn


def _run_timers(conn: Connection, until: int) -> None:
    while (t := conn.next_deadline()) is not None and t <= until:
        conn.handle_timer(t)
        out(conn, t)


def _abandon_in_fin_wait_2() -> None:
    conn = fin_wait_2()
    conn.close(0, abandon=True)
    _run_timers(conn, 10**12)
    assert conn.state is S.CLOSED


def _time_out(conn: Connection) -> None:
    _run_timers(conn, 10**12)
    assert conn.state is S.CLOSED


def _with_data_outstanding(build: Callable[..., Connection]) -> Scenario:
    def run() -> None:
        conn = build(data_retries_r2=1)
        conn.send(b"x")
        out(conn)
        _time_out(conn)

    return run


def _build(build: Callable[[], Connection]) -> Scenario:
    return lambda: build()


def _rst_in(build: Callable[[], Connection]) -> Scenario:
    def run() -> None:
        conn = build()
        feed(conn, seq=conn.rcv_nxt, ack=0, flags=RST)

    return run


def _abort(build: Callable[[], Connection]) -> Scenario:
    return lambda: build().abort(0)


SCENARIOS: dict[str, Scenario] = {
    # Figure 5 as drawn (the builders pass through most of it)
    **{f"build {s.name}": _build(b) for s, b in BUILDERS.items()},
    "ack of SYN": lambda: feed(syn_received(), ack=L),
    "simultaneous open": _syn_rcvd_simultaneous,
    "close in LISTEN": lambda: listen().close(0),
    "close in SYN-SENT": lambda: syn_sent().close(0),
    "RST to a passive SYN-RECEIVED": lambda: feed(syn_received(), seq=R, ack=0, flags=RST),
    "ack of FIN in CLOSING": lambda: feed(closing(), seq=R + 1, ack=L + 1),
    "ack of FIN in LAST-ACK": lambda: feed(last_ack(), seq=R + 1, ack=L + 1),
    "2MSL": lambda: _run_timers(time_wait(), 10**12),
    "FIN-WAIT-2 timeout": lambda: _abandon_in_fin_wait_2(),
    # the text's edges
    "FIN with the SYN": lambda: feed(
        listen(), seq=REMOTE_ISS, ack=0, flags=SYN | FIN, options=(MaxSegmentSize(1000),)
    ),
    # note 3: RST
    "RST in SYN-SENT": lambda: feed(syn_sent(), seq=0, ack=L, flags=RST | ACK),
    "RST in SYN-RECEIVED": lambda: feed(_syn_rcvd_simultaneous(), seq=R, ack=0, flags=RST),
    **{
        f"RST in {b.__name__}": _rst_in(b)
        for b in (established, fin_wait_1, fin_wait_2, close_wait, closing, last_ack, time_wait)
    },
    # ABORT (3.10.5) everywhere
    **{f"abort {s.name}": _abort(b) for s, b in BUILDERS.items()},
    # TIMEOUT: SYN retries, R2 (3.8.3), keep-alives
    "SYN retries": lambda: _time_out(syn_sent(syn_retries=1)),
    "SYN-ACK retries": lambda: _time_out(syn_received(syn_retries=1)),
    "R2 in ESTABLISHED": _with_data_outstanding(established),
    "R2 in CLOSE-WAIT": _with_data_outstanding(close_wait),
    "R2 on our FIN in FIN-WAIT-1": lambda: _time_out(fin_wait_1(data_retries_r2=1)),
    "R2 on our FIN in CLOSING": lambda: _time_out(closing(data_retries_r2=1)),
    "R2 on our FIN in LAST-ACK": lambda: _time_out(last_ack(data_retries_r2=1)),
}


def test_every_edge_of_the_table_is_taken_by_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: set[tuple[State, Trigger]] = set()

    def recording(state: State, trigger: Trigger) -> State:
        taken.add((state, trigger))
        return next_state(state, trigger)

    monkeypatch.setattr(arrives_module, "next_state", recording)
    for scenario in SCENARIOS.values():
        scenario()
    assert taken == set(TRANSITIONS)


def test_a_new_connection_is_closed() -> None:
    assert new_conn().state is S.CLOSED

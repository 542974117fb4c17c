"""One path for a connection's events: the EventSink given at construction."""

from __future__ import annotations

from synack.tcp import Connection, Endpoint, State
from synack.tcp.events import Connected, Event, StateChanged
from synack.wire.ip import emit_tcp_packet, parse_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, SYN, MaxSegmentSize, Segment
from tests.tcp.helpers import LOCAL, REMOTE, feed, new_conn, out


class Recorder:
    """An EventSink that keeps everything it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[Connection, Event]] = []
        self.wakeups: list[Connection] = []

    def connection_event(self, conn: Connection, event: Event) -> None:
        self.events.append((conn, event))

    def connection_wakeup(self, conn: Connection) -> None:
        self.wakeups.append(conn)


def test_every_event_and_wakeup_goes_to_the_sink_given_at_construction() -> None:
    sink = Recorder()
    conn = Connection(LOCAL, REMOTE, iss=10_000, sink=sink)
    conn.connect(0)
    out(conn)
    feed(conn, seq=20_000, ack=10_001, flags=SYN | ACK, options=(MaxSegmentSize(1000),))
    assert conn.state is State.ESTABLISHED
    assert [e for _, e in sink.events] == [
        StateChanged(State.CLOSED, State.SYN_SENT, "active open"),
        StateChanged(State.SYN_SENT, State.ESTABLISHED, "rcv SYN,ACK"),
        Connected(),
    ]
    assert all(c is conn for c, _ in sink.events)
    assert conn.next_event() is None  # nothing kept on the side
    conn.send(b"x")
    assert sink.wakeups == [conn]  # a user call asks its driver to flush


def test_a_connection_on_its_own_queues_its_events() -> None:
    conn = new_conn()
    conn.listen(0)
    assert conn.next_event() == StateChanged(State.CLOSED, State.LISTEN, "passive open")
    assert conn.next_event() is None


def test_an_endpoint_holds_a_half_open_connections_events_until_it_is_established() -> None:
    ep = Endpoint(["10.0.0.1"], isn_secret=bytes(32))
    lst = ep.listen(80)
    peer, us = str_to_addr("10.0.0.2"), str_to_addr("10.0.0.1")
    ep.receive_packet(emit_tcp_packet(peer, us, Segment(5000, 80, 700, 0, SYN, 65535)), 0)
    (synack,) = [parse_tcp_packet(p)[1] for p in ep.packets_to_send(0)]
    assert ep.next_event() is None  # LISTEN -> SYN-RECEIVED is the listener's business
    ack = Segment(5000, 80, 701, synack.seq + 1, ACK, 65535)
    ep.receive_packet(emit_tcp_packet(peer, us, ack), 10)
    conn, event = ep.next_event() or (None, None)
    assert event == Connected() and lst.accept() is conn

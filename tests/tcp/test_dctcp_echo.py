"""DCTCP's receiver with delayed ACKs (RFC 8257 3.2): every ACK covers data of one CE state.

RFC 8257 3.2: "When sending an ACK, the ECE flag MUST be set if and only if
DCTCP.CE is true", and on a change of the CE codepoint the receiver sets
DCTCP.CE to the new state "and send[s] an immediate ACK". An ACK held back by
delayed ACKs at that moment covers data of the *prior* state: it must go out
first, with the prior ECE, or the sender counts unmarked octets as marked (or
the reverse). These tests check the count is exact: the octets the ACKs
acknowledge with ECE equal the octets that arrived marked CE.

Pinned literals: ECE is bit 9 of the TCP flags, 0x40 (RFC 3168 23.2); CE is the
ECN codepoint 0b11 (RFC 3168 5).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from synack.sim import HostSpec, LinkConfig, Simulator, two_hosts
from synack.sim.apps import BulkSender, Sink
from synack.sim.aqm import StepMark
from synack.sim.scenario import endpoint_secret
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.wire.seq import sub
from synack.wire.tcp import ACK, FIN, Segment
from tests.tcp.helpers import LOCAL_ISS, MSS, REMOTE_ISS, feed, out
from tests.tcp.test_ecn import ecn_established

ECE = 0x40
CE = 0b11
DELACK = 40_000  # µs: the delayed-ACK timer of these tests


def dctcp_receiver() -> Connection:
    """ESTABLISHED with ECN agreed, DCTCP, delayed ACKs on."""
    return ecn_established(congestion_control="dctcp", delayed_ack=DELACK)


def data(i: int) -> Segment:
    """The peer's i-th full-sized data segment."""
    return Segment(
        49152, 80, REMOTE_ISS + 1 + i * MSS, LOCAL_ISS + 1, ACK, 60_000, payload=bytes(MSS)
    )


def test_the_held_back_ack_goes_first_with_the_prior_state() -> None:
    conn = dctcp_receiver()
    conn.receive_segment(data(0), 1000)  # unmarked: the delayed ACK holds it back
    assert out(conn, 1000) == []
    conn.receive_segment(data(1), 2000, ecn=CE)  # the CE state changes
    acks = out(conn, 2000)
    # First the ACK of the unmarked segment, without ECE; then the marked one's, with.
    assert [(a.ack - REMOTE_ISS - 1, a.flags & ECE) for a in acks] == [(MSS, 0), (2 * MSS, ECE)]
    conn.receive_segment(data(2), 3000)  # and back: unmarked again, nothing was held
    assert [(a.ack - REMOTE_ISS - 1, a.flags & ECE) for a in out(conn, 3000)] == [(3 * MSS, 0)]


def test_a_change_with_nothing_held_back_sends_one_ack() -> None:
    conn = dctcp_receiver()
    conn.receive_segment(data(0), 1000)
    conn.handle_timer(1000 + DELACK)  # the delayed ACK went out on its timer
    assert [a.flags & ECE for a in out(conn, 1000 + DELACK)] == [0]
    conn.receive_segment(data(1), 50_000, ecn=CE)
    assert [(a.ack - REMOTE_ISS - 1, a.flags & ECE) for a in out(conn, 50_000)] == [(2 * MSS, ECE)]


def _ece_acked(acks: list[Segment]) -> tuple[int, int]:
    """(octets acknowledged by ACKs with ECE, the highest ACK) for ACKs in sending order."""
    acked = REMOTE_ISS + 1
    marked = 0
    for a in acks:
        advance = sub(a.ack, acked)
        if advance > 0:
            if a.flags & ECE:
                marked += advance
            acked = a.ack
    return marked, acked


@given(
    marks=st.lists(st.booleans(), min_size=1, max_size=40),
    batches=st.lists(st.integers(1, 4), min_size=40, max_size=40),
    gaps=st.lists(st.sampled_from([500, 10_000, 30_000, 60_000]), min_size=40, max_size=40),
)
def test_octets_acked_with_ece_equal_the_octets_that_arrived_marked(
    marks: list[bool], batches: list[int], gaps: list[int]
) -> None:
    """Any CE pattern, segments arriving alone or in bursts, delayed-ACK timers firing or not."""
    conn = dctcp_receiver()
    acks: list[Segment] = []
    now = 0
    i = 0
    for size, gap in zip(batches, gaps, strict=True):
        if i == len(marks):
            break
        now += gap
        deadline = conn.next_deadline()
        if deadline is not None and deadline <= now:
            conn.handle_timer(deadline)
            acks += out(conn, deadline)
        for j in range(i, min(i + size, len(marks))):
            conn.receive_segment(data(j), now, ecn=CE if marks[j] else 0)
        i = min(i + size, len(marks))
        acks += out(conn, now)
    deadline = conn.next_deadline()
    if deadline is not None:
        conn.handle_timer(deadline)
        acks += out(conn, deadline)
    ece_octets, acked = _ece_acked(acks)
    assert acked == REMOTE_ISS + 1 + len(marks) * MSS  # everything was acknowledged
    assert ece_octets == sum(marks) * MSS
    assert conn.counters["ecn.ce_bytes"] == sum(marks) * MSS


def test_dctcp_over_a_step_marking_queue_counts_every_marked_octet_exactly() -> None:
    """End to end on the simulator: the sender's ECE-acknowledged octets are the marked ones."""
    link = LinkConfig(
        delay=1000, bandwidth=100_000_000, queue_packets=500, aqm=StepMark(k=20, ecn=True)
    )
    cfg = Config(ecn=True, congestion_control="dctcp")  # delayed ACKs at their default
    assert cfg.delayed_ack > 0
    sim = Simulator()
    client = Endpoint(
        ["192.168.1.100"], config=cfg, isn_secret=endpoint_secret(1, "c"), port_seed=1
    )
    server = Endpoint(["10.0.0.5"], config=cfg, isn_secret=endpoint_secret(1, "s"), port_seed=2)
    sender = BulkSender(client, "10.0.0.5", 80, 3_000_000, seed=1)
    sink = Sink(server, 80)
    net = two_hosts(
        sim,
        HostSpec(client, "client", ("192.168.1.100",), sender),
        HostSpec(server, "server", ("10.0.0.5",), sink),
        link,
        LinkConfig(delay=1000, bandwidth=100_000_000),
        seed=1,
    )
    net.a.call(0, sender.start)
    sim.run(until=60_000_000)
    (receiver,) = sink.received
    assert sink.total_received == 3_000_000 and sender.conn is not None
    sent = sender.conn.counters
    assert sent["retransmit.segments"] == 0
    marked = receiver.counters["ecn.ce_bytes"]
    assert marked > 100 * cfg.mss  # the queue did mark, many times
    assert sent["ecn.ece_bytes"] == marked


def test_the_sender_counts_data_octets_acked_with_ece_not_its_fin() -> None:
    conn = dctcp_receiver()  # as a sender now: it sends data and its FIN
    conn.send(bytes(MSS))
    conn.close(0)
    sent = out(conn)
    assert sum(len(s.payload) for s in sent) == MSS and sent[-1].flags & FIN
    # One ACK with ECE for the data and the FIN: MSS data octets were marked, not MSS + 1.
    feed(conn, 1000, ack=LOCAL_ISS + 1 + MSS + 1, flags=ACK | ECE)
    assert conn.counters["ecn.ece_bytes"] == MSS

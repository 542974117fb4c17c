"""TCP segmentation offload at the core (``segments_to_send(now, tso_max=...)``): one segment per burst, MSS pieces underneath.

When the driver's link cuts segments (``tso_max`` above the MSS), a burst of
new data leaves as one segment of whole MSS-sized pieces. Cut back at the MSS (as the link does) it must give
exactly the segments the connection sends without TSO, while the recovery layer
keeps one entry per piece, so SACK, RACK and retransmissions stay MSS-sized.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from synack.sim import HostSpec, LinkConfig, Simulator, two_hosts
from synack.sim.engine import SimulationError
from synack.sim.scripted import ScriptedHost
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.state import State
from synack.wire.gso import MAX_TSO, GsoPacket
from synack.wire.ip import parse_tcp_packet
from synack.wire.tcp import ACK, FIN, PSH, URG, Segment
from tests.tcp.helpers import LOCAL_ISS, MSS, PEER_WINDOW, REMOTE_ISS, established, feed, out, us
from tests.tcp.test_sack import RTT, sack, sack_established, seg_block

L = LOCAL_ISS + 1
R = REMOTE_ISS + 1
TSO = 64 * MSS


def cut(segs: list[Segment], mss: int = MSS) -> list[Segment]:
    """What a TSO link puts on the wire: MSS-sized pieces, FIN and PSH on the last only."""
    wire: list[Segment] = []
    for s in segs:
        data = s.payload
        if len(data) <= mss:
            wire.append(s)
            continue
        for off in range(0, len(data), mss):
            last = off + mss >= len(data)
            flags = s.flags if last else s.flags & ~(FIN | PSH)
            wire.append(
                replace(
                    s, seq=(s.seq + off) & 0xFFFFFFFF, flags=flags, payload=data[off : off + mss]
                )
            )
    return wire


def tso_out(conn: Connection, now: int = 0, tso: int = TSO) -> list[Segment]:
    """Everything the connection sends now, to a link that cuts segments of up to ``tso`` octets."""
    return conn.segments_to_send(now, tso_max=tso)


def pieces(conn: Connection) -> list[tuple[int, int]]:
    """The scoreboard: ``(start, end)`` of every outstanding entry, in stream offsets."""
    return [(s.start, s.end) for s in conn.snd.rec.sb.segs_from(0)]


# ---------------------------------------------------------------- the segments


def test_a_burst_becomes_one_segment_and_the_scoreboard_holds_mss_pieces() -> None:
    conn = established()
    conn.send(b"x" * 25 * MSS)
    # The initial window is 10 segments (RFC 6928): one segment of ten pieces.
    assert tso_out(conn) == [us(payload=b"x" * 10 * MSS)]
    assert pieces(conn) == [(i * MSS, (i + 1) * MSS) for i in range(10)]
    assert conn.counters["segments_sent.data"] == 10
    assert conn.counters["segments_sent.tso"] == 1


def test_tso_max_is_rounded_down_to_whole_segments() -> None:
    conn = established()
    conn.send(b"x" * 10 * MSS)
    segs = tso_out(conn, tso=3 * MSS + 500)
    assert [len(s.payload) for s in segs] == [3 * MSS, 3 * MSS, 3 * MSS, MSS]
    assert [s.seq for s in segs] == [L, L + 3 * MSS, L + 6 * MSS, L + 9 * MSS]
    assert segs[-1].flags == ACK | PSH


def test_the_end_of_the_data_carries_psh_and_a_queued_fin() -> None:
    conn = established()
    conn.send(b"y" * 3500)
    conn.close(0)
    assert tso_out(conn) == [us(flags=ACK | PSH | FIN, payload=b"y" * 3500)]
    assert pieces(conn) == [(0, 1000), (1000, 2000), (2000, 3000), (3000, 3501)]


def test_nagle_still_holds_the_short_tail_while_data_is_in_flight() -> None:
    conn = established()
    conn.send(b"z" * 5500)
    assert tso_out(conn) == [us(payload=b"z" * 5000)]
    feed(conn, ack=L + 5000)
    assert tso_out(conn) == [us(seq=L + 5000, flags=ACK | PSH, payload=b"z" * 500)]


def test_with_nagle_off_the_short_tail_rides_in_the_same_segment() -> None:
    conn = established(nodelay=True)
    conn.send(b"z" * 5500)
    assert tso_out(conn) == [us(flags=ACK | PSH, payload=b"z" * 5500)]
    assert pieces(conn)[-1] == (5000, 5500)


def test_the_peer_window_limits_the_segment_to_whole_pieces() -> None:
    conn = established()
    feed(conn, window=4500)
    tso_out(conn)
    conn.send(b"w" * 8000)
    # 4 whole pieces fit; the 500 left in the window is a short segment SWS holds.
    assert tso_out(conn) == [us(payload=b"w" * 4000)]


def test_urgent_data_goes_segment_by_segment() -> None:
    conn = established(nodelay=True)
    conn.send(b"u" * 3 * MSS, urgent=True)
    segs = tso_out(conn)
    assert [len(s.payload) for s in segs] == [MSS] * 3
    assert all(s.flags & URG for s in segs)


def test_tso_max_at_or_below_the_mss_changes_nothing() -> None:
    conn = established()
    conn.send(b"v" * 3 * MSS)
    assert [len(s.payload) for s in tso_out(conn, tso=MSS)] == [MSS] * 3
    assert conn.counters["segments_sent.tso"] == 0


def test_without_tso_max_every_segment_is_at_most_one_mss() -> None:
    conn = established()
    conn.send(b"v" * 3 * MSS)
    assert [len(s.payload) for s in out(conn)] == [MSS] * 3


def test_tso_max_is_validated() -> None:
    # A 64 KB IP packet (RFC 791: a 16-bit total length) less 20 + 60 header octets.
    assert MAX_TSO == 65535 - 80
    conn = established()
    conn.send(b"v" * 3 * MSS)
    with pytest.raises(ValueError, match="tso_max"):
        tso_out(conn, tso=65535 - 80 + 1)
    with pytest.raises(ValueError, match="tso_max"):
        tso_out(conn, tso=-1)
    assert len(tso_out(conn, tso=65535 - 80)) == 1


# A script drives two connections, with and without TSO, the same way; cut at
# the MSS their segments must be equal at every step.
Step = Callable[[Connection, int], None]


def _send(n: int) -> Step:
    def step(conn: Connection, now: int) -> None:
        conn.send(b"d" * n)

    return step


def _ack(upto: int, window: int = PEER_WINDOW) -> Step:
    return lambda conn, now: feed(conn, now, ack=L + upto, window=window)


def _close(conn: Connection, now: int) -> None:
    conn.close(now)


SCRIPTS: dict[str, tuple[dict[str, object], list[Step]]] = {
    "bulk with acks": ({}, [_send(40_000), _ack(3000), _ack(10_000), _ack(25_000), _ack(40_000)]),
    "fin after the data": ({}, [_send(12_345), _close, _ack(10_000), _ack(12_346)]),
    "nodelay tail": ({"nodelay": True}, [_send(7_777), _ack(7_777), _send(2_222)]),
    "nagle tail": ({}, [_send(3_300), _ack(3_000), _ack(3_300)]),
    "window opening": (
        {},
        [_ack(0, 2_500), _send(20_000), _ack(2_000, 6_000), _ack(8_000, 30_000), _ack(20_000)],
    ),
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_cut_at_the_mss_the_segments_are_those_sent_without_tso(name: str) -> None:
    config, steps = SCRIPTS[name]
    plain = established(**config)
    tso = established(**config)
    for i, step in enumerate(steps):
        now = 1000 * (i + 1)
        step(plain, now)
        step(tso, now)
        expected = out(plain, now)
        assert cut(tso_out(tso, now)) == expected, f"step {i}"
        assert pieces(tso) == pieces(plain)


# ------------------------------------------------------------- loss and SACK


def test_a_sack_marks_one_piece_lost_and_only_that_mss_is_resent() -> None:
    conn = sack_established()
    conn.send(b"s" * 10 * MSS)
    (big,) = tso_out(conn, RTT)
    assert (big.seq, len(big.payload)) == (L, 10 * MSS)
    # Pieces 1-2 arrive, 3 is lost, 4-6 are SACKed: three SACKed above it (RFC 6675).
    feed(conn, 20_000, ack=L + 2 * MSS, options=sack(seg_block(4, 6)))
    (rtx,) = tso_out(conn, 20_000)
    assert (rtx.seq, len(rtx.payload)) == (L + 2 * MSS, MSS)
    assert conn.counters["retransmit.segments"] == 1
    # The SACKed pieces are never resent; the cumulative ACK ends recovery.
    feed(conn, 30_000, ack=L + 10 * MSS)
    assert not conn.in_recovery
    assert conn.counters["retransmit.segments"] == 1


def test_an_rto_resends_one_mss_not_the_whole_segment() -> None:
    conn = established()
    conn.send(b"r" * 10 * MSS)
    (big,) = tso_out(conn)
    assert len(big.payload) == 10 * MSS
    rto_at = conn.next_deadline()
    assert rto_at is not None
    conn.handle_timer(rto_at)
    assert tso_out(conn, rto_at) == [us(payload=b"r" * MSS)]


def test_a_segment_partly_acknowledged_trims_the_scoreboard_by_pieces() -> None:
    conn = established()
    conn.send(b"p" * 6 * MSS)
    tso_out(conn)
    feed(conn, ack=L + 2500)
    assert pieces(conn) == [(2500, 3000), (3000, 4000), (4000, 5000), (5000, 6000)]


# ------------------------------------------- a whole transfer through a lossy cut


def _transfer(
    seed: int, loss: float, cc: str = "newreno"
) -> tuple[bytes, bytes, Connection, Connection, list[int]]:
    """2 MB from a TSO sender to a plain receiver over a link that cuts and drops pieces.

    Returns the data, what arrived, both connections and the payload length of
    every segment the sender emitted below its highest sequence number sent.
    """
    rng = random.Random(seed)
    base = Config(
        mss=1460,
        send_buffer=256 * 1024,
        recv_buffer=256 * 1024,
        min_rto=200_000,
        congestion_control=cc,
    )
    a = (bytes([10, 0, 0, 5]), 40000)
    b = (bytes([10, 0, 0, 1]), 80)
    sender = Connection(a, b, iss=rng.getrandbits(32), config=base)
    receiver = Connection(b, a, iss=rng.getrandbits(32), config=base)
    data = random.Random(seed + 1).randbytes(2_000_000)
    queue: list[tuple[int, int, Connection, Segment]] = []
    got = bytearray()
    resent: list[int] = []
    high = 0  # offset past the highest octet the sender emitted
    n = sent = now = 0
    receiver.listen(0)
    sender.connect(0)
    closed = False
    while now < 600_000_000:
        if sender.state is State.ESTABLISHED and sent < len(data):
            sent += sender.send(data[sent : sent + 65536])
        if sent == len(data) and not closed and sender.state is State.ESTABLISHED:
            sender.close(now)
            closed = True
        got += receiver.recv()
        for src, dst in ((sender, receiver), (receiver, sender)):
            segs = src.segments_to_send(now, tso_max=MAX_TSO if src is sender else 0)
            if src is sender:
                for seg in segs:
                    if not seg.payload:
                        continue
                    start = (seg.seq - sender.iss - 1) & 0xFFFFFFFF
                    if start < high:
                        resent.append(len(seg.payload))
                    high = max(high, start + len(seg.payload))
            for seg in cut(segs, src.mss):
                if rng.random() >= loss:
                    n += 1
                    heapq.heappush(queue, (now + 5_000, n, dst, seg))
        deadlines = [d for d in (sender.next_deadline(), receiver.next_deadline()) if d is not None]
        if queue:
            deadlines.append(queue[0][0])
        if not deadlines or receiver.peer_closed:
            break
        now = max(now, min(deadlines))
        for conn in (sender, receiver):
            d = conn.next_deadline()
            if d is not None and d <= now:
                conn.handle_timer(now)
        while queue and queue[0][0] <= now:
            _, _, to, seg = heapq.heappop(queue)
            to.receive_segment(seg, now)
    got += receiver.recv()
    return data, bytes(got), sender, receiver, resent


@pytest.mark.parametrize(("seed", "cc"), [(1, "newreno"), (2, "newreno"), (3, "cubic"), (4, "bbr")])
def test_two_megabytes_arrive_exactly_when_pieces_of_tso_segments_are_lost(
    seed: int, cc: str
) -> None:
    data, got, sender, receiver, resent = _transfer(seed, 0.02, cc)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert receiver.peer_closed
    assert sender.counters["segments_sent.tso"] > 0
    # Losses were repaired piece by piece: never a whole TSO segment again.
    assert len(resent) == sender.counters["retransmit.segments"] > 0
    assert max(resent) <= sender.mss


# ------------------------------------------ through an endpoint, to a link


def _endpoints() -> tuple[Endpoint, Endpoint, Connection]:
    """Two endpoints with an established connection from a to b."""
    a = Endpoint(["10.0.0.1"], isn_secret=bytes(32), port_seed=0, name="a")
    b = Endpoint(["10.0.0.2"], isn_secret=bytes(range(32)), name="b")
    b.listen(80)
    conn = a.connect("10.0.0.2", 80, 0)
    for now in range(0, 40, 10):
        for src, dst in ((a, b), (b, a)):
            for p in src.packets_to_send(now):
                dst.receive_packet(p, now)
    assert conn.state is State.ESTABLISHED
    return a, b, conn


def test_the_endpoint_makes_super_segments_only_for_a_link_that_asks() -> None:
    a, _, conn = _endpoints()
    conn.send(b"g" * 20 * conn.mss)
    packets = a.packets_to_send(100, tso_max=MAX_TSO)
    (big,) = packets
    assert isinstance(big, GsoPacket) and big.gso_size == conn.mss
    pieces = [parse_tcp_packet(p)[1] for p in big.segments()]
    assert [len(s.payload) for s in pieces] == [conn.mss] * 10  # the initial window
    # Without tso_max every packet is bytes of at most one MSS.
    a2, _, conn2 = _endpoints()
    conn2.send(b"g" * 20 * conn2.mss)
    plain = a2.packets_to_send(100)
    assert all(type(p) is bytes for p in plain)
    assert [parse_tcp_packet(p)[1] for p in plain] == pieces


def test_the_simulator_refuses_super_segments_loudly() -> None:
    a, _, conn = _endpoints()
    conn.send(b"g" * 5 * conn.mss)
    big = a.packets_to_send(100, tso_max=MAX_TSO)

    class Offloading:
        """A host that hands the simulator what a TSO link would take."""

        def receive_packet(self, packet: bytes, now: int) -> None: ...

        def packets_to_send(self, now: int) -> list[bytes | GsoPacket]:
            return list(big)

        def next_deadline(self) -> int | None:
            return None

        def handle_timer(self, now: int) -> None: ...

    sim = Simulator()
    net = two_hosts(
        sim, HostSpec(Offloading(), "x"), HostSpec(ScriptedHost("y"), "y"), LinkConfig()
    )
    with pytest.raises(SimulationError, match="wire-sized"):
        net.a.step(0)

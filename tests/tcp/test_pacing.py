"""Pacing in bursts of the congestion controller's quantum (BBR's send quantum).

A paced sender that releases one segment per timer wake-up runs at the rate
its driver's timers allow, not at the pacing rate: an event loop wakes about
once a millisecond, so 1448-byte segments could never leave faster than about
1.4 MB/s however high the rate. The schedule may therefore run ahead of the
clock by one quantum, as a kernel's pacing releases one TSO segment at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from synack.cc import base
from synack.cc.base import INFINITE_SSTHRESH, CongestionControl
from synack.cc.bbr import Bbr
from tests.tcp.helpers import MSS, out
from tests.tcp.test_sack import RTT, sack_established, sent_seqs

RATE = 1_000_000  # octets per second: one 1000-octet segment per millisecond
QUANTUM = 4 * MSS


class FixedPacing(CongestionControl):
    """A wide-open window paced at RATE in bursts of QUANTUM (the core's view of pacing)."""

    name = "test_fixed_pacing"

    def __init__(self, *, mss: int, initial_window: int, now: int) -> None:
        super().__init__(mss=mss, initial_window=100 * mss, now=now)
        self.ssthresh = INFINITE_SSTHRESH

    def on_ack(
        self, *, now: int, bytes_acked: int, rtt: int | None, in_flight: int, in_recovery: bool
    ) -> None:
        pass

    def on_recovery_start(self, *, now: int, in_flight: int) -> None:
        pass

    def on_rto(self, *, now: int, in_flight: int) -> None:
        pass

    def pacing_rate(self) -> int:
        return RATE

    def pacing_quantum(self) -> int:
        return QUANTUM


@pytest.fixture
def fixed_pacing() -> Iterator[str]:
    base.register(FixedPacing.name, FixedPacing)
    try:
        yield FixedPacing.name
    finally:
        del base.REGISTRY[FixedPacing.name]


def test_a_wake_up_sends_one_quantum_back_to_back(fixed_pacing: str) -> None:
    conn = sack_established(congestion_control=fixed_pacing, nodelay=True)
    conn.send(b"q" * 20 * MSS)
    now = RTT
    bursts = []
    for _ in range(4):
        segs = out(conn, now)
        bursts.append((now - RTT, sent_seqs(segs)))
        deadline = conn.next_deadline()
        assert deadline is not None
        now = deadline
        conn.handle_timer(now)
    # Four segments (the quantum) at once, then the next four when the schedule,
    # one segment per millisecond at RATE, is again within a quantum of the clock.
    assert bursts == [
        (0, [1, 2, 3, 4]),
        (4_000, [5, 6, 7, 8]),
        (8_000, [9, 10, 11, 12]),
        (12_000, [13, 14, 15, 16]),
    ]


def test_the_average_rate_stays_the_pacing_rate(fixed_pacing: str) -> None:
    conn = sack_established(congestion_control=fixed_pacing, nodelay=True)
    conn.send(b"q" * 41 * MSS)
    now = RTT
    sent = len(out(conn, now))
    while sent < 41:
        deadline = conn.next_deadline()
        assert deadline is not None
        now = deadline
        conn.handle_timer(now)
        sent += len(out(conn, now))
    # 41 segments at one per millisecond: bursts of four every 4 ms, and the 41st
    # leaves 40 ms after the first, as segment-by-segment pacing would send it.
    assert now - RTT == 40_000


def test_bbr_bursts_its_send_quantum() -> None:
    # draft-cardwell-iccrg-bbr-congestion-control 4.2.2 (BBRSetSendQuantum): above
    # 24 Mbit/s the quantum is a millisecond at the pacing rate, at most 64 KB.
    cc = Bbr(mss=MSS, initial_window=10 * MSS, now=0)
    assert cc.pacing_quantum() == MSS  # no rate sample yet
    cc._pacing_rate = 10_000_000
    cc._set_send_quantum()
    assert cc.pacing_quantum() == 10_000
    cc._pacing_rate = 1_000_000
    cc._set_send_quantum()
    assert cc.pacing_quantum() == 2 * MSS

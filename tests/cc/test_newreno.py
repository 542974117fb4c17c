"""NewReno (RFC 5681 3.1-3.2, RFC 6582 3.2) and the congestion-control registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from synack.cc import REGISTRY, CongestionControl, NewReno, available, create, register
from synack.tcp.state import State
from tests.tcp.helpers import LOCAL_ISS, MSS, established, feed, new_conn, out, us

SMSS = 1000


def reno(cwnd: int = 10 * SMSS, ssthresh: int | None = None) -> NewReno:
    cc = NewReno(mss=SMSS, initial_window=cwnd, now=0)
    if ssthresh is not None:
        cc.ssthresh = ssthresh
    return cc


def ack(cc: CongestionControl, n: int, *, in_flight: int = 0, in_recovery: bool = False) -> None:
    cc.on_ack(now=0, bytes_acked=n, rtt=None, in_flight=in_flight, in_recovery=in_recovery)


# ------------------------------------------------------------- slow start


def test_initial_values() -> None:
    cc = reno(cwnd=4 * SMSS)
    assert cc.cwnd == 4 * SMSS
    # RFC 5681 3.1: "The initial value of ssthresh SHOULD be set arbitrarily high".
    assert cc.ssthresh >= 1 << 31
    assert cc.mss == SMSS


def test_slow_start_adds_bytes_acked_up_to_one_smss_per_ack() -> None:
    # RFC 5681 3.1 (eq. 2): cwnd += min (N, SMSS).
    cc = reno(cwnd=2 * SMSS)
    ack(cc, 400)
    assert cc.cwnd == 2 * SMSS + 400
    ack(cc, SMSS)
    assert cc.cwnd == 3 * SMSS + 400
    ack(cc, 5 * SMSS)  # a stretch ACK still adds only one SMSS
    assert cc.cwnd == 4 * SMSS + 400


def test_slow_start_doubles_per_round_of_full_segment_acks() -> None:
    cc = reno(cwnd=2 * SMSS)
    for _ in range(2):
        ack(cc, SMSS)
    assert cc.cwnd == 4 * SMSS
    for _ in range(4):
        ack(cc, SMSS)
    assert cc.cwnd == 8 * SMSS


# ------------------------------------------------------- congestion avoidance


def test_congestion_avoidance_adds_one_smss_per_cwnd_acked() -> None:
    # RFC 5681 3.1: in congestion avoidance cwnd grows by about one SMSS per RTT;
    # byte counting: one SMSS once a whole cwnd of data has been acknowledged.
    cc = reno(cwnd=5 * SMSS, ssthresh=5 * SMSS)
    for _ in range(4):
        ack(cc, SMSS)
    assert cc.cwnd == 5 * SMSS
    ack(cc, SMSS)
    assert cc.cwnd == 6 * SMSS
    for _ in range(5):
        ack(cc, SMSS)
    assert cc.cwnd == 6 * SMSS
    ack(cc, SMSS)
    assert cc.cwnd == 7 * SMSS


def test_congestion_avoidance_carries_the_remainder_over() -> None:
    cc = reno(cwnd=4 * SMSS, ssthresh=2 * SMSS)
    ack(cc, 3000)
    ack(cc, 1500)  # 4500 acked: +SMSS, 500 carried
    assert cc.cwnd == 5 * SMSS
    ack(cc, 4400)  # 4900 < 5000
    assert cc.cwnd == 5 * SMSS
    ack(cc, 100)
    assert cc.cwnd == 6 * SMSS


def test_slow_start_ends_when_cwnd_reaches_ssthresh() -> None:
    cc = reno(cwnd=3 * SMSS, ssthresh=4 * SMSS)
    ack(cc, SMSS)  # slow start: 3000 < 4000
    assert cc.cwnd == 4 * SMSS
    ack(cc, SMSS)  # now congestion avoidance
    assert cc.cwnd == 4 * SMSS


def test_duplicate_ack_outside_recovery_leaves_cwnd_alone() -> None:
    cc = reno()
    cc.on_duplicate_ack(now=0, in_flight=10 * SMSS, in_recovery=False)
    assert cc.cwnd == 10 * SMSS


# ------------------------------------------------------------ fast recovery


@pytest.mark.parametrize(
    ("flight", "ssthresh"),
    [(20 * SMSS, 10 * SMSS), (7001, 3500), (3 * SMSS, 2 * SMSS), (SMSS, 2 * SMSS)],
)
def test_fast_recovery_sets_ssthresh_half_flight_and_cwnd_plus_three(
    flight: int, ssthresh: int
) -> None:
    # RFC 5681 3.2 (2): ssthresh = max (FlightSize / 2, 2*SMSS);
    # (3): cwnd = ssthresh + 3*SMSS.
    cc = reno(cwnd=30 * SMSS)
    cc.on_recovery_start(now=0, in_flight=flight)
    assert cc.ssthresh == ssthresh
    assert cc.cwnd == ssthresh + 3 * SMSS


def test_each_further_duplicate_ack_inflates_cwnd_by_one_smss() -> None:
    # RFC 5681 3.2 (4): "For each additional duplicate ACK received (after the third),
    # cwnd MUST be incremented by SMSS."
    cc = reno()
    cc.on_recovery_start(now=0, in_flight=10 * SMSS)
    for i in range(1, 4):
        cc.on_duplicate_ack(now=0, in_flight=10 * SMSS, in_recovery=True)
        assert cc.cwnd == 8 * SMSS + i * SMSS


def test_partial_ack_deflates_by_acked_and_adds_back_one_smss() -> None:
    # RFC 6582 3.2 (5): "deflate the congestion window by the amount of new data
    # acknowledged ... If the partial ACK acknowledges at least one SMSS of new data,
    # then add back SMSS bytes to the congestion window."
    cc = reno()
    cc.on_recovery_start(now=0, in_flight=10 * SMSS)  # ssthresh 5000, cwnd 8000
    cc.on_duplicate_ack(now=0, in_flight=10 * SMSS, in_recovery=True)  # 9000
    ack(cc, 3 * SMSS, in_flight=7 * SMSS, in_recovery=True)
    assert cc.cwnd == 9000 - 3000 + 1000
    assert cc.ssthresh == 5 * SMSS


def test_partial_ack_of_less_than_one_smss_adds_nothing_back() -> None:
    # RFC 6582 3.2 (5): the SMSS is added back only if "at least one SMSS" was acked.
    cc = reno()
    cc.on_recovery_start(now=0, in_flight=10 * SMSS)  # cwnd 8000
    ack(cc, 500, in_flight=9500, in_recovery=True)
    assert cc.cwnd == 8000 - 500


@pytest.mark.parametrize(
    ("flight", "cwnd"),
    [(10 * SMSS, 5 * SMSS), (1500, 2500), (SMSS, 2 * SMSS), (0, 2 * SMSS)],
)
def test_full_ack_exits_with_min_ssthresh_flight_plus_smss(flight: int, cwnd: int) -> None:
    # RFC 6582 3.2 (6), option 1: cwnd = min (ssthresh, max (FlightSize, SMSS) + SMSS).
    cc = reno()
    cc.on_recovery_start(now=0, in_flight=10 * SMSS)  # ssthresh 5000
    cc.on_duplicate_ack(now=0, in_flight=10 * SMSS, in_recovery=True)
    cc.on_recovery_end(now=0, in_flight=flight)
    assert cc.cwnd == cwnd
    assert cc.ssthresh == 5 * SMSS


def test_after_recovery_growth_is_congestion_avoidance() -> None:
    cc = reno()
    cc.on_recovery_start(now=0, in_flight=10 * SMSS)
    cc.on_recovery_end(now=0, in_flight=10 * SMSS)  # cwnd = ssthresh = 5000
    for _ in range(4):
        ack(cc, SMSS)
    assert cc.cwnd == 5 * SMSS
    ack(cc, SMSS)
    assert cc.cwnd == 6 * SMSS


# --------------------------------------------------------------------- RTO


@pytest.mark.parametrize(("flight", "ssthresh"), [(10 * SMSS, 5 * SMSS), (SMSS, 2 * SMSS)])
def test_rto_sets_loss_window_of_one_smss(flight: int, ssthresh: int) -> None:
    # RFC 5681 3.1 (eq. 4) and "the congestion window MUST be set to no more than the
    # loss window, LW, which equals 1 full-sized segment".
    cc = reno(cwnd=20 * SMSS)
    cc.on_rto(now=0, in_flight=flight)
    assert cc.cwnd == SMSS
    assert cc.ssthresh == ssthresh
    ack(cc, SMSS)  # slow start again
    assert cc.cwnd == 2 * SMSS


def test_set_mss_changes_the_increment() -> None:
    cc = reno(cwnd=2 * SMSS)
    cc.set_mss(500)
    assert cc.mss == 500
    ack(cc, SMSS)
    assert cc.cwnd == 2 * SMSS + 500


# --------------------------------------------------------- at the connection


def test_connection_fast_recovery_uses_flight_size_and_exact_cwnds() -> None:
    conn = established()
    assert conn.cwnd == 10 * MSS  # RFC 6928: min (10*MSS, max (2*MSS, 14600))
    conn.send(b"d" * 10 * MSS)
    assert len(out(conn, 0)) == 10
    for _ in range(2):
        feed(conn, now=10_000, ack=LOCAL_ISS + 1)
        assert out(conn, 10_000) == []
    feed(conn, now=10_000, ack=LOCAL_ISS + 1)  # third duplicate: fast retransmit
    assert out(conn, 10_000) == [us(payload=b"d" * MSS)]
    assert conn.ssthresh == 5 * MSS
    assert conn.cwnd == 8 * MSS
    feed(conn, now=11_000, ack=LOCAL_ISS + 1)
    assert conn.cwnd == 9 * MSS
    # Partial ACK of two segments: retransmit the next hole, deflate.
    feed(conn, now=20_000, ack=LOCAL_ISS + 1 + 2 * MSS)
    assert out(conn, 20_000) == [us(seq=LOCAL_ISS + 1 + 2 * MSS, payload=b"d" * MSS)]
    assert conn.cwnd == 9 * MSS - 2 * MSS + MSS
    # Full ACK: FlightSize is 0, so cwnd = min (5000, max (0, 1000) + 1000).
    feed(conn, now=30_000, ack=LOCAL_ISS + 1 + 10 * MSS)
    assert conn.cwnd == 2 * MSS
    assert conn.ssthresh == 5 * MSS


def test_connection_rto_sends_one_segment_then_slow_starts() -> None:
    conn = established()
    conn.send(b"d" * 10 * MSS)
    out(conn, 0)
    conn.handle_timer(1_000_000)
    assert out(conn, 1_000_000) == [us(payload=b"d" * MSS)]
    assert conn.cwnd == MSS
    assert conn.ssthresh == 5 * MSS
    feed(conn, now=1_100_000, ack=LOCAL_ISS + 1 + MSS)
    assert conn.cwnd == 2 * MSS
    assert out(conn, 1_100_000) == [
        us(seq=LOCAL_ISS + 1 + MSS, payload=b"d" * MSS),
        us(seq=LOCAL_ISS + 1 + 2 * MSS, payload=b"d" * MSS),
    ]


# ---------------------------------------------------------------- registry


def test_registry_creates_newreno_by_name() -> None:
    cc = create("newreno", mss=SMSS, initial_window=3 * SMSS, now=0)
    assert isinstance(cc, NewReno)
    assert cc.cwnd == 3 * SMSS
    assert isinstance(create("NewReno", mss=SMSS, initial_window=SMSS, now=0), NewReno)
    assert "newreno" in available()


def test_unknown_name_raises_value_error_listing_available() -> None:
    with pytest.raises(ValueError, match="unknown congestion control 'nope'") as exc:
        create("nope", mss=SMSS, initial_window=SMSS, now=0)
    for name in available():
        assert name in str(exc.value)


def test_connection_with_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match=r"available: .*newreno"):
        new_conn(congestion_control="nope")


class FixedWindow(CongestionControl):
    """A test algorithm: cwnd stays two segments; it records every hook."""

    name = "fixed-test"

    def __init__(self, *, mss: int, initial_window: int, now: int) -> None:
        super().__init__(mss=mss, initial_window=initial_window, now=now)
        self.cwnd = 2 * mss
        self.acked: list[int] = []
        self.rtos = 0

    def on_ack(
        self, *, now: int, bytes_acked: int, rtt: int | None, in_flight: int, in_recovery: bool
    ) -> None:
        self.acked.append(bytes_acked)

    def on_recovery_start(self, *, now: int, in_flight: int) -> None:
        pass

    def on_rto(self, *, now: int, in_flight: int) -> None:
        self.rtos += 1


@pytest.fixture
def fixed_registered() -> Iterator[None]:
    register("fixed-test", FixedWindow)
    try:
        yield
    finally:
        REGISTRY.pop("fixed-test", None)


@pytest.mark.usefixtures("fixed_registered")
def test_registered_user_algorithm_is_listed_and_created() -> None:
    assert "fixed-test" in available()
    cc = create("Fixed-Test", mss=SMSS, initial_window=10 * SMSS, now=0)
    assert isinstance(cc, FixedWindow)
    assert cc.cwnd == 2 * SMSS


@pytest.mark.usefixtures("fixed_registered")
def test_connection_uses_the_algorithm_named_in_config() -> None:
    conn = established(congestion_control="fixed-test")
    assert conn.state is State.ESTABLISHED
    cc = conn.cc
    assert isinstance(cc, FixedWindow)
    conn.send(b"d" * 5 * MSS)
    # Its two-segment window limits what leaves, whatever the peer's window.
    assert out(conn, 0) == [
        us(payload=b"d" * MSS),
        us(seq=LOCAL_ISS + 1 + MSS, payload=b"d" * MSS),
    ]
    feed(conn, now=50_000, ack=LOCAL_ISS + 1 + MSS)
    assert cc.acked == [MSS]
    assert out(conn, 50_000) == [us(seq=LOCAL_ISS + 1 + 2 * MSS, payload=b"d" * MSS)]
    rto_at = 50_000 + conn.rto
    assert conn.next_deadline() == rto_at
    conn.handle_timer(rto_at)
    assert cc.rtos == 1
    # Go-back-N from SND.UNA, still within the algorithm's two segments.
    assert out(conn, rto_at) == [
        us(seq=LOCAL_ISS + 1 + MSS, payload=b"d" * MSS),
        us(seq=LOCAL_ISS + 1 + 2 * MSS, payload=b"d" * MSS),
    ]

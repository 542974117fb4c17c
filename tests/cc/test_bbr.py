"""BBR v1 driven by synthetic delivery-rate samples: the model (BtlBw, RTprop),
the state machine (STARTUP -> DRAIN -> PROBE_BW <-> PROBE_RTT), pacing and cwnd."""

from __future__ import annotations

import pytest

from synack.cc import Bbr, BbrState, RateSample, create

# The constants of BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00), as the
# draft states them, not imported from the code under test.
# 4.3.1.1: "BBRHighGain ... = 2/ln(2) ~= 2.89"; BBR's code (and Linux) use 2885/1000.
HIGH_GAIN = 2.885
# 4.3.2: "the pacing_gain ... to the inverse of the value used during STARTUP".
DRAIN_GAIN = 1 / 2.885
# 4.3.3.5: "BBRGainCycleLen = 8 ... pacing_gain values [5/4, 3/4, 1, 1, 1, 1, 1, 1]".
PACING_GAIN_CYCLE = (1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
# 4.3.4.4: "ProbeRTTDuration = 200 ms".
PROBE_RTT_DURATION = 200_000


MSS = 1000
IW = 10 * MSS


def state(cc: Bbr) -> BbrState:
    """Read the state through a call, so that each assertion sees the live value."""
    return cc.state


class Path:
    """Feeds a BBR instance one rate sample per round trip, with consistent counters."""

    def __init__(self, cc: Bbr) -> None:
        self.cc = cc
        self.now = 0
        self.delivered = 0
        self.rs = RateSample()

    def round(
        self,
        *,
        rate: int,
        rtt: int,
        in_flight: int | None = None,
        prior_in_flight: int | None = None,
        app_limited: bool = False,
        lost: int = 0,
        advance: int | None = None,
    ) -> RateSample:
        """One round: ``rate * rtt`` octets delivered, sampled over ``rtt``."""
        self.now += rtt if advance is None else advance
        acked = max(MSS, rate * rtt // 1_000_000)
        rs = self.rs
        rs.prior_delivered = self.delivered
        self.delivered += acked
        rs.total_delivered = self.delivered
        rs.delivered = acked
        rs.newly_acked = acked
        rs.newly_lost = lost
        rs.interval = rtt
        rs.delivery_rate = rate
        rs.rtt = rtt
        rs.is_app_limited = app_limited
        rs.in_flight = self.cc.cwnd if in_flight is None else in_flight
        rs.prior_in_flight = rs.in_flight + acked if prior_in_flight is None else prior_in_flight
        self.cc.on_ack(
            now=self.now, bytes_acked=acked, rtt=rtt, in_flight=rs.in_flight, in_recovery=False
        )
        self.cc.on_rate_sample(now=self.now, sample=rs)
        return rs


def bbr(seed: int = 1) -> Bbr:
    return Bbr(mss=MSS, initial_window=IW, now=0, seed=seed)


def to_probe_bw(path: Path, rate: int = 1_000_000, rtt: int = 20_000) -> None:
    """STARTUP with a doubling rate, a plateau of three rounds, then an empty queue."""
    r = rate // 16
    while r < rate:
        path.round(rate=r, rtt=rtt)
        r *= 2
    for _ in range(4):
        path.round(rate=rate, rtt=rtt)
    assert state(path.cc) is BbrState.DRAIN
    path.round(rate=rate, rtt=rtt, in_flight=0)
    assert state(path.cc) is BbrState.PROBE_BW


def test_initial_pacing_rate_is_high_gain_times_iw_over_rtt() -> None:
    cc = bbr()
    # No RTT yet: "InitialCwnd / (SRTT ? SRTT : 1ms)".
    assert cc.pacing_rate() == int(HIGH_GAIN * IW * 1000)
    cc.on_ack(now=1, bytes_acked=MSS, rtt=10_000, in_flight=0, in_recovery=False)
    assert cc.pacing_rate() == int(HIGH_GAIN * IW * 100)
    assert state(cc) is BbrState.STARTUP
    assert cc.pacing_gain == cc.cwnd_gain == HIGH_GAIN


def test_startup_grows_while_bandwidth_grows_and_paces_at_high_gain() -> None:
    cc = bbr()
    path = Path(cc)
    rate = 100_000
    for _ in range(6):
        before = cc.cwnd
        rs = path.round(rate=rate, rtt=20_000)
        assert state(cc) is BbrState.STARTUP
        assert cc.btlbw == rate
        assert cc.pacing_rate() >= int(HIGH_GAIN * rate)
        assert cc.cwnd == max(before + rs.newly_acked, 4 * MSS)
        rate *= 2
    assert cc.round_count == 6


def test_three_rounds_without_25_percent_growth_fill_the_pipe_then_drain() -> None:
    cc = bbr()
    path = Path(cc)
    for rate in (100_000, 200_000, 400_000):
        path.round(rate=rate, rtt=20_000)
    path.round(rate=490_000, rtt=20_000)  # +22%: counts as a flat round
    path.round(rate=490_000, rtt=20_000)
    assert state(cc) is BbrState.STARTUP
    assert not cc.filled_pipe
    path.round(rate=490_000, rtt=20_000)
    assert cc.filled_pipe
    assert state(cc) is BbrState.DRAIN
    assert cc.pacing_gain == pytest.approx(DRAIN_GAIN)
    assert cc.pacing_rate() == int(DRAIN_GAIN * 490_000)
    # Leave DRAIN once the flight is down to one BDP.
    path.round(rate=400_000, rtt=20_000, in_flight=cc.inflight(1.0) + 1)
    assert state(cc) is BbrState.DRAIN
    path.round(rate=400_000, rtt=20_000, in_flight=cc.inflight(1.0))
    assert state(cc) is BbrState.PROBE_BW
    assert cc.cwnd_gain == 2.0
    assert cc.pacing_gain in PACING_GAIN_CYCLE
    assert cc.pacing_gain != 0.75  # the cycle never starts in its drain phase


def test_gain_cycle_start_phase_is_seeded_and_never_the_drain_phase() -> None:
    starts = set()
    for seed in range(40):
        cc = bbr(seed)
        to_probe_bw(Path(cc))
        starts.add(cc.cycle_index)
    assert 1 not in starts
    assert len(starts) >= 5
    a, b = bbr(3), bbr(3)
    to_probe_bw(Path(a))
    to_probe_bw(Path(b))
    assert a.cycle_index == b.cycle_index


def test_probe_bw_cycles_gains_once_per_rtprop() -> None:
    cc = bbr()
    path = Path(cc)
    rate, rtt = 1_000_000, 20_000
    to_probe_bw(path, rate, rtt)
    seen = []
    for _ in range(16):
        gain = cc.pacing_gain
        seen.append(gain)
        assert cc.pacing_rate() == int(gain * rate)
        if gain > 1:
            # the probe lasts until inflight reaches 1.25 * BDP
            path.round(rate=rate, rtt=rtt, prior_in_flight=cc.inflight(gain) - 1, advance=rtt + 1)
            assert cc.pacing_gain == gain
            path.round(rate=rate, rtt=rtt, prior_in_flight=cc.inflight(gain), advance=rtt + 1)
        elif gain < 1:
            # the drain phase ends early once inflight is down to one BDP
            path.round(rate=rate, rtt=rtt, prior_in_flight=cc.inflight(1.0), advance=1)
        else:
            path.round(rate=rate, rtt=rtt, advance=rtt // 2)
            assert cc.pacing_gain == gain  # not yet a full RTprop
            path.round(rate=rate, rtt=rtt, advance=rtt // 2 + 1)
    i = PACING_GAIN_CYCLE.index(1.25)
    cycle = list(PACING_GAIN_CYCLE)
    assert "".join(str(g) for g in seen) in "".join(str(g) for g in cycle[i:] + cycle + cycle)
    assert seen.count(1.25) == 2
    assert seen.count(0.75) == 2


def test_probe_bw_cwnd_is_two_bdp_plus_quantization_budget() -> None:
    cc = bbr()
    path = Path(cc)
    rate, rtt = 1_000_000, 20_000
    to_probe_bw(path, rate, rtt)
    for _ in range(20):
        path.round(rate=rate, rtt=rtt)
    bdp = rate * rtt // 1_000_000
    assert cc.bdp() == bdp
    assert cc.send_quantum == 2 * MSS  # 8 Mbit/s is between 1.2 and 24 Mbit/s
    assert cc.cwnd == 2 * bdp + 3 * cc.send_quantum


def test_btlbw_is_the_max_over_ten_rounds() -> None:
    cc = bbr()
    path = Path(cc)
    to_probe_bw(path, 1_000_000, 20_000)
    for _ in range(10):
        path.round(rate=500_000, rtt=20_000)
    assert cc.btlbw == 1_000_000
    path.round(rate=500_000, rtt=20_000)
    path.round(rate=500_000, rtt=20_000)
    assert cc.btlbw == 500_000


def test_app_limited_samples_only_count_when_they_raise_btlbw() -> None:
    cc = bbr()
    path = Path(cc)
    path.round(rate=1_000_000, rtt=20_000)
    path.round(rate=10_000, rtt=20_000, app_limited=True)
    for _ in range(12):
        path.round(rate=10_000, rtt=20_000, app_limited=True)
    assert cc.btlbw == 1_000_000
    path.round(rate=2_000_000, rtt=20_000, app_limited=True)
    assert cc.btlbw == 2_000_000
    # app-limited rounds do not count towards a full pipe
    assert cc.full_bw_count == 0


def test_rtprop_is_the_minimum_rtt() -> None:
    cc = bbr()
    path = Path(cc)
    path.round(rate=1_000_000, rtt=30_000)
    path.round(rate=1_000_000, rtt=20_000)
    path.round(rate=1_000_000, rtt=25_000)
    assert cc.rtprop == 20_000


def test_probe_rtt_after_ten_seconds_without_a_lower_rtt() -> None:
    cc = bbr()
    path = Path(cc)
    rate, rtt = 1_000_000, 20_000
    to_probe_bw(path, rate, rtt)
    stamp = cc.rtprop_stamp
    while path.now <= stamp + 10_000_000:
        path.round(rate=rate, rtt=rtt + 5_000)
        if cc.state is BbrState.PROBE_RTT:
            break
    assert state(cc) is BbrState.PROBE_RTT
    assert path.now > stamp + 10_000_000
    prior = cc.prior_cwnd
    assert prior > 4 * MSS
    assert cc.cwnd == 4 * MSS
    assert cc.pacing_gain == 1.0
    # inflight drains to 4 segments: hold 200 ms and at least one round
    path.round(rate=rate, rtt=rtt, in_flight=4 * MSS, advance=1_000)
    assert cc.probe_rtt_done_stamp == path.now + PROBE_RTT_DURATION
    path.round(rate=rate, rtt=rtt, in_flight=4 * MSS, advance=100_000)
    assert state(cc) is BbrState.PROBE_RTT
    assert cc.cwnd == 4 * MSS
    path.round(rate=rate, rtt=rtt, in_flight=4 * MSS, advance=100_001)
    assert state(cc) is BbrState.PROBE_BW
    assert cc.cwnd >= prior
    assert cc.rtprop == rtt


def test_idle_restart_paces_at_btlbw_and_defers_probe_rtt() -> None:
    cc = bbr()
    path = Path(cc)
    to_probe_bw(path, 1_000_000, 20_000)
    while cc.pacing_gain == 1.0:
        path.round(rate=1_000_000, rtt=20_000, advance=20_001)
    cc.on_packet_sent(now=path.now + 1, bytes_sent=MSS, in_flight=MSS)
    assert cc.idle_restart
    assert cc.pacing_rate() == 1_000_000


def test_recovery_conserves_packets_for_one_round_then_restores_cwnd() -> None:
    cc = bbr()
    path = Path(cc)
    to_probe_bw(path, 1_000_000, 20_000)
    for _ in range(10):
        path.round(rate=1_000_000, rtt=20_000)
    full = cc.cwnd
    cc.on_recovery_start(now=path.now, in_flight=30 * MSS)
    assert cc.packet_conservation
    assert cc.cwnd == 31 * MSS
    # within the round: cwnd = max(cwnd - lost, inflight + acked)
    rs = cc_sample(cc, path, in_flight=20 * MSS, newly_acked=2 * MSS, lost=3 * MSS, new_round=False)
    assert cc.cwnd == max(31 * MSS - 3 * MSS, rs.in_flight + rs.newly_acked)
    # a new round ends packet conservation
    path.round(rate=1_000_000, rtt=20_000)
    assert not cc.packet_conservation
    cc.on_recovery_end(now=path.now, in_flight=cc.cwnd)
    assert cc.cwnd >= full


def cc_sample(
    cc: Bbr, path: Path, *, in_flight: int, newly_acked: int, lost: int, new_round: bool
) -> RateSample:
    rs = path.rs
    rs.prior_delivered = path.delivered - 1 if not new_round else path.delivered
    path.delivered += newly_acked
    rs.total_delivered = path.delivered
    rs.newly_acked = newly_acked
    rs.newly_lost = lost
    rs.in_flight = in_flight
    rs.prior_in_flight = in_flight + newly_acked + lost
    cc.on_rate_sample(now=path.now, sample=rs)
    return rs


def test_timeout_sets_one_segment_and_restores_after_the_flight_is_delivered() -> None:
    cc = bbr()
    path = Path(cc)
    to_probe_bw(path, 1_000_000, 20_000)
    before = cc.cwnd
    cc.on_rto(now=path.now, in_flight=40 * MSS)
    assert cc.cwnd == MSS
    path.round(rate=1_000_000, rtt=20_000)
    path.round(rate=1_000_000, rtt=20_000)
    assert cc.cwnd >= before
    assert not cc.in_recovery


def test_send_quantum_follows_the_pacing_rate() -> None:
    cc = bbr()
    path = Path(cc)
    to_probe_bw(path, 100_000, 20_000)  # 0.8 Mbit/s
    assert cc.send_quantum == MSS
    cc = bbr()
    path = Path(cc)
    to_probe_bw(path, 100_000_000, 20_000)  # 800 Mbit/s
    assert cc.send_quantum == 64 * 1024


def test_registry_creates_bbr_which_wants_rate_samples() -> None:
    cc = create("bbr", mss=MSS, initial_window=IW, now=0)
    assert isinstance(cc, Bbr)
    assert cc.needs_rate_samples
    assert cc.controls_recovery_window
    assert cc.pacing_rate() is not None

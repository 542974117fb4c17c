"""BBR v1 (Cardwell et al., ACM Queue 2016; draft-cardwell-iccrg-bbr-congestion-control-00).

BBR builds a model of the path from delivery-rate samples: BtlBw, the maximum
delivery rate over the last 10 round trips, and RTprop, the minimum RTT over
the last 10 seconds. It paces at ``pacing_gain * BtlBw`` and caps the data in
flight at ``cwnd_gain * BtlBw * RTprop``, cycling the gains through four states:

* STARTUP: gain 2/ln 2 until BtlBw stops growing by 25% for three rounds;
* DRAIN: the inverse gain until the queue STARTUP built is gone;
* PROBE_BW: an eight-phase pacing-gain cycle 5/4, 3/4, 1, 1, 1, 1, 1, 1;
* PROBE_RTT: every 10 s without a new RTprop, 4 segments in flight for 200 ms.

Everything happens in :meth:`Bbr.on_rate_sample`; the loss hooks only apply
packet conservation in recovery and restore the window afterwards. Not
included: v1's long-term bandwidth sampling (policer detection) and the
request to mark ProbeRTT samples application-limited.
"""

from __future__ import annotations

import enum
from typing import Final

from synack.cc.base import INFINITE_SSTHRESH, CongestionControl, RateSample, register
from synack.cc.filters import WindowedMax

__all__ = [
    "BTLBW_FILTER_ROUNDS",
    "DRAIN_GAIN",
    "HIGH_GAIN",
    "PACING_GAIN_CYCLE",
    "PROBE_RTT_DURATION",
    "RTPROP_FILTER_LEN",
    "Bbr",
    "BbrState",
]

# The draft's constants (section 4.x), times in microseconds.
HIGH_GAIN: Final = 2.885  # 2/ln(2): the smallest gain that doubles the rate each round
DRAIN_GAIN: Final = 1 / HIGH_GAIN
PROBE_BW_CWND_GAIN: Final = 2.0
PACING_GAIN_CYCLE: Final = (1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
GAIN_CYCLE_RAND: Final = 6  # BBRCycleRand: the first phase is never the 3/4 drain
BTLBW_FILTER_ROUNDS: Final = 10
RTPROP_FILTER_LEN: Final = 10_000_000
PROBE_RTT_DURATION: Final = 200_000
MIN_PIPE_CWND_SEGMENTS: Final = 4
FULL_BW_THRESH: Final = 1.25
FULL_BW_COUNT: Final = 3
# BBRSetSendQuantum: rate thresholds 1.2 Mbit/s and 24 Mbit/s in octets/s, 64 KB cap.
_QUANTUM_LOW: Final = 150_000
_QUANTUM_HIGH: Final = 3_000_000
_QUANTUM_MAX: Final = 64 * 1024
_US: Final = 1_000_000


class BbrState(enum.Enum):
    """The four states of BBR v1."""

    STARTUP = "startup"
    DRAIN = "drain"
    PROBE_BW = "probe_bw"
    PROBE_RTT = "probe_rtt"


class Bbr(CongestionControl):
    """BBR v1: model-based, paced congestion control (rates in octets per second)."""

    name = "bbr"
    needs_rate_samples = True
    controls_recovery_window = True
    restart_after_idle = False  # BBR paces from its model after idle instead

    def __init__(self, *, mss: int, initial_window: int, now: int, seed: int | None = None) -> None:
        super().__init__(mss=mss, initial_window=initial_window, now=now)
        self.ssthresh = INFINITE_SSTHRESH  # BBR does not use ssthresh
        self.initial_cwnd = initial_window
        self.btlbw_filter = WindowedMax(BTLBW_FILTER_ROUNDS)
        self.rtprop: int | None = None
        self.rtprop_stamp = now
        self.rtprop_expired = False
        self.round_count = 0
        self.round_start = False
        self.next_round_delivered = 0
        self.total_delivered = 0
        self.filled_pipe = False
        self.full_bw = 0
        self.full_bw_count = 0
        self.cycle_index = 0
        self.cycle_stamp = now
        self.probe_rtt_done_stamp: int | None = None
        self.probe_rtt_round_done = False
        self.packet_conservation = False
        self.in_recovery = False
        self.prior_cwnd = 0
        self.idle_restart = False
        self._rto_recover: int | None = None  # total_delivered that ends RTO recovery
        # A deterministic generator for the random start of the gain cycle: the
        # core has no randomness, so derive it from the seed (default: the clock).
        self._rand = (seed if seed is not None else now) & 0xFFFFFFFF
        self.state = BbrState.STARTUP
        self.pacing_gain = HIGH_GAIN
        self.cwnd_gain = HIGH_GAIN
        self._pacing_rate = 0
        self._has_rtt = False
        self.send_quantum = mss
        self._init_pacing_rate(None)

    # ------------------------------------------------------------ the model
    @property
    def btlbw(self) -> int:
        """BtlBw: the windowed-max delivery rate (octets/s; 0 before any sample)."""
        return self.btlbw_filter.value

    def bdp(self) -> int | None:
        """BtlBw * RTprop in octets, or None while either is unknown."""
        bw = self.btlbw_filter.value
        if self.rtprop is None or bw == 0:
            return None
        return bw * self.rtprop // _US

    def inflight(self, gain: float) -> int:
        """BBRInflight(gain): ``gain * BDP + 3 * send_quantum`` (the initial window without a model)."""
        bdp = self.bdp()
        if bdp is None:
            return self.initial_cwnd
        return int(gain * bdp) + 3 * self.send_quantum

    @property
    def min_pipe_cwnd(self) -> int:
        return MIN_PIPE_CWND_SEGMENTS * self.mss

    def pacing_rate(self) -> int:
        return self._pacing_rate

    def pacing_quantum(self) -> int:
        # draft-cardwell-iccrg-bbr-congestion-control 4.2.2: "BBR.send_quantum"
        # is the size of the aggregates the sender schedules and sends together.
        return max(self.send_quantum, self.mss)

    # ------------------------------------------------------------- the hooks
    def on_ack(
        self, *, now: int, bytes_acked: int, rtt: int | None, in_flight: int, in_recovery: bool
    ) -> None:
        if rtt is not None and not self._has_rtt:
            self._init_pacing_rate(rtt)

    def on_rate_sample(self, *, now: int, sample: RateSample) -> None:
        """BBRUpdateOnACK: update the model and state, then pacing rate, quantum, cwnd."""
        rs = sample
        self.total_delivered = rs.total_delivered
        if rs.rtt is not None and not self._has_rtt:
            self._init_pacing_rate(rs.rtt)
        # -- BBRUpdateModelAndState
        self._update_btlbw(rs)
        self._check_cycle_phase(now, rs)
        self._check_full_pipe(rs)
        self._check_drain(now, rs)
        self._update_rtprop(now, rs)
        self._check_probe_rtt(now, rs)
        # -- BBRUpdateControlParameters
        self._set_pacing_rate(self.pacing_gain)
        self._set_send_quantum()
        self._set_cwnd(rs)

    def on_recovery_start(self, *, now: int, in_flight: int) -> None:
        # Packet conservation for the first round of recovery: cwnd = in flight
        # plus what this ACK delivered (at least one segment); the round starts now.
        self.prior_cwnd = self._save_cwnd()
        self.in_recovery = True
        self.packet_conservation = True
        self.next_round_delivered = self.total_delivered
        self.cwnd = in_flight + self.mss

    def on_ecn(self, *, now: int, in_flight: int) -> None:
        # BBR v1 does not react to ECN marks (its model is delivery rate and
        # min RTT); negotiating ECN with it only spares retransmissions.
        return

    def on_recovery_end(self, *, now: int, in_flight: int) -> None:
        self.in_recovery = False
        self.packet_conservation = False
        self._restore_cwnd()

    def on_rto(self, *, now: int, in_flight: int) -> None:
        # On a timeout the window is one segment (RFC 5681 3.1); BBR restores its
        # prior window once everything in flight at the timeout is delivered.
        if self._rto_recover is None:
            self.prior_cwnd = self._save_cwnd()
        self.in_recovery = True
        self.packet_conservation = False
        self._rto_recover = self.total_delivered + in_flight
        self.full_bw = 0
        self.full_bw_count = 0
        self.round_start = True
        self.cwnd = self.mss

    def on_packet_sent(self, *, now: int, bytes_sent: int, in_flight: int) -> None:
        # BBRHandleRestartFromIdle: sending into an empty network after being
        # application-limited; in PROBE_BW pace at exactly BtlBw.
        if in_flight <= bytes_sent:
            self.idle_restart = True
            if self.state is BbrState.PROBE_BW:
                self._set_pacing_rate(1.0)

    # ---------------------------------------------------- model and states
    def _update_btlbw(self, rs: RateSample) -> None:
        self.round_start = False
        if rs.interval <= 0:
            return  # not a valid sample
        # BBRUpdateRound: a round ends when a packet sent after its start is delivered.
        if rs.prior_delivered >= self.next_round_delivered:
            self.next_round_delivered = rs.total_delivered
            self.round_count += 1
            self.round_start = True
            self.packet_conservation = False
        rate = rs.delivery_rate
        # Application-limited samples only count if they raise the estimate.
        if rate >= self.btlbw_filter.value or not rs.is_app_limited:
            self.btlbw_filter.update(self.round_count, rate)
        if self._rto_recover is not None and rs.total_delivered >= self._rto_recover:
            self._rto_recover = None
            self.in_recovery = False
            self._restore_cwnd()

    def _check_cycle_phase(self, now: int, rs: RateSample) -> None:
        if self.state is BbrState.PROBE_BW and self._is_next_cycle_phase(now, rs):
            self._advance_cycle_phase(now)

    def _is_next_cycle_phase(self, now: int, rs: RateSample) -> bool:
        rtprop = self.rtprop if self.rtprop is not None else 0
        is_full_length = now - self.cycle_stamp > rtprop
        gain = self.pacing_gain
        if gain == 1.0:
            return is_full_length
        if gain > 1.0:
            # Probe until a full RTprop passed and either the queue is built
            # (inflight reached gain * BDP) or losses say it cannot be.
            return is_full_length and (
                rs.newly_lost > 0 or rs.prior_in_flight >= self.inflight(gain)
            )
        # Drain phase: done after an RTprop or as soon as the queue is gone.
        return is_full_length or rs.prior_in_flight <= self.inflight(1.0)

    def _advance_cycle_phase(self, now: int) -> None:
        self.cycle_stamp = now
        self.cycle_index = (self.cycle_index + 1) % len(PACING_GAIN_CYCLE)
        self.pacing_gain = PACING_GAIN_CYCLE[self.cycle_index]

    def _check_full_pipe(self, rs: RateSample) -> None:
        if self.filled_pipe or not self.round_start or rs.is_app_limited:
            return
        bw = self.btlbw_filter.value
        if bw >= self.full_bw * FULL_BW_THRESH:
            # Still growing by at least 25% per round: keep going.
            self.full_bw = bw
            self.full_bw_count = 0
            return
        self.full_bw_count += 1
        if self.full_bw_count >= FULL_BW_COUNT:
            self.filled_pipe = True

    def _check_drain(self, now: int, rs: RateSample) -> None:
        if self.state is BbrState.STARTUP and self.filled_pipe:
            self.state = BbrState.DRAIN
            self.pacing_gain = DRAIN_GAIN
            self.cwnd_gain = HIGH_GAIN
        if self.state is BbrState.DRAIN and rs.in_flight <= self.inflight(1.0):
            self._enter_probe_bw(now)

    def _enter_probe_bw(self, now: int) -> None:
        self.state = BbrState.PROBE_BW
        self.pacing_gain = 1.0
        self.cwnd_gain = PROBE_BW_CWND_GAIN
        # "cycle_index = BBRGainCycleLen - 1 - random_int_between(0, BBRCycleRand)",
        # then advance: the first phase is any but the 3/4 one.
        self.cycle_index = len(PACING_GAIN_CYCLE) - 1 - self._random(GAIN_CYCLE_RAND + 1)
        self._advance_cycle_phase(now)

    def _update_rtprop(self, now: int, rs: RateSample) -> None:
        self.rtprop_expired = now > self.rtprop_stamp + RTPROP_FILTER_LEN
        rtt = rs.rtt
        if rtt is not None and (self.rtprop is None or rtt <= self.rtprop or self.rtprop_expired):
            self.rtprop = max(rtt, 1)
            self.rtprop_stamp = now

    def _check_probe_rtt(self, now: int, rs: RateSample) -> None:
        if self.state is not BbrState.PROBE_RTT and self.rtprop_expired and not self.idle_restart:
            self.state = BbrState.PROBE_RTT
            self.pacing_gain = 1.0
            self.cwnd_gain = 1.0
            self.prior_cwnd = self._save_cwnd()
            self.probe_rtt_done_stamp = None
        if self.state is BbrState.PROBE_RTT:
            self._handle_probe_rtt(now, rs)
        self.idle_restart = False

    def _handle_probe_rtt(self, now: int, rs: RateSample) -> None:
        if self.probe_rtt_done_stamp is None and rs.in_flight <= self.min_pipe_cwnd:
            # The flight is down to the minimum: hold it for 200 ms and a round.
            self.probe_rtt_done_stamp = now + PROBE_RTT_DURATION
            self.probe_rtt_round_done = False
            self.next_round_delivered = rs.total_delivered
        elif self.probe_rtt_done_stamp is not None:
            if self.round_start:
                self.probe_rtt_round_done = True
            if self.probe_rtt_round_done and now > self.probe_rtt_done_stamp:
                self.rtprop_stamp = now
                self._restore_cwnd()
                if self.filled_pipe:
                    self._enter_probe_bw(now)
                else:
                    self.state = BbrState.STARTUP
                    self.pacing_gain = HIGH_GAIN
                    self.cwnd_gain = HIGH_GAIN

    # ---------------------------------------------------- control parameters
    def _init_pacing_rate(self, rtt: int | None) -> None:
        # BBRInitPacingRate: "nominal_bandwidth = InitialCwnd / (SRTT ? SRTT : 1ms)".
        if rtt is not None:
            self._has_rtt = True
        srtt = max(rtt, 1) if rtt is not None else 1000
        self._pacing_rate = int(HIGH_GAIN * self.initial_cwnd * _US / srtt)

    def _set_pacing_rate(self, gain: float) -> None:
        bw = self.btlbw_filter.value
        if bw == 0:
            return
        rate = int(gain * bw)
        # Never lower the rate before the pipe is full (STARTUP only raises it).
        if self.filled_pipe or rate > self._pacing_rate:
            self._pacing_rate = rate

    def _set_send_quantum(self) -> None:
        rate = self._pacing_rate
        if rate < _QUANTUM_LOW:
            self.send_quantum = self.mss
        elif rate < _QUANTUM_HIGH:
            self.send_quantum = 2 * self.mss
        else:
            self.send_quantum = min(rate // 1000, _QUANTUM_MAX)

    def _set_cwnd(self, rs: RateSample) -> None:
        target = self.inflight(self.cwnd_gain)
        cwnd = self.cwnd
        # BBRModulateCwndForRecovery
        if rs.newly_lost > 0:
            cwnd = max(cwnd - rs.newly_lost, self.mss)
        if self.packet_conservation:
            cwnd = max(cwnd, rs.in_flight + rs.newly_acked)
        else:
            if self.filled_pipe:
                cwnd = min(cwnd + rs.newly_acked, target)
            elif cwnd < target or rs.total_delivered < self.initial_cwnd:
                cwnd += rs.newly_acked
            cwnd = max(cwnd, self.min_pipe_cwnd)
        # BBRModulateCwndForProbeRTT
        if self.state is BbrState.PROBE_RTT:
            cwnd = min(cwnd, self.min_pipe_cwnd)
        self.cwnd = cwnd

    def _save_cwnd(self) -> int:
        if not self.in_recovery and self.state is not BbrState.PROBE_RTT:
            return self.cwnd
        return max(self.prior_cwnd, self.cwnd)

    def _restore_cwnd(self) -> None:
        self.cwnd = max(self.cwnd, self.prior_cwnd)

    def _random(self, n: int) -> int:
        """A number in ``[0, n)`` from a 32-bit linear congruential generator."""
        self._rand = (self._rand * 1103515245 + 12345) & 0xFFFFFFFF
        return (self._rand >> 16) % n


register("bbr", Bbr)

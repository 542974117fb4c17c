"""CUBIC (RFC 9438): a cubic window-growth function of the time since the last loss.

The window formulas are kept as small pure functions (:func:`cubic_k`,
:func:`w_cubic`, :func:`response_function`) so tests and the validation report
use exactly what the algorithm uses. Loss recovery itself is RFC 6582 / RFC 6675
as for NewReno (RFC 9438 4.2: CUBIC "does not make any changes to the TCP Fast
Recovery and Fast Retransmit algorithms"), hence the subclass.
"""

from __future__ import annotations

from typing import Final

from synack.cc.base import register
from synack.cc.hystart import HyStartPlusPlus
from synack.cc.newreno import NewReno

__all__ = [
    "ALPHA_CUBIC",
    "BETA_CUBIC",
    "C",
    "Cubic",
    "cubic_k",
    "response_function",
    "w_cubic",
]

# RFC 9438 4.6: "The parameter beta_cubic SHOULD be set to 0.7".
BETA_CUBIC: Final = 0.7
# RFC 9438 5.1: "C SHOULD be set to 0.4" (segments / second^3).
C: Final = 0.4
# RFC 9438 4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic).
ALPHA_CUBIC: Final = 3 * (1 - BETA_CUBIC) / (1 + BETA_CUBIC)

_US: Final = 1_000_000


def cubic_k(w_max: float, cwnd_epoch: float, c: float = C) -> float:
    """RFC 9438 4.2 Figure 2: K = cbrt((W_max - cwnd_epoch) / C), in seconds (windows in segments).

    K is 0 when the epoch starts at or above W_max.
    """
    d = w_max - cwnd_epoch
    return (d / c) ** (1 / 3) if d > 0 else 0.0


def w_cubic(t: float, w_max: float, k: float, c: float = C) -> float:
    """RFC 9438 4.2 Figure 1: W_cubic(t) = C * (t - K)^3 + W_max (segments, t in seconds)."""
    d = t - k
    return c * d * d * d + w_max


def response_function(rtt: float, p: float, c: float = C, beta: float = BETA_CUBIC) -> float:
    """RFC 9438 5 Figure 6: CUBIC's average window (segments) for RTT seconds and loss rate p.

    ``(C * (3 + beta) / (4 * (1 - beta)))^(1/4) * RTT^(3/4) / p^(3/4)``, which is
    ``1.054 * RTT^0.75 / p^0.75`` with C = 0.4 and beta = 0.7 (Figure 8). This is
    the cubic region only; the Reno-friendly region (RFC 9438 4.3) takes over
    where Reno's ``sqrt(3 / (2p))`` is larger.
    """
    return float((c * (3 + beta) / (4 * (1 - beta))) ** 0.25 * rtt**0.75 / p**0.75)


class Cubic(NewReno):
    """CUBIC congestion avoidance with HyStart++ slow start (RFC 9438, RFC 9406).

    Windows are octets; the cubic function is evaluated in segments of ``mss``.
    ``fast_convergence`` (RFC 9438 4.7) is on by default: with one flow alone it
    SHOULD be off, with competing flows on.
    """

    name = "cubic"

    def __init__(
        self,
        *,
        mss: int,
        initial_window: int,
        now: int,
        c: float = C,
        beta: float = BETA_CUBIC,
        fast_convergence: bool = True,
        hystart: bool = True,
    ) -> None:
        super().__init__(mss=mss, initial_window=initial_window, now=now)
        self.c = c
        self.beta = beta
        self.alpha_cubic = 3 * (1 - beta) / (1 + beta)
        self.fast_convergence = fast_convergence
        self.hystart: HyStartPlusPlus | None = HyStartPlusPlus(mss) if hystart else None
        # RFC 9438 4.1.2 variables, windows in octets; 0 means "undefined".
        self.w_max = 0.0
        self.cwnd_prior = 0
        self.k = 0.0
        self.t_epoch: int | None = None  # microseconds; None = no CA epoch yet
        self.cwnd_epoch = 0
        self.w_est = 0.0
        self.alpha = self.alpha_cubic
        self.srtt: int | None = None  # own smoothed RTT (RFC 6298 weights), microseconds
        self._frac = 0.0  # fractional octets of cwnd growth not yet applied
        self._last_ack = now
        self._undo: tuple[int, int, int, float, float, int | None, float, int] | None = None

    # ------------------------------------------------------------- the hooks
    def on_ack(
        self, *, now: int, bytes_acked: int, rtt: int | None, in_flight: int, in_recovery: bool
    ) -> None:
        self._last_ack = now
        if rtt is not None:
            srtt = self.srtt
            self.srtt = rtt if srtt is None else srtt + (rtt - srtt) // 8
        if in_recovery:
            super().on_ack(
                now=now, bytes_acked=bytes_acked, rtt=rtt, in_flight=in_flight, in_recovery=True
            )
            return
        cwnd = self.cwnd
        prior_in_flight = in_flight + bytes_acked
        if cwnd < self.ssthresh:
            # Grow only while the window is being used (RFC 9438 4.6 and 5.8, RFC 7661):
            # in slow start the flight may lag cwnd by up to half of it.
            if 2 * prior_in_flight < cwnd:
                return
            hs = self.hystart
            if hs is not None and hs.active:
                self.cwnd = cwnd + hs.on_ack(bytes_acked=bytes_acked, rtt=rtt, in_flight=in_flight)
                if hs.exited:
                    # RFC 9406 4.2: "enter congestion avoidance by setting the ssthresh
                    # to the current cwnd"; RFC 9438 4.10: cwnd_prior = cwnd, and
                    # W_max is undefined (K = 0 at the epoch start).
                    self.ssthresh = self.cwnd
                    self.cwnd_prior = self.cwnd
                    self.w_max = 0.0
                    self.t_epoch = None
                return
            # RFC 5681 3.1 (eq. 2): standard slow start after a timeout.
            self.cwnd = min(cwnd + min(bytes_acked, self.mss), max(self.ssthresh, cwnd))
            return
        if prior_in_flight + self.mss <= cwnd:
            return  # not cwnd-limited: RFC 9438 5.8, do not grow
        self._congestion_avoidance(now, bytes_acked)

    def on_recovery_start(self, *, now: int, in_flight: int) -> None:
        # RFC 9438 4.9.2: remember the state so a spurious loss can be undone.
        self._undo = (
            self.cwnd,
            self.cwnd_prior,
            self.ssthresh,
            self.w_max,
            self.k,
            self.t_epoch,
            self.w_est,
            self.cwnd_epoch,
        )
        self._reduce(in_flight)
        # RFC 5681 3.2 (3) with CUBIC's ssthresh: cwnd = ssthresh + 3*SMSS, then the
        # core's recovery inflates/deflates it (RFC 6582) or PRR shapes it (RFC 6937).
        self.cwnd = self.ssthresh + 3 * self.mss

    def on_recovery_end(self, *, now: int, in_flight: int) -> None:
        super().on_recovery_end(now=now, in_flight=in_flight)
        self.t_epoch = None  # RFC 9438 4.2: a new congestion-avoidance stage begins

    def on_rto(self, *, now: int, in_flight: int) -> None:
        # RFC 9438 4.8: "CUBIC follows Reno to reduce cwnd [RFC5681], but sets
        # ssthresh using beta_cubic"; the next CA stage has K = 0 and W_max = the
        # window at its start, and W_est starts there too.
        self._undo = None
        self._reduce(in_flight)
        self.w_max = 0.0
        self.cwnd = self.mss
        self._acked_in_ca = 0

    def on_packet_sent(self, *, now: int, bytes_sent: int, in_flight: int) -> None:
        # RFC 9438 4.2 / 5.8: "The elapsed time t MUST NOT include periods during
        # which cwnd has not been updated due to application-limited behavior":
        # when sending restarts from an empty network, shift the epoch by the idle time.
        if in_flight <= bytes_sent and self.t_epoch is not None:
            idle = now - self._last_ack
            if idle > 0:
                self.t_epoch = min(self.t_epoch + idle, now)
                self._last_ack = now

    def on_spurious_recovery(self, *, now: int) -> None:
        # RFC 9438 4.9.2: restore the saved state "if the current cwnd is lower
        # than cwnd_prior"; otherwise keep the current values.
        undo = self._undo
        self._undo = None
        if undo is None or self.cwnd >= self.cwnd_prior:
            return
        (
            self.cwnd,
            self.cwnd_prior,
            self.ssthresh,
            self.w_max,
            self.k,
            self.t_epoch,
            self.w_est,
            self.cwnd_epoch,
        ) = undo

    def set_mss(self, mss: int) -> None:
        super().set_mss(mss)
        if self.hystart is not None:
            self.hystart.mss = mss

    # ------------------------------------------------------------- internals
    def _reduce(self, in_flight: int) -> None:
        """RFC 9438 4.6 (Figure 5) and 4.7: multiplicative decrease with fast convergence."""
        if self.hystart is not None:
            self.hystart.on_congestion()
        cwnd = self.cwnd
        if self.fast_convergence and cwnd < self.w_max:
            # "W_max = cwnd * (1 + beta_cubic) / 2": release bandwidth to new flows.
            self.w_max = cwnd * (1 + self.beta) / 2
        else:
            self.w_max = float(cwnd)
        self.cwnd_prior = cwnd
        # "ssthresh = flight_size * beta_cubic", at least 2 MSS.
        self.ssthresh = max(round(in_flight * self.beta), 2 * self.mss)
        self.t_epoch = None
        self.alpha = self.alpha_cubic
        self._frac = 0.0

    def _start_epoch(self, now: int) -> None:
        """The first ACK of a congestion-avoidance stage (RFC 9438 4.2, 4.3, 4.8, 4.10)."""
        cwnd = self.cwnd
        self.t_epoch = now
        self.cwnd_epoch = cwnd
        # "W_est is set equal to cwnd_epoch at the start of the congestion avoidance stage."
        self.w_est = float(cwnd)
        self._frac = 0.0
        if self.w_max <= cwnd:
            # W_max undefined (after a timeout or a HyStart++ exit) or already passed:
            # "K is set to 0, and W_max is set to the congestion window size at the
            # beginning of the current congestion avoidance stage".
            self.w_max = float(cwnd)
            self.k = 0.0
        else:
            mss = self.mss
            self.k = cubic_k(self.w_max / mss, cwnd / mss, self.c)
        if self.cwnd_prior == 0:
            self.cwnd_prior = cwnd

    def _congestion_avoidance(self, now: int, bytes_acked: int) -> None:
        if self.t_epoch is None:
            self._start_epoch(now)
            assert self.t_epoch is not None
        mss = self.mss
        cwnd = self.cwnd
        c_mss = self.c * mss
        w_max = self.w_max
        k = self.k
        t = (now - self.t_epoch) / _US
        # RFC 9438 4.3 Figure 4: W_est += alpha * segments_acked / cwnd (in octets).
        self.w_est += self.alpha * mss * bytes_acked / cwnd
        if self.w_est >= self.cwnd_prior:
            # "the sender SHOULD set alpha_cubic to 1" once W_est reaches cwnd_prior.
            self.alpha = 1.0
        d = t - k
        cubic_now = c_mss * d * d * d + w_max
        if cubic_now < self.w_est:
            # Reno-friendly region: "cwnd SHOULD be set to W_est".
            est = int(self.w_est)
            if est > cwnd:
                self.cwnd = est
            return
        # Concave / convex region (RFC 9438 4.4, 4.5): target = W_cubic(t + RTT),
        # bounded to [cwnd, 1.5 * cwnd]; cwnd += (target - cwnd) / cwnd per segment.
        d += (self.srtt or 0) / _US
        target = c_mss * d * d * d + w_max
        if target < cwnd:
            return
        if target > 1.5 * cwnd:
            target = 1.5 * cwnd
        frac = self._frac + (target - cwnd) * bytes_acked / cwnd
        whole = int(frac)
        self._frac = frac - whole
        self.cwnd = cwnd + whole


register("cubic", Cubic)

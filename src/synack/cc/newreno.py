"""NewReno: RFC 5681 slow start and congestion avoidance with RFC 6582 fast recovery."""

from __future__ import annotations

from synack.cc.base import CongestionControl, register

__all__ = ["NewReno"]


class NewReno(CongestionControl):
    """The standard TCP congestion control (RFC 5681 3.1-3.2, RFC 6582 3.2)."""

    name = "newreno"

    def __init__(self, *, mss: int, initial_window: int, now: int) -> None:
        super().__init__(mss=mss, initial_window=initial_window, now=now)
        self._acked_in_ca = 0
        self._prior: tuple[int, int] | None = None  # (cwnd, ssthresh) before the last decrease

    def on_ack(
        self, *, now: int, bytes_acked: int, rtt: int | None, in_flight: int, in_recovery: bool
    ) -> None:
        if in_recovery:
            # RFC 6582 3.2 (5) partial ACK: "deflate the congestion window by the
            # amount of new data acknowledged by the cumulative acknowledgment field.
            # If the partial ACK acknowledges at least one SMSS of new data, then add
            # back SMSS bytes to the congestion window."
            cwnd = max(self.cwnd - bytes_acked, 0)
            if bytes_acked >= self.mss:
                cwnd += self.mss
            self.cwnd = max(cwnd, self.mss)
            return
        if self.cwnd < self.ssthresh:
            # RFC 5681 3.1 (eq. 2): cwnd += min (N, SMSS) per ACK in slow start.
            self.cwnd += min(bytes_acked, self.mss)
        else:
            # RFC 5681 3.1 (eq. 3), byte-counting form: one SMSS per cwnd of ACKed data.
            self._acked_in_ca += bytes_acked
            if self._acked_in_ca >= self.cwnd:
                self._acked_in_ca -= self.cwnd
                self.cwnd += self.mss

    def on_duplicate_ack(self, *, now: int, in_flight: int, in_recovery: bool) -> None:
        if in_recovery:
            # RFC 5681 3.2 (4): inflate cwnd by SMSS for each further duplicate ACK.
            self.cwnd += self.mss

    def on_recovery_start(self, *, now: int, in_flight: int) -> None:
        self._prior = (self.cwnd, self.ssthresh)
        # RFC 5681 3.2 (2): ssthresh = max (FlightSize / 2, 2*SMSS) (eq. 4);
        # (3): cwnd = ssthresh + 3*SMSS.
        self.ssthresh = max(in_flight // 2, 2 * self.mss)
        self.cwnd = self.ssthresh + 3 * self.mss

    def on_recovery_end(self, *, now: int, in_flight: int) -> None:
        # RFC 6582 3.2 (6) full ACK, option 1: cwnd = min (ssthresh, FlightSize + SMSS).
        self.cwnd = min(self.ssthresh, max(in_flight, self.mss) + self.mss)
        self._acked_in_ca = 0

    def on_spurious_recovery(self, *, now: int) -> None:
        # RFC 4015 3.2 (the Eifel response, here to a loss RFC 3708's D-SACK test
        # found spurious): restore the window the decrease took away.
        prior = self._prior
        self._prior = None
        if prior is not None and self.cwnd < prior[0]:
            self.cwnd, self.ssthresh = prior
            self._acked_in_ca = 0

    def on_rto(self, *, now: int, in_flight: int) -> None:
        # RFC 5681 3.1 (eq. 4) and "Loss Window": cwnd = 1 full-sized segment.
        self._prior = None
        self.ssthresh = max(in_flight // 2, 2 * self.mss)
        self.cwnd = self.mss
        self._acked_in_ca = 0


register("newreno", NewReno)
register("reno", NewReno)

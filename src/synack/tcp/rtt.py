"""Round-trip time estimation and the retransmission timeout (RFC 6298)."""

from __future__ import annotations

__all__ = ["RttEstimator"]

# RFC 6298 (2.3): alpha = 1/8, beta = 1/4, K = 4.
_K = 4
# RFC 6298 (2): G, the clock granularity; ours is one microsecond.
_G = 1


class RttEstimator:
    """SRTT, RTTVAR and RTO in integer microseconds, with exponential backoff."""

    __slots__ = ("backoff", "max_rto", "min_rto", "rto", "rttvar", "srtt")

    def __init__(self, initial_rto: int, min_rto: int, max_rto: int) -> None:
        self.srtt: int | None = None
        self.rttvar: int | None = None
        self.min_rto = min_rto
        self.max_rto = max_rto
        # RFC 6298 (2.1): "Until a round-trip time (RTT) measurement has been made
        # ... the sender SHOULD set RTO <- 1 second". Configurable via Config.
        self.rto = (
            max(min(initial_rto, max_rto), min_rto) if initial_rto >= min_rto else initial_rto
        )
        self.backoff = 0

    def sample(self, r: int, expected_samples: int = 1) -> None:
        """Take one RTT measurement ``r`` (microseconds; never from a retransmission).

        ``expected_samples`` > 1 when samples come from every ACK (RFC 7323 RTTM):
        RFC 7323 Appendix G divides alpha and beta by the samples expected per RTT.
        """
        r = max(r, 1)
        if self.srtt is None or self.rttvar is None:
            # RFC 6298 (2.2): SRTT <- R, RTTVAR <- R/2.
            self.srtt = r
            self.rttvar = r // 2
        elif expected_samples > 1:
            # RFC 7323 Appendix G: alpha' = alpha / ExpectedSamples,
            # beta' = beta / ExpectedSamples.
            err = abs(self.srtt - r)
            self.rttvar += (err - self.rttvar) // (4 * expected_samples)
            self.srtt += (r - self.srtt) // (8 * expected_samples)
        else:
            # RFC 6298 (2.3): RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,
            # then SRTT <- (1 - alpha) * SRTT + alpha * R'.
            self.rttvar = (3 * self.rttvar + abs(self.srtt - r)) // 4
            self.srtt = (7 * self.srtt + r) // 8
        # RFC 6298 (2.2/2.3): RTO <- SRTT + max (G, K*RTTVAR), then (2.4)/(2.5) bounds.
        self.rto = min(max(self.srtt + max(_G, _K * self.rttvar), self.min_rto), self.max_rto)
        self.backoff = 0

    def back_off(self) -> None:
        """RFC 6298 (5.5): "set RTO <- RTO * 2 ("back off the timer")", capped (2.5)."""
        self.rto = min(self.rto * 2, self.max_rto)
        self.backoff += 1

"""HyStart++ (RFC 9406): a slow start that leaves early when the RTT starts to grow.

:class:`HyStartPlusPlus` is a helper any window-based algorithm can embed: call
:meth:`HyStartPlusPlus.on_ack` for each ACK while ``cwnd < ssthresh`` and add the
returned increase to ``cwnd``; when :attr:`HyStartPlusPlus.exited` turns true the
algorithm sets ``ssthresh = cwnd`` and enters congestion avoidance (RFC 9406 4.2).
:class:`RoundCounter` detects round trips from acknowledged octets, without
sequence numbers.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "CSS_GROWTH_DIVISOR",
    "CSS_ROUNDS",
    "MAX_RTT_THRESH",
    "MIN_RTT_DIVISOR",
    "MIN_RTT_THRESH",
    "NON_PACED_L",
    "N_RTT_SAMPLE",
    "HyStartPhase",
    "HyStartPlusPlus",
    "RoundCounter",
]

# RFC 9406 4.3, the recommended constants (times in microseconds).
MIN_RTT_THRESH: Final = 4_000
MAX_RTT_THRESH: Final = 16_000
MIN_RTT_DIVISOR: Final = 8
N_RTT_SAMPLE: Final = 8
CSS_GROWTH_DIVISOR: Final = 4
CSS_ROUNDS: Final = 5
# RFC 9406 4.2: "L = infinity if paced, L = 8 if non-paced".
NON_PACED_L: Final = 8

_INF: Final = 1 << 62


class RoundCounter:
    """Round trips measured in acknowledged octets (the "windowEnd" of RFC 9406 4.2).

    A round ends when every octet that was in flight when it began has been
    acknowledged; that is the sequence-number rule "an ACK at or beyond
    windowEnd = SND.NXT" counted in octets, so it needs no sequence space.
    """

    __slots__ = ("acked", "count", "round_end")

    def __init__(self) -> None:
        self.acked = 0
        self.round_end = 0
        self.count = 0

    def on_ack(self, bytes_acked: int, in_flight: int) -> bool:
        """Count ``bytes_acked``; True if this ACK starts a new round.

        ``in_flight`` is measured after the ACK and before anything new is sent.
        """
        self.acked += bytes_acked
        if self.acked >= self.round_end:
            self.round_end = self.acked + in_flight
            self.count += 1
            return True
        return False


class HyStartPhase(enum.Enum):
    """Where HyStart++ is: RFC 9406 slow start, Conservative Slow Start, or finished."""

    SLOW_START = "slow_start"
    CSS = "css"
    DONE = "done"


class HyStartPlusPlus:
    """The HyStart++ state machine of RFC 9406 4.2, in octets and microseconds."""

    __slots__ = (
        "_css_remainder",
        "_css_rounds",
        "_limit",
        "css_baseline_min_rtt",
        "current_round_min_rtt",
        "exited",
        "last_round_min_rtt",
        "mss",
        "phase",
        "rounds",
        "rtt_sample_count",
    )

    def __init__(self, mss: int, *, paced: bool = False) -> None:
        self.mss = mss
        self._limit = _INF if paced else NON_PACED_L
        self.phase = HyStartPhase.SLOW_START
        self.exited = False
        """True once CSS ran its CSS_ROUNDS: the caller sets ``ssthresh = cwnd``."""
        self.rounds = RoundCounter()
        # RFC 9406 4.2: "lastRoundMinRTT = infinity, currentRoundMinRTT = infinity,
        # cssBaselineMinRtt = infinity, rttSampleCount = 0".
        self.last_round_min_rtt = _INF
        self.current_round_min_rtt = _INF
        self.css_baseline_min_rtt = _INF
        self.rtt_sample_count = 0
        self._css_rounds = 0
        self._css_remainder = 0

    @property
    def active(self) -> bool:
        """Still in the initial slow start or in CSS."""
        return self.phase is not HyStartPhase.DONE

    def on_congestion(self) -> None:
        """RFC 9406 4.2: loss or ECN in slow start or CSS ends HyStart++ for good.

        RFC 9406 4.4: later slow starts (after an RTO) use standard slow start.
        """
        self.phase = HyStartPhase.DONE

    def on_ack(self, *, bytes_acked: int, rtt: int | None, in_flight: int) -> int:
        """One ACK in slow start or CSS; return the cwnd increase in octets."""
        if self.phase is HyStartPhase.DONE:
            return 0
        if self.rounds.on_ack(bytes_acked, in_flight) and self._new_round():
            return 0
        if rtt is not None:
            # "Keep track of the minimum observed RTT".
            if rtt < self.current_round_min_rtt:
                self.current_round_min_rtt = rtt
            self.rtt_sample_count += 1
        limit = self._limit
        increase = bytes_acked if limit == _INF else min(bytes_acked, limit * self.mss)
        if self.phase is HyStartPhase.SLOW_START:
            if (
                self.rtt_sample_count >= N_RTT_SAMPLE
                and self.current_round_min_rtt != _INF
                and self.last_round_min_rtt != _INF
            ):
                # "RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT /
                # MIN_RTT_DIVISOR, MAX_RTT_THRESH))"
                thresh = max(
                    MIN_RTT_THRESH, min(self.last_round_min_rtt // MIN_RTT_DIVISOR, MAX_RTT_THRESH)
                )
                if self.current_round_min_rtt >= self.last_round_min_rtt + thresh:
                    # "cssBaselineMinRtt = currentRoundMinRTT; exit slow start and enter CSS".
                    self.css_baseline_min_rtt = self.current_round_min_rtt
                    self.phase = HyStartPhase.CSS
                    # "If the transition into CSS happens in the middle of a round,
                    # that partial round counts towards the limit."
                    self._css_rounds = 1
                    self._css_remainder = 0
            return increase
        # CSS: "cwnd = cwnd + (min(N, L * SMSS) / CSS_GROWTH_DIVISOR)".
        if (
            self.rtt_sample_count >= N_RTT_SAMPLE
            and self.current_round_min_rtt < self.css_baseline_min_rtt
        ):
            # "the current round's minRTT drops below baseline indicating that slow
            # start exit was spurious": resume slow start.
            self.css_baseline_min_rtt = _INF
            self.phase = HyStartPhase.SLOW_START
            return increase
        total = increase + self._css_remainder
        self._css_remainder = total % CSS_GROWTH_DIVISOR
        return total // CSS_GROWTH_DIVISOR

    def _new_round(self) -> bool:
        """Start a round; True if that completed CSS (HyStart++ is over)."""
        # RFC 9406 4.2: "At the start of each round during standard slow start and
        # CSS, initialize the variables used to compute the last round's and
        # current round's minimum RTT".
        self.last_round_min_rtt = self.current_round_min_rtt
        self.current_round_min_rtt = _INF
        self.rtt_sample_count = 0
        if self.phase is HyStartPhase.CSS:
            if self._css_rounds >= CSS_ROUNDS:
                # "If CSS_ROUNDS rounds are complete, enter congestion avoidance by
                # setting the ssthresh to the current cwnd."
                self.phase = HyStartPhase.DONE
                self.exited = True
                return True
            self._css_rounds += 1
        return False

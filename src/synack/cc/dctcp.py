"""DCTCP (RFC 8257): a window cut in proportion to the fraction of bytes marked CE.

A DCTCP sender needs a network that marks at a shallow, instantaneous threshold
(a step at K packets: :class:`synack.sim.aqm.StepMark`) and a receiver that
echoes each CE mark on the ACK of exactly that data (RFC 8257 3.2: the core does
so when the receiving connection's algorithm sets :attr:`echo_every_ce`). Once
per window of data it updates the estimate ``alpha`` of the fraction of bytes
that were marked, and once per window in which marks arrive it cuts the window
to ``cwnd * (1 - alpha / 2)``: a little for light congestion, half (like Reno)
when every byte was marked. Losses are handled as by NewReno (RFC 8257 3.5).
"""

from __future__ import annotations

from synack.cc.base import register
from synack.cc.newreno import NewReno

__all__ = ["DEFAULT_G", "Dctcp"]

DEFAULT_G = 1 / 16
"""The estimation gain g of RFC 8257 3.3, at the value it recommends (Linux: shift 4)."""


class Dctcp(NewReno):
    """DCTCP congestion control (RFC 8257 3.3-3.5) over NewReno's loss response."""

    name = "dctcp"
    needs_ecn_feedback = True
    echo_every_ce = True

    def __init__(self, *, mss: int, initial_window: int, now: int, g: float = DEFAULT_G) -> None:
        super().__init__(mss=mss, initial_window=initial_window, now=now)
        if not 0 < g <= 1:
            raise ValueError(f"DCTCP gain g must be in (0, 1], got {g}")
        self.g = g
        # alpha starts at 1, the conservative choice Linux makes: the first
        # marks halve the window, as a classic ECN sender would.
        self.alpha = 1.0
        self._bytes_acked = 0
        self._bytes_marked = 0
        self._window_end = 0

    def on_ecn_feedback(
        self, *, now: int, bytes_acked: int, ece: bool, delivered: int, sent: int
    ) -> None:
        # RFC 8257 3.3 steps 1-8: count the octets acknowledged in this
        # observation window and those whose ACK carried ECE.
        self._bytes_acked += bytes_acked
        if ece:
            self._bytes_marked += bytes_acked
        if delivered <= self._window_end:
            return
        # The window (the data outstanding when it began) is acknowledged:
        # alpha = (1 - g) * alpha + g * M / A, and a new window starts.
        if self._bytes_acked:
            fraction = self._bytes_marked / self._bytes_acked
            self.alpha = (1 - self.g) * self.alpha + self.g * fraction
        self._bytes_acked = 0
        self._bytes_marked = 0
        self._window_end = sent

    def on_ecn(self, *, now: int, in_flight: int) -> None:
        # RFC 8257 3.3 step 9: cwnd = cwnd * (1 - alpha / 2), at most once per
        # window (the core calls this at most once per window), never below
        # two segments; ssthresh follows (a reduced window is left in
        # congestion avoidance).
        self.cwnd = max(int(self.cwnd * (1 - self.alpha / 2)), 2 * self.mss)
        self.ssthresh = self.cwnd


register("dctcp", Dctcp)

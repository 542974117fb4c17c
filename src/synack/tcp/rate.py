"""Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation), for model-based CC.

Each transmitted :class:`~synack.tcp.sack.TxSeg` remembers how much had been
delivered when it left; when it is delivered (cumulatively or by SACK) the
difference over the elapsed time is a rate sample. The one
:class:`~synack.cc.base.RateSample` is reused for every ACK.
"""

from __future__ import annotations

from synack.cc.base import RateSample
from synack.tcp.sack import TxSeg

__all__ = ["RateEstimator"]


class RateEstimator:
    """The connection-level state of the draft's section 3.1 and the per-ACK sample."""

    __slots__ = (
        "_ack_elapsed",
        "_have_prior",
        "_prior_xmit",
        "_send_elapsed",
        "app_limited",
        "delivered",
        "delivered_time",
        "first_sent_time",
        "lost",
        "sample",
    )

    def __init__(self) -> None:
        self.delivered = 0  # C.delivered
        self.delivered_time = 0  # C.delivered_time
        self.first_sent_time = 0  # C.first_sent_time
        self.app_limited = 0  # C.app_limited: 0, or the delivered mark it lasts until
        self.lost = 0
        self.sample = RateSample()
        self._have_prior = False
        self._prior_xmit = 0
        self._send_elapsed = 0
        self._ack_elapsed = 0

    def on_sent(self, seg: TxSeg, now: int, pipe_before: int) -> None:
        """Section 3.2 "Transmitting a data packet": stamp ``seg`` (new or retransmitted)."""
        if pipe_before == 0:
            # "If there are no packets in flight yet, then we can start the
            # delivery rate interval at the current time."
            self.first_sent_time = now
            self.delivered_time = now
        seg.first_sent = self.first_sent_time
        seg.delivered_time = self.delivered_time
        seg.delivered = self.delivered
        seg.app_limited = self.app_limited != 0

    def mark_app_limited(self, pipe: int) -> None:
        """Section 3.4: the application has nothing more to send and the window is open."""
        self.app_limited = max(self.delivered + pipe, 1)

    def start_ack(self, prior_in_flight: int) -> RateSample:
        """Begin the sample for one ACK."""
        rs = self.sample
        rs.prior_delivered = 0
        rs.newly_acked = 0
        rs.newly_lost = 0
        rs.rtt = None
        rs.is_app_limited = False
        rs.prior_in_flight = prior_in_flight
        self._have_prior = False
        return rs

    def on_delivered(self, seg: TxSeg, now: int) -> None:
        """Section 3.3 "Upon receiving an ACK", for each newly delivered segment."""
        if seg.delivered_time < 0:
            return  # delivered before (SACKed, now cumulatively acknowledged)
        size = seg.end - seg.start
        self.delivered += size
        self.delivered_time = now
        rs = self.sample
        rs.newly_acked += size
        # Take the most recently sent packet as the sample's start.
        if (
            not self._have_prior
            or seg.delivered > rs.prior_delivered
            or (seg.delivered == rs.prior_delivered and seg.xmit > self._prior_xmit)
        ):
            rs.prior_delivered = seg.delivered
            self._have_prior = True
            self._prior_xmit = seg.xmit
            rs.is_app_limited = seg.app_limited
            self._send_elapsed = seg.xmit - seg.first_sent
            self._ack_elapsed = self.delivered_time - seg.delivered_time
            self.first_sent_time = seg.xmit
        seg.delivered_time = -1  # "mark the packet as delivered once it's SACKed"

    def finish_ack(self, in_flight: int, min_rtt: int | None) -> RateSample:
        """Complete the sample: ``delivered / max(send_elapsed, ack_elapsed)``."""
        rs = self.sample
        rs.total_delivered = self.delivered
        rs.total_lost = self.lost
        rs.in_flight = in_flight
        if self.app_limited and self.delivered > self.app_limited:
            self.app_limited = 0  # "Clear app-limited field if bubble is ACKed and gone"
        if not self._have_prior:
            rs.interval = 0
            rs.delivered = 0
            rs.delivery_rate = 0
            return rs
        rs.delivered = self.delivered - rs.prior_delivered
        interval = max(self._send_elapsed, self._ack_elapsed)
        # "Normally we expect interval >= MinRTT. Note that rate may still be
        # over-estimated when a spuriously retransmitted skb was first (s)acked."
        if interval <= 0 or (min_rtt is not None and interval < min_rtt):
            rs.interval = 0
            rs.delivery_rate = 0
            return rs
        rs.interval = interval
        rs.delivery_rate = rs.delivered * 1_000_000 // interval
        return rs

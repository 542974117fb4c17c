"""The ECN signal's two ends in TCP (RFC 3168 6.1), as small state machines the core drives.

:class:`EcnReceiver` decides the ECN-Echo (ECE) bit of the ACKs a data receiver
sends: RFC 3168 6.1.3's "ECE on every ACK from a CE-marked packet until a CWR
arrives", or, for DCTCP (RFC 8257 3.2), ECE mirroring exactly whether the data
being acknowledged was marked. :class:`EcnSender` decides when a data sender
reacts to ECE (at most once per window of data, RFC 3168 6.1.2) and when its
next new data segment carries Congestion Window Reduced (CWR). Both count in
plain octet totals (``delivered``, ``sent``: no sequence-number wrap) and know
nothing of segments or timers: the connection asks them and acts.
"""

from __future__ import annotations

__all__ = ["EcnReceiver", "EcnSender"]


class EcnReceiver:
    """The ECE bit a data receiver puts on its ACKs.

    Call :meth:`on_segment` for every acceptable segment, before building the
    ACK it may owe; read :attr:`ece` when building an ACK.
    """

    __slots__ = ("_ce_state", "ece", "echo_every_ce")

    def __init__(self, *, echo_every_ce: bool = False) -> None:
        self.echo_every_ce = echo_every_ce
        self.ece = False
        """Set ECE on the ACKs sent from now on."""
        self._ce_state = False

    def changes_state(self, *, ce: bool, has_data: bool) -> bool:
        """Whether this segment flips the DCTCP CE state (always False for RFC 3168).

        Asked *before* :meth:`on_segment`: while it is True, :attr:`ece` still
        holds the prior state, which is what an ACK still owed for the data
        that arrived before this segment must carry (RFC 8257 3.2). The
        connection sends that ACK first, so that each ACK covers only data of
        one CE state and the sender's count of marked octets is exact.
        """
        return self.echo_every_ce and has_data and ce != self._ce_state

    def on_segment(self, *, ce: bool, cwr: bool, has_data: bool) -> bool:
        """A segment arrived (``ce``: its IP header was marked CE). True: ACK it at once.

        RFC 3168 6.1.3: a CWR ends the echo; a CE mark (on the same segment
        too) starts it again, and it lasts until the next CWR. With
        ``echo_every_ce`` (RFC 8257 3.2) ECE follows each data segment's mark:
        "If the CE codepoint is set and DCTCP.CE is false, set DCTCP.CE to
        true and send an immediate ACK", and the same for a change back to
        not set. (The ACK owed for data before the change is the caller's:
        see :meth:`changes_state`.)
        """
        if self.echo_every_ce:
            if not has_data:
                return False
            changed = ce != self._ce_state
            self._ce_state = ce
            self.ece = ce
            return changed
        if cwr:
            self.ece = False
        if ce:
            newly = not self.ece
            self.ece = True
            # An ACK now tells the sender sooner (RFC 3168 6.1.3 leaves ACK
            # timing alone; an immediate ACK costs one segment per episode).
            return newly
        return False


class EcnSender:
    """When a data sender reacts to ECE and marks a segment CWR.

    :meth:`on_ack` is given each ACK's ECE bit and the octet totals; it says
    whether to reduce the window now. :meth:`take_cwr` is called for each new
    data segment leaving and says whether that segment carries CWR.
    """

    __slots__ = ("_cwr_pending", "_losses_seen", "_react_after", "reactions")

    def __init__(self) -> None:
        self._react_after = -1
        self._cwr_pending = False
        self._losses_seen = 0
        self.reactions = 0
        """How many times the sender has reduced its window for ECE."""

    def on_ack(self, *, ece: bool, delivered: int, sent: int, in_recovery: bool) -> bool:
        """True when this ACK's ECE is a new congestion signal (reduce ``cwnd`` now).

        RFC 3168 6.1.2: the sender reacts at most once per window of data: after
        a reduction it ignores ECE until the data outstanding at that moment
        (up to ``sent``) is acknowledged. During loss recovery the window has
        just been reduced for the same congestion: ECE then starts no new
        reduction (but the window it covers is remembered).
        """
        if not ece or delivered <= self._react_after:
            return False
        self._react_after = sent
        self._cwr_pending = True  # RFC 3168 6.1.2: CWR goes on the next new data segment
        if in_recovery:
            return False
        self.reactions += 1
        return True

    def queue_cwr(self) -> None:
        """The window was reduced for another reason (a lost SYN): CWR on the next new data."""
        self._cwr_pending = True

    def take_cwr(self, losses: int = 0) -> bool:
        """A new data segment is leaving: whether it carries CWR (once per reduction).

        ``losses`` counts the window reductions for loss so far (fast recovery,
        RTO): RFC 3168 6.1.2, "When an ECN-Capable TCP sender reduces its
        congestion window for any reason (because of a retransmit timeout, a
        Fast Retransmit, or in response to an ECN Notification), the TCP sender
        sets the CWR flag in the TCP header of the first new data packet sent
        after the window reduction."
        """
        if losses != self._losses_seen:
            self._losses_seen = losses
            self._cwr_pending = True
        if self._cwr_pending:
            self._cwr_pending = False
            return True
        return False

    @property
    def cwr_pending(self) -> bool:
        return self._cwr_pending

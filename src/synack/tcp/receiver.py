"""The receive half of a connection: RCV.NXT, RCV.WND, RCV.UP and what hangs on them (RFC 9293 3.3.1).

A :class:`Receiver` owns the receive sequence variables and everything that
depends only on them: the read buffer and the reassembly queue, the
acceptability test (RFC 9293 3.10.7.4 "first"), PAWS and TS.Recent (RFC 7323
4.3, 5.3), segment text and the peer's FIN (3.10.7.4 seventh and eighth),
urgent data (3.8.5), the window it advertises with receiver-side SWS avoidance
(3.8.6.2.2), the SACK blocks it reports (RFC 2018 4, RFC 2883), when an ACK is
owed (delayed ACKs, 3.8.6.3) and the rate limit of challenge ACKs (RFC 5961 7).

It never sends: it says when an ACK is owed (:attr:`Receiver.ack_now`, or a
:data:`TEXT_ACK` result) and gives the fields every outgoing segment carries
(:meth:`Receiver.advertise`, :meth:`Receiver.sack_option`). The connection
decides what happens to the segment as a whole, and the sender builds segments.

Received data is tracked by *unwrapped* stream offsets (``rcv_abs`` is RCV.NXT's)
for the reassembly queue and SACK blocks; sequence numbers are compared only
with :mod:`synack.wire.seq`.
"""

from __future__ import annotations

from typing import Final

from synack.cc.ecn import EcnReceiver
from synack.tcp.config import Config
from synack.tcp.events import DataReceived, PeerClosed, Reporter, UrgentData
from synack.tcp.negotiated import Negotiated
from synack.tcp.reasons import TcpDropReason
from synack.tcp.reassembly import REFUSED, Reassembler
from synack.tcp.sack import SackReceiver
from synack.tcp.timers import TimerSet
from synack.tcp.timestamps import TimestampState
from synack.wire.seq import MASK, add, between, gt, sub
from synack.wire.tcp import FIN, RST, Sack, Segment

__all__ = [
    "INVALID_ACK_INTERVAL",
    "TEXT_ACK",
    "TEXT_FIN",
    "ChallengeBudget",
    "Receiver",
    "segment_acceptable",
]

TEXT_ACK: Final = 1
"""From :meth:`Receiver.on_text`: an ACK should go out now (one per such segment)."""
TEXT_FIN: Final = 2
"""From :meth:`Receiver.on_text`: the peer's FIN is in order; RCV.NXT has passed it."""

ONE_SECOND: Final = 1_000_000
INVALID_ACK_INTERVAL: Final = 500_000
"""Unacceptable or PAWS-failed segments without data get at most one ACK per this
interval: Linux's net.ipv4.tcp_invalid_ratelimit (RFC 5961 7 asks for a limit)."""


def segment_acceptable(rcv_nxt: int, rcv_wnd: int, seq: int, seg_len: int) -> bool:
    """RFC 9293 3.10.7.4 "first": the four cases of segment acceptability.

    ====== ======= =========================================================
    SEG.LEN RCV.WND test
    ====== ======= =========================================================
    0      0       SEG.SEQ = RCV.NXT
    0      >0      RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
    >0     0       not acceptable
    >0     >0      RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND, or
                   RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
    ====== ======= =========================================================
    """
    if seg_len == 0:
        if rcv_wnd == 0:
            return seq == rcv_nxt
        return between(rcv_nxt, seq, add(rcv_nxt, rcv_wnd))
    if rcv_wnd == 0:
        return False
    end = add(rcv_nxt, rcv_wnd)
    return between(rcv_nxt, seq, end) or between(rcv_nxt, add(seq, seg_len - 1), end)


class ChallengeBudget:
    """RFC 5961 7's rate limit of challenge ACKs: a count in a window of one second."""

    __slots__ = ("count", "start")

    def __init__(self) -> None:
        self.start = -ONE_SECOND
        self.count = 0

    def allowed(self, now: int, limit: int) -> bool:
        """Spend one challenge ACK at ``now`` if fewer than ``limit`` went in this second."""
        if now - self.start >= ONE_SECOND:
            self.start = now
            self.count = 0
        if self.count >= limit:
            return False
        self.count += 1
        return True


class Receiver:
    """RCV.NXT, RCV.WND, RCV.UP, IRS and the received data of one connection.

    ``report`` counts and traces; ``timers`` holds the delayed-ACK deadline;
    ``ts`` is the connection's Timestamps state (TS.Recent lives there).
    """

    # fmt: off
    __slots__ = (
        "_sws_floor", "ack_now", "ack_pending", "challenge", "config", "ecn", "eff_snd_mss",
        "invalid_ack_at", "irs", "last_ack_sent", "neg", "peer_closed", "peer_fin_abs", "rcv_abs",
        "rcv_adv", "rcv_nxt", "rcv_up", "ready", "reasm", "report", "sack", "timers", "ts",
    )
    # fmt: on

    def __init__(
        self,
        config: Config,
        neg: Negotiated,
        timers: TimerSet,
        ts: TimestampState,
        report: Reporter,
        challenge: ChallengeBudget | None = None,
    ) -> None:
        self.config = config
        self.neg = neg
        self.timers = timers
        self.ts = ts
        self.report = report
        # -- receive sequence variables (RFC 9293 3.3.1) -----------------------
        self.irs = 0
        self.rcv_nxt = 0
        # RCV.UP, the first octet after the peer's urgent data, while any is unread;
        # None otherwise (a stale RCV.UP 2**31 behind would compare as ahead).
        self.rcv_up: int | None = None
        self.rcv_adv = 0  # right edge of the window we last advertised
        self.rcv_abs = 0  # unwrapped stream offset of RCV.NXT
        self.eff_snd_mss = 536  # Eff.snd.MSS (RFC 9293 3.8.6.2.2): see configure()
        self._sws_floor = 0
        self.configure(config, self.eff_snd_mss)
        self.ready = bytearray()  # in-order data waiting for read()
        # Data held out of order; made when some arrives (most connections never
        # see any, and an idle TCB stays small).
        self.reasm: Reassembler | None = None
        self.sack = SackReceiver()
        self.peer_fin_abs: int | None = None  # offset of an out-of-order FIN
        self.peer_closed = False
        # -- acknowledgments ------------------------------------------------------
        self.ack_now = False  # an ACK is owed: it goes with the next flush
        self.ecn: EcnReceiver | None = None  # the ECE we echo, once ECN is agreed (RFC 3168)
        self.ack_pending = 0  # full segments received since our last ACK
        self.last_ack_sent = 0  # RFC 7323 4.3 Last.ACK.sent
        # One budget per connection, unless the endpoint shares one (Config.challenge_ack_per_host).
        self.challenge = challenge if challenge is not None else ChallengeBudget()
        self.invalid_ack_at = -INVALID_ACK_INTERVAL  # when we last answered an invalid segment

    def configure(self, config: Config, eff_snd_mss: int) -> None:
        """New settings, or a new effective send MSS (the path's, less options)."""
        self.config = config
        self.eff_snd_mss = eff_snd_mss
        # RFC 9293 3.8.6.2.2: min(Fr * RCV.BUFF, Eff.snd.MSS), Fr = 1/2.
        self._sws_floor = min(config.recv_buffer // 2, eff_snd_mss)

    def accept_syn(self, seg: Segment, neg: Negotiated, now: int) -> None:
        """The peer's SYN: IRS and RCV.NXT from it (RFC 9293 3.10.7.2-3), TS.Recent (RFC 7323 3.2)."""
        self.neg = neg
        self.irs = seg.seq
        self.rcv_nxt = add(seg.seq, 1)
        self.rcv_up = None
        # The right edge our SYN or SYN-ACK offers: its window is never scaled
        # (RFC 7323 2.2), so at most 65,535 octets whatever the buffer.
        self.rcv_adv = add(self.rcv_nxt, min(self.config.recv_buffer, 0xFFFF))
        tso = seg.timestamps
        if neg.timestamps and tso is not None:
            self.ts.set_recent(tso.tsval, now)

    # ------------------------------------------------------------- the window
    @property
    def rcv_wnd(self) -> int:
        """RCV.WND: buffer space not taken by data waiting to be read.

        Never less than what was advertised: with window scaling the advertised
        right edge is rounded up (so it never moves left, RFC 7323 2.4), which
        can promise up to 2**shift - 1 octets beyond the buffer; they are taken.
        """
        free = self.config.recv_buffer - len(self.ready)
        promised = self.advertised_window
        return free if free > promised else promised

    @property
    def advertised_window(self) -> int:
        """RCV.WND as the peer knows it: from RCV.NXT to the right edge last advertised.

        Acceptability is judged against this, not the buffer behind it: a blind
        guess must fall inside what the peer was told (RFC 9293 3.10.7.4, RFC
        5961 3), and out-of-order data is kept only inside it.
        """
        adv = sub(self.rcv_adv, self.rcv_nxt)
        return adv if adv > 0 else 0

    @property
    def available(self) -> int:
        """Octets :meth:`read` would return now."""
        return len(self.ready)

    def advertise(self, *, syn: bool = False) -> int:
        """The window field of a segment carrying ACK = RCV.NXT, about to be sent.

        Receiver-side SWS avoidance (RFC 9293 3.8.6.2.2): the right edge moves
        only in steps of at least min(RCV.BUFF/2, Eff.snd.MSS), and never left
        (SHLD-14, RFC 7323 2.4). A SYN-ACK's window (``syn``) is never scaled
        (RFC 7323 2.2). Records the ACK as sent: nothing is owed any more.
        """
        rcv_nxt = self.rcv_nxt
        if syn:
            field = self.syn_window()
        else:
            space = self.config.recv_buffer - len(self.ready)
            cur = self.advertised_window
            shift = self.neg.rcv_wscale
            # Keep at least the old edge, rounded up to the scale's unit.
            keep = (cur + (1 << shift) - 1) >> shift
            field = keep
            # "The suggested SWS avoidance algorithm for the receiver is to keep
            # RCV.NXT+RCV.WND fixed until the reduction satisfies RCV.BUFF - RCV.USER
            # - RCV.WND >= min(Fr * RCV.BUFF, Eff.snd.MSS)" with Fr = 1/2.
            if space - cur >= self._sws_floor and space >> shift > keep:
                field = space >> shift
            if field > 0xFFFF:
                field = 0xFFFF
            self.rcv_adv = (rcv_nxt + (field << shift)) & MASK
        self.last_ack_sent = rcv_nxt
        self.ack_now = False
        self.ack_pending = 0
        self.timers.delack = None
        return field

    def syn_window(self) -> int:
        """The window of our SYN or SYN-ACK: RFC 7323 2.2, never scaled."""
        return min(self.rcv_wnd, 0xFFFF)

    @property
    def ack_owed(self) -> bool:
        """An ACK is due or held back (delayed) for data already received."""
        return self.ack_now or self.ack_pending > 0

    def on_delack_timeout(self) -> None:
        """The delayed-ACK timer fired: send what it held back."""
        if self.ack_pending or self.ack_now:
            self.ack_now = True
            self.report.counters["delayed_ack"] += 1

    def sack_option(self, limit: int) -> Sack | None:
        """The SACK option for the next segment, with at most ``limit`` blocks, or None.

        RFC 2018 3-4: blocks while data (or a FIN) is held out of order, and a
        D-SACK block once after a duplicate (RFC 2883).
        """
        reasm = self.reasm
        fin = self.peer_fin_abs
        if limit <= 0 or (reasm is None and self.sack.dsack is None and fin is None):
            return None
        return self.sack.option(self.rcv_nxt, self.rcv_abs, reasm, limit, fin)

    # ---------------------------------------------------------- acceptability
    def acceptable(self, seg: Segment) -> bool:
        """RFC 9293 3.10.7.4 "first" for ``seg`` (see :func:`segment_acceptable`)."""
        rcv_nxt = self.rcv_nxt
        if seg.seq == rcv_nxt and (seg.seg_len == 0 or sub(self.rcv_adv, rcv_nxt) > 0):
            # Fast path: the next segment in order is acceptable unless it carries
            # data into a closed window. Measured in BENCHMARKS.md;
            # tests/tcp/test_receiver.py checks with Hypothesis that it agrees with
            # segment_acceptable().
            return True
        return segment_acceptable(rcv_nxt, self.advertised_window, seg.seq, seg.seg_len)

    def screen(self, seg: Segment, now: int, *, paws: bool = True) -> TcpDropReason | None:
        """PAWS (RFC 7323 5.3) and the sequence-number check: None if ``seg`` goes on.

        A dropped segment gets its reason back: ``missing_timestamp``, ``paws``
        or ``out_of_window`` (the caller owes an ACK, rate-limited, after the
        allowances it makes), or ``rst_out_of_window``. ``paws=False`` skips the
        PAWS test (for an ACK the caller found exempt). A duplicate's octets
        are noted for a D-SACK block (RFC 2883 4). Takes TS.Recent from an
        acceptable segment (RFC 7323 4.3).
        """
        fl = seg.flags
        ts = self.ts
        tso = None
        if ts.enabled and not fl & RST:
            # RFC 7323 3.2: "If a non-<RST> segment is received without a TSopt, a
            # TCP SHOULD silently drop the segment."
            tso = seg.timestamps
            if tso is None:
                return "missing_timestamp"
            # RFC 7323 5.3 R1 (PAWS): "If ... SEG.TSval < TS.Recent and if TS.Recent
            # is valid ..., then treat the arriving segment as not acceptable: Send
            # an acknowledgment in reply ... and drop the segment."
            tsval = tso.tsval
            if paws and tsval != ts.ts_recent and ts.paws_rejects(tsval, now):
                # An old copy of data we already hold (the original of a segment
                # whose retransmission overtook it, or a network duplicate): the
                # sender learns of it only from a D-SACK (RFC 2883 4 (1) reports
                # "duplicate segments", whatever made them unacceptable), which
                # undoes a spurious retransmission's window cut (RFC 3708) and
                # widens RACK's reordering window (RFC 8985 6.2 step 4). Linux's
                # tcp_send_dupack does the same for a PAWS-rejected segment.
                self._note_duplicate(seg)
                return "paws"
        if not self.acceptable(seg):
            if fl & RST:
                return "rst_out_of_window"
            self._note_duplicate(seg)
            return "out_of_window"
        if tso is not None:
            # RFC 7323 4.3 (1) and 5.3 R3: "If SEG.TSval >= TS.Recent and SEG.SEQ =<
            # Last.ACK.sent", remember the peer's TSval for our TSecr.
            ts.update_recent(tso.tsval, seg.seq, self.last_ack_sent, now)
        return None

    def _note_duplicate(self, seg: Segment) -> None:
        """RFC 2883 4 (1): data below RCV.NXT goes into the next ACK's D-SACK block."""
        if seg.payload and self.neg.sack and self.config.dsack:
            off = sub(seg.seq, self.rcv_nxt)
            if off < 0:
                end = min(off + len(seg.payload), 0)
                self.sack.note_duplicate(self.rcv_abs + off, self.rcv_abs + end)

    def invalid_ack_allowed(self, now: int) -> bool:
        """At most one ACK per :data:`INVALID_ACK_INTERVAL` answers invalid segments without data."""
        if now - self.invalid_ack_at >= INVALID_ACK_INTERVAL:
            self.invalid_ack_at = now
            return True
        return False

    def challenge_allowed(self, now: int) -> bool:
        """RFC 5961 7: at most ``challenge_ack_limit`` challenge ACKs per second."""
        return self.challenge.allowed(now, self.config.challenge_ack_limit)

    # ------------------------------------------------------------ urgent data
    def on_urgent(self, seg: Segment) -> None:
        """RFC 9293 3.10.7.4 sixth and 3.8.5: track RCV.UP and tell the user."""
        # MUST-62: the urgent pointer points to the first non-urgent octet.
        up = add(seg.seq, seg.urgent)
        rcv_up = self.rcv_up
        if not gt(up, self._read_point()):
            return  # urgent octets the user has read already: nothing new to signal
        if rcv_up is None or gt(up, rcv_up):
            # "If the URG bit is set, RCV.UP <- max(RCV.UP,SEG.UP), and signal the user
            # that the remote side has urgent data if the urgent pointer (RCV.UP) is in
            # advance of the data consumed" (MUST-32). RCV.UP is None once that data
            # is read (see read()): the comparison is always within half the space.
            self.rcv_up = up
            self.report.counters["urgent"] += 1
            self.report.event(UrgentData(self.urgent_pending))

    @property
    def urgent_pending(self) -> int:
        """Octets of urgent data not yet read (MUST-33); 0 if none."""
        rcv_up = self.rcv_up
        if rcv_up is None:
            return 0
        return max(0, sub(rcv_up, self._read_point()))

    def _read_point(self) -> int:
        """The sequence number of the next octet :meth:`read` returns."""
        return add(self.rcv_nxt, -len(self.ready))

    # ---------------------------------------------------------- segment text
    def on_text(self, seg: Segment, seq: int, now: int) -> int:
        """RFC 9293 3.10.7.4 seventh (segment text) and eighth (FIN), in a state that takes text.

        ``seq`` is the sequence number of the first payload octet (after a
        SYN). Returns :data:`TEXT_ACK` and :data:`TEXT_FIN` bits.
        """
        payload = seg.payload
        fin = bool(seg.flags & FIN)
        cfg = self.config
        ack = False
        off = sub(seq, self.rcv_nxt)
        sack = self.neg.sack
        if off < 0:
            if sack and payload and cfg.dsack:
                # RFC 2883 4 (1): the old part is a duplicate: report it (D-SACK).
                end = min(off + len(payload), 0)
                self.sack.note_duplicate(self.rcv_abs + off, self.rcv_abs + end)
                ack = True
            # Trim octets we already have ("trimmed to the window" and duplicates).
            cut = -off
            if cut > len(payload):
                fin = False  # even the FIN is old
            payload = payload[cut:]
            off = 0
        fin_abs = self.peer_fin_abs
        if fin_abs is not None:
            # A FIN is held out of order: it is where the peer's data ends (RFC 9293
            # 3.10.7.4 eighth). Octets beyond it are not the peer's stream, and a FIN
            # elsewhere contradicts it (a broken or hostile peer): neither is kept,
            # else they would carry RCV.NXT past the FIN, which would never be taken.
            limit = fin_abs - self.rcv_abs
            if fin and off + len(payload) != limit:
                fin = False
                self.report.counters["fin_moved"] += 1
            if off + len(payload) > limit:
                payload = payload[: max(0, limit - off)]
                self.report.counters["trimmed_after_fin"] += 1
        end = off + len(payload)
        if off:
            # RFC 9293 3.10.7.4: out-of-order data is kept only inside the window
            # we advertised, whatever the buffer could take: the queue stays within
            # what the peer may send, and nothing beyond it is SACKed.
            wnd = self.advertised_window
            beyond = end > wnd
        else:
            # In order: RCV.WND is never less than the free buffer, so it is only
            # worth computing when the data does not fit the buffer.
            beyond = end > cfg.recv_buffer - len(self.ready) and end > (wnd := self.rcv_wnd)
        if beyond:
            # Data beyond the window is not stored; a FIN after it is dropped too.
            self.report.counters["trimmed_beyond_window"] += 1
            payload = payload[: max(0, wnd - off)]
            fin = False
        if fin:
            self.peer_fin_abs = self.rcv_abs + off + len(payload)
        if payload:
            if off == 0:
                reasm = self.reasm
                self._deliver(payload)
                if reasm is not None:
                    self._pull_reassembled(reasm)
                    # RFC 5681 4.2: ACK immediately when a segment fills a hole.
                    ack = True
                else:
                    self.ack_pending += 1
                    if self.ack_pending >= 2 or cfg.delayed_ack == 0:
                        # RFC 9293 3.8.6.3 (SHLD-19): ACK at least every second full
                        # segment; sent now, so a driver that hands us a burst of
                        # segments at once still gets one ACK per two (no stretch ACKs).
                        ack = True
                    elif self.timers.delack is None:
                        # RFC 9293 3.8.6.3 (MUST-40): the delay is under 0.5 s.
                        self.timers.delack = now + cfg.delayed_ack
            else:
                start = self.rcv_abs + off
                reasm = self.reasm
                if reasm is None:
                    reasm = self.reasm = Reassembler()
                added = reasm.insert(start, payload)
                self.report.counters["out_of_order"] += 1
                if added == REFUSED:
                    # The out-of-order queue holds as many ranges as it may: the
                    # segment is not kept (nor SACKed); the sender will resend it.
                    self.report.drop(now, "ooo_queue_full")
                elif sack:
                    # RFC 2018 4: the first block reports the one holding this segment;
                    # RFC 2883 4: a D-SACK block before it if all of it was held already.
                    r = reasm.containing(start)
                    if r is not None:
                        self.sack.note_received(r)
                    if not added and cfg.dsack:
                        self.sack.note_duplicate(start, start + len(payload))
                # RFC 5681 4.2: each out-of-order segment triggers an immediate
                # duplicate ACK (the sender counts them for fast retransmit).
                ack = True
        elif off and (fin or seg.seg_len):
            ack = True
        result = TEXT_ACK if ack else 0
        if self.peer_fin_abs is not None:
            if self.peer_fin_abs == self.rcv_abs:
                self._on_fin()
                result |= TEXT_FIN
            else:
                result |= TEXT_ACK  # an out-of-order FIN: duplicate ACK
        return result

    def _deliver(self, data: bytes) -> None:
        ready = self.ready
        ready += data
        n = len(data)
        self.rcv_nxt = (self.rcv_nxt + n) & MASK
        self.rcv_abs += n
        self.report.event(DataReceived(len(ready)))

    def _pull_reassembled(self, reasm: Reassembler) -> None:
        """The queue's data that is now in order joins the read buffer."""
        reasm.discard_before(self.rcv_abs)
        while True:
            chunk = reasm.pop_ready(self.rcv_abs)
            if not chunk:
                break
            self.ready += chunk
            self.rcv_nxt = add(self.rcv_nxt, len(chunk))
            self.rcv_abs += len(chunk)
        if not reasm.size:
            self.reasm = None  # nothing held out of order any more
        self.report.event(DataReceived(len(self.ready)))

    def _on_fin(self) -> None:
        # RFC 9293 3.10.7.4 eighth: "advance RCV.NXT over the FIN, and send an
        # acknowledgment for the FIN ... signal the user 'connection closing'".
        self.peer_fin_abs = None
        self.rcv_nxt = add(self.rcv_nxt, 1)
        self.rcv_adv = add(self.rcv_adv, 1)  # the FIN takes sequence space, not buffer
        self.rcv_abs += 1
        self.ack_now = True
        self.peer_closed = True
        self.report.event(PeerClosed())

    # ------------------------------------------------------------- user reads
    def read(self, max_bytes: int, window_update: bool) -> bytes:
        """RECEIVE (RFC 9293 3.10.3): up to ``max_bytes`` in-order octets (all if negative).

        With ``window_update``, owe an ACK when reading moved the right edge
        the peer may use by enough to matter (RFC 9293 3.8.6.2.2).
        """
        ready = self.ready
        if not ready:
            return b""
        cur = self.advertised_window
        # How far the right edge could move now, before and after the read.
        before = self.config.recv_buffer - len(ready) - cur
        if max_bytes < 0 or max_bytes >= len(ready):
            data = bytes(ready)
            ready.clear()
        else:
            data = bytes(ready[:max_bytes])
            del ready[:max_bytes]
        rcv_up = self.rcv_up
        if rcv_up is not None and not gt(rcv_up, self._read_point()):
            # RFC 9293 3.8.5: the urgent data is consumed; RCV.UP is forgotten so that
            # it never lags the stream by 2**31 octets (modulo 2**32 it would then
            # look ahead again: MUST-33's "in advance of the data consumed").
            self.rcv_up = None
        if window_update:
            gain = before + len(data)
            threshold = self._sws_floor
            if gain >= threshold > before and (cur < threshold or gain >= cur):
                self.ack_now = True
        return data

"""Loss detection and recovery for the sender, and the congestion-control calls they drive.

One :class:`Recovery` per connection holds the SACK scoreboard and decides,
for every ACK, which segments are lost and how much may be sent:

* without SACK: RFC 5681 fast retransmit with RFC 6582 NewReno fast recovery
  and RFC 3042 limited transmit, exactly as before SACK;
* with SACK: RFC 6675 recovery (pipe, NextSeg) with loss detected by RACK
  (RFC 8985 6, the default) or by RFC 6675 IsLost, tail losses probed by TLP
  (RFC 8985 7), and the window during recovery shaped by PRR (RFC 6937);
* on RTO, every un-SACKed segment is marked lost and resent in order (the
  go-back-N of RFC 6298 5.4 without resending what the receiver holds).

Offsets are unwrapped sequence offsets (see :mod:`synack.tcp.sack`); times are
integer microseconds. The connection sends what :meth:`Recovery.next_retransmission`
and :meth:`Recovery.send_room` allow and reports every transmission back.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from synack.cc.base import CongestionControl, RateSample
from synack.tcp.rate import RateEstimator
from synack.tcp.reasons import RetransmitReason
from synack.tcp.sack import EVER_RETRANS, LOST, RETRANS, SACKED, Scoreboard, TxSeg
from synack.tcp.timestamps import TimestampState
from synack.wire.seq import lt

__all__ = ["DUPTHRESH", "WCDELACKT", "Recovery"]

# RFC 5681 3.2 / RFC 6675 2: DupThresh.
DUPTHRESH: Final = 3
# RFC 8985 7.2: "WCDelAckT stands for worst case delayed ACK timer ... 200 ms".
WCDELACKT: Final = 200_000
# RFC 8985 7.2: without an RTT sample the PTO is one second.
PTO_NO_RTT: Final = 1_000_000
# RFC 8985 6.2 step 4: the reordering window persists for 16 D-SACK-free recoveries.
REO_WND_PERSIST: Final = 16
# Retransmissions of one recovery episode remembered for undo (RFC 3708).
MAX_UNDO_RANGES: Final = 64


_SCRATCH: list[TxSeg] = []


def _minus(left: int, right: int, done: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[left, right)`` less the ranges in ``done``: the parts not yet walked."""
    parts = [(left, right)]
    for dl, dr in done:
        if dr <= left or dl >= right:
            continue
        nxt = []
        for a, b in parts:
            if dr <= a or dl >= b:
                nxt.append((a, b))
                continue
            if a < dl:
                nxt.append((a, dl))
            if dr < b:
                nxt.append((dr, b))
        parts = nxt
    return parts  # the segments one ACK delivered (reused: the core is single-threaded)


class Recovery:
    """The sender's loss detection, recovery state and scoreboard.

    ``sack`` says whether SACK was negotiated; ``rack`` (RACK-TLP), ``prr`` and
    ``limited_transmit`` are the configuration switches. ``ts`` is the
    connection's timestamp state when the option is in use (RACK uses TSecr to
    tell which transmission an ACK answers).
    """

    __slots__ = (
        "_eifel_start",
        "_eifel_ts",
        "_sack_cache",
        "_tq",
        "_tq_head",
        "_undo_ranges",
        "_undo_retrans",
        "_undo_sent",
        "cc",
        "cc_on_sent",
        "cc_paces",
        "counters",
        "dsack_round",
        "dupacks",
        "force_rtx",
        "in_recovery",
        "limited_transmit",
        "min_rtt",
        "mss",
        "prr",
        "prr_delivered",
        "prr_out",
        "rack",
        "rack_fack",
        "rack_order",
        "rack_rtt",
        "rack_xmit",
        "rate",
        "recover",
        "recover_fs",
        "reductions",
        "reo_delay",
        "reo_wnd_mult",
        "reo_wnd_persist",
        "reordering_seen",
        "rto_recovery",
        "rtt_sample",
        "sack",
        "sb",
        "tlp_end",
        "tlp_is_retrans",
        "ts",
    )

    def __init__(
        self,
        cc: CongestionControl,
        *,
        mss: int,
        sack: bool,
        rack: bool,
        prr: bool,
        limited_transmit: bool,
        counters: Counter[str],
        ts: TimestampState | None = None,
    ) -> None:
        self.cc = cc
        # Skip the per-segment hook for algorithms that do not override it.
        self.cc_on_sent = type(cc).on_packet_sent is not CongestionControl.on_packet_sent
        self.cc_paces = type(cc).pacing_rate is not CongestionControl.pacing_rate
        self.mss = mss
        self.sack = sack
        self.rack = rack and sack  # RFC 8985 2: RACK-TLP requires SACK
        self.prr = prr and not cc.controls_recovery_window
        self.limited_transmit = limited_transmit
        self.counters = counters
        self.ts = ts
        self.sb = Scoreboard()
        self.rate: RateEstimator | None = RateEstimator() if cc.needs_rate_samples else None
        # -- recovery state (RFC 6582 "recover", RFC 6675 "RecoveryPoint") ----
        self.in_recovery = False
        self.rto_recovery = False  # after an RTO, until the flight at the RTO is acked
        self.recover = -1  # the ISS: "recover" starts there (RFC 6582 3.2 (1))
        self.dupacks = 0
        self.reductions = 0  # window reductions for loss so far (for ECN's CWR, RFC 3168 6.1.2)
        self.force_rtx = 0  # retransmissions allowed now regardless of cwnd
        self._undo_retrans = -1  # RFC 3708: retransmissions of the episode not yet D-SACKed
        self._undo_ranges: list[tuple[int, int]] = []  # ... and what they covered
        self._undo_sent = 0  # retransmissions of the episode (undo needs at least one)
        # RFC 3522 (Eifel detection): the TSval of the episode's first retransmission
        # and where that segment starts, until the first ACK that covers it.
        self._eifel_ts: int | None = None
        self._eifel_start = 0
        # -- RFC 6937 PRR ----------------------------------------------------
        self.prr_delivered = 0
        self.prr_out = 0
        self.recover_fs = 0
        # -- RFC 8985 RACK ---------------------------------------------------
        self.rack_xmit = -1
        self.rack_order = 0
        self.rack_rtt = 0
        self.rack_fack = 0
        self.min_rtt: int | None = None
        self.reordering_seen = False
        self.reo_wnd_mult = 1
        self.reo_wnd_persist = 0
        self.dsack_round: int | None = None
        self._sack_cache: list[tuple[int, int]] = []  # the blocks the last ACK carried
        self._tq: list[tuple[TxSeg, int]] = []  # (segment, order): transmissions in order ...
        self._tq_head = 0  # ... from this index on
        # -- RFC 8985 TLP ----------------------------------------------------
        self.tlp_end: int | None = None
        self.tlp_is_retrans = False
        # -- per-ACK results ---------------------------------------------------
        self.rtt_sample: int | None = None  # newest never-retransmitted delivered segment
        self.reo_delay = 0  # after an ACK: when RACK's next segment becomes overdue

    # ================================================================ queries
    @property
    def pipe(self) -> int:
        """RFC 6675 SetPipe (FlightSize when there is no SACK and no loss marked)."""
        return self.sb.pipe

    @property
    def flight_size(self) -> int:
        """RFC 5681 FlightSize: octets sent and not cumulatively acknowledged."""
        return self.sb.nxt - self.sb.una

    @property
    def reduction_base(self) -> int:
        """The FlightSize a multiplicative decrease starts from: at most cwnd.

        With SACK, data stays below HighData after the receiver has it (SACKed)
        or the network has dropped it; under heavy loss FlightSize then exceeds
        anything cwnd ever allowed in flight, and halving it would leave ssthresh
        above the path's capacity (Linux reduces from cwnd for the same reason).
        """
        return min(self.sb.nxt - self.sb.una, self.cc.cwnd)

    def send_room(self) -> int:
        """Octets cwnd allows beyond ``pipe`` now (RFC 3042 adds up to 2 SMSS on dupacks)."""
        room = self.cc.cwnd - self.sb.pipe
        if (
            self.limited_transmit
            and not self.sack
            and not self.in_recovery
            and 0 < self.dupacks < DUPTHRESH
        ):
            # RFC 3042 2: new data on each of the first two duplicate ACKs, if
            # "the amount of outstanding data would remain less than or equal to
            # the congestion window plus 2*SMSS".
            room += self.dupacks * self.mss
        return room

    def next_retransmission(self) -> TxSeg | None:
        """RFC 6675 NextSeg (1): the lowest lost segment not yet retransmitted."""
        return self.sb.next_lost()

    def may_retransmit(self, size: int) -> bool:
        """True if a retransmission of ``size`` octets fits the window now."""
        return self.force_rtx > 0 or self.sb.pipe + size <= self.cc.cwnd

    def tlp_allowed(self) -> bool:
        """RFC 8985 7.2: a probe may be scheduled (SACK, open state, data out, none pending)."""
        return (
            self.rack
            and not self.in_recovery
            and not self.rto_recovery
            and self.tlp_end is None
            and self.sb.nxt > self.sb.una
        )

    def pto(self, srtt: int | None) -> int:
        """RFC 8985 7.2 TLP_calc_PTO, before the cap at the RTO deadline."""
        if srtt is None:
            return PTO_NO_RTT
        pto = 2 * srtt
        if self.sb.nxt - self.sb.una <= self.mss:
            pto += WCDELACKT  # the lone segment's ACK may be delayed
        return pto

    # ========================================================= transmissions
    def on_send(self, start: int, end: int, fin: bool, now: int) -> TxSeg:
        """New data ``[start, end)`` left (``end`` includes a FIN)."""
        seg = TxSeg(start, end, now, fin)
        rate = self.rate
        if rate is not None:
            rate.on_sent(seg, now, self.sb.pipe)
        self.sb.add(seg)
        if self.rack:
            self._tq.append((seg, seg.order))
        if self.in_recovery:
            self.prr_out += end - start
        return seg

    def on_retransmit(self, seg: TxSeg, now: int) -> None:
        """``seg`` was sent again (fast retransmit, NextSeg, RTO recovery or a TLP)."""
        rate = self.rate
        if rate is not None:
            rate.on_sent(seg, now, self.sb.pipe)
        self.sb.on_retransmit(seg, now)
        if self.rack:
            self._tq.append((seg, seg.order))
        if self.force_rtx > 0:
            self.force_rtx -= 1
        if self.in_recovery:
            self.prr_out += seg.end - seg.start
            if self._undo_sent == 0 and self._undo_retrans == 0 and self.ts is not None:
                self._eifel_ts = self.ts.tsval(now)
                self._eifel_start = seg.start
            if self._undo_retrans >= 0:
                if len(self._undo_ranges) < MAX_UNDO_RANGES:
                    self._undo_retrans += 1
                    self._undo_sent += 1
                    self._undo_ranges.append((seg.start, seg.end))
                else:
                    self._undo_retrans = -1  # too many to track: no undo this time

    def on_tlp(self, *, retransmission: bool) -> None:
        """RFC 8985 7.3: a probe was sent; TLP.end_seq = SND.NXT."""
        self.tlp_end = self.sb.nxt
        self.tlp_is_retrans = retransmission
        self.counters["tlp"] += 1

    def mark_app_limited(self) -> None:
        """The sender ran out of data with window to spare (delivery-rate estimation 3.4)."""
        if self.rate is not None and self.sb.next_lost() is None:
            self.rate.mark_app_limited(self.sb.pipe)

    # ================================================================== ACKs
    def on_ack(
        self,
        now: int,
        ack: int,
        blocks: list[tuple[int, int]],
        *,
        dupack: bool,
        tsecr: int | None,
        srtt: int | None,
        max_wnd: int = 1 << 30,
    ) -> int:
        """Process one acceptable ACK (``ack`` and ``blocks`` in unwrapped offsets).

        ``dupack`` is RFC 5681's definition, from the connection; ``max_wnd`` the
        largest window the peer offered (MAX.SND.WND), which bounds how far below
        SND.UNA a D-SACK block may lie. Calls the congestion controller. Returns
        the octets newly acknowledged cumulatively.
        """
        sb = self.sb
        cc = self.cc
        prior_una = sb.una
        prior_sacked = sb.sacked
        prior_pipe = sb.pipe
        rate = self.rate
        rs: RateSample | None = rate.start_ack(prior_pipe) if rate is not None else None
        delivered = _SCRATCH
        delivered.clear()
        self.rtt_sample = None
        self.reo_delay = 0
        # -- the cumulative ACK, then SACK blocks (RFC 2018 4, RFC 2883 4): the
        # delivered segments are listed in ascending order, as RACK's reordering
        # detection wants them (RFC 8985 6.2 step 3).
        acked = 0
        if ack > prior_una:
            sb.advance(ack, delivered)
            acked = ack - prior_una
            if self.rto_recovery and ack >= self.recover:
                self.rto_recovery = False
                self._exit_rack_recovery()
        n_cum = len(delivered)
        if self._eifel_ts is not None and ack > self._eifel_start:
            self._eifel_check(now, tsecr)
        dsack: tuple[int, int] | None = None
        if blocks:
            l0, r0 = blocks[0]
            first = 0
            if r0 <= ack or (len(blocks) > 1 and blocks[1][0] <= l0 and r0 <= blocks[1][1]):
                # RFC 2883 4: a first block below the cumulative ACK, or inside the
                # second block, reports a duplicate (D-SACK).
                first = 1
                if _dsack_valid(l0, r0, sb.una, sb.nxt, max_wnd):
                    dsack = (l0, r0)
                    self.counters["dsack_received"] += 1
                else:
                    self.counters["drop.sack_block_invalid"] += 1
            cache = self._sack_cache
            valid = []
            for left, right in sorted(blocks[first:] if first else blocks):
                if left >= right or right > sb.nxt or left < sb.una - (1 << 30):
                    self.counters["drop.sack_block_invalid"] += 1
                    continue
                valid.append((left, right))
                # Walk only the parts of the block the previous ACK did not report
                # (as Linux's SACK cache does): a block that grows by one segment
                # per ACK costs one segment, not the whole block, each time.
                for part in _minus(left, right, cache):
                    sb.sack(left, right, delivered, part)
            self._sack_cache = valid
        newly_sacked = len(delivered) - n_cum
        # -- per delivered segment: RTT, delivery rate, RACK (RFC 8985 6.2 (2)-(3))
        newest_xmit = -1
        rack = self.rack
        for i, s in enumerate(delivered):
            if i < n_cum and s.flags & SACKED:
                continue  # SACKed earlier: delivered back then
            if rate is not None:
                rate.on_delivered(s, now)
            if not s.flags & EVER_RETRANS and s.xmit > newest_xmit:
                newest_xmit = s.xmit
            if rack:
                # RFC 8985 6.2 step 2 tests TSecr against a retransmission; an ACK only
                # SACKing a segment echoes an older TSval (RFC 7323 4.3: TS.Recent moves
                # only for a segment at the left window edge), so the test would take
                # every SACK of a retransmission for the original. Linux (tcp_rack_advance)
                # keeps only the min_rtt test; here TSecr is used for cumulative ACKs.
                self._rack_update(s, now, tsecr if i < n_cum else None)
        if newest_xmit >= 0:
            r = now - newest_xmit
            self.rtt_sample = r
            if self.min_rtt is None or r < self.min_rtt:
                self.min_rtt = r
        delivered.clear()
        if dsack is not None:
            self._on_dsack(dsack, now)
        self._tlp_on_ack(ack, acked, dsack, bool(blocks), now)
        # -- loss detection ------------------------------------------------------
        if dupack:
            self.counters["dupack"] += 1
        if self.sack:
            if ack == prior_una and newly_sacked and sb.nxt > sb.una:
                self.dupacks += 1  # RFC 6675 2: a duplicate ACK brings new SACK information
            elif acked:
                self.dupacks = 0
            lost_before = sb.lost
            if rack:
                self.reo_delay = self._rack_detect_loss(now, srtt, "rack")
            else:
                self._mark_lost_rfc6675()
            if rs is not None:
                rs.newly_lost = sb.lost - lost_before
                if rate is not None:
                    rate.lost += max(rs.newly_lost, 0)
            self._sack_recovery(now, acked, sb.sacked - prior_sacked)
        else:
            self._newreno(now, acked, dupack)
        if rs is not None and rate is not None and (acked or newly_sacked):
            rate.finish_ack(sb.pipe, self.min_rtt)
            if rs.rtt is None:
                rs.rtt = self.rtt_sample
            cc.on_rate_sample(now=now, sample=rs)
        return acked

    # -------------------------------------------------------- NewReno (no SACK)
    def _newreno(self, now: int, acked: int, dupack: bool) -> None:
        sb = self.sb
        cc = self.cc
        if acked:
            self.dupacks = 0
            if self.in_recovery:
                if sb.una >= self.recover:
                    # RFC 6582 3.2 (6): a full acknowledgment ends fast recovery.
                    self.in_recovery = False
                    cc.on_recovery_end(now=now, in_flight=sb.pipe)
                    self._after_recovery(now)
                else:
                    # RFC 6582 3.2 (5): a partial ACK: retransmit the first
                    # unacknowledged segment, deflate cwnd.
                    cc.on_ack(
                        now=now,
                        bytes_acked=acked,
                        rtt=self.rtt_sample,
                        in_flight=sb.pipe,
                        in_recovery=True,
                    )
                    self._mark_head_lost("newreno")
            else:
                cc.on_ack(
                    now=now,
                    bytes_acked=acked,
                    rtt=self.rtt_sample,
                    in_flight=sb.pipe,
                    in_recovery=False,
                )
            return
        if not dupack:
            return
        self.dupacks += 1
        if self.in_recovery:
            # RFC 5681 3.2 (4): inflate for each further duplicate ACK.
            cc.on_duplicate_ack(now=now, in_flight=sb.pipe, in_recovery=True)
            return
        if self.dupacks == DUPTHRESH and sb.una >= self.recover:
            # RFC 5681 3.2 (2)-(3), RFC 6582 3.2 (2): fast retransmit; recover =
            # the highest sequence number transmitted.
            self.in_recovery = True
            self.recover = sb.nxt
            self.counters["fast_retransmit"] += 1
            self.reductions += 1
            cc.on_recovery_start(now=now, in_flight=self.flight_size)
            self._mark_head_lost("dupthresh")
        elif self.dupacks < DUPTHRESH:
            cc.on_duplicate_ack(now=now, in_flight=sb.pipe, in_recovery=False)

    def _mark_head_lost(self, why: RetransmitReason) -> None:
        first = self.sb.first()
        if first is not None:
            self.sb.mark_lost(first, why)
            self.force_rtx = 1

    # ---------------------------------------------------------- SACK recovery
    def _sack_recovery(self, now: int, acked: int, sacked_delta: int) -> None:
        sb = self.sb
        cc = self.cc
        if self.in_recovery:
            if sb.una < self.recover:
                self._prr_update(acked + sacked_delta)
                return
            # RFC 6675 5: "an incoming cumulative ACK for RecoveryPoint or beyond"
            # ends loss recovery.
            self.in_recovery = False
            cc.on_recovery_end(now=now, in_flight=sb.pipe)
            if self.prr and cc.cwnd < cc.ssthresh:
                # RFC 6937 3: "On exiting recovery: cwnd = ssthresh" (PRR has brought
                # pipe there). RFC 6582's min(ssthresh, FlightSize + SMSS) would
                # drop to a slow start whenever the flight is short at that moment.
                cc.cwnd = cc.ssthresh
            self._after_recovery(now)
            self._exit_rack_recovery()
            if not sb.lost:
                return
        if (
            (sb.lost or (not self.rack and self.dupacks >= DUPTHRESH))
            and sb.una >= self.recover
            and not self.rto_recovery
        ):
            self._enter_sack_recovery(now, acked + sacked_delta)
        elif acked:
            # Slow start or congestion avoidance, also during RTO recovery.
            cc.on_ack(
                now=now,
                bytes_acked=acked,
                rtt=self.rtt_sample,
                in_flight=sb.pipe,
                in_recovery=False,
            )

    def _enter_sack_recovery(self, now: int, delivered_data: int) -> None:
        sb = self.sb
        cc = self.cc
        self.in_recovery = True
        self.recover = sb.nxt  # RFC 6675 (4.1): RecoveryPoint = HighData
        self.counters["fast_retransmit"] += 1
        self.counters["recovery.sack"] += 1
        if not sb.lost:
            # RFC 6675 (4.3): retransmit the first segment presumed dropped.
            self._mark_head_lost("dupthresh")
        self.force_rtx = 1  # RFC 5681 3.2 (2): the fast retransmit goes out regardless
        self._undo_retrans = 0
        self._undo_sent = 0
        self._undo_ranges = []
        self._eifel_ts = None
        self.reductions += 1
        cc.on_recovery_start(now=now, in_flight=self.reduction_base)
        if self.prr:
            # RFC 6937 3: "prr_delivered = 0; prr_out = 0; RecoverFS = snd.nxt - snd.una".
            self.prr_delivered = 0
            self.prr_out = 0
            self.recover_fs = max(self.flight_size, 1)
            self._prr_update(delivered_data)
        elif not cc.controls_recovery_window:
            # RFC 6675 (4.2): cwnd = ssthresh.
            cc.cwnd = cc.ssthresh

    def _prr_update(self, delivered_data: int) -> None:
        """RFC 6937 3: the per-ACK sndcnt, applied as ``cwnd = pipe + sndcnt``."""
        if not self.prr:
            return
        if delivered_data < 0:
            delivered_data = 0
        self.prr_delivered += delivered_data
        cc = self.cc
        pipe = self.sb.pipe
        ssthresh = cc.ssthresh
        if pipe > ssthresh:
            # Proportional Rate Reduction: sndcnt = CEIL(prr_delivered * ssthresh /
            # RecoverFS) - prr_out.
            sndcnt = -(-self.prr_delivered * ssthresh // self.recover_fs) - self.prr_out
        else:
            # Slow Start Reduction Bound: limit = MAX(prr_delivered - prr_out,
            # DeliveredData) + MSS; sndcnt = MIN(ssthresh - pipe, limit).
            limit = max(self.prr_delivered - self.prr_out, delivered_data) + self.mss
            sndcnt = min(ssthresh - pipe, limit)
        cc.cwnd = pipe + max(sndcnt, 0)

    def _after_recovery(self, now: int) -> None:
        """Recovery ended; if every retransmission of the episode was reported as a
        duplicate (D-SACK, now or later), the episode was spurious (RFC 3708 2,
        RFC 9438 4.9.2): the congestion controller may undo its reduction."""
        self.force_rtx = 0
        if self._undo_sent == 0:
            # No retransmission in the episode (the loss it reacted to was repaired
            # in an earlier one): no D-SACK can ever prove it needless, and "none
            # outstanding" is no evidence. RFC 3708 2 / RFC 4015 undo only on it.
            self._undo_retrans = -1
        if self._undo_retrans == 0:
            self._undo_retrans = -1
            self.counters["recovery.spurious"] += 1
            self.cc.on_spurious_recovery(now=now)

    # -------------------------------------------------- RFC 6675 IsLost marking
    def _mark_lost_rfc6675(self) -> None:
        """RFC 6675 4 IsLost: DupThresh SACKed segments, or more than (DupThresh-1)*SMSS
        SACKed octets, above an un-SACKed segment mark it lost."""
        sb = self.sb
        above_segs = sb.sacked_segs
        above_bytes = sb.sacked
        if not above_segs:
            return
        limit = (DUPTHRESH - 1) * self.mss
        segs = sb.segs
        for i in range(sb.head, len(segs)):
            s = segs[i]
            if s.start >= sb.high_sacked:
                break
            if s.flags & SACKED:
                above_segs -= 1
                above_bytes -= s.end - s.start
                continue
            if above_segs < DUPTHRESH and above_bytes <= limit:
                break
            if not s.flags & LOST:  # NextSeg (1) takes each lost segment once
                sb.mark_lost(s, "dupthresh")

    # ------------------------------------------------------------- RACK (8985)
    def _rack_update(self, s: TxSeg, now: int, tsecr: int | None) -> None:
        """RFC 8985 6.2 step 2 (RACK.xmit_ts, end_seq, rtt) and step 3 (reordering)."""
        x = s.xmit
        if s.flags & EVER_RETRANS:
            ts = self.ts
            if tsecr is not None and ts is not None and lt(tsecr, ts.tsval(x)):
                return  # "ACK.ts_option.echo_reply < Segment.xmit_ts": for the original
            if self.min_rtt is not None and now - x < self.min_rtt:
                return  # too fast to be for the retransmission
        # RACK_sent_after(): transmissions are numbered in the order they left, which
        # breaks ties between equal timestamps (RFC 8985 uses end_seq, which a
        # retransmission sent in the same microsecond as later new data defeats).
        if s.order > self.rack_order:
            self.rack_xmit = x
            self.rack_order = s.order
            self.rack_rtt = now - x
        if s.end > self.rack_fack:
            self.rack_fack = s.end
        elif s.end < self.rack_fack and not s.flags & EVER_RETRANS:
            # Step 3: a segment below the highest delivered one, never retransmitted,
            # arrived late: the path reorders.
            if not self.reordering_seen:
                self.counters["reordering_seen"] += 1
            self.reordering_seen = True

    def reo_wnd(self, srtt: int | None) -> int:
        """RFC 8985 6.2 step 4 RACK_update_reo_wnd (the return value)."""
        if not self.reordering_seen:
            if self.in_recovery or self.rto_recovery:
                return 0
            if self.sb.sacked_segs >= DUPTHRESH:
                return 0
        if self.min_rtt is None:
            return 0
        w = self.reo_wnd_mult * self.min_rtt // 4
        return min(w, srtt) if srtt is not None else w

    def _rack_detect_loss(self, now: int, srtt: int | None, why: RetransmitReason) -> int:
        """RFC 8985 6.2 step 5: mark lost what was sent before RACK.xmit_ts and
        is overdue by RACK.rtt + reo_wnd; return the time until the next such
        segment is overdue (0 if none), for the reordering timer.

        The queue is in transmit order, so the first segment not yet overdue
        bounds all later ones: the timer is armed for it (RFC 8985 arms for the
        latest; firing earlier only marks earlier, when each is due).
        """
        if self.rack_xmit < 0:
            return 0
        sb = self.sb
        una = sb.una
        reo = self.reo_wnd(srtt)
        rack_order, rack_rtt = self.rack_order, self.rack_rtt
        tq = self._tq
        i = self._tq_head
        n = len(tq)
        delay = 0
        while i < n:
            s, order = tq[i]
            f = s.flags
            if order != s.order or s.end <= una or f & SACKED or (f & LOST and not f & RETRANS):
                i += 1  # acknowledged, resent later, or already waiting as lost
                continue
            # RACK_sent_after(RACK.xmit_ts, RACK.end_seq, Segment.xmit_ts, Segment.end_seq)
            if order >= rack_order:
                break
            remaining = s.xmit + rack_rtt + reo - now
            if remaining > 0:
                delay = remaining
                break
            i += 1
            if sb.mark_lost(s, why):
                self.counters["rack.lost"] += 1
        if i > 1024 and i * 2 > n:
            del tq[:i]
            i = 0
        self._tq_head = i
        return delay

    def rack_timeout(self, now: int, srtt: int | None) -> int:
        """The reordering timer expired (RFC 8985 6.3): detect again; return the next delay."""
        lost_before = self.sb.lost
        delay = self._rack_detect_loss(now, srtt, "rack_timer")
        if (
            self.sb.lost > lost_before
            and not self.in_recovery
            and self.sb.una >= self.recover
            and not self.rto_recovery
        ):
            self._enter_sack_recovery(now, 0)
        return delay

    def _on_dsack(self, block: tuple[int, int], now: int) -> None:
        """RFC 8985 6.2 step 4 (D-SACK adaptation of reo_wnd) and undo accounting."""
        sb = self.sb
        if self.dsack_round is not None and sb.una >= self.dsack_round:
            self.dsack_round = None
        if self.dsack_round is None:
            self.dsack_round = sb.nxt
            self.reo_wnd_mult += 1
            self.reo_wnd_persist = REO_WND_PERSIST
        if self._undo_retrans > 0 and block in self._undo_ranges:
            # RFC 3708 2: only a D-SACK for a retransmission says it was needless;
            # one for a segment the network duplicated says nothing.
            self._undo_ranges.remove(block)
            self._undo_retrans -= 1
            if self._undo_retrans == 0 and not self.in_recovery:
                self._after_recovery(now)

    def _eifel_check(self, now: int, tsecr: int | None) -> None:
        """RFC 3522 3.2: the first ACK that acknowledges the first retransmission.

        If its TSecr is older than that retransmission's TSval, it echoes the
        original transmission: the original arrived, the retransmission was not
        needed, and the loss that started the episode was reordering. The
        response is RFC 4015's: undo the congestion response and leave recovery
        (segments marked lost stay marked and are resent, within the restored
        window; a new episode needs an ACK beyond the old recovery point).
        """
        sent_ts = self._eifel_ts
        self._eifel_ts = None
        if tsecr is None or sent_ts is None or not lt(tsecr, sent_ts) or self._undo_retrans < 0:
            return
        self._undo_retrans = -1
        self.counters["recovery.spurious"] += 1
        self.counters["recovery.spurious_eifel"] += 1
        if self.in_recovery:
            self.in_recovery = False
            self.force_rtx = 0
            self._exit_rack_recovery()
            # The episode ends here rather than at the recovery point: the
            # controller leaves recovery as it would there (BBR ends packet
            # conservation and restores its window), then undoes the cut.
            self.cc.on_recovery_end(now=now, in_flight=self.sb.pipe)
        self.cc.on_spurious_recovery(now=now)

    def _exit_rack_recovery(self) -> None:
        # RFC 8985 6.2 step 4: "Else if exiting Fast or RTO recovery".
        if self.dsack_round is None and self.reo_wnd_persist > 0:
            self.reo_wnd_persist -= 1
            if self.reo_wnd_persist <= 0:
                self.reo_wnd_mult = 1

    # -------------------------------------------------------------- TLP (8985)
    def _tlp_on_ack(
        self, ack: int, acked: int, dsack: tuple[int, int] | None, has_sack: bool, now: int
    ) -> None:
        """RFC 8985 7.4.2: did the probe repair a loss?"""
        end = self.tlp_end
        if end is None or ack < end:
            return
        if not self.tlp_is_retrans:
            self.tlp_end = None  # a probe of new data was delivered
            return
        if dsack is not None and dsack[1] >= end:
            self.tlp_end = None  # the original arrived too: nothing was lost
            return
        if ack > end:
            # The probe repaired a lost segment: respond as to a fast recovery.
            self.tlp_end = None
            self.counters["tlp.recovered_loss"] += 1
            self.reductions += 1
            self.cc.on_recovery_start(now=now, in_flight=self.reduction_base)
            self.cc.on_recovery_end(now=now, in_flight=self.sb.pipe)
            return
        if not acked and not has_sack:
            self.tlp_end = None  # a pure duplicate ACK: original and probe both arrived

    # -------------------------------------------------------------------- RTO
    def on_rto(self, now: int) -> None:
        """The retransmission timer expired: reduce, and treat the flight as lost."""
        sb = self.sb
        first = sb.first()
        if first is not None and first.flags & SACKED:
            # RFC 2018 8: the receiver dropped data it had SACKed (reneging).
            self.counters["sack.reneging"] += 1
            sb.clear_sacks()
            self._sack_cache = []
        cc = self.cc
        if self.rto_recovery:
            # RFC 5681 3.1: ssthresh is set on the first timeout of a segment, not
            # again when the same data times out once more.
            ssthresh = cc.ssthresh
            cc.on_rto(now=now, in_flight=self.reduction_base)
            cc.ssthresh = ssthresh
        else:
            cc.on_rto(now=now, in_flight=self.reduction_base)
        self._undo_retrans = -1
        self.reductions += 1
        self.in_recovery = False
        self.rto_recovery = True
        self.recover = sb.nxt  # RFC 6582 4: recover = highest sequence number sent
        self.dupacks = 0
        self.tlp_end = None
        self.force_rtx = 0
        sb.mark_all_lost("rto_recovery")
        if first is not None:
            # RFC 6298 (5.4): the timer's own retransmission; the rest is go-back-N.
            first.why = "rto"

    def window_reopened(self) -> None:
        """The peer's window opened after probing: resend whatever it may have dropped."""
        self.sb.mark_all_lost("window_reopened")
        self.force_rtx = 1

    def mtu_reduced(self) -> int:
        """The path MTU shrank (an ICMP error lowered :attr:`mss`): resend what no longer fits.

        Every segment in flight longer than the new MSS was dropped by the hop
        that sent the ICMP error (or will be), so it is marked lost, not SACKed
        ones, and goes again at once, cut to the new size, instead of waiting for
        the RTO. RFC 8201 5.4: "the retransmission could be done in immediate
        response to a notification that the Path MTU was decreased, but only for
        the specific connection specified by the Packet Too Big message"; RFC
        1191 6.5: "a retransmission caused by a Datagram Too Big message should
        not change the congestion window". As Linux's tcp_simple_retransmit():
        cwnd and ssthresh stay, and, like its high_seq, ``recover`` moves to
        SND.NXT so that these losses start no fast recovery (RFC 6582 "recover"),
        unless a recovery (fast or after an RTO) is under way already.
        Returns the number of segments marked.
        """
        sb = self.sb
        mss = self.mss
        segs = sb.segs
        n = 0
        for i in range(sb.head, len(segs)):
            s = segs[i]
            if s.end - s.start - s.fin > mss and sb.mark_lost(s, "pmtu"):
                n += 1
        if n and not self.in_recovery and not self.rto_recovery and sb.nxt > self.recover:
            self.recover = sb.nxt
        return n


def _dsack_valid(left: int, right: int, una: int, nxt: int, max_wnd: int) -> bool:
    """Whether a D-SACK block ``[left, right)`` names data this sender could have sent twice.

    A D-SACK block reports a duplicate the receiver got (RFC 2883 4): data
    already sent, so never beyond SND.NXT, and either still in flight (above
    SND.UNA, inside the second block) or acknowledged already, wholly below
    SND.UNA and not older than the largest window the peer ever offered
    (MAX.SND.WND): nothing older can still be arriving. Anything else is forged
    or broken, and must neither widen RACK's reordering window (RFC 8985 6.2)
    nor count towards an undo (RFC 3708 2). Linux's tcp_is_sackblock_valid() applies the same
    bounds (it measures "too old" from its undo marker, with max_window slack).
    """
    if left >= right or right > nxt:
        return False
    if left > una:
        return True
    return right <= una and left >= una - max_wnd

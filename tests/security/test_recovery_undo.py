"""Undo of a congestion response only on evidence (issue 16 findings 11, 12; RFC 3522, 3708, 4015).

A recovery episode is spurious only if it retransmitted something and every
retransmission came back as a duplicate (D-SACK). An episode that retransmitted
nothing (its loss had been repaired in the episode before) used to count as
spurious, and CUBIC undid its reduction without any evidence.
"""

from __future__ import annotations

from synack.cc.bbr import Bbr
from synack.sim import LinkConfig
from synack.sim.scenario import run_transfer
from synack.tcp import Config, Endpoint
from synack.wire.tcp import ACK, NoOperation, Option, Sack, Segment, Timestamps
from tests.security.peer import US, HandPeer


def test_without_any_dsack_no_recovery_is_called_spurious() -> None:
    # Random loss only (no duplication, no reordering): the receiver never sees a
    # segment twice unless a retransmission was needless, so no D-SACK arrives and
    # no episode may be undone. Seed 4 has two episodes back to back, the second
    # for a segment already retransmitted in the first.
    link = LinkConfig(delay=20_000, bandwidth=20_000_000, queue_packets=100, loss=0.005)
    result = run_transfer(5_000_000, link, cc="cubic", seed=4)
    assert result.verified
    counters = result.counters  # the sender's, non-zero ones only
    assert counters.get("conn.fast_retransmit", 0) >= 10
    assert counters.get("conn.dsack_received", 0) == 0
    assert counters.get("conn.recovery.spurious", 0) == 0


class _Flight:
    """A server connection whose first flight (ten segments) a hand peer answers with timestamps."""

    def __init__(self, config: Config) -> None:
        server = Endpoint([US], config=config, isn_secret=b"s" * 32)
        server.listen(80)
        self.peer = peer = HandPeer(server)
        self.conn = conn = peer.open(sack=True, timestamps=True)
        conn.send(bytes(40_000))
        self.segments = [s for s in peer.answers() if s.payload]
        assert len(self.segments) == 10
        self.cwnd_before = conn.info().cwnd
        first, last = self.segments[0], self.segments[-1]
        self.original_ts = first.timestamps.tsval if first.timestamps else 0
        self.end = (last.seq + len(last.payload)) & 0xFFFFFFFF

    def ack(
        self, at: int, ack: int, tsecr: int, sack: tuple[tuple[int, int], ...] = ()
    ) -> list[Segment]:
        """The peer's ACK at ``at`` (with SACK blocks): what the server sends back."""
        peer = self.peer
        peer.now = at
        peer.tsval += 1
        opts: tuple[Option, ...] = (NoOperation(), NoOperation(), Timestamps(peer.tsval, tsecr))
        if sack:
            opts += (NoOperation(), NoOperation(), Sack(sack))
        return peer.send(Segment(peer.sport, 80, peer.snd_nxt, ack, ACK, 65535, 0, opts))


def test_a_retransmission_proved_needless_by_its_timestamp_echo_is_undone() -> None:
    # RFC 3522 (Eifel detection): the first ACK that covers a retransmitted
    # segment echoes the original's TSval, older than the retransmission's: the
    # original arrived (it was only reordered), so the cut of cwnd is undone
    # (RFC 4015). Finding 11 of issue 16: under heavy reordering most recovery
    # episodes were such, and without this only a D-SACK for every
    # retransmission could undo them.
    f = _Flight(Config(initial_window=10))
    conn, first = f.conn, f.segments[0]
    # Segments 2-10 arrive, the first does not: SACK recovery, the first is resent.
    sent = f.ack(5_000, first.seq, f.original_ts, ((f.segments[1].seq, f.end),))
    resent = [s for s in sent if s.seq == first.seq]
    assert resent and resent[0].timestamps is not None
    assert resent[0].timestamps.tsval != f.original_ts  # a later tick of the clock
    assert conn.info().cwnd < f.cwnd_before  # the loss response
    # Then the original arrives: the ACK for everything echoes its TSval.
    f.ack(6_000, f.end, f.original_ts)
    assert conn.counters["recovery.spurious"] == 1
    assert conn.info().cwnd >= f.cwnd_before


def test_eifel_undo_ends_bbrs_recovery_and_restores_its_window() -> None:
    # The Eifel response leaves recovery before the recovery point is acknowledged;
    # the controller must leave it too. BBR modulates its window while in
    # recovery and restores the prior window when recovery ends (the BBR draft's
    # BBRRestoreCwnd); without the end it stayed in recovery for good.
    # Pacing off: the whole initial window leaves at once, as in the test above.
    f = _Flight(Config(initial_window=10, congestion_control="bbr", pacing=False))
    conn, first = f.conn, f.segments[0]
    bbr = conn.cc
    assert isinstance(bbr, Bbr)
    f.ack(5_000, first.seq, f.original_ts, ((f.segments[1].seq, f.end),))
    assert conn.in_recovery
    assert bbr.in_recovery
    # The ACK for everything echoes the original's TSval: Eifel says spurious.
    f.ack(6_000, f.end, f.original_ts)
    assert conn.counters["recovery.spurious_eifel"] == 1
    assert not conn.in_recovery
    assert not bbr.in_recovery
    assert conn.info().cwnd >= f.cwnd_before

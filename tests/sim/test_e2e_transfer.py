"""End to end on the simulator: bulk transfers through lossy, reordering, duplicating
and corrupting links arrive complete and byte-identical."""

from __future__ import annotations

import pytest

from synack.sim import GilbertElliott, LinkConfig
from synack.sim.scenario import run_transfer

TEN_MB = 10_000_000


def test_clean_transfer_sends_no_retransmissions_and_drops_nothing() -> None:
    r = run_transfer(TEN_MB, LinkConfig(delay=10_000, bandwidth=100_000_000), seed=1)
    assert r.verified
    assert r.completed
    assert r.retransmissions == 0
    assert r.drops == {}
    # 1448 data octets per segment: the MSS less the 12-octet Timestamps option.
    assert r.mss == 1448
    assert r.data_segments_sent == -(-TEN_MB // r.mss)


@pytest.mark.slow
@pytest.mark.parametrize("loss", [0.01, 0.05, 0.10])
def test_ten_megabytes_survive_loss_reordering_duplication_and_corruption(loss: float) -> None:
    link = LinkConfig(
        delay=10_000,
        bandwidth=50_000_000,
        queue_packets=100,
        loss=loss,
        reorder=0.01,
        duplicate=0.01,
        corrupt=0.01,
    )
    r = run_transfer(TEN_MB, link, seed=7)
    assert r.error is None
    assert r.bytes_delivered == TEN_MB
    assert r.verified
    assert r.retransmissions > 0
    # Every impairment happened, and corrupted segments were caught by the checksum.
    assert r.drops["loss"] > 0
    assert r.drops.get("bad_checksum", 0) + r.drops.get("bad_data_offset", 0) > 0
    assert all(stats["duplicated"] and stats["reordered"] for stats in r.links.values())


def test_bursty_loss_transfer_is_verified() -> None:
    link = LinkConfig(delay=5_000, burst=GilbertElliott.from_rate(0.02, 4.0))
    r = run_transfer(2_000_000, link, seed=3)
    assert r.verified
    assert r.drops["burst_loss"] > 0


def test_drop_tail_queue_overflow_is_recovered() -> None:
    link = LinkConfig(delay=10_000, bandwidth=10_000_000, queue_packets=8)
    r = run_transfer(2_000_000, link, seed=1)
    assert r.verified
    assert r.drops["queue_full"] > 0


def test_a_smaller_mtu_sizes_segments_to_fit() -> None:
    r = run_transfer(500_000, LinkConfig(delay=1_000, mtu=1000), seed=1)
    assert r.verified
    assert r.mss == 960 - 12  # MTU 1000 - 40 octets of headers - 12 of Timestamps
    assert "mtu" not in r.drops


def test_segments_too_big_for_the_path_shrink_the_mss_through_icmp() -> None:
    # Both ends believe in a 1460-byte MSS; the link's MTU is 1200, and it reports
    # its drops as ICMP "fragmentation needed" (RFC 1191), so the sender adapts.
    r = run_transfer(300_000, LinkConfig(delay=1_000, mtu=1200), mss=1460, seed=1)
    assert r.verified
    assert r.drops["mtu"] >= 1
    assert r.mss == 1160 - 12  # MTU 1200 - 40 octets of headers - 12 of Timestamps


def test_periodic_loss_transfer_is_verified() -> None:
    r = run_transfer(1_000_000, LinkConfig(delay=5_000, periodic_loss=50), seed=1)
    assert r.verified
    assert r.drops["periodic_loss"] > 0


def test_an_unreachable_peer_ends_in_a_timeout_error_not_a_hang() -> None:
    r = run_transfer(10_000, LinkConfig(delay=1_000, loss=1.0), seed=1)
    assert not r.verified
    assert r.error is not None
    assert "syn_retries" in r.error


def test_retransmissions_count_each_segment_sent_again_once() -> None:
    # The count is what the trace shows: every segment the sender sent again,
    # whether after a timeout, in fast recovery, or as a SYN, counted once.
    records: list[dict[str, object]] = []
    link = LinkConfig(delay=10_000, bandwidth=20_000_000, queue_packets=50, loss=0.01)
    r = run_transfer(2_000_000, link, seed=1, tracer=records.append)
    assert r.verified
    resent = [
        rec
        for rec in records
        if rec["ev"] == "seg_out" and rec["host"] == "client" and rec.get("rtx")
    ]
    fast = r.counters["conn.retransmit.fast"]
    assert fast > 0  # some were sent again in recovery (counted there as well)
    assert r.retransmissions == len(resent) > 0

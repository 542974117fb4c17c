"""Reproducibility and captures: one seed gives byte-identical pcap and trace files,
and tshark reads what the simulator writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from synack.sim import LinkConfig
from synack.sim.demo import run_demo
from synack.sim.scenario import run_transfer
from synack.trace import read_jsonl, read_pcap
from tests.trace.tshark import tshark_frames

IMPAIRED = LinkConfig(
    delay=10_000,
    bandwidth=20_000_000,
    queue_packets=50,
    loss=0.02,
    reorder=0.02,
    duplicate=0.02,
    corrupt=0.02,
)


def capture(tmp: Path, name: str, seed: int) -> tuple[bytes, bytes]:
    pcap, trace = tmp / f"{name}.pcap", tmp / f"{name}.jsonl"
    r = run_transfer(1_000_000, IMPAIRED, seed=seed, pcap=pcap, trace=trace)
    assert r.verified
    return pcap.read_bytes(), trace.read_bytes()


@pytest.mark.slow
def test_the_same_seed_gives_byte_identical_pcap_and_trace(tmp_path: Path) -> None:
    one = capture(tmp_path, "one", seed=42)
    two = capture(tmp_path, "two", seed=42)
    assert one[0] == two[0]
    assert one[1] == two[1]
    assert len(read_pcap(one[0])[1]) > 1000


@pytest.mark.slow
def test_another_seed_gives_another_run(tmp_path: Path) -> None:
    assert capture(tmp_path, "a", seed=1)[0] != capture(tmp_path, "b", seed=2)[0]


def test_the_demo_is_reproducible(tmp_path: Path) -> None:
    a = run_demo(pcap=tmp_path / "a.pcap", trace=tmp_path / "a.jsonl")
    b = run_demo(pcap=tmp_path / "b.pcap", trace=tmp_path / "b.jsonl")
    assert a.ladder == b.ladder
    assert (tmp_path / "a.pcap").read_bytes() == (tmp_path / "b.pcap").read_bytes()
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_tshark_reads_the_demo_handshake_with_good_checksums(tmp_path: Path) -> None:
    path = tmp_path / "demo.pcap"
    run_demo(pcap=path)
    frames = tshark_frames(path)
    assert [(f.flags, f.seq, f.ack) for f in frames[:3]] == [
        ("..........S.", 1000, 0),
        (".......A..S.", 5000, 1001),
        (".......A....", 1001, 5001),
    ]
    assert frames[0].src == "192.168.1.100"
    assert frames[0].dst == "10.0.0.5"
    assert all(f.tcp_checksum_ok and f.ip_checksum_ok and not f.malformed for f in frames)


@pytest.mark.slow
def test_tshark_finds_bad_checksums_exactly_on_the_corrupted_deliveries(tmp_path: Path) -> None:
    path = tmp_path / "delivered.pcap"
    r = run_transfer(300_000, IMPAIRED, seed=5, pcap=path, pcap_at="deliver")
    assert r.verified
    corrupted = sum(int(s["corrupted"]) for s in r.links.values())  # type: ignore[call-overload]
    frames = tshark_frames(path)
    bad = [f for f in frames if not (f.tcp_checksum_ok and f.ip_checksum_ok)]
    assert corrupted > 0
    # A flipped data-offset bit can make a frame undissectable (no checksum status
    # at all); every other corrupted copy shows a bad TCP checksum.
    assert len(bad) == corrupted
    assert all(not f.malformed for f in frames if f.tcp_checksum_ok)


def test_the_trace_has_link_and_core_records_in_time_order(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    run_transfer(200_000, IMPAIRED, seed=3, trace=path)
    records = list(read_jsonl(path))
    kinds = {r["ev"] for r in records}
    assert {"link", "state", "seg_out", "seg_in", "rtt", "cwnd", "drop"} <= kinds
    times = [r["t"] for r in records]
    assert times == sorted(times)
    assert {r["what"] for r in records if r["ev"] == "link"} >= {
        "send",
        "deliver",
        "drop",
        "impair",
    }

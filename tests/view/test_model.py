"""synack.view's model: what the page shows, from synack traces and from captures.

Traces come from real simulator runs (the seed's demo, a lossy transfer); the
captures are the simulator's own pcaps (a synack capture is a capture of "any
stack" to the reader, which knows nothing of the core) and hand-made packets
for RTT rules whose answer is known exactly.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import threading
from pathlib import Path

import pytest

from synack.sim import LinkConfig
from synack.sim.demo import run_demo
from synack.sim.scenario import run_transfer
from synack.trace import PcapWriter
from synack.trace.capture import read_capture, read_pcapng
from synack.view import ViewError, load_view, write_page
from synack.view.model import decimate, unwrap
from synack.view.summary import direction_stats
from synack.wire import ACK, FIN, SYN, Segment, Timestamps, emit_tcp_packet, str_to_addr
from synack.wire.tcp import PSH
from tests.view.helpers import one_side_traced

CLIENT, SERVER = str_to_addr("192.168.1.100"), str_to_addr("10.0.0.5")


@pytest.fixture(scope="module")
def demo_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    assert run_demo(trace=path).ok
    return path


@pytest.fixture(scope="module")
def lossy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """A 300 kB transfer through 2% loss, traced and captured at the senders."""
    d = tmp_path_factory.mktemp("lossy")
    link = LinkConfig(delay=10_000, bandwidth=20_000_000, queue_packets=40, loss=0.02)
    result = run_transfer(300_000, link, seed=4, trace=d / "t.jsonl", pcap=d / "t.pcap")
    assert result.verified
    return d / "t.jsonl", d / "t.pcap", 300_000


def test_demo_trace_has_the_seeds_segments_states_and_arrivals(demo_trace: Path) -> None:
    view, index, infos = load_view(demo_trace)
    assert (index, len(infos)) == (0, 1)
    client, server = view.ends
    assert (client.name, client.addr, server.name, server.endpoint) == (
        "Client",
        "192.168.1.100",
        "Server",
        "10.0.0.5:80",
    )
    assert (client.isn, server.isn) == (1000, 5000)
    got = [(s.d, s.flags, s.seq, s.ack, s.length) for s in view.segs]
    assert got == [
        (0, SYN, 1000, 0, 0),
        (1, SYN | ACK, 5000, 1001, 0),
        (0, ACK, 1001, 5001, 0),
        (1, PSH | ACK, 5001, 1001, 20),
        (0, FIN | PSH | ACK, 1001, 5021, 9),
        (1, FIN | ACK, 5021, 1011, 0),
        (0, ACK, 1011, 5022, 0),
    ]
    # 10 ms each way on the simulator's links: every segment arrives 10 ms later.
    assert [s.ta - s.ts for s in view.segs if s.ta is not None] == [10_000] * 7
    assert client.first_state == "CLOSED"
    assert [st for _, st, _ in client.states] == [
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "TIME-WAIT",
        "CLOSED",
    ]
    # The listener was there before the SYN: the passive side starts in LISTEN.
    assert server.first_state == "LISTEN"
    assert [st for _, st, _ in server.states] == [
        "SYN-RECEIVED",
        "ESTABLISHED",
        "CLOSE-WAIT",
        "LAST-ACK",
        "CLOSED",
    ]
    assert view.exact and not any(s.rtx or s.fate for s in view.segs)


def test_a_lost_syn_ends_in_a_cross_and_its_retransmission_has_a_cause(tmp_path: Path) -> None:
    trace = tmp_path / "lose.jsonl"
    run_demo(lose="syn", trace=trace)
    view, _, _ = load_view(trace)
    first, second = view.segs[0], view.segs[1]
    assert first.flags == SYN and first.fate == "lost at client->server (scripted)"
    assert first.ta is None
    assert second.flags == SYN and second.rtx and second.cause == "RTO (handshake)"
    # RFC 6298 (2.1): the first RTO is one second.
    assert second.ts - first.ts == 1_000_000
    assert any("retransmission timeout" in text for _, _, text in view.events)


def test_a_pacing_sender_shows_its_pacing_rate_and_pipe(tmp_path: Path) -> None:
    trace = tmp_path / "bbr.jsonl"
    link = LinkConfig(delay=10_000, bandwidth=20_000_000, queue_packets=40)
    assert run_transfer(500_000, link, cc="bbr", seed=2, trace=trace).verified
    view, _, _ = load_view(trace)
    series = {s.name: s.points for s in view.series[0]}
    pacing = [v for _, v in series["pacing rate"]]
    # BBR paces near the bottleneck's 2.5 MB/s once it has measured it.
    assert 1_000_000 < sorted(pacing)[len(pacing) // 2] < 10_000_000
    assert max(v for _, v in series["pipe"]) > 0


def test_capture_of_the_same_run_agrees_with_the_trace(lossy: tuple[Path, Path, int]) -> None:
    trace, pcap, nbytes = lossy
    exact, _, _ = load_view(trace)
    rebuilt, _, _ = load_view(pcap)
    assert not rebuilt.exact and exact.exact
    assert len(rebuilt.segs) == len(exact.segs)
    for d in (0, 1):
        a, b = direction_stats(exact, d), direction_stats(rebuilt, d)
        for key in ("total packets", "actual data pkts", "rexmt data pkts", "unique bytes sent"):
            assert a[key] == b[key], (d, key)
    sent = direction_stats(rebuilt, 0)
    assert sent["unique bytes sent"] == nbytes
    assert sent["rexmt data pkts"] == sum(1 for s in exact.segs if s.rtx) > 0
    # The capture is taken where the sender sends, so lost packets are in it, and
    # every segment the core marked as a retransmission is recognised as one.
    assert [s.rtx for s in rebuilt.segs] == [s.rtx for s in exact.segs]


def _pcap(path: Path, packets: list[tuple[int, bool, Segment]]) -> Path:
    with PcapWriter(path) as w:
        for t, from_client, seg in packets:
            src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
            w.write(t, emit_tcp_packet(src, dst, seg))
    return path


def _handshake(ts: bool) -> list[tuple[int, bool, Segment]]:
    opt = (lambda v, e: (Timestamps(v, e),)) if ts else (lambda v, e: ())
    return [
        (0, True, Segment(40000, 80, 100, 0, SYN, 1000, options=opt(1, 0))),
        (10_000, False, Segment(80, 40000, 900, 101, SYN | ACK, 1000, options=opt(50, 1))),
        (10_100, True, Segment(40000, 80, 101, 901, ACK, 1000, options=opt(2, 50))),
    ]


def test_karns_rule_takes_no_sample_from_a_retransmitted_segment(tmp_path: Path) -> None:
    data = b"x" * 100
    pkts = [
        *_handshake(ts=False),
        (20_000, True, Segment(40000, 80, 101, 901, ACK, 1000, payload=data)),
        (1_020_000, True, Segment(40000, 80, 101, 901, ACK, 1000, payload=data)),  # again
        (1_050_000, False, Segment(80, 40000, 901, 201, ACK, 1000)),
        (1_060_000, True, Segment(40000, 80, 201, 901, ACK, 1000, payload=data)),
        (1_090_000, False, Segment(80, 40000, 901, 301, ACK, 1000)),
    ]
    view, _, _ = load_view(_pcap(tmp_path / "karn.pcap", pkts))
    rtt = {s.name: s.points for s in view.series[0]}["RTT sample"]
    # RFC 6298 3 (Karn): the ACK at 1.05 s could answer either transmission and
    # gives no sample; the ACK at 1.09 s times the clean segment: 30 ms. The
    # handshake's SYN (sent once) gives the first sample, 10 ms.
    assert rtt == [(10_000, 10_000.0), (1_090_000, 30_000.0)]
    assert [s.cause for s in view.segs if s.rtx] == ["RTO"]


def test_timestamps_time_a_retransmission_by_its_echo(tmp_path: Path) -> None:
    data = b"y" * 100
    pkts = [
        *_handshake(ts=True),
        (
            20_000,
            True,
            Segment(40000, 80, 101, 901, ACK, 1000, options=(Timestamps(3, 50),), payload=data),
        ),
        (
            1_020_000,
            True,
            Segment(40000, 80, 101, 901, ACK, 1000, options=(Timestamps(4, 50),), payload=data),
        ),
        # The ACK echoes TSval 4: it answers the retransmission (RFC 7323 4.1).
        (1_045_000, False, Segment(80, 40000, 901, 201, ACK, 1000, options=(Timestamps(60, 4),))),
    ]
    view, _, _ = load_view(_pcap(tmp_path / "ts.pcap", pkts))
    rtt = {s.name: s.points for s in view.series[0]}["RTT sample"]
    assert rtt == [(10_000, 10_000.0), (1_045_000, 25_000.0)]
    assert any("timestamps, RFC 7323" in n for n in view.notes)


def test_pcapng_from_editcap_reads_like_the_pcap(
    lossy: tuple[Path, Path, int], tmp_path: Path
) -> None:
    editcap = shutil.which("editcap")
    if editcap is None:
        pytest.fail("editcap (wireshark) is missing: run `make sysdeps` (as root)")
    _, pcap, _ = lossy
    ng = tmp_path / "t.pcapng"
    subprocess.run([editcap, "-F", "pcapng", str(pcap), str(ng)], check=True, capture_output=True)
    assert ng.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    assert list(read_capture(ng)) == list(read_capture(pcap))


def test_pcapng_nanosecond_resolution_and_ethernet_frames(tmp_path: Path) -> None:
    syn = emit_tcp_packet(CLIENT, SERVER, Segment(40000, 80, 7, 0, SYN, 1000))
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + syn

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    # if_tsresol = 9: nanoseconds
    idb = block(1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HHB3x", 9, 1, 9) + b"\0" * 4)
    ticks = 1_234_567_891  # ns
    epb = block(
        6, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame)) + frame
    )
    path = tmp_path / "ns.pcapng"
    path.write_bytes(shb + idb + epb)
    assert read_pcapng(path) == [(1_234_567, 1, frame, len(frame))]
    assert [(p.t, p.data) for p in read_capture(path)] == [(1_234_567, syn)]


def test_a_capture_is_read_as_it_goes_not_all_at_once(tmp_path: Path) -> None:
    # The packets come one at a time from the mapped file: the first is there
    # before the damage behind it is reached (the whole file used to be read,
    # and every frame copied, before the first packet was looked at).
    syn = emit_tcp_packet(CLIENT, SERVER, Segment(40000, 80, 7, 0, SYN, 1000))
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    record = struct.pack("<IIII", 1, 5, len(syn), len(syn)) + syn
    damaged = struct.pack("<IIII", 2, 0, 1000, 1000) + syn  # claims 1000 octets
    path = tmp_path / "cut.pcap"
    path.write_bytes(head + record + damaged)
    packets = read_capture(path)
    assert next(packets) == (1_000_005, syn, len(syn))
    with pytest.raises(ValueError, match="truncated packet"):
        next(packets)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not a pcap file"):
        list(read_capture(empty))


def test_a_capture_from_a_pipe_is_read_whole(tmp_path: Path) -> None:
    # A FIFO cannot be mapped: its bytes are read instead.
    syn = emit_tcp_packet(CLIENT, SERVER, Segment(40000, 80, 7, 0, SYN, 1000))
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(
        target=fifo.write_bytes,
        args=(head + struct.pack("<IIII", 3, 0, len(syn), len(syn)) + syn,),
    )
    writer.start()
    try:
        assert list(read_capture(fifo)) == [(3_000_000, syn, len(syn))]
    finally:
        writer.join(timeout=10)


def test_connection_chosen_by_index_or_four_tuple(tmp_path: Path) -> None:
    one = Segment(40000, 80, 1, 0, SYN, 1000)
    two = Segment(40001, 80, 1, 0, SYN, 1000)
    big = Segment(40001, 80, 2, 0, ACK, 1000, payload=b"z" * 50)
    path = _pcap(tmp_path / "two.pcap", [(0, True, one), (1, True, two), (2, True, big)])
    view, index, infos = load_view(path)
    assert index == 1 and view.ends[0].port == 40001  # the one that carried data
    assert [x.a for x in infos] == ["10.0.0.5:80", "10.0.0.5:80"]
    assert load_view(path, connection=0)[0].ends[0].port == 40000
    assert load_view(path, connection="192.168.1.100:40000-10.0.0.5:80")[1] == 0
    with pytest.raises(ViewError, match="does not exist"):
        load_view(path, connection=5)
    with pytest.raises(ViewError, match="no connection matches"):
        load_view(path, connection="1.2.3.4:5-6.7.8.9:10")


def test_a_file_that_is_neither_trace_nor_capture_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\n")
    with pytest.raises(ViewError, match="not a JSON line"):
        load_view(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ViewError, match="no TCP connection"):
        load_view(empty)


def test_the_page_fetches_nothing(demo_trace: Path, tmp_path: Path) -> None:
    info = write_page(demo_trace, tmp_path / "p.html")
    text = info.path.read_text()
    assert "default-src 'none'" in text  # the browser is told to fetch nothing
    assert " src=" not in text and "<link" not in text and "url(" not in text
    assert info.segments == 7 and info.exact and info.size == len(text.encode())


def test_unwrap_keeps_sequence_numbers_rising_across_the_wrap() -> None:
    # RFC 9293 3.4: sequence numbers are modulo 2**32.
    assert unwrap([4294967290, 4294967295, 3, 10], 4294967290) == [0, 5, 9, 16]
    assert unwrap([5, 2], 5) == [0, -3]


def test_decimation_keeps_peaks_and_troughs() -> None:
    pts = [(t, float(t % 100)) for t in range(100_000)]
    pts[50_123] = (50_123, 10_000.0)
    pts[70_001] = (70_001, -5.0)
    small = decimate(pts, 3000)
    assert len(small) <= 4 * 1000 + 4
    assert (50_123, 10_000.0) in small and (70_001, -5.0) in small
    assert small == sorted(small)


def test_a_trace_without_links_joins_sends_and_arrivals_of_the_traced_side() -> None:
    # One host traced (as over a TAP device): its segments out, and what arrived.
    view, _, _ = load_view(one_side_traced(b"hello", hops=6))  # one hop every 10 ms
    assert [(s.d, s.flags) for s in view.segs[:3]] == [(0, SYN), (1, SYN | ACK), (0, ACK | PSH)]
    syn_ack = view.segs[1]
    # The untraced server sent its SYN-ACK at 10 ms; the trace knows only its arrival, 20 ms.
    assert (syn_ack.ts, syn_ack.ta) == (20_000, 20_000)
    assert view.segs[0].ta is None  # nobody traced the SYN's arrival
    assert view.segs[2].length == 5
    assert any("No link records" in n for n in view.notes)

"""The pcap writer: exact bytes, reading back, and tshark's view of the files."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from synack.trace import LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapObserver, PcapWriter, read_pcap
from synack.wire.tcp import ACK, FIN, PSH, SYN
from tests.sim.helpers import CLIENT, SERVER, tcp_packet
from tests.trace.tshark import tshark_frames


def handshake() -> list[tuple[int, bytes]]:
    back = {"src": SERVER, "dst": CLIENT, "sport": 80, "dport": 40000}
    return [
        (0, tcp_packet(1000, SYN)),
        (10_000, tcp_packet(5000, SYN | ACK, ack=1001, **back)),  # type: ignore[arg-type]
        (20_000, tcp_packet(1001, ACK, ack=5001)),
        (20_000, tcp_packet(1001, PSH | ACK, b"GET / HTTP/1.0\r\n\r\n", ack=5001)),
        (1_500_000, tcp_packet(1019, FIN | ACK, ack=5001)),
    ]


def test_global_and_record_headers_are_classic_pcap_little_endian() -> None:
    buf = io.BytesIO()
    w = PcapWriter(buf)
    w.write(3_000_042, b"\x45" + bytes(19))
    w.close()
    data = buf.getvalue()
    assert data[:24] == struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW)
    assert data[24:40] == struct.pack("<IIII", 3, 42, 20, 20)
    assert data[40:] == b"\x45" + bytes(19)


def test_long_packets_are_truncated_to_snaplen_with_the_original_length_kept() -> None:
    buf = io.BytesIO()
    PcapWriter(buf, snaplen=64).write(0, bytes(100))
    data = buf.getvalue()
    assert struct.unpack_from("<II", data, 32) == (64, 100)
    assert len(data) == 24 + 16 + 64


def test_written_packets_read_back_with_their_times(tmp_path: Path) -> None:
    path = tmp_path / "h.pcap"
    with PcapWriter(path) as w:
        for t, p in handshake():
            w.write(t, p)
    linktype, packets = read_pcap(path)
    assert linktype == LINKTYPE_RAW
    assert packets == handshake()


def test_ethernet_link_type_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "e.pcap"
    with PcapWriter(path, linktype=LINKTYPE_ETHERNET):
        pass
    assert read_pcap(path) == (LINKTYPE_ETHERNET, [])


def test_negative_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        PcapWriter(io.BytesIO()).write(-1, b"")


def test_damaged_files_raise_value_error() -> None:
    with pytest.raises(ValueError):
        read_pcap(b"nope" * 10)
    good = io.BytesIO()
    PcapWriter(good).write(0, bytes(40))
    with pytest.raises(ValueError):
        read_pcap(good.getvalue()[:-1])


def test_observer_captures_sends_or_deliveries_of_chosen_links() -> None:
    buf = io.BytesIO()
    w = PcapWriter(buf)
    ob = PcapObserver(w, at="deliver", links={"a->b"})
    ob(1, "a->b", "send", b"s", None)
    ob(2, "a->b", "deliver", b"d", None)
    ob(3, "b->a", "deliver", b"x", None)
    ob(4, "a->b", "drop", b"y", "loss")
    assert read_pcap(buf.getvalue())[1] == [(2, b"d")]


def test_tshark_reads_the_handshake_with_good_checksums(tmp_path: Path) -> None:
    path = tmp_path / "h.pcap"
    with PcapWriter(path) as w:
        for t, p in handshake():
            w.write(t, p)
    frames = tshark_frames(path)
    assert [f.flags for f in frames] == [
        "..........S.",
        ".......A..S.",
        ".......A....",
        ".......AP...",
        ".......A...F",
    ]
    assert [(f.seq, f.ack) for f in frames[:3]] == [(1000, 0), (5000, 1001), (1001, 5001)]
    assert frames[3].length == 18
    assert all(f.tcp_checksum_ok and f.ip_checksum_ok and not f.malformed for f in frames)


def test_tshark_flags_a_deliberately_corrupted_segment(tmp_path: Path) -> None:
    packet = bytearray(tcp_packet(1001, PSH | ACK, b"hello", ack=5001))
    packet[-1] ^= 0x01
    path = tmp_path / "bad.pcap"
    with PcapWriter(path) as w:
        w.write(0, tcp_packet(1000, SYN))
        w.write(1, bytes(packet))
    frames = tshark_frames(path)
    assert [f.tcp_checksum_ok for f in frames] == [True, False]


def test_tshark_reads_ethernet_frames_in_an_ethernet_pcap(tmp_path: Path) -> None:
    path = tmp_path / "eth.pcap"
    header = bytes.fromhex("0200000000020200000000010800")  # dst, src, IPv4
    with PcapWriter(path, linktype=LINKTYPE_ETHERNET) as w:
        for t, p in handshake()[:3]:
            w.write(t, header + p)
    frames = tshark_frames(path)
    assert [f.flags for f in frames] == ["..........S.", ".......A..S.", ".......A...."]
    assert all(f.tcp_checksum_ok and not f.malformed for f in frames)

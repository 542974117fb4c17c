"""Ladder diagrams: the seed's line format, losses, retransmissions, relative numbers."""

from __future__ import annotations

from synack.sim import LinkConfig, parse_rule
from synack.trace import Ladder, format_time
from synack.wire.tcp import ACK, PSH, SYN
from tests.sim.helpers import CLIENT, SERVER, scripted_pair, tcp_packet

BACK = {"src": SERVER, "dst": CLIENT, "sport": 80, "dport": 40000}
NAMES = {CLIENT: "Client", SERVER: "Server"}


def seed_handshake(ladder: Ladder) -> None:
    ladder.observe(0, "c->s", "send", tcp_packet(1000, SYN), None)
    ladder.observe(10_000, "s->c", "send", tcp_packet(5000, SYN | ACK, ack=1001, **BACK), None)  # type: ignore[arg-type]
    ladder.observe(20_000, "c->s", "send", tcp_packet(1001, ACK, ack=5001), None)
    ladder.trace(
        {"t": 20_000, "ev": "state", "host": "client", "old": "SYN-SENT", "new": "ESTABLISHED"}
    )


def test_the_seed_handshake_renders_exactly_as_the_seed_writes_it() -> None:
    ladder = Ladder(NAMES, timestamps=False)
    seed_handshake(ladder)
    assert ladder.lines == [
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000",
        "Server (10.0.0.5:80) -> Client (192.168.1.100)   [SYN, ACK] Seq=5000 Ack=1001",
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [ACK] Seq=1001 Ack=5001",
        "client: SYN-SENT -> ESTABLISHED",
    ]


def test_timestamps_are_exact_seconds_and_aligned() -> None:
    ladder = Ladder(NAMES)
    seed_handshake(ladder)
    assert [line[:10] for line in ladder.lines] == [
        "0.000000  ",
        "0.010000  ",
        "0.020000  ",
        "0.020000  ",
    ]
    assert format_time(12_345_678_901) == "12345.678901"


def test_relative_sequence_numbers_count_from_each_side_s_isn() -> None:
    ladder = Ladder(NAMES, timestamps=False, relative=True)
    seed_handshake(ladder)
    ladder.observe(30_000, "c->s", "send", tcp_packet(1001, PSH | ACK, b"hi", ack=5001), None)
    assert [line.split("   ")[1] for line in ladder.lines if "->" in line and "[" in line] == [
        "[SYN] Seq=0",
        "[SYN, ACK] Seq=0 Ack=1",
        "[ACK] Seq=1 Ack=1",
        "[PSH, ACK] Seq=1 Ack=1 Len=2",
    ]


def test_lost_and_retransmitted_segments_are_marked() -> None:
    sim, net, a, _b = scripted_pair(LinkConfig(delay=10_000, rules=(parse_rule("syn"),)))
    ladder = Ladder(NAMES, timestamps=False)
    net.observe(ladder.observe)
    net.a.call(0, lambda now: a.queue(tcp_packet(1000, SYN)))
    net.a.call(1_000_000, lambda now: a.queue(tcp_packet(1000, SYN)))
    sim.run()
    assert ladder.lines == [
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000   x lost (scripted)",
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000   (retransmission)",
    ]


def test_a_data_segment_resent_is_a_retransmission_but_new_data_is_not() -> None:
    ladder = Ladder(timestamps=False, ports="all")
    ladder.observe(0, "l", "send", tcp_packet(1, ACK, b"abcd"), None)
    ladder.observe(1, "l", "send", tcp_packet(5, ACK, b"efgh"), None)
    ladder.observe(2, "l", "send", tcp_packet(1, ACK, b"abcd"), None)
    ladder.observe(3, "l", "send", tcp_packet(9, ACK, b"ijkl"), None)
    marked = [line.endswith("(retransmission)") for line in ladder.lines]
    assert marked == [False, False, True, False]
    assert ladder.lines[0].startswith("192.168.1.100:40000 -> 10.0.0.5:80   ")


def test_impairments_are_marked_on_the_segment_line() -> None:
    ladder = Ladder(NAMES, timestamps=False)
    p = tcp_packet(1000, SYN)
    ladder.observe(0, "c->s", "send", p, None)
    ladder.observe(0, "c->s", "impair", p, "corrupted")
    assert ladder.lines[0].endswith("[SYN] Seq=1000   ~ corrupted")


def test_a_drop_on_a_link_not_shown_gets_its_own_line() -> None:
    ladder = Ladder(NAMES, timestamps=False, links={"c->router"})
    p = tcp_packet(1000, SYN)
    ladder.observe(0, "c->router", "send", p, None)
    ladder.observe(5, "router->s", "send", p, None)
    ladder.observe(5, "router->s", "drop", p, "queue_full")
    assert len(ladder.lines) == 2
    assert ladder.lines[1].endswith("x lost at router->s (queue_full)")


def test_notes_and_render() -> None:
    ladder = Ladder(timestamps=False)
    assert ladder.render() == ""
    ladder.note(0, "client: connect()")
    assert ladder.render() == "client: connect()\n"


def test_mark_appends_to_the_line_of_that_packet_only() -> None:
    ladder = Ladder(NAMES, timestamps=False)
    p, q = tcp_packet(1000, SYN), tcp_packet(1001, ACK, ack=5001)
    ladder.observe(0, "c->s", "send", p, None)
    assert ladder.mark(p, "<- spoofed")
    ladder.observe(1, "c->s", "send", q, None)
    assert not ladder.mark(p, "late")  # no longer the last line
    assert ladder.lines == [
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000   <- spoofed",
        "Client (192.168.1.100) -> Server (10.0.0.5:80)   [ACK] Seq=1001 Ack=5001",
    ]


def test_untracked_links_neither_get_nor_cause_retransmission_marks() -> None:
    ladder = Ladder(timestamps=False, ports="all", untracked={"spoof"})
    ladder.observe(0, "l", "send", tcp_packet(1, ACK, b"abcd"), None)
    ladder.observe(1, "spoof", "send", tcp_packet(900, ACK, b"evil"), None)  # far ahead
    ladder.observe(2, "spoof", "send", tcp_packet(900, ACK, b"evil"), None)  # a second guess
    ladder.observe(3, "l", "send", tcp_packet(5, ACK, b"efgh"), None)  # new data, not a resend
    assert [line.endswith("(retransmission)") for line in ladder.lines] == [False] * 4

"""The attacker's host: it may send anything, but hears only what is addressed to it."""

from __future__ import annotations

from synack.attack.lab import Lab
from synack.attack.offpath import OffPathHost
from synack.sim.scripted import ScriptedHost
from synack.wire.ip import emit_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, RST, SYN, Segment

ME, OTHER, VICTIM = "203.0.113.66", "192.168.1.100", "10.0.0.5"


class Recorder:
    """A program that sends one spoofed SYN at start and records what it hears."""

    def __init__(self) -> None:
        self.heard: list[tuple[bytes, bytes, Segment, int]] = []
        self.fired: list[int] = []

    def start(self, host: OffPathHost, now: int) -> None:
        host.send(str_to_addr(OTHER), str_to_addr(VICTIM), Segment(1023, 80, 7, 0, SYN))
        host.at(now + 30, self.fired.append)
        host.at(now + 10, self.fired.append)

    def on_segment(self, host: OffPathHost, src: bytes, dst: bytes, seg: Segment, now: int) -> None:
        self.heard.append((src, dst, seg, now))


def test_only_tcp_addressed_to_the_host_reaches_the_program() -> None:
    prog = Recorder()
    host = OffPathHost([ME], prog)
    for_me = emit_tcp_packet(str_to_addr(VICTIM), str_to_addr(ME), Segment(80, 4000, 1, 2, ACK))
    for_other = emit_tcp_packet(
        str_to_addr(VICTIM), str_to_addr(OTHER), Segment(80, 1023, 1, 8, SYN | ACK)
    )
    damaged = bytearray(for_me)
    damaged[-5] ^= 1  # a bit of the window field: the checksum no longer matches
    host.receive_packet(for_other, 5)
    host.receive_packet(bytes(damaged), 6)
    host.receive_packet(for_me, 7)
    assert [(s, d, seg.flags, t) for s, d, seg, t in prog.heard] == [
        (str_to_addr(VICTIM), str_to_addr(ME), ACK, 7)
    ]
    assert host.counters["drop.not_for_us"] == 1
    assert host.counters["received"] == 1
    assert host.counters["drop.bad_checksum"] == 1


def test_spoofed_packets_leave_with_the_forged_source_and_timers_fire_in_order() -> None:
    prog = Recorder()
    host = OffPathHost([ME], prog)
    host.start(100)
    (packet,) = host.packets_to_send(100)
    assert packet[12:16] == str_to_addr(OTHER)  # the IPv4 source: not ours
    assert host.counters["spoofed"] == 1
    assert host.next_deadline() == 110
    host.handle_timer(130)
    assert prog.fired == [130, 130]
    assert host.next_deadline() is None


def test_on_the_lab_network_the_attacker_never_sees_the_victims_answer_to_its_spoof() -> None:
    # The spoofed SYN draws the victim's reply to 192.168.1.100, which must not
    # reach the attacker; a segment sent to the attacker's own address must.
    victim = ScriptedHost("victim")
    lab = Lab(1, {})

    def answer(packet: bytes, now: int) -> None:
        victim.queue(
            emit_tcp_packet(
                str_to_addr(VICTIM), str_to_addr(OTHER), Segment(80, 1023, 99, 8, SYN | ACK)
            )
        )
        victim.queue(
            emit_tcp_packet(str_to_addr(VICTIM), str_to_addr(ME), Segment(80, 4000, 5, 0, RST))
        )

    victim.on_packet = answer
    lab.add_host("victim", VICTIM, victim)
    lab.add_host("other", OTHER, ScriptedHost("other"))
    prog = Recorder()
    lab.add_attacker(prog, address=ME)
    lab.run(until=1_000_000)
    assert len(victim.received) == 1  # the spoofed SYN arrived
    assert [seg.flags for _, _, seg, _ in prog.heard] == [RST]

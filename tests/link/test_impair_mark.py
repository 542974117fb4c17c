"""``mark``: a real link's impairment that marks ECN-capable packets CE, as netem's ``ecn``."""

from __future__ import annotations

from synack.link.impair import ImpairedPath, Impairment
from synack.wire.ecn import Ecn, mark_ce, packet_ecn, with_ecn
from synack.wire.ip import IPv4Header, str_to_addr


def packet(ecn: Ecn) -> bytes:
    head = IPv4Header(str_to_addr("10.0.0.5"), str_to_addr("10.0.0.1"))
    return with_ecn(head.emit(20) + bytes(20), ecn)


def test_mark_parses_like_the_other_knobs() -> None:
    assert Impairment.parse("mark=25%,delay=1ms") == Impairment(mark=0.25, delay_us=1000)
    assert Impairment(mark=0.1).active


def test_a_share_of_ect_packets_is_marked_ce_and_nothing_is_lost() -> None:
    path: ImpairedPath[bytes] = ImpairedPath(Impairment(mark=0.25), seed=7, marker=mark_ce)
    out = [p for _ in range(2000) for p in path.offer(packet(Ecn.ECT0), 0)]
    marked = sum(packet_ecn(p) is Ecn.CE for p in out)
    assert len(out) == 2000 and marked == path.counters["marked"]
    assert 400 < marked < 600  # a quarter, seeded


def test_not_ect_packets_pass_unchanged() -> None:
    path: ImpairedPath[bytes] = ImpairedPath(Impairment(mark=1.0), seed=7, marker=mark_ce)
    plain = packet(Ecn.NOT_ECT)
    assert path.offer(plain, 0) == [plain] and path.counters["marked"] == 0

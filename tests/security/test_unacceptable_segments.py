"""Martian sources are dropped, and answers to unacceptable segments are rate-limited (issue 16 finding 9).

* SYNs from 127.0.0.1 arriving over the wire were answered and took listener
  slots. RFC 1122 3.2.1.3 / 4.2.3.10 (and RFC 4291 2.5 for IPv6): segments
  from loopback, broadcast, multicast or unspecified sources, or from the
  host's own addresses, are discarded (``drop.bad_source_address``).
* Every out-of-window segment got an ACK, without limit: 1,053 replies to
  100,000 blind SYNs where Linux sends 10. Now an out-of-window SYN gets a
  challenge ACK (RFC 5961 4.2, at most ``Config.challenge_ack_limit`` per
  second), and other unacceptable segments without data (out of window, or
  failing PAWS) at most one ACK per 500 ms (Linux's tcp_invalid_ratelimit).
  Segments with data still get an ACK each: their sender may have lost ours.
"""

from __future__ import annotations

import pytest

from synack.tcp import Endpoint, State
from synack.wire.ip import emit_tcp_packet, str_to_addr
from synack.wire.tcp import ACK, SYN, NoOperation, Option, Sack, Segment, Timestamps
from tests.security.peer import US, HandPeer

US6 = str_to_addr("2001:db8::80")


@pytest.mark.parametrize(
    "source",
    [
        "127.0.0.1",
        "127.200.0.9",
        "0.1.2.3",
        "224.0.0.5",
        "239.1.1.1",
        "255.255.255.255",
        "192.0.2.80",  # our own address: the "land" attack
        "::1",
        "ff02::1",
        "::ffff:192.0.2.1",
        "::",
        "2001:db8::80",
    ],
)
def test_a_syn_from_a_martian_source_takes_no_slot_and_gets_no_answer(source: str) -> None:
    ep = Endpoint([US, US6], isn_secret=b"k" * 32)
    ep.listen(80)
    src = str_to_addr(source)
    dst = US if len(src) == 4 else US6
    ep.receive_packet(emit_tcp_packet(src, dst, Segment(4242, 80, 7, 0, SYN, 65535)), 0)
    assert ep.packets_to_send(0) == []
    assert ep.connections() == []
    assert ep.counters["drop.bad_source_address"] == 1


def established() -> HandPeer:
    server = Endpoint([US], isn_secret=b"s" * 32, port_seed=1)
    server.listen(80)
    peer = HandPeer(server)
    peer.open(timestamps=True, sack=True)
    return peer


def test_out_of_window_acks_and_syns_get_few_answers() -> None:
    peer = established()
    conn = peer.endpoint.connections()[0]
    far = (peer.snd_nxt + 2**31) & 0xFFFFFFFF  # as far out of the window as it gets
    replies = 0
    for i in range(1000):  # one per millisecond, for a second
        peer.now = i * 1000
        flags = SYN if i % 2 else ACK
        replies += len(
            peer.send(Segment(peer.sport, 80, far, peer.rcv_nxt, flags, 100, 0, peer.options()))
        )
    # 500 SYNs: challenge ACKs, 10 per second (RFC 5961 7); 500 ACKs: one per 500 ms.
    assert replies == 10 + 2
    assert conn.state is State.ESTABLISHED


def test_acks_failing_paws_get_few_answers() -> None:
    peer = established()
    old = (NoOperation(), NoOperation(), Timestamps((peer.tsval - 100_000) & 0xFFFFFFFF, 0))
    replies = 0
    for i in range(1000):
        peer.now = i * 1000
        seg = Segment(peer.sport, 80, peer.snd_nxt, peer.rcv_nxt, ACK, 500, 0, old)
        replies += len(peer.send(seg))
    assert replies == 2
    assert peer.endpoint.counters["drop.paws"] == 1000


def test_out_of_window_data_is_still_answered_every_time() -> None:
    # An old duplicate (below RCV.NXT) means our ACK may have been lost: answer each.
    peer = established()
    peer.data(0, b"a" * 100)
    replies = 0
    for i in range(20):
        peer.now = i * 1000
        replies += len(peer.data(0, b"a" * 100))
    assert replies == 20


def test_a_reordered_duplicate_ack_is_exempt_from_paws() -> None:
    # Issue 16 finding 11: under reordering, most PAWS drops were pure ACKs that
    # an ACK sent later had overtaken; dropping them lost their SACK blocks. An
    # ACK that only repeats SND.UNA, carries no data, would not change the window
    # and is older than TS.Recent by less than an RTO is processed (as Linux's
    # tcp_disordered_ack); anything else that fails PAWS is still dropped.
    peer = established()
    conn = peer.endpoint.connections()[0]
    conn.send(bytes(10_000))
    sent = [s for s in peer.answers() if s.payload]
    assert len(sent) >= 3
    first = len(sent[0].payload)
    peer.tsval += 10
    peer.acknowledge(first)  # TS.Recent is now tsval + 10
    una = peer.rcv_nxt

    def ack(tsval: int, ack: int, sack: tuple[tuple[int, int], ...] = ()) -> list[Segment]:
        opts: tuple[Option, ...] = (NoOperation(), NoOperation(), Timestamps(tsval, 0))
        if sack:
            opts += (NoOperation(), NoOperation(), Sack(sack))
        return peer.send(Segment(peer.sport, 80, peer.snd_nxt, ack, ACK, 65535, 0, opts))

    third = (sent[2].seq, (sent[2].seq + len(sent[2].payload)) & 0xFFFFFFFF)
    # Reordered: processed (the window it acknowledges lets new data out), not
    # dropped and answered with a bare ACK.
    answers = ack(peer.tsval - 5, una, (third,))
    assert answers and all(s.payload for s in answers)
    assert peer.endpoint.counters["drop.paws"] == 0
    ack(peer.tsval - 5, (una - 100) & 0xFFFFFFFF)  # an older ACK number: not a duplicate
    assert peer.endpoint.counters["drop.paws"] == 1
    ack((peer.tsval - 5_000) & 0xFFFFFFFF, una)  # older than an RTO (1 s = 1000 ticks): a replay
    assert peer.endpoint.counters["drop.paws"] == 2

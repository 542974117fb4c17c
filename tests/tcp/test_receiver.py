"""The Receiver on its own (RCV.* of RFC 9293 3.3.1): acceptability, text, the window it advertises.

These build a :class:`~synack.tcp.receiver.Receiver` without a connection: a
Reporter that keeps its events, a TimerSet, a TimestampState. The connection
tests (test_acceptability.py, test_window.py, ...) cover the same rules through
whole segments.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from synack.tcp.config import Config
from synack.tcp.events import DataReceived, Event, EventQueue, PeerClosed, Reporter
from synack.tcp.negotiated import Negotiated
from synack.tcp.receiver import TEXT_ACK, TEXT_FIN, Receiver, segment_acceptable
from synack.tcp.timers import TimerSet
from synack.tcp.timestamps import TimestampState
from synack.wire.seq import gt, lt
from synack.wire.tcp import ACK, FIN, SYN, Segment

MASK = 0xFFFFFFFF


def got(report: Reporter) -> list[Event]:
    """The events the receiver reported, in order."""
    sink = report.sink
    assert isinstance(sink, EventQueue)
    return list(sink.events)


def receiver(irs: int = 1000, **config: object) -> tuple[Receiver, Reporter]:
    """A Receiver that has taken a SYN with SEQ ``irs`` (RCV.NXT = irs + 1)."""
    cfg = replace(Config(), **config)  # type: ignore[arg-type]
    neg = Negotiated(peer_mss=1000)
    report = Reporter(None, EventQueue())
    rcv = Receiver(cfg, neg, TimerSet(), TimestampState(0), report)
    rcv.configure(cfg, 1000)
    rcv.accept_syn(Segment(1, 2, irs, 0, SYN), neg, 0)
    return rcv, report


def data(seq: int, n: int, flags: int = ACK) -> Segment:
    return Segment(1, 2, seq & MASK, 0, flags, 0, payload=b"d" * n)


# ----------------------------------------------------------- acceptability


def test_the_four_cases_hold_across_the_wrap() -> None:
    # RFC 9293 3.10.7.4 "first", with RCV.NXT 10 below 2**32.
    nxt = MASK - 9
    assert segment_acceptable(nxt, 0, nxt, 0)
    assert not segment_acceptable(nxt, 0, (nxt + 1) & MASK, 0)
    assert segment_acceptable(nxt, 100, 89, 0)  # 99 past RCV.NXT, beyond the wrap
    assert not segment_acceptable(nxt, 100, 90, 0)
    assert not segment_acceptable(nxt, 0, nxt, 5)
    assert segment_acceptable(nxt, 100, (nxt - 4) & MASK, 5)  # its last octet is RCV.NXT
    assert not segment_acceptable(nxt, 100, (nxt - 5) & MASK, 5)
    assert segment_acceptable(nxt, 100, 89, 5)  # its first octet is the window's last


# Buffer space and promised window around their edges (0, and a few either side)
# as often as anywhere else.
EDGE = st.one_of(st.integers(-3, 3), st.integers(-5_000, 70_000))


def set_window(rcv: Receiver, rcv_nxt: int, free: int, promised: int) -> None:
    """RCV.NXT, ``free`` octets of buffer left (held = buffer - free) and the promised edge."""
    rcv.rcv_nxt = rcv_nxt
    rcv.ready = bytearray(max(0, rcv.config.recv_buffer - free))
    rcv.rcv_adv = (rcv_nxt + promised) & MASK


@given(
    rcv_nxt=st.integers(0, MASK),
    recv_buffer=st.integers(1, 70_000),
    free=EDGE,
    promised=EDGE,
    delta=st.integers(-80_000, 80_000),
    payload=st.integers(0, 3_000),
    flags=st.sampled_from([ACK, ACK | FIN, SYN, SYN | FIN]),
)
def test_the_in_order_fast_path_agrees_with_the_four_cases(
    rcv_nxt: int,
    recv_buffer: int,
    free: int,
    promised: int,
    delta: int,
    payload: int,
    flags: int,
) -> None:
    # Receiver.acceptable() decides the in-order segment without the four cases;
    # whatever the state, its answer must be segment_acceptable()'s against the
    # window last advertised (RFC 9293 3.10.7.4, RFC 5961 3).
    rcv, _ = receiver(recv_buffer=recv_buffer)
    set_window(rcv, rcv_nxt, free, promised)
    for seq in (rcv_nxt, (rcv_nxt + delta) & MASK):
        seg = Segment(1, 2, seq, 0, flags, 0, payload=b"p" * payload)
        expected = segment_acceptable(rcv_nxt, rcv.advertised_window, seq, seg.seg_len)
        assert rcv.acceptable(seg) == expected


# --------------------------------------------------------------------- text


def test_in_order_text_is_delivered_and_every_second_segment_acked() -> None:
    rcv, report = receiver(delayed_ack=40_000)
    assert rcv.on_text(data(1001, 100), 1001, 0) == 0  # the first waits (delayed ACK)
    assert rcv.timers.delack == 40_000
    assert rcv.on_text(data(1101, 100), 1101, 10) == TEXT_ACK  # RFC 9293 3.8.6.3 SHLD-19
    assert (rcv.rcv_nxt, rcv.read(-1, True)) == (1201, b"d" * 200)
    assert got(report) == [DataReceived(100), DataReceived(200)]


def test_out_of_order_text_waits_and_asks_for_an_ack_at_once() -> None:
    rcv, report = receiver()
    assert rcv.on_text(data(1101, 100), 1101, 0) == TEXT_ACK  # RFC 5681 4.2
    assert rcv.reasm is not None and rcv.reasm.size == 100
    assert got(report) == []
    assert rcv.on_text(data(1001, 100), 1001, 0) == TEXT_ACK  # it fills the hole
    assert rcv.rcv_nxt == 1201 and rcv.reasm is None
    assert rcv.read(-1, True) == b"d" * 200


def test_an_in_order_fin_passes_rcv_nxt_over_it() -> None:
    rcv, report = receiver()
    assert rcv.on_text(data(1001, 10, ACK | FIN), 1001, 0) & TEXT_FIN
    assert rcv.rcv_nxt == 1012 and rcv.peer_closed and rcv.ack_now
    assert got(report)[-1] == PeerClosed()


def test_an_early_fin_waits_for_the_data_before_it() -> None:
    rcv, _ = receiver()
    assert rcv.on_text(data(1011, 0, ACK | FIN), 1011, 0) == TEXT_ACK  # a duplicate ACK
    assert not rcv.peer_closed
    assert rcv.on_text(data(1001, 10), 1001, 0) & TEXT_FIN


def test_nothing_beyond_an_early_fin_is_kept_and_the_fin_still_ends_the_stream() -> None:
    # RFC 9293 3.10.7.4 eighth: the FIN is the end of the peer's data; a segment
    # claiming octets after it (a broken or hostile peer) adds nothing to the stream.
    # Before the fix those octets were queued, delivered once the hole filled, and
    # carried RCV.NXT past the held FIN, which was then never processed: the
    # application read data after the end of the stream and never saw it end.
    rcv, report = receiver()
    assert rcv.on_text(data(1011, 0, ACK | FIN), 1011, 0) == TEXT_ACK  # FIN at 1011, early
    assert rcv.on_text(data(1011, 20), 1011, 0) == TEXT_ACK  # "after" the FIN
    assert rcv.on_text(data(1021, 5, ACK | FIN), 1021, 0) == TEXT_ACK  # a second, later FIN
    assert report.counters["trimmed_after_fin"] == 2
    assert report.counters["fin_moved"] == 1
    result = rcv.on_text(data(1001, 10), 1001, 0)
    assert result & TEXT_FIN
    assert rcv.rcv_nxt == 1012 and rcv.peer_closed
    assert rcv.read(-1, True) == b"d" * 10


def test_a_fin_that_moves_is_not_believed() -> None:
    # The first FIN fixes where the stream ends: a later one elsewhere is ignored.
    rcv, report = receiver()
    rcv.on_text(data(1011, 0, ACK | FIN), 1011, 0)
    rcv.on_text(data(1005, 0, ACK | FIN), 1005, 0)  # an earlier end: not believed either
    assert report.counters["fin_moved"] == 1
    assert rcv.on_text(data(1001, 10), 1001, 0) & TEXT_FIN
    assert rcv.rcv_nxt == 1012


@given(
    recv_buffer=st.integers(1, 20_000),
    free=EDGE,
    promised=EDGE,
    n=st.integers(1, 25_000),
)
def test_text_is_kept_exactly_up_to_the_window(
    recv_buffer: int, free: int, promised: int, n: int
) -> None:
    # RFC 9293 3.10.7.4 seventh: text beyond RCV.WND is not kept (the check of the
    # free buffer first is only a shortcut: RCV.WND is never smaller).
    rcv, _ = receiver(recv_buffer=recv_buffer)
    set_window(rcv, 1001, free, promised)
    wnd = rcv.rcv_wnd
    before = len(rcv.ready)
    rcv.on_text(data(1001, n), 1001, 0)
    assert len(rcv.ready) - before == min(n, wnd)


def test_text_beyond_the_window_is_cut_with_its_fin() -> None:
    rcv, report = receiver(recv_buffer=50)
    assert rcv.on_text(data(1001, 80, ACK | FIN), 1001, 0) == 0
    assert rcv.rcv_nxt == 1051 and not rcv.peer_closed
    assert report.counters["trimmed_beyond_window"] == 1


# ------------------------------------------------------------- the window


def test_advertise_keeps_the_edge_until_min_half_buffer_and_mss_is_free() -> None:
    # RFC 9293 3.8.6.2.2, Fr = 1/2: with a 4000-octet buffer and a 1000-octet
    # Eff.snd.MSS, the right edge moves once 1000 octets are free.
    rcv, _ = receiver(recv_buffer=4000, window_scaling=False)
    assert rcv.advertise() == 4000
    rcv.on_text(data(1001, 4000), 1001, 0)
    assert rcv.advertise() == 0
    rcv.read(999, True)
    assert not rcv.ack_now  # 999 free: no window update is owed ...
    assert rcv.advertise() == 0  # ... and a segment sent anyway keeps the edge
    rcv.read(1, True)
    assert rcv.ack_now
    assert rcv.advertise() == 1000
    assert not rcv.ack_now  # advertising is acknowledging


def test_with_window_scaling_the_edge_is_rounded_up_never_moved_left() -> None:
    # RFC 7323 2.4: the advertised edge never moves left, so it is rounded up.
    rcv, _ = receiver(recv_buffer=300_000)
    rcv.neg = Negotiated(peer_mss=1000, rcv_wscale=3, snd_wscale=3)
    field = rcv.advertise()
    assert field == 300_000 >> 3
    rcv.on_text(data(1001, 1003), 1001, 0)
    # The promise of 300,000 octets stands: the field keeps the old edge, rounded up.
    assert rcv.advertise() == -(-(300_000 - 1003) // 8)


# ----------------------------------------------- the sender's ACK shortcut


@given(
    snd_una=st.integers(0, MASK),
    in_flight=st.integers(0, (1 << 31) - 1),
    max_snd_wnd=st.integers(0, 1 << 30),
)
def test_an_ack_of_snd_una_is_neither_too_new_nor_too_old(
    snd_una: int, in_flight: int, max_snd_wnd: int
) -> None:
    # Sender.on_ack_segment skips both checks of RFC 9293 3.10.7.4 fifth and RFC
    # 5961 5.2 when SEG.ACK = SND.UNA: whatever the flight (< 2**31) and the
    # largest window (<= 2**30, RFC 7323 2.3), the general tests agree.
    snd_max = (snd_una + in_flight) & MASK
    assert not gt(snd_una, snd_max)
    assert not lt(snd_una, (snd_una - max_snd_wnd) & MASK)

"""The ECN state machines of a data receiver and a data sender (RFC 3168 6.1.2-6.1.3, RFC 8257 3.2)."""

from __future__ import annotations

from synack.cc.ecn import EcnReceiver, EcnSender


def test_receiver_echoes_ce_until_cwr() -> None:
    rx = EcnReceiver()
    assert rx.on_segment(ce=False, cwr=False, has_data=True) is False and not rx.ece
    # RFC 3168 6.1.3: a CE packet sets ECE on the ACKs that follow...
    assert rx.on_segment(ce=True, cwr=False, has_data=True) is True and rx.ece
    # ... all of them, marked or not (and the next CE needs no extra ACK) ...
    assert rx.on_segment(ce=False, cwr=False, has_data=True) is False and rx.ece
    assert rx.on_segment(ce=True, cwr=False, has_data=True) is False and rx.ece
    # ... until a segment with CWR arrives.
    assert rx.on_segment(ce=False, cwr=True, has_data=True) is False and not rx.ece


def test_a_cwr_segment_that_is_itself_marked_keeps_the_echo_on() -> None:
    rx = EcnReceiver()
    rx.on_segment(ce=True, cwr=False, has_data=True)
    assert rx.on_segment(ce=True, cwr=True, has_data=True) is True and rx.ece


def test_dctcp_receiver_echoes_each_segments_mark_and_acks_at_a_change() -> None:
    rx = EcnReceiver(echo_every_ce=True)
    got = [
        (rx.on_segment(ce=ce, cwr=False, has_data=True), rx.ece)
        for ce in (False, True, True, False, False, True)
    ]
    # RFC 8257 3.2: ECE mirrors the mark; each change of the CE state is ACKed at once.
    assert got == [
        (False, False),
        (True, True),
        (False, True),
        (True, False),
        (False, False),
        (True, True),
    ]
    # CWR means nothing to a DCTCP receiver; a pure ACK changes nothing.
    assert rx.on_segment(ce=False, cwr=True, has_data=False) is False and rx.ece


def test_dctcp_receiver_says_a_change_is_coming_while_ece_still_holds_the_prior_state() -> None:
    rx = EcnReceiver(echo_every_ce=True)
    # Asked before on_segment: a held-back ACK sent now carries ECE as it is (RFC 8257 3.2).
    assert rx.changes_state(ce=True, has_data=True) and not rx.ece
    rx.on_segment(ce=True, cwr=False, has_data=True)
    assert not rx.changes_state(ce=True, has_data=True)
    assert rx.changes_state(ce=False, has_data=True) and rx.ece
    assert not rx.changes_state(ce=False, has_data=False)  # a pure ACK is no data
    # An RFC 3168 receiver has no per-segment state to change.
    assert not EcnReceiver().changes_state(ce=True, has_data=True)


def test_sender_reacts_once_per_window_and_marks_one_segment_cwr() -> None:
    tx = EcnSender()
    assert tx.on_ack(ece=False, delivered=1000, sent=10_000, in_recovery=False) is False
    assert tx.take_cwr() is False
    # The first ECE: reduce now, and remember the window outstanding (up to 10,000).
    assert tx.on_ack(ece=True, delivered=2000, sent=10_000, in_recovery=False) is True
    assert tx.take_cwr() is True and tx.take_cwr() is False  # one CWR segment
    # More ECE for data of that window: no second reduction (RFC 3168 6.1.2).
    for delivered in (3000, 6000, 10_000):
        assert tx.on_ack(ece=True, delivered=delivered, sent=20_000, in_recovery=False) is False
    # Past the window: a new signal.
    assert tx.on_ack(ece=True, delivered=10_001, sent=20_000, in_recovery=False) is True
    assert tx.reactions == 2


def test_ece_during_loss_recovery_starts_no_second_reduction() -> None:
    tx = EcnSender()
    assert tx.on_ack(ece=True, delivered=5000, sent=9000, in_recovery=True) is False
    assert tx.take_cwr() is True  # the window was reduced (by recovery): say so
    assert tx.on_ack(ece=True, delivered=8000, sent=12_000, in_recovery=False) is False
    assert tx.reactions == 0


def test_sender_marks_cwr_once_after_each_loss_reduction_too() -> None:
    tx = EcnSender()
    assert tx.take_cwr(0) is False
    # RFC 3168 6.1.2: a window reduction "for any reason" (a fast retransmit, an
    # RTO): the next new data segment carries CWR, once.
    assert tx.take_cwr(1) is True and tx.take_cwr(1) is False
    assert tx.take_cwr(3) is True and tx.take_cwr(3) is False
    tx.queue_cwr()  # e.g. the one-segment window after a lost SYN
    assert tx.take_cwr(3) is True and tx.take_cwr(3) is False

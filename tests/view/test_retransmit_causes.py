"""Why the core retransmits: each cause forced by an exact scenario, as the trace and the page say it.

Every retransmission's ``seg_out`` record carries ``why`` (docs/trace.md), the
loss detection that marked the segment lost or the timer that resent it; the
page's summary counts retransmissions by that cause. The scenarios run on the
simulator's virtual clock with scripted drops (10 ms each way, no loss
otherwise): a 100,000-octet transfer is 70 data segments (69 of 1448 octets
and 88 with the FIN), so "data segment 70" is the tail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from synack.sim import LinkConfig
from synack.sim.rules import DropRule, is_data, is_syn, is_syn_ack
from synack.sim.scenario import TransferResult, run_transfer
from synack.tcp import Connection
from synack.tcp.config import Config
from synack.tcp.reasons import RETRANSMIT_REASONS
from synack.trace import TraceCollector
from synack.view import load_view
from synack.view.from_trace import CAUSES
from synack.wire.tcp import ACK, SYN, MaxSegmentSize, Segment
from tests.tcp.helpers import (
    CONFIG,
    FROM_PEER,
    LOCAL,
    LOCAL_ISS,
    MSS,
    REMOTE,
    REMOTE_ISS,
    feed,
    out,
)

Records = list[dict[str, Any]]


class _SameSeq:
    """Data segment ``n`` and every later segment with its sequence number."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.seq: int | None = None

    def __call__(self, seg: Segment) -> bool:
        if not seg.payload:
            return False
        self.count += 1
        if self.count == self.n:
            self.seq = seg.seq
            return True
        return seg.seq == self.seq


def _run(*rules: DropRule, nbytes: int = 100_000, **config: Any) -> tuple[TransferResult, Records]:
    collector = TraceCollector()
    link = LinkConfig(delay=10_000, rules=rules)
    result = run_transfer(nbytes, link, seed=1, config=Config(**config), tracer=collector)
    assert result.verified
    return result, collector.records


def _whys(records: Records, host: str = "client") -> list[str | None]:
    return [
        r.get("why") for r in records if r["ev"] == "seg_out" and r["rtx"] and r["host"] == host
    ]


def _summary_causes(records: Records) -> dict[str, int]:
    view, _, _ = load_view(records)
    (section,) = [s for s in view.summary if s.title.startswith("Retransmissions by cause")]
    assert section.title == "Retransmissions by cause (the core's own)"
    return {cause: int(n.replace(",", "")) for cause, n in section.rows}


def test_every_cause_has_a_name_on_the_page() -> None:
    assert set(CAUSES) == set(RETRANSMIT_REASONS)


def test_a_lost_syn_is_resent_by_the_handshake_timer() -> None:
    _, records = _run(DropRule.nth(is_syn, 1), nbytes=10_000)
    assert _whys(records) == ["syn"]
    assert _summary_causes(records) == {"RTO (handshake)": 1}


def test_a_lost_syn_ack_is_resent_by_its_timer_and_for_the_repeated_syn() -> None:
    _, records = _run(DropRule.nth(is_syn_ack, 1), nbytes=10_000)
    # The client's SYN times out at 1 s; the server's SYN-ACK at 1.01 s, and the
    # client's second SYN arrives then too: RFC 9293 3.10.7.4 answers it again.
    assert _whys(records, "client") == ["syn"]
    assert _whys(records, "server") == ["syn", "dup_syn"]
    assert _summary_causes(records) == {
        "RTO (handshake)": 2,
        "SYN-ACK again (the peer's SYN came again)": 1,
    }


def test_one_loss_with_sack_is_marked_by_rack_on_an_ack() -> None:
    result, records = _run(DropRule.nth(is_data, 10))
    # RFC 8985 6.2: the three segments SACKed right after it make the reordering
    # window zero (no reordering seen), so the first ACK with them marks it lost.
    assert _whys(records) == ["rack"]
    c = Counter(result.counters)
    assert (c["conn.retransmit.rack"], c["conn.retransmit.dupthresh"]) == (1, 0)
    assert _summary_causes(records) == {"RACK (on an ACK)": 1}


def test_one_loss_without_rack_is_marked_by_dupthresh() -> None:
    result, records = _run(DropRule.nth(is_data, 10), rack=False)
    assert _whys(records) == ["dupthresh"]  # RFC 6675 IsLost: three SACKed segments above it
    c = Counter(result.counters)
    assert (c["conn.retransmit.rack"], c["conn.retransmit.dupthresh"]) == (0, 1)
    assert _summary_causes(records) == {"DupThresh (duplicate ACKs / SACK, RFC 6675)": 1}


def test_two_losses_without_sack_are_dupthresh_then_a_newreno_partial_ack() -> None:
    result, records = _run(DropRule.nth(is_data, 10, 12), sack=False)
    # RFC 5681 3.2: the third duplicate ACK; RFC 6582 3.2 (5): the partial ACK
    # that answers it leaves segment 12 first.
    assert _whys(records) == ["dupthresh", "newreno"]
    c = Counter(result.counters)
    assert (c["conn.retransmit.dupthresh"], c["conn.retransmit.newreno"]) == (1, 1)
    assert _summary_causes(records) == {
        "DupThresh (duplicate ACKs / SACK, RFC 6675)": 1,
        "NewReno partial ACK": 1,
    }


def test_a_loss_with_one_segment_sacked_above_waits_for_the_reordering_timer() -> None:
    _, records = _run(DropRule.nth(is_data, 68))
    # One segment SACKed above it: RACK waits min_RTT / 4 = 5 ms (RFC 8985 6.2
    # step 4) and marks it when the reordering timer fires (6.3).
    assert _whys(records) == ["rack_timer"]
    (rtx,) = [r for r in records if r["ev"] == "seg_out" and r["rtx"]]
    sacked_at = max(r["t"] for r in records if r["ev"] == "seg_in" and "sack" in r.get("opts", ""))
    assert rtx["t"] == sacked_at + 5_000
    assert _summary_causes(records) == {"RACK (reordering timer)": 1}


def test_a_tail_loss_is_resent_by_the_probe() -> None:
    result, records = _run(DropRule.nth(is_data, 70))
    assert _whys(records) == ["tlp"]
    assert result.counters.get("conn.retransmit.tlp") == 1
    assert _summary_causes(records) == {"TLP": 1}


def test_a_lost_retransmission_is_found_by_rack_or_by_the_rto() -> None:
    # RACK notices a lost retransmission (RFC 8985 6.2: it was sent before what
    # is SACKed after it) ...
    _, records = _run(DropRule(_SameSeq(10), frozenset({1, 2})))
    assert _whys(records) == ["rack", "rack"]
    # ... RFC 6675 without RACK does not: the retransmission timer resends it.
    result, records = _run(DropRule(_SameSeq(10), frozenset({1, 2})), rack=False)
    assert _whys(records) == ["dupthresh", "rto"]
    assert result.counters.get("conn.retransmit.rto") == 1
    assert _summary_causes(records) == {
        "DupThresh (duplicate ACKs / SACK, RFC 6675)": 1,
        "RTO": 1,
    }


def test_after_an_rto_the_rest_of_the_flight_is_rto_recovery() -> None:
    result, records = _run(DropRule.span(is_data, 68, 70), rack=False)
    # RFC 6298 (5.4): the timer resends the first segment; the rest follow as the
    # window opens again (go-back-N of what is not SACKed).
    assert _whys(records) == ["rto", "rto_recovery", "rto_recovery"]
    c = Counter(result.counters)
    assert (c["conn.retransmit.rto"], c["conn.retransmit.rto_recovery"]) == (1, 2)
    assert _summary_causes(records) == {"RTO recovery": 2, "RTO": 1}


def _established(collector: TraceCollector, **config: Any) -> Connection:
    """tests.tcp.helpers.established(), traced."""
    conn = Connection(
        LOCAL, REMOTE, iss=LOCAL_ISS, config=replace(CONFIG, **config), tracer=collector
    )
    conn.connect(0)
    out(conn)
    feed(conn, seq=REMOTE_ISS, ack=LOCAL_ISS + 1, flags=SYN | ACK, options=(MaxSegmentSize(MSS),))
    out(conn)
    return conn


def test_zero_window_probes_and_the_reopened_window_say_so() -> None:
    collector = TraceCollector()
    conn = _established(collector, nodelay=True)
    conn.send(b"z" * 3 * MSS)
    out(conn)
    una = LOCAL_ISS + 1 + MSS
    feed(conn, 10, ack=una, window=0)  # the rest is in flight: a window shrunk to zero
    t = conn.next_deadline()
    assert t is not None
    conn.handle_timer(t)
    # RFC 9293 3.8.6.1: one octet of what is outstanding probes the window.
    (probe,) = out(conn, t)
    assert (probe.seq, probe.payload) == (una, b"z")
    feed(conn, t + 10, ack=una, window=FROM_PEER.window)
    resent = out(conn, t + 10)
    assert [s.seq for s in resent] == [una, una + MSS]
    assert _whys(collector.records, "") == ["window_probe", "window_reopened", "window_reopened"]


def test_a_trace_without_why_keeps_the_inferred_causes() -> None:
    _, records = _run(DropRule.nth(is_data, 10))
    old: Records = [{k: v for k, v in r.items() if k != "why"} for r in records]
    view, _, _ = load_view(old)
    (section,) = [s for s in view.summary if s.title.startswith("Retransmissions by cause")]
    assert section.title == "Retransmissions by cause (inferred from the sender's timers)"
    # Sent on an ACK, with no timer behind it: what the timer records can tell.
    assert section.rows == [["fast retransmit / recovery", "1"]]
    assert any("inferred from the sender's timer records" in n for n in view.notes)

"""A million hostile packets through ``Endpoint.receive_packet``: nothing raises, every one is accounted for.

The server of a :class:`~tests.security.lab.Lab` serves live connections (IPv4
and IPv6, data flowing, timers firing, connections closing and reopening) while
it receives, between their legitimate segments, random bytes, mutated copies of
real packets (most with their checksums repaired so they get past the parser)
and segments crafted at the live 4-tuples from what an observer saw on the wire.

Accounting comes from the trace (docs/trace.md): each packet the server
receives ends as exactly one ``drop`` record of the endpoint (with a reason),
one SYN cookie sent (``syncookies.sent``), or one ``seg_in`` record of the
connection it reached; every drop at any level is
counted under ``drop.<reason>`` as often as it is traced. Costs about 30-40 s.
"""

from __future__ import annotations

import os
from collections import Counter

from synack.tcp import Config, State
from synack.wire.errors import REASONS
from tests.security.fuzzer import Fuzzer
from tests.security.lab import Lab

PACKETS = int(os.environ.get("FUZZ_PACKETS", "1000000"))
BATCH = 400


class Accounting:
    """A tracer that keeps only what the accounting needs."""

    def __init__(self) -> None:
        self.endpoint_drops: Counter[str] = Counter()
        self.conn_drops: Counter[str] = Counter()
        self.seg_in = 0

    def __call__(self, rec: dict[str, object]) -> None:
        ev = rec["ev"]
        if ev == "seg_in":
            self.seg_in += 1
        elif ev == "drop":
            reason = rec["reason"]
            assert isinstance(reason, str) and reason, rec
            if "conn" in rec:
                self.conn_drops[reason] += 1
            else:
                self.endpoint_drops[reason] += 1


def test_a_million_hostile_packets_never_raise_and_each_is_dropped_with_a_reason_or_processed() -> (
    None
):
    acct = Accounting()
    config = Config(recv_buffer=64 * 1024, send_buffer=64 * 1024, keepalive=True)
    lab = Lab(seed=7, server_config=config, tracer=acct, backlog=64, check_streams=False)
    fuzz = Fuzzer(lab, seed=11)
    lab.tap = fuzz.tap  # real packets on the wire are mutation material
    fed = 0
    while fed < PACKETS:
        # Keep a handful of live connections with data in flight.
        lab.tidy()
        for i in range(6 - len(lab.streams)):
            lab.open(v6=i % 3 == 0)
        for conn in lab.streams:
            if conn.state is State.ESTABLISHED and lab.rng.random() < 0.5:
                lab.write(conn, lab.rng.choice((100, 3000, 20_000)))
                if lab.rng.random() < 0.02:
                    conn.close(lab.now)
        lab.advance(lab.rng.choice((1_000, 20_000, 300_000)))
        for _ in range(BATCH):
            lab.inject(fuzz.packet(), deliver=False)
        fed += BATCH
    lab.advance(400_000_000)  # let every timer run out (TIME-WAIT, keep-alive, RTO)

    counters = lab.server.counters
    assert counters["packets_in"] > fed
    # Each packet is dropped by the endpoint (with a reason), answered by it with a
    # SYN cookie (a SYN when the listener's queue is full), or reaches a connection.
    handled = sum(acct.endpoint_drops.values()) + counters["syncookies.sent"] + acct.seg_in
    assert handled == counters["packets_in"]
    # Every drop traced is counted, under the same reason, and vice versa.
    traced = acct.endpoint_drops + acct.conn_drops
    counted = Counter({k[5:]: v for k, v in counters.items() if k.startswith("drop.")})
    assert traced == counted
    # The parser's reasons are the documented ones.
    parse_level = {r for r in acct.endpoint_drops if r in REASONS}
    assert parse_level >= {"bad_checksum", "truncated", "bad_version"}
    # The fuzz reached deep: many segments got to connections, in many ways.
    assert acct.seg_in > PACKETS // 3
    assert len(acct.conn_drops) >= 10
    assert all(v > PACKETS // 20 for v in fuzz.kinds.values())

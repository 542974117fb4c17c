"""The timestamp clock does not leak (issue 16 finding 2; RFC 7323 5.4 and 7.1).

TSval was the clock plus an offset computed from the ISS: anyone who saw a SYN
(ISS and TSval) recovered the host's clock, and with it the secret part of the
RFC 6528 ISN for that 4-tuple. The offset is now a keyed hash of the 4-tuple
with a secret of its own.
"""

from __future__ import annotations

from synack.tcp import Config, Endpoint
from synack.wire.ip import parse_tcp_packet, str_to_addr

A = str_to_addr("192.0.2.1")
B = str_to_addr("192.0.2.2")


def syn_tsval(ep: Endpoint, now: int, local_port: int, remote_port: int = 80) -> tuple[int, int]:
    """(ISS, TSval) of the SYN ``ep`` sends for a new connection."""
    conn = ep.connect(B, remote_port, now, local_port=local_port)
    (packet,) = ep.packets_to_send(now)
    _, seg = parse_tcp_packet(packet)
    assert seg.timestamps is not None
    conn.abort(now)
    ep.packets_to_send(now)
    return seg.seq, seg.timestamps.tsval


def test_tsval_is_not_a_function_of_the_iss_and_the_time() -> None:
    # Same ISS, same time, same 4-tuple: only the endpoints' secrets differ.
    config = Config(fixed_iss=1000)
    one = syn_tsval(Endpoint([A], config=config, isn_secret=b"1" * 32), 5_000_000, 50000)
    two = syn_tsval(Endpoint([A], config=config, isn_secret=b"2" * 32), 5_000_000, 50000)
    assert one[0] == two[0] == 1000
    assert one[1] != two[1]


def test_each_connection_has_its_own_offset_even_with_the_same_iss() -> None:
    ep = Endpoint([A], config=Config(fixed_iss=1000), isn_secret=b"k" * 32)
    tsvals = {syn_tsval(ep, 5_000_000, port)[1] for port in range(50000, 50010)}
    assert len(tsvals) == 10


def test_a_new_incarnation_of_a_4_tuple_continues_its_clock() -> None:
    # RFC 7323 5.4 / Appendix B: TSval must not go back when a 4-tuple is reused,
    # or the peer's PAWS would reject the new connection. The clock ticks every
    # millisecond (RFC 7323 5.4: "between 1 ms and 1 sec per tick").
    ep = Endpoint([A], isn_secret=b"k" * 32)
    iss1, ts1 = syn_tsval(ep, 5_000_000, 50000)
    iss2, ts2 = syn_tsval(ep, 9_000_000, 50000)
    assert iss1 != iss2  # RFC 6528: the ISN moved on with the clock ...
    assert (ts2 - ts1) & 0xFFFFFFFF == 4_000  # ... and so did TSval, by 4 s of ticks

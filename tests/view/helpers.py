"""Traces the view tests share."""

from __future__ import annotations

from synack.tcp import Connection
from synack.trace import TraceCollector
from synack.trace.jsonl import Record


def one_side_traced(payload: bytes, hops: int) -> list[Record]:
    """The client's trace of a handshake and ``payload``, as over a TAP device.

    Only the client is traced and there are no link records: the server is
    untraced, and each hop between the two takes 10 ms.
    """
    traced = TraceCollector()
    client = Connection(
        ("192.168.1.100", 40000), ("10.0.0.5", 80), iss=1000, name="client", tracer=traced
    )
    server = Connection(("10.0.0.5", 80), ("192.168.1.100", 40000), iss=5000, name="server")
    server.listen(now=0)
    client.connect(now=0)
    client.send(payload)
    now, side = 0, (client, server)
    for _ in range(hops):
        segs = side[0].segments_to_send(now)
        now += 10_000
        for seg in segs:
            side[1].receive_segment(seg, now)
        side = (side[1], side[0])
    return traced.records

"""JSON Lines traces: the link record schema, writing and reading back."""

from __future__ import annotations

import io
import json
from pathlib import Path

from synack.tcp.state import State
from synack.trace import JsonlWriter, TraceCollector, fanout, link_record, read_jsonl
from synack.wire.tcp import ACK, PSH, SYN
from tests.sim.helpers import tcp_packet


def test_link_record_fields() -> None:
    rec = link_record(
        7, "client->server", "send", tcp_packet(1001, PSH | ACK, b"hey", ack=5001), None
    )
    assert rec == {
        "t": 7,
        "ev": "link",
        "link": "client->server",
        "what": "send",
        "src": "192.168.1.100:40000",
        "dst": "10.0.0.5:80",
        "flags": ["PSH", "ACK"],
        "seq": 1001,
        "ack": 5001,
        "win": 65535,
        "len": 3,
        "size": 43,
    }


def test_drop_records_carry_a_reason_and_impairments_a_detail() -> None:
    p = tcp_packet(1, SYN)
    assert link_record(0, "l", "drop", p, "loss")["reason"] == "loss"
    assert link_record(0, "l", "deliver", p, "corrupted")["detail"] == "corrupted"


def test_non_tcp_bytes_give_a_malformed_record() -> None:
    assert link_record(0, "l", "send", b"\x00\x01", None) == {
        "t": 0,
        "ev": "link",
        "link": "l",
        "what": "send",
        "size": 2,
        "malformed": True,
    }


def test_writer_writes_one_compact_line_per_record_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with JsonlWriter(path) as w:
        w({"t": 0, "ev": "state", "host": "client", "old": State.CLOSED, "new": State.SYN_SENT})
        w.observe(1, "l", "send", tcp_packet(1, SYN), None)
    lines = path.read_text().splitlines()
    assert lines[0] == '{"t":0,"ev":"state","host":"client","old":"CLOSED","new":"SYN-SENT"}'
    records = list(read_jsonl(path))
    assert [r["ev"] for r in records] == ["state", "link"]
    assert records[1]["flags"] == ["SYN"]


def test_collector_keeps_plain_json_values_and_fanout_feeds_everyone() -> None:
    c = TraceCollector()
    buf = io.StringIO()
    w = JsonlWriter(buf)
    tracer = fanout(c, None, w)
    tracer({"t": 1, "ev": "state", "host": "h", "old": State.LISTEN, "new": State.SYN_RECEIVED})
    assert c.records == [
        {"t": 1, "ev": "state", "host": "h", "old": "LISTEN", "new": "SYN-RECEIVED"}
    ]
    assert json.loads(buf.getvalue()) == c.records[0]

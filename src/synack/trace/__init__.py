"""Seeing TCP: ladder diagrams, pcap capture files, JSON Lines traces and plots.

Every piece here is driver-neutral: a *tracer* takes the core's trace records
(dicts), an *observer* is called as ``observer(now, link, what, packet, detail)``
for packets on a link (the simulator's links call it; a real link can too).
"""

from collections.abc import Callable
from typing import Any

from synack.trace.jsonl import JsonlWriter, TraceCollector, link_record, read_jsonl
from synack.trace.ladder import Ladder, format_time
from synack.trace.packet import PacketInfo, peek
from synack.trace.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapObserver, PcapWriter, read_pcap

__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_RAW",
    "JsonlWriter",
    "Ladder",
    "PacketInfo",
    "PcapObserver",
    "PcapWriter",
    "TraceCollector",
    "fanout",
    "format_time",
    "link_record",
    "peek",
    "read_jsonl",
    "read_pcap",
]


def fanout(*tracers: Callable[[dict[str, Any]], None] | None) -> Callable[[dict[str, Any]], None]:
    """One tracer that hands each record to every given tracer (``None`` skipped)."""
    live = [t for t in tracers if t is not None]

    def tracer(record: dict[str, Any]) -> None:
        for t in live:
            t(record)

    return tracer

"""One-line human-readable renderings of segments and options, for traces and logs.

:func:`format_segment` writes a segment the way Wireshark's Info column does
(``[SYN, ACK] Seq=0 Ack=1 Win=65535``), with the options the way tcpdump writes
them (``<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>``). Sequence numbers are
absolute unless the initial sequence numbers are given, in which case they are
relative to them, as Wireshark shows them by default.
"""

from __future__ import annotations

from synack.wire.seq import MASK
from synack.wire.tcp import (
    ACK,
    URG,
    EndOfOptions,
    MaxSegmentSize,
    NoOperation,
    Option,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    flag_names,
)

__all__ = ["format_flags", "format_option", "format_options", "format_segment"]


def format_flags(flags: int) -> str:
    """``[SYN, ACK]``: the names of the set bits in brackets; ``[<None>]`` for none."""
    names = flag_names(flags)
    return f"[{', '.join(names)}]" if names else "[<None>]"


def format_option(option: Option, *, sack_base: int | None = None) -> str:
    """One option as tcpdump writes it: ``mss 1460``, ``sackOK``, ``TS val 1 ecr 0``.

    SACK edges are made relative to ``sack_base`` when it is given (they number
    the same bytes as the segment's acknowledgment field).
    """
    match option:
        case NoOperation():
            return "nop"
        case EndOfOptions():
            return "eol"
        case MaxSegmentSize(mss=mss):
            return f"mss {mss}"
        case WindowScale(shift=shift):
            return f"wscale {shift}"
        case SackPermitted():
            return "sackOK"
        case Sack(blocks=blocks):
            base = sack_base or 0
            edges = "".join(f"{{{(lo - base) & MASK}:{(hi - base) & MASK}}}" for lo, hi in blocks)
            return f"sack {len(blocks)} {edges}"
        case Timestamps(tsval=tsval, tsecr=tsecr):
            return f"TS val {tsval} ecr {tsecr}"
        case UnknownOption(kind=kind, data=data):
            return f"unknown-{kind} 0x{data.hex()}" if data else f"unknown-{kind}"
    raise TypeError(f"not a TCP option: {option!r}")  # pragma: no cover


def format_options(options: tuple[Option, ...], *, sack_base: int | None = None) -> str:
    """The options as tcpdump lists them, comma-separated: ``mss 1460,nop,wscale 7``."""
    return ",".join(format_option(o, sack_base=sack_base) for o in options)


def format_segment(
    seg: Segment,
    *,
    isn_sender: int | None = None,
    isn_receiver: int | None = None,
    window: bool = True,
    options: bool = True,
    ports: bool = False,
) -> str:
    """One line for ``seg``: ``[SYN, ACK] Seq=5000 Ack=1001 Win=65535 <mss 1460>``.

    ``isn_sender`` (the ISN of the side that sent ``seg``) makes ``Seq``
    relative; ``isn_receiver`` makes ``Ack`` and SACK edges relative; either
    alone is allowed. ``Ack`` appears only when the ACK bit is set, ``Urg`` only
    when URG is, ``Len`` only for a non-empty payload. ``window`` and ``options``
    turn those parts off; ``ports`` puts ``40000 -> 80`` in front.
    """
    parts = [format_flags(seg.flags)]
    if ports:
        parts.insert(0, f"{seg.src_port} -> {seg.dst_port}")
    seq = seg.seq if isn_sender is None else (seg.seq - isn_sender) & MASK
    parts.append(f"Seq={seq}")
    if seg.flags & ACK:
        ack = seg.ack if isn_receiver is None else (seg.ack - isn_receiver) & MASK
        parts.append(f"Ack={ack}")
    if window:
        parts.append(f"Win={seg.window}")
    if seg.flags & URG:
        parts.append(f"Urg={seg.urgent}")
    if seg.payload:
        parts.append(f"Len={len(seg.payload)}")
    if options and seg.options:
        parts.append(f"<{format_options(seg.options, sack_base=isn_receiver)}>")
    return " ".join(parts)

"""Packets and system calls written back in packetdrill syntax, for messages and ``--verbose``.

The runner shows both the packet a script expects and the one the stack sent
in the script's own notation (``S. 0:0(0) ack 1 win 65535 <mss 1460,...>``),
with the stack's sequence numbers already made relative, so the two lines
can be compared by eye.
"""

from __future__ import annotations

from synack.packetdrill.script import (
    BinOp,
    Elided,
    Expr,
    FuncCall,
    IcmpPacket,
    Int,
    ListExpr,
    Str,
    Struct,
    Syscall,
    TcpPacket,
    Word,
)
from synack.wire.tcp import (
    ACK,
    AE,
    CWR,
    ECE,
    FIN,
    PSH,
    RST,
    SYN,
    URG,
    EndOfOptions,
    MaxSegmentSize,
    NoOperation,
    Option,
    Sack,
    SackPermitted,
    Timestamps,
    UnknownOption,
    WindowScale,
)

__all__ = [
    "FLAG_BITS",
    "flag_letters",
    "format_expr",
    "format_icmp",
    "format_options",
    "format_packet",
    "format_syscall",
    "format_tcp",
    "format_time",
]

FLAG_BITS: dict[str, int] = {
    "F": FIN,
    "S": SYN,
    "R": RST,
    "P": PSH,
    ".": ACK,
    "U": URG,
    "E": ECE,
    "W": CWR,
    "A": AE,
}
"""packetdrill's flag letters and the TCP header bits they stand for."""

_ORDER = "FSRPUEWA."


def flag_letters(bits: int) -> str:
    """``S.`` for SYN+ACK; ``.`` for a bare ACK; ``-`` for no flags at all."""
    text = "".join(c for c in _ORDER if bits & FLAG_BITS[c])
    return text or "-"


def format_time(usecs: int) -> str:
    """Microseconds as packetdrill prints times: seconds with six decimals."""
    sign = "-" if usecs < 0 else ""
    s, us = divmod(abs(usecs), 1_000_000)
    return f"{sign}{s}.{us:06d}"


def format_options(options: tuple[Option, ...] | None) -> str:
    """``<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>``; ``<...>`` for any."""
    if options is None:
        return "<...>"
    return "<" + ",".join(_option(o) for o in options) + ">"


def _option(o: Option) -> str:
    if isinstance(o, NoOperation):
        return "nop"
    if isinstance(o, EndOfOptions):
        return "eol"
    if isinstance(o, MaxSegmentSize):
        return f"mss {o.mss}"
    if isinstance(o, WindowScale):
        return f"wscale {o.shift}"
    if isinstance(o, SackPermitted):
        return "sackOK"
    if isinstance(o, Sack):
        return "sack " + " ".join(f"{a}:{b}" for a, b in o.blocks)
    if isinstance(o, Timestamps):
        return f"TS val {o.tsval} ecr {o.tsecr}"
    if isinstance(o, UnknownOption):
        return f"kind {o.kind} ({len(o.data)} octets)"
    return repr(o)


def format_tcp(
    bits: int,
    seq: int,
    length: int,
    ack: int | None,
    window: int | None,
    options: tuple[Option, ...] | None,
    *,
    urg: int | None = None,
    ecn: str | None = None,
) -> str:
    """One TCP packet in packetdrill syntax, from header values."""
    parts = []
    if ecn:
        parts.append(f"[{ecn}]")
    parts.append(flag_letters(bits))
    parts.append(f"{seq}:{(seq + length) & 0xFFFFFFFF}({length})")
    if ack is not None:
        parts.append(f"ack {ack}")
    if window is not None:
        parts.append(f"win {window}")
    if urg:
        parts.append(f"urg {urg}")
    if options is None or options:
        parts.append(format_options(options))
    return " ".join(parts)


def format_packet(packet: TcpPacket | IcmpPacket) -> str:
    """A script's packet as it is written (without its direction)."""
    if isinstance(packet, IcmpPacket):
        return format_icmp(packet)
    bits = 0
    for c in packet.flags:
        bits |= FLAG_BITS[c]
    return format_tcp(
        bits,
        packet.seq,
        packet.length,
        packet.ack if "." in packet.flags else None,
        packet.window,
        packet.options,
        urg=packet.urg,
        ecn=packet.ecn,
    )


def format_icmp(packet: IcmpPacket) -> str:
    text = f"icmp {packet.icmp_type}"
    if packet.code:
        text += f" {packet.code}"
    if packet.mtu is not None:
        text += f" mtu {packet.mtu}"
    if packet.echoed is not None:
        start, length = packet.echoed
        text += f" [{start}:{start + length}({length})]"
    return text


def format_expr(e: Expr) -> str:
    """An expression as a script writes it."""
    if isinstance(e, Elided):
        return "..."
    if isinstance(e, Int):
        return hex(e.value) if e.hex else str(e.value)
    if isinstance(e, Word):
        return e.name
    if isinstance(e, Str):
        return f'"{e.text}"' + ("..." if e.more else "")
    if isinstance(e, BinOp):
        return f"{format_expr(e.lhs)}{e.op}{format_expr(e.rhs)}"
    if isinstance(e, ListExpr):
        return "[" + ", ".join(format_expr(i) for i in e.items) + "]"
    if isinstance(e, Struct):
        items = [(f"{k}=" if k else "") + format_expr(v) for k, v in e.fields]
        return "{" + ", ".join(items) + "}"
    if isinstance(e, FuncCall):
        return f"{e.name}(" + ", ".join(format_expr(a) for a in e.args) + ")"
    return repr(e)


def format_syscall(call: Syscall) -> str:
    """``write(4, ..., 1000) = 1000`` as the script gives it."""
    text = f"{call.name}(" + ", ".join(format_expr(a) for a in call.args) + ")"
    text += f" = {format_expr(call.result)}"
    if call.errno:
        text += f" {call.errno}"
    return text

"""A packetdrill script as values: what the parser builds and the runner executes.

A :class:`Script` is a list of :class:`Event` objects, each a time
(:class:`TimeSpec`) and one action: a TCP packet the script injects (``<``) or
expects (``>``) (:class:`TcpPacket`), an inbound ICMP error
(:class:`IcmpPacket`), a system call with its expected result
(:class:`Syscall`), or a shell command in backticks (:class:`Command`).
TCP options are :mod:`synack.wire` option values; a packet's ``options`` of
``None`` is packetdrill's ``<...>`` (any options at all).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from synack.wire.tcp import Option

__all__ = [
    "Action",
    "BinOp",
    "Command",
    "Direction",
    "Elided",
    "Event",
    "Expr",
    "FuncCall",
    "IcmpPacket",
    "Int",
    "ListExpr",
    "Script",
    "ScriptOption",
    "Str",
    "Struct",
    "Syscall",
    "TcpPacket",
    "TimeKind",
    "TimeSpec",
    "Word",
]


class TimeKind(enum.Enum):
    """How an event's time is written (packetdrill's five forms)."""

    ABSOLUTE = "absolute"  # 0.100
    RELATIVE = "relative"  # +0.1
    ANY = "any"  # *
    ABSOLUTE_RANGE = "absolute range"  # 0.1~0.2
    RELATIVE_RANGE = "relative range"  # +0.1~+0.2


@dataclass(frozen=True, slots=True)
class TimeSpec:
    """An event time in microseconds (``end`` only for ranges)."""

    kind: TimeKind
    usecs: int = 0
    end: int | None = None

    @property
    def relative(self) -> bool:
        return self.kind in (TimeKind.RELATIVE, TimeKind.RELATIVE_RANGE)


class Direction(enum.Enum):
    """``<``: the script sends the packet; ``>``: the stack must send it."""

    INBOUND = "<"
    OUTBOUND = ">"


@dataclass(frozen=True, slots=True)
class TcpPacket:
    """``< S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>``.

    ``flags`` holds packetdrill's flag letters (``F S R P . U E W``, ``.`` is
    ACK). ``seq`` is the start sequence number: absolute for the script's side,
    relative to the stack's initial sequence number for the stack's side, as
    packetdrill numbers them. ``window`` ``None`` (outbound only) is unchecked;
    ``options`` ``None`` is ``<...>``. ``ecn`` is the IP ECN field written in
    brackets (``[ect0]``), ``ports`` an explicit ``src>dst`` port pair.
    """

    direction: Direction
    flags: str
    seq: int
    length: int
    ack: int | None = None
    window: int | None = None
    urg: int | None = None
    options: tuple[Option, ...] | None = ()
    ecn: str | None = None
    ports: tuple[int, int] | None = None

    @property
    def end(self) -> int:
        return (self.seq + self.length) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class IcmpPacket:
    """``< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]``.

    ``echoed`` is the quoted TCP segment's start sequence number and length,
    in the stack's relative numbering (the ICMP quotes a packet it sent).
    """

    direction: Direction
    icmp_type: str
    code: str | None = None
    mtu: int | None = None
    echoed: tuple[int, int] | None = None


# ------------------------------------------------------------------ expressions
@dataclass(frozen=True, slots=True)
class Elided:
    """``...``: the runner supplies the value (a buffer, an address, a length)."""


@dataclass(frozen=True, slots=True)
class Int:
    value: int
    hex: bool = False


@dataclass(frozen=True, slots=True)
class Word:
    """A symbolic constant such as ``SOL_SOCKET`` or ``O_NONBLOCK``."""

    name: str


@dataclass(frozen=True, slots=True)
class Str:
    """A quoted string; ``more`` for packetdrill's ``"abc"...`` (a prefix)."""

    text: str
    more: bool = False


@dataclass(frozen=True, slots=True)
class BinOp:
    """``A|B`` (bitwise or) or, inside braces, ``name=value``."""

    op: str
    lhs: Expr
    rhs: Expr


@dataclass(frozen=True, slots=True)
class ListExpr:
    """``[1]`` or ``[{..., 10}, {..., 20}]``."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Struct:
    """``{fd=4, events=POLLIN}`` or ``{..., 100}``: named and positional fields."""

    fields: tuple[tuple[str | None, Expr], ...]

    def get(self, name: str) -> Expr | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class FuncCall:
    """``htons(8080)`` or ``inet_addr("192.0.2.1")`` inside a sockaddr."""

    name: str
    args: tuple[Expr, ...]


Expr = Elided | Int | Word | Str | BinOp | ListExpr | Struct | FuncCall


@dataclass(frozen=True, slots=True)
class Syscall:
    """``write(4, ..., 1000) = 1000`` or ``read(4, ..., 10) = -1 EAGAIN (Resource ...)``.

    ``end`` is the end time of a blocking call (``+0...0.2 accept(...)``), in
    the same numbering as the event's start time; ``None`` means the call
    must return at once.
    """

    name: str
    args: tuple[Expr, ...]
    result: Expr
    errno: str | None = None
    note: str | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """A shell command in backticks, e.g. ```sysctl -q net.ipv4.tcp_sack=0```."""

    text: str


Action = TcpPacket | IcmpPacket | Syscall | Command


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a script: when, and what."""

    line: int
    time: TimeSpec
    action: Action

    @property
    def inbound_packet(self) -> bool:
        return (
            isinstance(self.action, TcpPacket | IcmpPacket)
            and self.action.direction is Direction.INBOUND
        )


@dataclass(frozen=True, slots=True)
class ScriptOption:
    """A ``--name=value`` line at the top of a script."""

    name: str
    value: str | None
    line: int


@dataclass(frozen=True, slots=True)
class Script:
    """A parsed script: its options, an optional init command, and its events."""

    path: str
    options: tuple[ScriptOption, ...] = ()
    events: tuple[Event, ...] = ()
    init_command: Command | None = None
    init_line: int = 0
    source: str = field(default="", repr=False)

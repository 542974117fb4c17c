"""Ladder diagrams: one line per segment, plus the state changes of each side.

A :class:`Ladder` is both a link observer (it sees every segment a host puts on
a link, and every loss) and a tracer for the core's records (it shows the
``state`` records). :meth:`Ladder.render` lays the lines out like this::

    0.000000  Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000
    0.000000  client: CLOSED -> SYN-SENT
    0.010000  Server (10.0.0.5:80) -> Client (192.168.1.100)   [SYN, ACK] Seq=5000 Ack=1001

Lost segments end in ``x lost (reason)``; a segment that repeats sequence
space already sent in its direction is marked ``(retransmission)``. Sequence
numbers are absolute, or relative to each direction's initial sequence number
(the SYN's, as Wireshark shows them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from synack.trace.packet import PacketInfo, endpoint_str, peek
from synack.wire.errors import MalformedPacket
from synack.wire.ip import addr_to_str, parse_ip, str_to_addr
from synack.wire.render import format_segment
from synack.wire.seq import MASK, gt, lt
from synack.wire.tcp import ACK, SYN, Segment, parse_segment

__all__ = ["Ladder", "format_time"]

Flow = tuple[bytes, int, bytes, int]


def format_time(t_us: int) -> str:
    """Microseconds as seconds with six decimals, exactly (no float rounding)."""
    sign = "-" if t_us < 0 else ""
    s, us = divmod(abs(t_us), 1_000_000)
    return f"{sign}{s}.{us:06d}"


class _Line(NamedTuple):
    t: int
    left: str | None  # "A -> B" for a segment; None for a note
    text: str
    marks: list[str]
    packet: bytes | None
    link: str | None


class Ladder:
    """Collects ladder-diagram lines from link observations and core trace records.

    ``names`` maps addresses (text or packed) to labels such as ``"Client"``.
    ``ports``: ``"server"`` shows a port only where a SYN was sent to it (the
    seed's form), ``"all"`` always, ``"none"`` never. ``links`` limits the
    segment lines to packets sent on those links (losses show from any link).
    ``verbose`` adds the window, the options and the packet size. Segments sent
    on an ``untracked`` link (an attacker's spoofed ones, say) are neither marked
    as retransmissions nor counted when marking others. Segments are rendered by
    :func:`synack.wire.render.format_segment`.
    """

    def __init__(
        self,
        names: Mapping[str, str] | Mapping[bytes, str] | None = None,
        *,
        relative: bool = False,
        timestamps: bool = True,
        ports: str = "server",
        links: Iterable[str] | None = None,
        verbose: bool = False,
        untracked: Iterable[str] = (),
    ) -> None:
        if ports not in ("server", "all", "none"):
            raise ValueError(f"ports must be 'server', 'all' or 'none', not {ports!r}")
        self.names: dict[bytes, str] = {}
        for addr, label in (names or {}).items():
            key = addr if isinstance(addr, bytes) else str_to_addr(addr)
            self.names[key] = label
        self.relative = relative
        self.timestamps = timestamps
        self.ports = ports
        self.links = frozenset(links) if links is not None else None
        self.verbose = verbose
        self.untracked = frozenset(untracked)
        self._lines: list[_Line] = []
        self._service: set[tuple[bytes, int]] = set()
        self._isn: dict[Flow, int] = {}
        self._snd_max: dict[Flow, int] = {}

    # ------------------------------------------------------------- inputs
    def observe(self, now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        """Link observer: segment lines for ``send``, marks for ``drop`` and ``impair``."""
        if what == "send":
            if self.links is None or link in self.links:
                self._segment(now, packet, link)
        elif what in ("drop", "impair"):
            mark = f"x lost ({detail})" if what == "drop" else f"~ {detail}"
            last = self._lines[-1] if self._lines else None
            if last is not None and last.packet is packet and last.t == now:
                last.marks.append(mark)
            elif what == "drop":
                info = peek(packet)
                if info is not None:
                    self._lines.append(
                        _Line(
                            now,
                            self._arrow(info),
                            self._describe(info, packet, update=False),
                            [f"x lost at {link} ({detail})"],
                            packet,
                            link,
                        )
                    )

    def trace(self, record: Mapping[str, Any]) -> None:
        """Tracer for the core's records: state changes and retransmission timeouts.

        A passive connection's ``CLOSED -> LISTEN`` (the endpoint creates it when
        a SYN arrives) is left out: to the user the listener was listening all along.
        """
        ev = record.get("ev")
        if ev == "state":
            old, new = str(record["old"]), str(record["new"])
            if old == "CLOSED" and new == "LISTEN":
                return
            self.note(int(record["t"]), f"{record.get('host', '?')}: {old} -> {new}")
        elif ev == "timer" and record.get("which") == "rtx" and record.get("action") == "fired":
            self.note(int(record["t"]), f"{record.get('host', '?')}: retransmission timeout")

    __call__ = trace

    def note(self, t: int, text: str) -> None:
        """Add a free-text line (an event of the scenario, e.g. ``client: close()``)."""
        self._lines.append(_Line(t, None, text, [], None, None))

    def mark(self, packet: bytes, text: str) -> bool:
        """Append ``text`` to the line of ``packet`` if it is the last line (e.g. who sent it).

        Returns whether the line was found.
        """
        last = self._lines[-1] if self._lines else None
        if last is None or last.packet is not packet:
            return False
        last.marks.append(text)
        return True

    # ------------------------------------------------------------- output
    @property
    def lines(self) -> list[str]:
        """The diagram, one string per line."""
        width = max((len(x.left) for x in self._lines if x.left is not None), default=0)
        tw = max((len(format_time(x.t)) for x in self._lines), default=0)
        out = []
        for x in self._lines:
            prefix = f"{format_time(x.t):>{tw}}  " if self.timestamps else ""
            if x.left is None:
                out.append(f"{prefix}{x.text}")
                continue
            body = f"{x.left:<{width}}   {x.text}"
            if x.marks:
                body += "   " + "  ".join(x.marks)
            out.append(prefix + body)
        return out

    def render(self) -> str:
        """The diagram as text, ending in a newline (empty if nothing was seen)."""
        lines = self.lines
        return "\n".join(lines) + "\n" if lines else ""

    # ------------------------------------------------------------ helpers
    def _segment(self, now: int, packet: bytes, link: str) -> None:
        info = peek(packet)
        if info is None:
            self._lines.append(
                _Line(now, None, f"({link}: a packet that is not TCP/IP)", [], None, link)
            )
            return
        if info.flags & (SYN | ACK) == SYN:
            self._service.add((info.dst, info.dport))
        marks: list[str] = []
        flow = info.flow
        if link not in self.untracked:
            end = (info.seq + info.seg_len) & MASK
            top = self._snd_max.get(flow)
            if info.seg_len and top is not None and lt(info.seq, top):
                marks.append("(retransmission)")
            if top is None or gt(end, top):
                self._snd_max[flow] = end
        self._lines.append(
            _Line(
                now,
                self._arrow(info),
                self._describe(info, packet, update=True),
                marks,
                packet,
                link,
            )
        )

    def _label(self, addr: bytes, port: int) -> str:
        show_port = self.ports == "all" or (
            self.ports == "server" and (addr, port) in self._service
        )
        where = endpoint_str(addr, port) if show_port else addr_to_str(addr)
        name = self.names.get(addr)
        return f"{name} ({where})" if name else where

    def _arrow(self, info: PacketInfo) -> str:
        return f"{self._label(info.src, info.sport)} -> {self._label(info.dst, info.dport)}"

    def _describe(self, info: PacketInfo, packet: bytes, *, update: bool) -> str:
        flow = info.flow
        if info.flags & SYN and update:
            self._isn[flow] = info.seq
        isn = peer = None
        if self.relative:
            isn = self._isn.get(flow)
            if isn is None and update:
                self._isn[flow] = isn = info.seq
            peer = self._isn.get((info.dst, info.dport, info.src, info.sport))
        seg = _parse(packet)
        if seg is None:  # damaged past parsing: show what the fixed header says
            seg = Segment(info.sport, info.dport, info.seq, info.ack, info.flags, info.window)
            text = format_segment(
                seg, isn_sender=isn, isn_receiver=peer, window=self.verbose, options=False
            )
            return text + f" Len={info.payload_len}" if info.payload_len else text
        text = format_segment(
            seg, isn_sender=isn, isn_receiver=peer, window=self.verbose, options=self.verbose
        )
        return text + f"  ({len(packet)} bytes)" if self.verbose else text


def _parse(packet: bytes) -> Segment | None:
    try:
        _, payload = parse_ip(packet)
        return parse_segment(payload)
    except MalformedPacket:
        return None

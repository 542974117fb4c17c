"""A hand-played peer for exact tests against an Endpoint: the test writes its segments itself.

:class:`HandPeer` opens a connection to a listening :class:`~synack.tcp.Endpoint`
with a SYN whose options the test chooses, completes the handshake, and then
sends whatever segments the test asks for, returning the endpoint's answers
parsed. Only the endpoint's packets are looked at, never its internals, so the
tests survive changes to how the core is built.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from synack.tcp import Connection, Endpoint
from synack.wire.ip import emit_tcp_packet, parse_tcp_packet, str_to_addr
from synack.wire.tcp import (
    ACK,
    SYN,
    MaxSegmentSize,
    NoOperation,
    Option,
    SackPermitted,
    Segment,
    Timestamps,
    WindowScale,
)

US = str_to_addr("192.0.2.80")
PEER = str_to_addr("198.51.100.7")
PEER_ISN = 1_000_000
PEER_PORT = 40000


@dataclass
class HandPeer:
    """A connection from a hand-played peer to ``endpoint``'s listener on ``port``."""

    endpoint: Endpoint
    port: int = 80
    addr: bytes = PEER
    sport: int = PEER_PORT
    isn: int = PEER_ISN
    now: int = 0
    snd_nxt: int = 0  # the peer's next sequence number
    rcv_nxt: int = 0  # what the peer acknowledges (the endpoint's SND.NXT)
    ts: bool = False
    their_isn: int = 0  # the endpoint's ISS, from its SYN-ACK
    tsval: int = 1000
    received: list[Segment] = field(default_factory=list)

    def syn(self, options: tuple[Option, ...], window: int = 65535) -> list[Segment]:
        """Send our SYN with ``options``; return the endpoint's answers (its SYN-ACK)."""
        self.ts = any(isinstance(o, Timestamps) for o in options)
        self.snd_nxt = (self.isn + 1) & 0xFFFFFFFF
        answers = self.send(Segment(self.sport, self.port, self.isn, 0, SYN, window, 0, options))
        for seg in answers:
            if seg.flags & SYN:
                self.their_isn = seg.seq
                self.rcv_nxt = (seg.seq + 1) & 0xFFFFFFFF
        return answers

    def open(
        self,
        *,
        mss: int = 1460,
        wscale: int | None = 7,
        sack: bool = True,
        timestamps: bool = True,
        window: int = 65535,
    ) -> Connection:
        """The three-way handshake; returns the endpoint's (accepted) connection."""
        opts: list[Option] = [MaxSegmentSize(mss)]
        if sack:
            opts.append(SackPermitted())
        if timestamps:
            opts += [NoOperation(), NoOperation(), Timestamps(self.tsval, 0)]
        if wscale is not None:
            opts += [NoOperation(), WindowScale(wscale)]
        self.syn(tuple(opts))
        self.send_ack(window=window)
        for conn in self.endpoint.connections():
            if conn.remote == (self.addr, self.sport):
                return conn
        raise AssertionError("the handshake did not complete")

    def options(self) -> tuple[Option, ...]:
        if not self.ts:
            return ()
        return (NoOperation(), NoOperation(), Timestamps(self.tsval, 0))

    def send(self, seg: Segment) -> list[Segment]:
        """Deliver ``seg`` from the peer now; return the endpoint's answers (parsed)."""
        packet = emit_tcp_packet(self.addr, US, seg)
        self.endpoint.receive_packet(packet, self.now)
        return self.answers()

    def answers(self) -> list[Segment]:
        out = []
        for p in self.endpoint.packets_to_send(self.now):
            _, seg = parse_tcp_packet(p)
            out.append(seg)
        self.received += out
        return out

    def send_ack(self, *, window: int = 65535) -> list[Segment]:
        return self.send(
            Segment(
                self.sport, self.port, self.snd_nxt, self.rcv_nxt, ACK, window, 0, self.options()
            )
        )

    def acknowledge(self, offset: int, *, window: int = 65535) -> list[Segment]:
        """ACK the endpoint's data up to stream ``offset`` (0 = the first octet after its SYN)."""
        self.rcv_nxt = (self.their_isn + 1 + offset) & 0xFFFFFFFF
        return self.send_ack(window=window)

    def data(
        self, offset: int, payload: bytes, *, flags: int = ACK, window: int = 65535
    ) -> list[Segment]:
        """Send ``payload`` at stream ``offset`` (0 = the first octet after our SYN)."""
        seq = (self.isn + 1 + offset) & 0xFFFFFFFF
        return self.send(
            Segment(
                self.sport, self.port, seq, self.rcv_nxt, flags, window, 0, self.options(), payload
            )
        )

    def advance(self, dt: int) -> list[Segment]:
        """Let ``dt`` microseconds pass, firing the endpoint's timers; return what it sent."""
        end = self.now + dt
        out: list[Segment] = []
        while (d := self.endpoint.next_deadline()) is not None and d <= end:
            self.now = max(self.now, d)
            self.endpoint.handle_timer(self.now)
            out += self.answers()
        self.now = end
        return out


@contextmanager
def lines_executed(package: str = "/synack/") -> Iterator[Callable[[], int]]:
    """Count Python lines executed in ``package``'s files while the block runs.

    A deterministic measure of work (unlike time): an algorithm whose cost grows
    with the size of its input executes more lines.
    """
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if package in frame.f_code.co_filename:
            return local
        return None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield lambda: count
    finally:
        sys.settrace(old)

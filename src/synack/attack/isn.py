"""Initial-sequence-number generators for the lab: the historical, predictable ones and today's.

Each is an :class:`~synack.tcp.isn.IsnSource` for
``Endpoint(isn=...)``; :func:`make_generator` builds one by name, seeded so a
run is reproducible.

- ``counter``: 4.3BSD's global counter. The rule, from the CSRG SCCS history
  of 4.4BSD-Lite (``sys/netinet/tcp_seq.h`` delta 6.4, Karels, 1985-10-15,
  "faster ISS change", shipped in 4.3BSD on 1986-06-05; ``tcp_timer.c`` and
  ``tcp_input.c`` / ``tcp_usrreq.c`` of the same release):
  ``tcp_iss`` starts at 1 at boot (``tcp_init``); the slow timeout, every 500 ms
  (``PR_SLOWHZ`` = 2), adds ``TCP_ISSINCR / PR_SLOWHZ``; each new connection
  (a SYN accepted by a listener, or a ``connect()``) takes ``tcp_iss`` as its
  ISS and then adds ``TCP_ISSINCR / 2``; ``TCP_ISSINCR`` is ``125*1024`` =
  128,000 "increment for tcp_iss each second". So +64,000 per half-second tick
  and +64,000 per connection. (4.2BSD, which Morris attacked in 1985, had the
  same code with ``TCP_ISSINCR`` = 128; 4.4BSD-Lite2 added a random component
  on 1995-05-24.)
- ``clock``: RFC 793 3.3's ISN generator alone, a 32-bit clock whose low bit
  ticks every 4 microseconds, with no per-connection secret.
- ``rfc6528``: synack's default, :class:`~synack.tcp.isn.IsnGenerator`
  (ISN = M + F(4-tuple, secret), RFC 6528 3), keyed from the seed.
- ``random``: an independent uniformly random 32-bit ISN per connection.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from synack.tcp.isn import IsnGenerator, IsnSource
from synack.wire.seq import MASK

__all__ = [
    "BSD_CONNECTION_STEP",
    "BSD_TICK",
    "BSD_TICK_STEP",
    "GENERATORS",
    "Bsd43Counter",
    "GeneratorInfo",
    "RandomIsn",
    "Rfc793Clock",
    "make_generator",
]

TCP_ISSINCR: Final = 125 * 1024
"""4.3BSD tcp_seq.h: "increment for tcp_iss each second" (128,000)."""
BSD_TICK: Final = 500_000
"""The slow timeout: ``PR_SLOWHZ`` = 2 per second, in microseconds."""
BSD_TICK_STEP: Final = TCP_ISSINCR // 2
"""``tcp_slowtimo``: ``tcp_iss += TCP_ISSINCR/PR_SLOWHZ`` every tick."""
BSD_CONNECTION_STEP: Final = TCP_ISSINCR // 2
"""``tcp_iss += TCP_ISSINCR/2`` after each new connection takes its ISS."""


def _seeded(seed: int, label: str, size: int = 8) -> int:
    digest = hashlib.blake2b(f"{seed}/{label}".encode(), digest_size=size).digest()
    return int.from_bytes(digest, "big")


class Bsd43Counter:
    """4.3BSD's ``tcp_iss``: +64,000 every 500 ms tick and after each new connection.

    ``uptime`` is how long the host had been up at virtual time 0 (microseconds):
    it sets both the counter's value and the phase of the tick, which an
    attacker does not know in advance.
    """

    def __init__(self, uptime: int) -> None:
        self.uptime = uptime
        self.connections = 0

    def value(self, now: int) -> int:
        """``tcp_iss`` at ``now``: the next ISS handed out."""
        ticks = (self.uptime + now) // BSD_TICK
        return (1 + BSD_TICK_STEP * ticks + BSD_CONNECTION_STEP * self.connections) & MASK

    def isn(self, now: int, laddr: bytes, lport: int, raddr: bytes, rport: int) -> int:
        iss = self.value(now)
        self.connections += 1  # "tcp_iss += TCP_ISSINCR/2"
        return iss


class Rfc793Clock:
    """RFC 793 3.3: "a (possibly fictitious) 32 bit clock whose low order bit is
    incremented roughly every 4 microseconds", and nothing else."""

    def __init__(self, uptime: int) -> None:
        self.uptime = uptime

    def isn(self, now: int, laddr: bytes, lport: int, raddr: bytes, rport: int) -> int:
        return ((self.uptime + now) >> 2) & MASK


class RandomIsn:
    """An independent, uniformly random ISN per connection (from a seeded hash)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.count = 0

    def isn(self, now: int, laddr: bytes, lport: int, raddr: bytes, rport: int) -> int:
        self.count += 1
        return _seeded(self.seed, f"random-isn/{self.count}", 4)


@dataclass(frozen=True)
class GeneratorInfo:
    """A generator's name, what it is, and where it comes from."""

    name: str
    summary: str
    source: str


GENERATORS: Final = {
    "counter": GeneratorInfo(
        "counter",
        "4.3BSD global counter: +64,000 per 500 ms tick and per connection",
        "4.3BSD tcp_seq.h 6.4 (1985-10-15) with tcp_timer.c, tcp_input.c",
    ),
    "clock": GeneratorInfo("clock", "RFC 793's 4 us clock alone", "RFC 793 3.3 (September 1981)"),
    "rfc6528": GeneratorInfo(
        "rfc6528",
        "RFC 6528: 4 us clock + keyed hash of the 4-tuple (synack's default)",
        "RFC 6528 3 (February 2012), after RFC 1948 (May 1996)",
    ),
    "random": GeneratorInfo(
        "random", "a uniformly random ISN per connection", "e.g. OpenBSD's arc4random ISNs"
    ),
}


def make_generator(name: str, seed: int) -> IsnSource:
    """The generator called ``name`` (a key of :data:`GENERATORS`), seeded by ``seed``.

    The host's uptime (counter, clock) is drawn from the seed, up to a day.
    """
    uptime = _seeded(seed, "uptime") % (86_400 * 1_000_000)
    if name == "counter":
        return Bsd43Counter(uptime)
    if name == "clock":
        return Rfc793Clock(uptime)
    if name == "rfc6528":
        return IsnGenerator(hashlib.blake2b(f"{seed}/isn-secret".encode()).digest())
    if name == "random":
        return RandomIsn(seed)
    raise ValueError(f"unknown ISN generator {name!r}: choose from {', '.join(GENERATORS)}")

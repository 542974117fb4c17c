"""``synack attack isn-prediction``: spoof a trusted host by predicting the ISN you never see.

Morris described it against 4.2BSD in February 1985 (AT&T Bell Labs CSTR 117,
"A Weakness in the 4.2BSD Unix TCP/IP Software"); Mitnick used it against
Shimomura's machines on 25 December 1994 (Shimomura's analysis went to Usenet in
January 1995). The server runs a toy rshd that trusts the address of one host;
that host is down. The attacker, off-path, probes the server to learn its ISNs,
sends a SYN spoofed from the trusted host, and then blind ACKs carrying a
command, each guessing the ISN of the SYN-ACK that went to the trusted host.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from synack.attack import analytic
from synack.attack.attackers import IsnPredictor
from synack.attack.isn import GENERATORS, make_generator
from synack.attack.lab import (
    ATTACKER_ADDR,
    SERVER_ADDR,
    AttackResult,
    Lab,
    Outputs,
    outputs_lines,
)
from synack.attack.services import RSH_PORT, RshService
from synack.sim.apps import EndpointApp
from synack.sim.scripted import ScriptedHost
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import Connected, Event
from synack.trace.packet import peek
from synack.wire.ip import str_to_addr
from synack.wire.tcp import ACK, SYN

__all__ = ["COMMAND", "TRUSTED_ADDR", "IsnPredictionRun", "expected_guesses", "run_isn_prediction"]

TRUSTED_ADDR = "192.168.1.100"
TRUSTED_PORT = 1023
NOISE_ADDR = "198.51.100.7"
COMMAND = b"0\0root\0root\0echo + + >> /.rhosts\0"
"""rsh's four fields: no stderr port, user root on both sides, and the command Mitnick ran."""
START = 100_000


@dataclass
class IsnPredictionRun:
    """The referee's record of one run."""

    success: bool = False
    success_at: int | None = None
    attempt: int | None = None
    server_isn: int | None = None


def expected_guesses(isn: str, *, gap: int, jitter: int, noise: float) -> float:
    """The analytic mean guess number for generator ``isn`` (see :mod:`analytic`)."""
    if isn == "counter":
        return analytic.counter_expected_index(gap, noise)
    if isn == "clock":
        return analytic.mean_of(analytic.clock_index_distribution(jitter))
    return (analytic.SPACE + 1) / 2


def success_probability(isn: str, *, budget: int, jitter: int) -> float:
    """The analytic chance that one of ``budget`` guesses is right."""
    if isn == "counter":
        return 1.0  # 1,000 guesses cover 1,000 ticks and connections: 500 s of drift
    if isn == "clock":
        return analytic.cdf(analytic.clock_index_distribution(jitter), budget)
    return budget / analytic.SPACE


class _Noise(EndpointApp):
    """Another client of the server: connections at a Poisson rate, each reset at once."""

    def __init__(self, endpoint: Endpoint, rate: float, seed: int, lab: Lab) -> None:
        super().__init__(endpoint)
        self.rate = rate
        self.rng = random.Random(f"{seed}/noise")
        self.lab = lab

    def start(self, now: int) -> None:
        self.lab.hosts["noise"].call(now + self._gap(), self._connect)

    def _gap(self) -> int:
        return max(1, round(self.rng.expovariate(self.rate) * 1_000_000))

    def _connect(self, now: int) -> None:
        self.endpoint.connect(SERVER_ADDR, RSH_PORT, now)
        self.lab.hosts["noise"].call(now + self._gap(), self._connect)

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if isinstance(event, Connected):
            conn.abort(now)


def run_isn_prediction(
    *,
    isn: str = "rfc6528",
    seed: int = 1,
    probes: int = 3,
    budget: int = 1000,
    jitter: int = 500,
    gap: int = 100_000,
    noise: float = 0.0,
    trusted: str = "offline",
    outputs: Outputs | None = None,
) -> AttackResult:
    """Run the attack once; ``isn`` is the server's generator (``counter``, ``clock``, ``rfc6528``, ``random``).

    ``jitter`` (us) varies the attacker's path delay per packet; ``gap`` (us)
    separates the last probe from the spoofed SYN; ``noise`` is other clients'
    connections per second; ``trusted`` is ``offline`` (down, as Mitnick made
    it) or ``online`` (it answers the unexpected SYN-ACK with a RST).
    """
    if isn not in GENERATORS:
        raise ValueError(f"--isn must be one of {', '.join(GENERATORS)}")
    if trusted not in ("offline", "online"):
        raise ValueError("--trusted must be offline or online")
    if budget < 1 or probes < 1 or jitter < 0 or gap < 50_000 or noise < 0:
        raise ValueError("need budget >= 1, probes >= 1, jitter >= 0, gap >= 50 ms, noise >= 0")
    outputs = outputs or Outputs()
    names = {SERVER_ADDR: "Server", TRUSTED_ADDR: "Trusted", ATTACKER_ADDR: "Attacker"}
    if noise:
        names[NOISE_ADDR] = "Other"
    lab = Lab(seed, names, outputs=outputs)
    run = IsnPredictionRun()

    server_ep = Endpoint(
        [SERVER_ADDR],
        isn=make_generator(isn, seed),
        port_seed=seed,
        tracer=lab.tracer,
        name="server",
    )

    def on_command(_req: object) -> None:
        if run.success:
            return
        run.success = True
        run.success_at = lab.sim.now
        ack = peek(lab.last_delivered["server"])
        if ack is not None:
            run.attempt = program.log.index_of(ack.ack)
            sent = program.log.time_of(run.attempt) if run.attempt else 0
            lab.verdict(
                lab.sim.now,
                f"the attacker's guess #{run.attempt} (sent at {sent // 1_000_000}."
                f"{sent % 1_000_000:06d}, Ack={ack.ack}) was right",
            )
        lab.sim.at(lab.sim.now + 200_000, lambda now: lab.sim.stop())

    rshd = RshService(server_ep, {TRUSTED_ADDR}, note=lab.note, on_command=on_command)
    lab.add_host("server", SERVER_ADDR, server_ep, rshd)

    if trusted == "online":
        lab.add_host(
            "trusted",
            TRUSTED_ADDR,
            Endpoint([TRUSTED_ADDR], port_seed=seed, tracer=lab.tracer, name="trusted"),
        )
    else:
        lab.add_host("trusted", TRUSTED_ADDR, ScriptedHost("trusted"))

    def watch(now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        info = peek(packet) if what == "send" else None
        if (
            info is not None
            and info.flags & (SYN | ACK) == SYN | ACK
            and info.dst == str_to_addr(TRUSTED_ADDR)
            and run.server_isn is None
        ):
            run.server_isn = info.seq

    lab.links["server->internet"].observers.append(watch)

    if noise:
        noise_ep = Endpoint([NOISE_ADDR], port_seed=seed + 7, tracer=None, name="other")
        noise_app = _Noise(noise_ep, noise, seed, lab)
        lab.add_host("noise", NOISE_ADDR, noise_ep, noise_app)
        noise_app.start(0)

    program = IsnPredictor(
        server=str_to_addr(SERVER_ADDR),
        service_port=RSH_PORT,
        trusted=str_to_addr(TRUSTED_ADDR),
        trusted_port=TRUSTED_PORT,
        model=isn,
        command=COMMAND,
        seed=seed,
        probes=probes,
        gap=gap,
        budget=budget,
    )
    lab.add_attacker(program, start=START, jitter=jitter)
    lab.note(0, "server: rshd listens on port 514, trusting 192.168.1.100 (.rhosts)")
    end = START + probes * program.probe_interval + gap + program.wait + budget * program.interval
    lab.run(until=end + 1_000_000)

    expected = expected_guesses(isn, gap=program.gap, jitter=jitter, noise=noise)
    attempts = run.attempt if run.attempt is not None else program.log.count
    config = {
        "isn": isn,
        "probes": probes,
        "budget": budget,
        "jitter_us": jitter,
        "gap_us": program.gap,
        "noise_per_s": noise,
        "trusted": trusted,
    }
    info = GENERATORS[isn]
    header = [
        "synack attack isn-prediction: predict the ISN of a SYN-ACK you never see "
        "(Morris 1985, Mitnick 1994)",
        f"  Server {SERVER_ADDR} runs a toy rshd on port {RSH_PORT} that trusts "
        f"{TRUSTED_ADDR} (.rhosts: source address and a port below 1024)",
        f"  Trusted {TRUSTED_ADDR} is "
        + ("down: nobody answers for it" if trusted == "offline" else "up and answers for itself"),
        f"  Attacker {ATTACKER_ADDR} is off-path: it sees only packets addressed to it",
        f"  Server's ISN generator: {isn} ({info.summary})",
        f"  Attacker: {probes} probes, spoofed SYN {program.gap / 1000:g} ms after the last, "
        f"at most {budget:,} guesses; its path jitters by 0-{jitter} us",
    ]
    verdict = (
        f"SUCCESS: rshd accepted the spoofed connection and would run {_command()!r}"
        if run.success
        else "FAILED: no guess completed the handshake; rshd ran nothing"
    )
    p = success_probability(isn, budget=budget, jitter=jitter)
    summary = [
        f"  result      {verdict}",
        "  guesses     "
        + (
            f"#{run.attempt:,} was right (of {program.log.count:,} sent)"
            if run.attempt
            else f"{program.log.count:,} sent, none right"
        )
        + f"; expected {_fmt(expected)} on average for {isn}",
        f"  success     P = {_fmt_p(p)} with {budget:,} guesses (analytic)",
    ]
    if run.server_isn is not None:
        summary.append(
            f"  server ISN  {run.server_isn:,} in the SYN-ACK to {TRUSTED_ADDR} "
            "(the attacker never saw it)"
        )
    samples = ", ".join(f"{x:,}" for _, x in program.samples)
    summary.append(f"  probe ISNs  {samples}")
    summary.append(f"  defence     {_defence(isn)}")
    summary.append(f"  seed {seed}")
    summary += outputs_lines(lab, outputs)
    result = AttackResult(
        "isn-prediction",
        run.success,
        attempts,
        expected,
        seed,
        config,
        header,
        lab.ladder.lines,
        summary,
        {
            "success_probability": p,
            "server_isn": run.server_isn,
            "probe_isns": [x for _, x in program.samples],
            "success_time_us": run.success_at,
        },
    )
    if outputs.plot is not None:
        from synack.attack.plots import plot_isn_prediction

        plot_isn_prediction(
            program, run.server_isn, outputs.plot, title=f"isn-prediction, --isn {isn}"
        )
    return result


def _command() -> str:
    return COMMAND.split(b"\0")[3].decode()


def _defence(isn: str) -> str:
    if isn in ("counter", "clock"):
        return "RFC 6528 ISNs (keyed hash of the 4-tuple): try --isn rfc6528"
    return "unpredictable ISNs (RFC 6528 3); and never trust a source address"


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 1000 else f"{x:.2f}"


def _fmt_p(p: float) -> str:
    return f"{p:.3g}" if p < 0.01 else f"{p:.3f}"

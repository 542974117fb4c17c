"""``synack attack syn-flood``: fill the listen queue with half-open connections.

Described in Phrack 48 ("Project Neptune", daemon9, July 1996) and CERT
Advisory CA-1996-21 (September 1996), after the Panix outage of September 1996;
RFC 4987 (August 2007) surveys the defences. Each spoofed SYN leaves a
connection in SYN-RECEIVED, its SYN-ACKs going to an address that never
answers, until the server gives up on it; a listener holds at most
``backlog`` of them, and SYNs beyond that are dropped. A legitimate client
gets in only when its SYN finds a free slot.

The model: the listen queue is an Erlang loss system, ``backlog`` servers each
held for the half-open lifetime T, so a SYN is refused with probability
B(backlog, rate * T) (Erlang's formula); a client whose SYN and retransmissions
meet independent refusals connects with probability 1 - B**(tries).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from synack.attack import analytic
from synack.attack.attackers import SynFlooder
from synack.attack.lab import (
    ATTACKER_ADDR,
    CLIENT_ADDR,
    SERVER_ADDR,
    AttackResult,
    Lab,
    Outputs,
    Record,
    outputs_lines,
)
from synack.sim.apps import EndpointApp
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import Closed, Connected, Event, PeerClosed, Reset, TimedOut
from synack.trace.packet import peek
from synack.wire.ip import str_to_addr
from synack.wire.tcp import ACK, RST, SYN

__all__ = ["CLIENT_CONFIG", "FloodStats", "run_syn_flood"]

PORT = 80
CLIENT_CONFIG = Config(syn_retries=3)
"""The legitimate clients give up after 3 SYN retransmissions (at 1, 3 and 7 s; 15 s in all)."""
SHOWN_CLIENT_CHANGES = 6  # the ladder follows the first few legitimate connections


@dataclass
class FloodStats:
    """What the referee counted during the measurement window."""

    legit_syns: int = 0
    legit_refused: int = 0
    first_syns: int = 0
    first_refused: int = 0
    flood_syns: int = 0
    flood_refused: int = 0
    attempts: int = 0
    connected: int = 0
    failed: int = 0
    connect_times: list[int] = field(default_factory=list)
    backlog: list[tuple[int, int]] = field(default_factory=list)  # (t, half-open)
    outcomes: list[tuple[int, int | None]] = field(default_factory=list)  # (start, connect time)


class _Server(EndpointApp):
    """Accepts every connection and closes it when the client does."""

    def __init__(self, endpoint: Endpoint, backlog: int) -> None:
        super().__init__(endpoint)
        self.listener = endpoint.listen(PORT, backlog=backlog)

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if isinstance(event, Connected):
            while self.listener.accept() is not None:
                pass
        elif isinstance(event, PeerClosed):
            conn.close(now)


class _Clients(EndpointApp):
    """Legitimate clients: one connection attempt at a time, Poisson arrivals, each closed at once."""

    def __init__(
        self, endpoint: Endpoint, lab: Lab, stats: FloodStats, rate: float, start: int, end: int
    ) -> None:
        super().__init__(endpoint)
        self.lab = lab
        self.stats = stats
        self.rate = rate
        self.end = end
        self.rng = random.Random(f"{lab.seed}/legit-clients")
        self.started: dict[Connection, int] = {}
        self.next_at = start

    def schedule(self) -> None:
        self.lab.hosts["client"].call(self.next_at, self.connect)

    def connect(self, now: int) -> None:
        conn = self.endpoint.connect(SERVER_ADDR, PORT, now, config=CLIENT_CONFIG)
        self.started[conn] = now
        self.stats.attempts += 1
        self.next_at = now + max(1, round(self.rng.expovariate(self.rate) * 1_000_000))
        if self.next_at < self.end:
            self.schedule()

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        start = self.started.get(conn)
        if start is None:
            return
        if isinstance(event, Connected):
            self.stats.connected += 1
            self.stats.connect_times.append(now - start)
            self.stats.outcomes.append((start, now - start))
            conn.close(now)
        elif isinstance(event, TimedOut | Reset):
            self.stats.failed += 1
            self.stats.outcomes.append((start, None))
        if isinstance(event, TimedOut | Reset | Closed):
            self.started.pop(conn, None)


def run_syn_flood(
    *,
    rate: float = 10.0,
    backlog: int = 128,
    seed: int = 1,
    legit_rate: float = 1.0,
    duration: int | None = None,
    warmup: int | None = None,
    outputs: Outputs | None = None,
) -> AttackResult:
    """Flood port 80 at ``rate`` spoofed SYNs a second; measure legitimate clients.

    Legitimate clients try to connect at ``legit_rate`` a second (Poisson)
    during the measurement window: ``warmup`` microseconds after the flood
    starts (default: one half-open lifetime, so the queue is in its steady
    state), for ``duration`` (default: one more lifetime).
    """
    if rate <= 0 or backlog < 1 or legit_rate <= 0:
        raise ValueError("need --rate > 0, --backlog >= 1 and --legit-rate > 0")
    outputs = outputs or Outputs()
    server_cfg = Config(syn_cookies="never")  # this scenario shows the flood without cookies
    lifetime = analytic.half_open_lifetime(server_cfg)
    warm = lifetime if warmup is None else warmup
    span = lifetime if duration is None else duration
    if warm < 0 or span <= 0:
        raise ValueError("need --warmup >= 0 and --duration > 0")
    give_up = analytic.syn_attempt_times(CLIENT_CONFIG)[-1] + _last_wait(CLIENT_CONFIG)
    end = warm + span + give_up + 1_000_000
    shown = {"n": 0}

    def important(record: Record) -> bool:
        if record.get("ev") == "state" and record.get("host") == "client":
            shown["n"] += 1
            return shown["n"] <= SHOWN_CLIENT_CHANGES
        return False

    def narrate(record: Record) -> str | None:
        # While the ladder follows the client, say when its SYN finds the queue full.
        if record.get("reason") != "backlog_full" or shown["n"] > SHOWN_CLIENT_CHANGES:
            return None
        info = peek(lab.last_delivered.get("server", b""))
        if info is None or info.src != str_to_addr(CLIENT_ADDR):
            return None
        return (
            f"server: the listen queue is full ({backlog} half-open): the client's SYN is dropped"
        )

    names = {CLIENT_ADDR: "Client", SERVER_ADDR: "Server", ATTACKER_ADDR: "Attacker"}
    lab = Lab(seed, names, outputs=outputs, important=important, narrate=narrate)
    stats = FloodStats()
    server_ep = Endpoint(
        [SERVER_ADDR],
        config=server_cfg,
        isn_secret=_secret(seed, "server"),
        port_seed=seed,
        tracer=lab.tracer,
        name="server",
    )
    server = _Server(server_ep, backlog)
    lab.add_host("server", SERVER_ADDR, server_ep, server)
    client_ep = Endpoint(
        [CLIENT_ADDR],
        isn_secret=_secret(seed, "client"),
        port_seed=seed + 1,
        tracer=lab.tracer,
        name="client",
    )
    clients = _Clients(client_ep, lab, stats, legit_rate, warm, warm + span)
    lab.add_host("client", CLIENT_ADDR, client_ep, clients)
    clients.schedule()

    client_addr = str_to_addr(CLIENT_ADDR)
    listener = server.listener
    seen: set[int] = set()

    def referee(now: int, link: str, what: str, packet: bytes, detail: str | None) -> None:
        # Before the server sees the SYN: is there room in the listen queue?
        if what != "deliver":
            return
        info = peek(packet)
        if info is None or info.flags & (SYN | ACK | RST) != SYN:
            return
        full = len(listener) >= listener.backlog
        if not warm <= now < warm + span:
            return
        if info.src == client_addr:
            stats.legit_syns += 1
            stats.legit_refused += full
            if info.seq not in seen:
                seen.add(info.seq)
                stats.first_syns += 1
                stats.first_refused += full
        else:
            stats.flood_syns += 1
            stats.flood_refused += full

    lab.links["internet->server"].observers.append(referee)

    def sample(now: int) -> None:  # the listen queue, twice a second, for the plot
        stats.backlog.append((now, len(listener)))
        if now + 500_000 <= end:
            lab.sim.at(now + 500_000, sample)

    lab.sim.at(0, sample)
    program = SynFlooder(dst=str_to_addr(SERVER_ADDR), dport=PORT, rate=rate, until=end, seed=seed)
    lab.add_attacker(program, start=0)
    lab.run(until=end)

    load = rate * lifetime / 1_000_000
    blocking = analytic.erlang_b(backlog, load)
    times = analytic.syn_attempt_times(CLIENT_CONFIG)
    p_ok, t_ok = analytic.connect_model(blocking, times, 2 * 2 * lab.delay)
    finished = stats.connected + stats.failed
    rate_ok = stats.connected / finished if finished else 0.0
    refused = stats.legit_refused / stats.legit_syns if stats.legit_syns else 0.0
    first = stats.first_refused / stats.first_syns if stats.first_syns else 0.0
    flood_refused = stats.flood_refused / stats.flood_syns if stats.flood_syns else 0.0
    mean_t = sum(stats.connect_times) / len(stats.connect_times) if stats.connect_times else None
    success = rate_ok < 0.5
    keep_full = -(-backlog * (warm + span + give_up) // lifetime)
    config = {
        "rate_per_s": rate,
        "backlog": backlog,
        "cookies": False,
        "half_open_lifetime_us": lifetime,
        "legit_rate_per_s": legit_rate,
        "client_syn_retries": CLIENT_CONFIG.syn_retries,
        "warmup_us": warm,
        "duration_us": span,
    }
    header = [
        "synack attack syn-flood: deny service with half-open connections "
        "(Phrack 48, 1996; CERT CA-1996-21)",
        f"  Server {SERVER_ADDR} port {PORT}: listen backlog {backlog}, SYN-ACK retries "
        f"{server_cfg.syn_retries} (a half-open connection lives {lifetime / 1e6:g} s); "
        "SYN cookies off",
        f"  Attacker {ATTACKER_ADDR}: {rate:g} SYNs a second from random spoofed addresses "
        "in 198.18.0.0/15 (nobody answers the SYN-ACKs)",
        f"  Client {CLIENT_ADDR}: {legit_rate:g} connection attempt"
        f"{'' if legit_rate == 1 else 's'} a second from "
        f"{warm / 1e6:g} s for {span / 1e6:g} s, each giving up after {give_up / 1e6:g} s "
        f"(SYNs at {', '.join(f'{t / 1e6:g}' for t in times)} s)",
    ]
    summary = [
        "  result      "
        + (
            f"SUCCESS: only {rate_ok:.0%} of the client's connections got through"
            if success
            else f"FAILED: {rate_ok:.0%} of the client's connections got through"
        ),
        f"  refused     {first:.1%} of {stats.first_syns:,} first client SYNs and "
        f"{flood_refused:.1%} of {stats.flood_syns:,} flood SYNs; "
        f"model Erlang B({backlog}, {load:g}) = {blocking:.1%}",
        f"  retries     {refused:.1%} of all {stats.legit_syns:,} client SYNs: a retry soon "
        "after a refusal often finds the queue still full",
        f"  clients     {stats.connected:,} of {finished:,} connected ({rate_ok:.1%}); "
        f"{p_ok:.1%} if the {len(times)} tries were independent",
        "  connect     "
        + (
            f"mean {mean_t / 1e6:.2f} s ({t_ok / 1e6:.2f} s if independent)"
            if mean_t is not None
            else "nobody connected"
        ),
        f"  flood       {program.log.count:,} spoofed SYNs; the server dropped "
        f"{server_ep.counters['drop.backlog_full']:,} SYNs for a full queue",
        "  defence     SYN cookies (RFC 4987 3.6): no state until the ACK comes back; "
        "a larger backlog and fewer SYN-ACK retries only raise the rate needed",
        f"  seed {seed}",
    ]
    summary += outputs_lines(lab, outputs)
    if outputs.plot is not None:
        from synack.attack.plots import plot_syn_flood

        plot_syn_flood(stats, backlog, warm, span, outputs.plot, title=f"syn-flood, {rate:g} SYN/s")
    return AttackResult(
        "syn-flood",
        success,
        program.log.count,
        keep_full,
        seed,
        config,
        header,
        lab.ladder.lines,
        summary,
        {
            "legit_success_rate": rate_ok,
            "expected_success_rate": p_ok,
            "connect_time_us": mean_t,
            "expected_connect_time_us": t_ok,
            "first_syn_refused": first,
            "syn_refused": refused,
            "flood_syn_refused": flood_refused,
            "expected_syn_refused": blocking,
            "legit_attempts": finished,
        },
    )


def _secret(seed: int, role: str) -> bytes:
    return f"attack-lab/{seed}/{role}".encode().ljust(32, b".")


def _last_wait(config: Config) -> int:
    """The timeout after the last SYN retransmission, before the client gives up."""
    rto = config.initial_rto
    for _ in range(config.syn_retries):
        rto = min(2 * rto, config.max_rto)
    return rto

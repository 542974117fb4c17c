"""``synack demo --attack``: the seed's handshake, then a spoofed connection against two ISN generators.

The client (192.168.1.100) connects to the server (10.0.0.5 port 80) with the
seed's ISNs, 1000 and 5000. Then an off-path attacker (203.0.113.66) makes one
connection of its own to see the server's ISN, sends a SYN spoofed from the
client's address, and without waiting for the SYN-ACK it cannot see, an ACK
with a predicted ISN and a request. Against a server whose ISNs step by a
fixed amount per connection (4.3BSD's per-connection increment, 64,000) the
server accepts the request as the client's; against RFC 6528 ISNs (synack's
default) it answers the guess with a RST and nothing is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from synack.attack.attackers import IsnPredictor
from synack.attack.lab import ATTACKER_ADDR, CLIENT_ADDR, SERVER_ADDR, Lab
from synack.sim.apps import EndpointApp
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import Connected, DataReceived, Event
from synack.tcp.isn import IsnGenerator, IsnSource
from synack.wire.ip import addr_to_str, str_to_addr
from synack.wire.seq import MASK

__all__ = ["REQUEST", "AttackDemo", "run_attack_demo"]

PORT = 80
ATTACK_AT = 100_000
REQUEST = b"POST /transfer?to=attacker\n"


class _PerConnectionCounter:
    """Predictable ISNs: ``first``, then +64,000 for every new connection (4.3BSD's step)."""

    def __init__(self, first: int) -> None:
        self.next = first

    def isn(self, now: int, laddr: bytes, lport: int, raddr: bytes, rport: int) -> int:
        iss, self.next = self.next, (self.next + 64_000) & MASK
        return iss


class _Server(EndpointApp):
    def __init__(self, ep: Endpoint, note: Callable[[int, str], None]) -> None:
        super().__init__(ep)
        self.listener = ep.listen(PORT)
        self.note = note
        self.requests: list[tuple[str, bytes]] = []

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if isinstance(event, Connected):
            while (c := self.listener.accept()) is not None:
                self.note(now, f"server: accept() -> connection from {_peer(c)}")
        elif isinstance(event, DataReceived):
            data = conn.recv()
            self.requests.append((_peer(conn), data))
            self.note(now, f"server: recv() -> {_show(data)} from {_peer(conn)}")


def _peer(conn: Connection) -> str:
    return f"{addr_to_str(conn.remote[0])}:{conn.remote[1]}"


def _show(data: bytes) -> str:
    return repr(data)[1:]


@dataclass
class AttackDemo:
    """The demo's text and what the server accepted in each part."""

    lines: list[str]
    accepted_predictable: bool
    accepted_random: bool

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _run(server_isn: IsnSource, seed: int) -> tuple[list[str], list[int], bool]:
    names = {CLIENT_ADDR: "Client", SERVER_ADDR: "Server", ATTACKER_ADDR: "Attacker"}
    lab = Lab(seed, names, head=100)
    client_ep = Endpoint(
        [CLIENT_ADDR],
        config=Config(fixed_iss=1000),
        port_seed=seed,
        tracer=lab.tracer,
        name="client",
    )
    server_ep = Endpoint(
        [SERVER_ADDR], isn=server_isn, port_seed=seed + 1, tracer=lab.tracer, name="server"
    )
    server = _Server(server_ep, lab.note)
    lab.add_host("server", SERVER_ADDR, server_ep, server)
    client = lab.add_host("client", CLIENT_ADDR, client_ep, EndpointApp(client_ep))
    lab.note(0, f"server: listen({PORT})")

    def connect(now: int) -> None:
        lab.note(now, f"client: connect({SERVER_ADDR}, {PORT})")
        client_ep.connect(SERVER_ADDR, PORT, now)

    client.call(0, connect)
    program = IsnPredictor(
        server=str_to_addr(SERVER_ADDR),
        service_port=PORT,
        trusted=str_to_addr(CLIENT_ADDR),
        trusted_port=40_000,
        model="counter",
        command=REQUEST,
        seed=seed,
        probes=1,
        gap=50_000,
        wait=1_000,
        budget=2,
    )
    lab.add_attacker(program, start=ATTACK_AT)
    lab.run(until=ATTACK_AT + 150_000)
    times = [_time(line) for line in lab.ladder.lines]
    spoofed = any(peer.startswith(CLIENT_ADDR + ":40000") for peer, _ in server.requests)
    return lab.ladder.lines, times, spoofed


def _time(line: str) -> int:
    head = line.split()[0]
    s, _, us = head.partition(".")
    return int(s) * 1_000_000 + int(us)


def run_attack_demo(seed: int = 1) -> AttackDemo:
    """Run both parts and return the diagram."""
    secret = f"demo-attack/{seed}".encode().ljust(32, b".")
    lines_a, times_a, won_a = _run(_PerConnectionCounter(5000), seed)
    lines_b, times_b, won_b = _run(IsnGenerator(secret), seed)
    handshake = [line for line, t in zip(lines_a, times_a, strict=True) if t < ATTACK_AT]
    part_a = [line for line, t in zip(lines_a, times_a, strict=True) if t >= ATTACK_AT]
    part_b = [line for line, t in zip(lines_b, times_b, strict=True) if t >= ATTACK_AT]
    out = [
        "synack demo --attack: the seed's handshake, then an off-path attacker spoofs the client",
        f"  Client {CLIENT_ADDR} -> Server {SERVER_ADDR} port {PORT}, 10 ms each way; "
        f"Attacker {ATTACKER_ADDR}",
        "  sees only the packets addressed to it. Its plan: open one connection of its own to see",
        "  the server's ISN, send a SYN from the client's address, and right after it an ACK that",
        "  guesses the ISN of the SYN-ACK it cannot see, carrying a request.",
        "",
        "1. The handshake (ISNs fixed for illustration: client 1000, server 5000)",
        "",
        *handshake,
        "",
        "2. Predictable ISNs: each new connection gets the server's last ISN + 64,000 "
        "(4.3BSD's step)",
        "",
        *part_a,
        "",
        "3. RFC 6528 ISNs (synack's default): a keyed hash of the connection's addresses and ports",
        "",
        *part_b,
        "",
        "With predictable ISNs the server took the attacker's request as the client's"
        + (" (it did)." if won_a else " (it did NOT here)."),
        "With RFC 6528 ISNs the guess was wrong; the server answered it with a RST"
        + (" and accepted nothing." if not won_b else ", yet accepted it (unexpected)."),
        "The real client's RST for the SYN-ACK it never asked for comes a round trip later. "
        "More: synack attack isn-prediction.",
    ]
    return AttackDemo(out, won_a, won_b)

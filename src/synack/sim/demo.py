"""The seed's scenario: a client connects to a web server, they talk, and close.

Client 192.168.1.100 opens a connection to server 10.0.0.5 port 80 over a
simulated link (10 ms each way). The server greets first, the client answers
and closes, the server closes. :func:`run_demo` returns the ladder diagram of
all of it (every segment, every state change on both sides, the application's
calls) with the initial sequence numbers fixed for illustration (1000 and 5000
unless asked otherwise). ``lose`` drops one handshake segment so the diagram
shows the retransmission timeout and the retransmission that completes the
handshake.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from synack.sim.apps import EndpointApp
from synack.sim.engine import Simulator
from synack.sim.link import LinkConfig
from synack.sim.rules import DropRule, is_ack, is_data, is_fin, is_syn, is_syn_ack
from synack.sim.scenario import CLIENT_ADDR, SERVER_ADDR, SERVER_PORT, endpoint_secret
from synack.sim.topology import HostSpec, two_hosts
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import Closed, Connected, DataReceived, Event, PeerClosed, Reset, TimedOut
from synack.trace import JsonlWriter, Ladder, PcapObserver, PcapWriter, fanout
from synack.wire.ip import addr_to_str

__all__ = ["LOSABLE", "DemoResult", "run_demo"]

GREETING = b"Hello from 10.0.0.5\n"
REPLY = b"Hi! Bye.\n"

# What --lose can drop: the first segment of that kind, on the link it travels.
LOSABLE: dict[str, tuple[str, DropRule]] = {
    "syn": ("client", DropRule.nth(is_syn, 1, label="syn")),
    "syn-ack": ("server", DropRule.nth(is_syn_ack, 1, label="syn-ack")),
    "ack": ("client", DropRule.nth(is_ack, 1, label="ack")),
    "data": ("server", DropRule.nth(is_data, 1, label="data")),
    "fin": ("client", DropRule.nth(is_fin, 1, label="fin")),
}


@dataclass
class DemoResult:
    """The diagram and what happened."""

    header: list[str]
    ladder: list[str]
    footer: list[str]
    ok: bool
    client_received: bytes = b""
    server_received: bytes = b""
    packets: int = 0
    notes: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return "\n".join([*self.header, "", *self.ladder, "", *self.footer]) + "\n"


def _show(data: bytes) -> str:
    return repr(data)[1:]  # b'..' -> '..'


class _Server(EndpointApp):
    def __init__(self, ep: Endpoint, ladder: Ladder) -> None:
        super().__init__(ep)
        self.ladder = ladder
        self.listener = ep.listen(SERVER_PORT)
        self.received = bytearray()
        self.closed = False
        self.error: str | None = None

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        note = self.ladder.note
        if isinstance(event, Connected):
            accepted = self.listener.accept()
            if accepted is None:
                return
            peer = f"{addr_to_str(accepted.remote[0])}:{accepted.remote[1]}"
            note(now, f"server: accept() -> connection from {peer}")
            n = accepted.send(GREETING)
            note(now, f"server: send({_show(GREETING)}) -> {n}")
        elif isinstance(event, DataReceived):
            data = conn.recv()
            self.received += data
            note(now, f"server: recv() -> {_show(data)}")
        elif isinstance(event, PeerClosed):
            note(now, "server: the client closed its side (FIN); close()")
            conn.close(now)
        elif isinstance(event, Closed):
            self.closed = True
        elif isinstance(event, Reset | TimedOut):
            self.error = f"server: {event!r}"
            note(now, self.error)


class _Client(EndpointApp):
    def __init__(self, ep: Endpoint, ladder: Ladder) -> None:
        super().__init__(ep)
        self.ladder = ladder
        self.conn: Connection | None = None
        self.received = bytearray()
        self.closed = False
        self.error: str | None = None

    def start(self, now: int) -> None:
        self.ladder.note(now, f"client: connect({SERVER_ADDR}, {SERVER_PORT})")
        self.conn = self.endpoint.connect(SERVER_ADDR, SERVER_PORT, now)

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        note = self.ladder.note
        if isinstance(event, DataReceived):
            data = conn.recv()
            self.received += data
            note(now, f"client: recv() -> {_show(data)}")
            if bytes(self.received) == GREETING:
                n = conn.send(REPLY)
                note(now, f"client: send({_show(REPLY)}) -> {n}")
                note(now, "client: close()")
                conn.close(now)
        elif isinstance(event, Closed):
            self.closed = True
        elif isinstance(event, Reset | TimedOut):
            self.error = f"client: {event!r}"
            note(now, self.error)


def run_demo(
    *,
    client_isn: int = 1000,
    server_isn: int = 5000,
    random_isn: bool = False,
    lose: str | None = None,
    pcap: str | Path | None = None,
    trace: str | Path | None = None,
    relative: bool = False,
    timestamps: bool = True,
    verbose: bool = False,
    delay_us: int = 10_000,
    seed: int = 0,
) -> DemoResult:
    """Run the demo on the simulator and return its ladder diagram."""
    for isn in (client_isn, server_isn):
        if not 0 <= isn < 1 << 32:
            raise ValueError(f"ISN {isn} is not in [0, 2**32)")
    if lose is not None and lose not in LOSABLE:
        raise ValueError(f"--lose must be one of {', '.join(LOSABLE)}")

    ladder = Ladder(
        {CLIENT_ADDR: "Client", SERVER_ADDR: "Server"},
        relative=relative,
        timestamps=timestamps,
        verbose=verbose,
    )
    jsonl = JsonlWriter(trace) if trace is not None else None
    pcap_writer = PcapWriter(pcap) if pcap is not None else None
    tracer = fanout(ladder.trace, jsonl)

    base = Config()
    client_cfg = base if random_isn else dataclasses.replace(base, fixed_iss=client_isn)
    server_cfg = base if random_isn else dataclasses.replace(base, fixed_iss=server_isn)
    client_ep = Endpoint(
        [CLIENT_ADDR],
        config=client_cfg,
        isn_secret=None if random_isn else endpoint_secret(seed, "client"),
        port_seed=seed,
        tracer=tracer,
        name="client",
    )
    server_ep = Endpoint(
        [SERVER_ADDR],
        config=server_cfg,
        isn_secret=None if random_isn else endpoint_secret(seed, "server"),
        port_seed=seed + 1,
        tracer=tracer,
        name="server",
    )
    client = _Client(client_ep, ladder)
    server = _Server(server_ep, ladder)

    c2s = LinkConfig(delay=delay_us)
    s2c = LinkConfig(delay=delay_us)
    if lose is not None:
        side, rule = LOSABLE[lose]
        if side == "client":
            c2s = dataclasses.replace(c2s, rules=(rule,))
        else:
            s2c = dataclasses.replace(s2c, rules=(rule,))

    sim = Simulator()
    net = two_hosts(
        sim,
        HostSpec(client_ep, "client", (CLIENT_ADDR,), client),
        HostSpec(server_ep, "server", (SERVER_ADDR,), server),
        c2s,
        s2c,
        seed=seed,
    )
    net.observe(ladder.observe)
    if jsonl is not None:
        net.observe(jsonl.observe)
    if pcap_writer is not None:
        net.observe(PcapObserver(pcap_writer))

    ladder.note(0, f"server: listen({SERVER_PORT})")
    # The listener is not a connection in the core, so no state record says this.
    ladder.note(0, "server: CLOSED -> LISTEN")
    net.a.call(0, client.start)
    try:
        sim.run(until=600_000_000)
    finally:
        if jsonl is not None:
            jsonl.close()
        if pcap_writer is not None:
            pcap_writer.close()

    conn = client.conn
    port = conn.local[1] if conn is not None else 0
    header = [
        "synack demo: one TCP connection on the simulator (virtual time, "
        f"{delay_us / 1000:g} ms each way)",
        f"  Client {CLIENT_ADDR} (port {port}, an ephemeral port per RFC 6056) "
        f"-> Server {SERVER_ADDR} port {SERVER_PORT}",
    ]
    if random_isn:
        header.append(
            "  Initial sequence numbers chosen per RFC 6528 (keyed hash of the "
            "connection + 4 us clock)"
        )
    else:
        header.append(
            f"  Initial sequence numbers fixed for illustration: client {client_isn}, "
            f"server {server_isn}"
        )
        header.append("  (real stacks pick them per RFC 6528; try --random-isn)")
    if relative:
        header.append("  Sequence numbers are relative to each side's ISN")
    if lose is not None:
        link = "client->server" if LOSABLE[lose][0] == "client" else "server->client"
        header.append(f"  The {link} link drops the first {lose.upper()} segment (--lose {lose})")

    ok = (
        client.error is None
        and server.error is None
        and bytes(client.received) == GREETING
        and bytes(server.received) == REPLY
        and client.closed
        and server.closed
    )
    footer = [
        f"client received {len(client.received)} bytes, server received "
        f"{len(server.received)} bytes; "
        + ("both sides closed gracefully." if ok else "the exchange did NOT complete."),
    ]
    if any(line.endswith("-> TIME-WAIT") for line in ladder.lines):
        footer.append(
            "The side that closed first waits in TIME-WAIT for 2*MSL "
            f"({2 * base.msl / 1e6:g} s here) before the connection is gone (RFC 9293 3.6)."
        )
    if pcap_writer is not None:
        footer.append(f"wrote {pcap_writer.packets} packets to {pcap}")
    if jsonl is not None:
        footer.append(f"wrote {jsonl.records} trace records to {trace}")
    return DemoResult(
        header,
        ladder.lines,
        footer,
        ok,
        bytes(client.received),
        bytes(server.received),
        pcap_writer.packets if pcap_writer is not None else 0,
    )

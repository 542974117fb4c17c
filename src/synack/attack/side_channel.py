"""``synack attack side-channel``: CVE-2016-5696, the challenge-ACK budget as a side channel.

RFC 5961 7 limits challenge ACKs. Linux 3.6 to 4.6 kept one budget for the
whole host (100 a second), and Cao, Qian, Wang, Dao, Krishnamurthy and Marvel
("Off-Path TCP Exploits: Global Rate Limit Considered Dangerous", USENIX
Security, August 2016; CVE-2016-5696) showed that an off-path attacker can
read it through a connection of its own: whether a spoofed segment drew a
challenge ACK tells it whether that segment's sequence number was in someone
else's window. Linux 4.7 (July 2016) made the limit per socket, and random.
Here the attacker finds the RCV.NXT of a client's connection to the server that
way, in about thirty one-second rounds, and resets it with one exact RST;
against synack's per-connection budget it learns nothing.
"""

from __future__ import annotations

import dataclasses

from synack.attack import analytic
from synack.attack.attackers import ChallengeAckSideChannel
from synack.attack.lab import (
    ATTACKER_ADDR,
    CLIENT_ADDR,
    SERVER_ADDR,
    AttackResult,
    Lab,
    Outputs,
    outputs_lines,
)
from synack.attack.services import StreamReceiver
from synack.sim.apps import EndpointApp
from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.events import Connected, Event
from synack.wire.ip import str_to_addr

__all__ = ["LINUX_LIMIT", "run_side_channel"]

PORT = 80
LINUX_LIMIT = 100
"""Linux 3.6-4.6's ``tcp_challenge_ack_limit``: challenge ACKs a second, for the whole host."""
REQUEST = b"GET / HTTP/1.1\r\nHost: 10.0.0.5\r\n\r\n"


class _Client(EndpointApp):
    """Opens the victim connection, sends one request and then stays idle."""

    def on_event(self, conn: Connection, event: Event, now: int) -> None:
        if isinstance(event, Connected):
            conn.send(REQUEST)


def run_side_channel(
    *,
    per_host: bool = False,
    seed: int = 1,
    window: int = 262_144,
    batch: int = 4096,
    outputs: Outputs | None = None,
) -> AttackResult:
    """Run the attack against a server with a per-connection (default) or host-wide budget.

    ``per_host=True`` gives the server Linux 3.6-4.6's rule: one budget of 100
    challenge ACKs a second for all its connections. ``window`` is the
    server's receive window (the attacker knows it); ``batch`` is how many
    window-sized steps one round tests at first.
    """
    if not 1024 <= window <= 1 << 30 or batch < 1:
        raise ValueError("need a window of 1 KiB .. 1 GiB and --batch >= 1")
    outputs = outputs or Outputs()
    base = Config(recv_buffer=window, window_scaling=window > 0xFFFF)
    server_cfg = (
        dataclasses.replace(base, challenge_ack_per_host=True, challenge_ack_limit=LINUX_LIMIT)
        if per_host
        else base
    )
    names = {CLIENT_ADDR: "Client", SERVER_ADDR: "Server", ATTACKER_ADDR: "Attacker"}
    lab = Lab(seed, names, outputs=outputs)
    secret = f"attack-lab/{seed}".encode().ljust(32, b".")
    server_ep = Endpoint(
        [SERVER_ADDR],
        config=server_cfg,
        isn_secret=secret,
        port_seed=seed,
        tracer=lab.tracer,
        name="server",
    )
    server = StreamReceiver(server_ep, PORT)
    lab.add_host("server", SERVER_ADDR, server_ep, server)
    client_ep = Endpoint(
        [CLIENT_ADDR],
        isn_secret=secret[::-1],
        port_seed=seed + 1,
        tracer=lab.tracer,
        name="client",
    )
    node = lab.add_host("client", CLIENT_ADDR, client_ep, _Client(client_ep))
    conn = client_ep.connect(SERVER_ADDR, PORT, 0)
    node.call(0, lambda now: None)
    program = ChallengeAckSideChannel(
        server=str_to_addr(SERVER_ADDR),
        dport=PORT,
        client=str_to_addr(CLIENT_ADDR),
        cport=conn.local[1],
        window=window,
        seed=seed,
        batch=batch,
    )
    verdict: dict[str, int] = {}

    def on_reset(now: int) -> None:
        verdict["t"] = now
        verdict["rounds"] = program.log.count
        lab.verdict(
            now,
            f"after {program.log.count} rounds the exact RST reset the server's "
            "side of the client's connection",
        )
        lab.sim.at(now + 1_500_000, lambda t: lab.sim.stop())

    server.on_reset = on_reset
    lab.add_attacker(program, start=100_000)
    rounds_max = 2 + program.slots // batch + 20 + 20
    lab.run(until=100_000 + rounds_max * program.interval)

    success = "t" in verdict
    attempts = verdict.get("rounds", program.log.count)
    expected = analytic.side_channel_expected(window, batch, per_host)
    config = {
        "challenge_ack_scope": "host" if per_host else "connection",
        "challenge_ack_limit": server_cfg.challenge_ack_limit,
        "window": window,
        "batch": batch,
    }
    header = [
        "synack attack side-channel: read the challenge-ACK budget to find RCV.NXT "
        "(CVE-2016-5696, Cao et al. 2016)",
        f"  Client {CLIENT_ADDR} port {conn.local[1]} has an idle connection to Server "
        f"{SERVER_ADDR} port {PORT}; the server's receive window is {window:,} bytes",
        "  Server's challenge ACKs (RFC 5961 7): "
        + (
            f"{LINUX_LIMIT} a second for the whole host (Linux 3.6-4.6)"
            if per_host
            else f"{server_cfg.challenge_ack_limit} a second per connection (synack)"
        ),
        f"  Attacker {ATTACKER_ADDR} is off-path; it knows the 4-tuple and the window. Each "
        "round (1.2 s apart): spoofed RSTs, then 100 RSTs on its own connection, and it "
        "counts the challenge ACKs",
    ]
    summary = [
        "  result      "
        + (
            f"SUCCESS: {attempts} rounds found RCV.NXT; one exact RST reset the connection "
            f"at {verdict['t'] / 1e6:.6f} s"
            if success
            else f"FAILED: after {attempts} rounds the count never moved ({program.outcome}); "
            "the connection lives"
        ),
        f"  rounds      {attempts}; expected {expected:.1f} "
        + (
            "(calibration, the batch holding the window, log2(batch) halvings, "
            "log2(window) for RCV.NXT)"
            if per_host
            else "(calibration and every batch, learning nothing)"
        ),
        f"  packets     {program.packets:,} sent by the attacker; calibration count "
        f"{program.baseline if program.baseline is not None else '-'}",
        "  defence     "
        + (
            "a budget per connection (synack's default; Linux 4.7): the attacker's count "
            "depends only on its own connection"
            if per_host
            else "the budget is per connection: try --per-host"
        ),
        f"  seed {seed}",
    ]
    summary += outputs_lines(lab, outputs)
    if outputs.plot is not None:
        from synack.attack.plots import plot_side_channel

        plot_side_channel(
            program,
            outputs.plot,
            title=f"side-channel, challenge ACKs per {'host' if per_host else 'connection'}",
        )
    return AttackResult(
        "side-channel",
        success,
        attempts,
        expected,
        seed,
        config,
        header,
        lab.ladder.lines,
        summary,
        {
            "packets": program.packets,
            "baseline": program.baseline,
            "reset_time_us": verdict.get("t"),
        },
    )

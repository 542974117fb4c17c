"""``synack attack blind-reset`` and ``blind-inject``: in-window attacks on a known 4-tuple.

Watson, "Slipping in the Window: TCP Reset Attacks" (CanSecWest, April 2004;
CERT VU#415294, April 2004) showed that a RST only has to fall inside the
receive window, not hit RCV.NXT, so an attacker who knows the 4-tuple of a
long-lived connection (a BGP session on port 179) needs about 2**32 / window
packets, not 2**32. Data works the same way, as long as the ACK field passes
too. RFC 5961 (August 2010) answers both: a RST or SYN must carry exactly
RCV.NXT, anything else in the window draws a challenge ACK (sections 3 and 4),
and data must carry an ACK within SND.UNA - MAX.SND.WND .. SND.NXT (section 5).

In both scenarios a client keeps one connection to the server's port 179 and
an off-path attacker, told the 4-tuple and the window size, sprays spoofed
segments one window apart from a random start. ``Config(rfc5961=False)`` on the
server gives RFC 793's rules for comparison.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from synack.attack import analytic
from synack.attack.attackers import DataInjector, ResetSprayer
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
from synack.attack.services import StreamReceiver, StreamSender, stream_bytes
from synack.tcp.config import Config
from synack.tcp.endpoint import Endpoint
from synack.trace.packet import peek
from synack.wire.ip import str_to_addr

__all__ = ["BGP_PORT", "run_blind_inject", "run_blind_reset"]

BGP_PORT = 179
ATTACK_START = 1_000_000
AFTER = 1_500_000  # how long to go on after the verdict (the client's next segment shows it)


@dataclass
class _Session:
    lab: Lab
    client: StreamSender
    server: StreamReceiver
    server_ep: Endpoint
    sport: int
    rcv_nxt_at_attack: int = 0


def _session(
    seed: int,
    outputs: Outputs,
    server_cfg: Config,
    client_cfg: Config,
    *,
    chunk: int,
    interval: int,
    narrate: dict[str, str],
) -> _Session:
    def narrator(record: Record) -> str | None:
        if record.get("ev") != "drop" or record.get("host") != "server":
            return None
        text = narrate.get(str(record.get("reason")))
        info = peek(lab.last_delivered.get("server", b""))
        if text is None or info is None:
            return text
        return f"server: {info.flag_names[0]} Seq={info.seq} Ack={info.ack}: {text}"

    names = {CLIENT_ADDR: "Client", SERVER_ADDR: "Server", ATTACKER_ADDR: "Attacker"}
    lab = Lab(seed, names, outputs=outputs, narrate=narrator)
    server_ep = Endpoint(
        [SERVER_ADDR],
        config=server_cfg,
        isn_secret=_secret(seed, "server"),
        port_seed=seed,
        tracer=lab.tracer,
        name="server",
    )
    client_ep = Endpoint(
        [CLIENT_ADDR],
        config=client_cfg,
        isn_secret=_secret(seed, "client"),
        port_seed=seed + 1,
        tracer=lab.tracer,
        name="client",
    )
    server = StreamReceiver(server_ep, BGP_PORT)
    lab.add_host("server", SERVER_ADDR, server_ep, server)

    def schedule(t: int, fn: Callable[[int], None]) -> None:
        lab.hosts["client"].call(t, fn)

    client = StreamSender(
        client_ep, SERVER_ADDR, BGP_PORT, chunk=chunk, interval=interval, schedule=schedule
    )
    client_node = lab.add_host("client", CLIENT_ADDR, client_ep, client)
    client.start(0)
    client_node.call(0, lambda now: None)  # send the SYN
    assert client.conn is not None
    session = _Session(lab, client, server, server_ep, client.conn.local[1])

    def note_rcv_nxt(now: int) -> None:  # the referee's record, for the plot
        if server.conn is not None:
            session.rcv_nxt_at_attack = server.conn.rcv_nxt

    lab.sim.at(ATTACK_START, note_rcv_nxt)
    return session


def _secret(seed: int, role: str) -> bytes:
    return f"attack-lab/{seed}/{role}".encode().ljust(32, b".")


def _window_config(base: Config, window: int) -> Config:
    # The receive buffer is the window the server advertises while idle; above
    # 64 KiB it needs window scaling (RFC 7323 2).
    return dataclasses.replace(base, recv_buffer=window, window_scaling=window > 0xFFFF)


def _mode(rfc5961: bool) -> str:
    return "on" if rfc5961 else "off (RFC 793 rules)"


# ------------------------------------------------------------------- blind-reset


def run_blind_reset(
    *,
    rfc5961: bool = True,
    window: int = 262_144,
    seed: int = 1,
    budget: int | None = None,
    rate: int = 100_000,
    outputs: Outputs | None = None,
) -> AttackResult:
    """Spray RSTs one ``window`` apart at the server side of a BGP-like session.

    ``budget`` defaults to one sweep of the sequence space, ceil(2**32 / window)
    RSTs; ``rate`` is the attacker's packets per second.
    """
    if not 1 <= window <= 1 << 30:
        raise ValueError("--window must be 1 .. 2**30 bytes")
    sweep = analytic.slots(window)
    count = sweep if budget is None else budget
    if count < 1 or rate < 1000:
        raise ValueError("need --budget >= 1 and --rate >= 1000")
    outputs = outputs or Outputs()
    server_cfg = _window_config(Config(rfc5961=rfc5961), window)
    s = _session(
        seed,
        outputs,
        server_cfg,
        Config(),
        chunk=19,  # a BGP KEEPALIVE is 19 octets
        interval=1_000_000,
        narrate={
            "rst_not_exact": "in the window but not RCV.NXT: challenge ACK to the real "
            "client, connection kept (RFC 5961 3.2)"
        },
    )
    lab = s.lab
    program = ResetSprayer(
        src=str_to_addr(CLIENT_ADDR),
        sport=s.sport,
        dst=str_to_addr(SERVER_ADDR),
        dport=BGP_PORT,
        window=window,
        count=count,
        seed=seed,
        rate=rate,
    )
    verdict: dict[str, int] = {}

    def on_reset(now: int) -> None:
        info = peek(lab.last_delivered["server"])
        index = program.log.index_of(info.seq) if info is not None else None
        verdict["t"] = now
        verdict["attempt"] = index or program.log.count
        if s.server.conn is not None:
            verdict["rcv_nxt"] = s.server.conn.rcv_nxt
        k = verdict["attempt"]
        lab.verdict(
            now,
            f"RST #{k:,} (sent at {_t(program.log.time_of(k))}, Seq={info.seq if info else '?'}) "
            "was in the window: the server's side of the session is gone",
        )
        lab.sim.at(now + AFTER, lambda t: lab.sim.stop())

    s.server.on_reset = on_reset
    lab.add_attacker(program, start=ATTACK_START)
    lab.run(until=ATTACK_START + (count * 1_000_000) // rate + 2 * 1000 + AFTER)

    success = "t" in verdict
    attempts = verdict.get("attempt", program.log.count)
    expected = analytic.blind_reset_expected(window, rfc5961)
    counters = s.server_ep.counters
    config = {"rfc5961": rfc5961, "window": window, "budget": count, "rate_pps": rate}
    header = [
        "synack attack blind-reset: kill a connection with a spoofed RST "
        '(Watson, "Slipping in the Window", 2004)',
        f"  Client {CLIENT_ADDR} port {s.sport} keeps a session to Server {SERVER_ADDR} "
        f"port {BGP_PORT} (19-byte keepalives every second)",
        f"  Server's receive window {window:,} bytes; RFC 5961 {_mode(rfc5961)}",
        f"  Attacker {ATTACKER_ADDR} is off-path; it knows the 4-tuple and the window, not "
        f"RCV.NXT: {count:,} RSTs at {rate:,}/s, one window apart",
    ]
    summary = [
        "  result      "
        + (
            f"SUCCESS: RST #{attempts:,} reset the connection at {verdict['t'] / 1e6:.6f} s"
            if success
            else f"FAILED: the connection survived all {program.log.count:,} RSTs"
        ),
        f"  attempts    {attempts:,}; expected {_num(expected)} on average "
        + (
            f"(a sweep is {sweep:,} = 2^32/window: (N+1)/2)"
            if not rfc5961
            else "(only SEQ = RCV.NXT resets: (2^32+1)/2)"
        ),
        f"  server      {counters['drop.rst_out_of_window']:,} RSTs out of the window dropped, "
        f"{counters['drop.rst_not_exact']:,} in the window answered with a challenge ACK",
        "  defence     "
        + (
            "RFC 5961 3.2 (on by default): an in-window RST that is not exact only "
            "draws a challenge ACK"
            if not rfc5961
            else "RFC 5961 3.2: RSTs must carry exactly RCV.NXT; try --rfc5961 off"
        ),
        f"  seed {seed}",
    ]
    summary += outputs_lines(lab, outputs)
    if outputs.plot is not None:
        from synack.attack.plots import plot_spray

        plot_spray(
            first_seq=program.first_seq,
            step=window,
            count=program.log.count,
            per_step=1,
            rcv_nxt=verdict.get("rcv_nxt", s.rcv_nxt_at_attack),
            window=window,
            hit=attempts if success else None,
            path=outputs.plot,
            title=f"blind-reset, window {window:,}, RFC 5961 {'on' if rfc5961 else 'off'}",
        )
    return AttackResult(
        "blind-reset",
        success,
        attempts,
        expected,
        seed,
        config,
        header,
        lab.ladder.lines,
        summary,
        {
            "sweep": sweep,
            "challenge_acks": _challenge_acks(s),
            "reset_time_us": verdict.get("t"),
        },
    )


# ------------------------------------------------------------------ blind-inject

_MARK = re.compile(rb"#(\d{7})>>")


def run_blind_inject(
    *,
    rfc5961: bool = True,
    timestamps: bool = True,
    window: int = 262_144,
    seed: int = 1,
    budget: int | None = None,
    rate: int = 100_000,
    outputs: Outputs | None = None,
) -> AttackResult:
    """Spray data segments one ``window`` apart into the client -> server stream.

    ``budget`` (window-sized steps) defaults to one sweep; each step costs 2
    segments (ACK guesses), 4 with timestamps (TSval guesses).
    """
    if not 1 <= window <= 1 << 30:
        raise ValueError("--window must be 1 .. 2**30 bytes")
    sweep = analytic.slots(window)
    steps = sweep if budget is None else budget
    if steps < 1 or rate < 1000:
        raise ValueError("need --budget >= 1 and --rate >= 1000")
    outputs = outputs or Outputs()
    server_cfg = _window_config(Config(rfc5961=rfc5961, timestamps=timestamps), window)
    client_cfg = Config(timestamps=timestamps)
    s = _session(
        seed,
        outputs,
        server_cfg,
        client_cfg,
        chunk=1000,  # 1 MB/s: the gap in front of injected data fills in well under a second
        interval=1000,
        narrate={
            "ack_too_old": "in the window, but the ACK is below SND.UNA - MAX.SND.WND: "
            "dropped, challenge ACK (RFC 5961 5.2)",
            "ack_too_new": "in the window, but the ACK is above SND.NXT: dropped "
            "(RFC 9293 3.10.7.4)",
        },
    )
    lab = s.lab
    program = DataInjector(
        src=str_to_addr(CLIENT_ADDR),
        sport=s.sport,
        dst=str_to_addr(SERVER_ADDR),
        dport=BGP_PORT,
        window=window,
        slots=steps,
        seed=seed,
        timestamps=timestamps,
        rate=rate,
    )
    verdict: dict[str, int] = {}
    shown: list[bytes] = []
    watch = {"ooo": 0, "rcv_nxt": -1, "checked": 0}

    def on_input(now: int) -> None:
        # Did the victim's TCP just take the attacker's segment into its receive
        # buffer (in order, or held out of order)?
        conn = s.server.conn
        if conn is None or "accepted" in verdict:
            return
        ooo, rcv_nxt = conn.counters["out_of_order"], conn.rcv_nxt
        held = ooo != watch["ooo"]
        changed = held or rcv_nxt != watch["rcv_nxt"]
        watch["ooo"], watch["rcv_nxt"] = ooo, rcv_nxt
        packet = lab.last_delivered.get("server", b"")
        if not changed or b"<<INJECTED #" not in packet:
            return
        m = _MARK.search(packet)
        info = peek(packet)
        if m is None or info is None:
            return
        verdict["accepted"] = int(m.group(1))
        verdict["accepted_t"] = now
        verdict["rcv_nxt"] = rcv_nxt
        where = "held out of order, ahead of RCV.NXT" if held else "in order"
        lab.note(
            now,
            f"referee: the server takes segment #{verdict['accepted']:,} (Seq={info.seq} "
            f"Ack={info.ack}) into its receive buffer, {where}",
        )

    def on_data(now: int) -> None:
        if "t" in verdict:
            return
        data = s.server.received
        start = watch["checked"]
        expected = stream_bytes(start, len(data) - start)
        if data[start:] == expected:
            watch["checked"] = len(data)
            return
        bad = start + next(
            i for i, (a, b) in enumerate(zip(data[start:], expected, strict=False)) if a != b
        )
        verdict["t"] = now
        verdict["offset"] = bad
        region = bytes(data[bad : bad + len(DataInjector.MARKER.format(0)) * DataInjector.REPEAT])
        m = _MARK.search(region)
        verdict["attempt"] = int(m.group(1)) if m else verdict.get("accepted", program.log.count)
        shown.append(bytes(data[max(0, bad - 40) : bad + 60]))
        lab.note(now, f"server: recv() -> ...{_show(shown[0])}...")
        k = verdict["attempt"]
        lab.verdict(
            now,
            f"the application read the attacker's bytes (segment #{k:,}, sent at "
            f"{_t(program.log.time_of(k))}) at stream offset {bad:,}",
        )
        lab.sim.at(now + AFTER, lambda t: lab.sim.stop())

    s.server.on_input = on_input
    s.server.on_data = on_data
    lab.add_attacker(program, start=ATTACK_START)
    lab.run(until=ATTACK_START + (program.count * 1_000_000) // rate + 2_000 + AFTER)

    # The client's ACK range as the server sees it: SND.UNA - MAX.SND.WND .. SND.NXT.
    max_snd_wnd = client_cfg.recv_buffer
    expected, per_slot = analytic.blind_inject_expected(
        window, rfc5961, timestamps, max_snd_wnd + 1
    )
    success = "t" in verdict
    attempts = verdict.get("attempt", program.log.count)
    counters = s.server_ep.counters
    config = {
        "rfc5961": rfc5961,
        "timestamps": timestamps,
        "window": window,
        "budget": steps,
        "rate_pps": rate,
    }
    header = [
        "synack attack blind-inject: put your bytes into someone else's TCP stream "
        "(RFC 5961 section 5)",
        f"  Client {CLIENT_ADDR} port {s.sport} streams text to Server {SERVER_ADDR} port "
        f"{BGP_PORT} (1,000 bytes every millisecond)",
        f"  Server's receive window {window:,} bytes; RFC 5961 {_mode(rfc5961)}; timestamps "
        + ("on (PAWS)" if timestamps else "off"),
        f"  Attacker {ATTACKER_ADDR} is off-path; it knows the 4-tuple and the window: "
        f"{program.count:,} data segments at {rate:,}/s, {program.per_slot} per window-sized step",
    ]
    summary = [
        "  result      "
        + (
            f"SUCCESS: segment #{attempts:,} was accepted; the server's application read "
            "the attacker's bytes"
            if success
            else f"FAILED: none of {program.log.count:,} segments reached the application"
        ),
        f"  attempts    {attempts:,}; expected {_num(expected)} on average ({per_slot} per step "
        f"x {sweep:,} steps / 2)",
    ]
    if shown:
        summary.append(f"  stream      ...{_show(shown[0])}...")
    summary += [
        f"  server      {counters['drop.out_of_window']:,} out of the window, "
        f"{counters['drop.paws']:,} failed PAWS, {counters['drop.ack_too_new']:,} ACK above "
        f"SND.NXT, {counters['drop.ack_too_old']:,} ACK too old (challenge ACK)",
        "  defence     "
        + (
            "RFC 5961 5.2 (on by default): the ACK must be within SND.UNA - MAX.SND.WND .. "
            f"SND.NXT, {max_snd_wnd + 1:,} of 2^32 values"
            if not rfc5961
            else "RFC 5961 5.2: the ACK-value check; try --rfc5961 off --timestamps off"
        ),
        f"  seed {seed}",
    ]
    summary += outputs_lines(lab, outputs)
    if outputs.plot is not None:
        from synack.attack.plots import plot_spray

        plot_spray(
            first_seq=program.first_seq,
            step=window,
            count=program.log.count,
            per_step=program.per_slot,
            rcv_nxt=verdict.get("rcv_nxt", s.rcv_nxt_at_attack),
            window=window,
            hit=verdict.get("accepted"),
            path=outputs.plot,
            title=f"blind-inject, window {window:,}, RFC 5961 {'on' if rfc5961 else 'off'}",
        )
    return AttackResult(
        "blind-inject",
        success,
        attempts,
        expected,
        seed,
        config,
        header,
        lab.ladder.lines,
        summary,
        {
            "sweep": sweep,
            "per_step": per_slot,
            "challenge_acks": _challenge_acks(s),
            "stream_offset": verdict.get("offset"),
            "inject_time_us": verdict.get("t"),
        },
    )


def _t(us: int) -> str:
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def _challenge_acks(s: _Session) -> int:
    conn = s.server.conn
    return conn.counters["challenge_ack"] if conn is not None else 0


def _show(data: bytes) -> str:
    return repr(data)[2:-1]


def _num(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"

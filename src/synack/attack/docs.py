"""The text of docs/attacks.md around the measured tables: history, sources, defences.

:func:`markdown` assembles the page from the checks and examples that
:func:`synack.attack.report.write_report` produced. Edit the prose here, then
run ``synack attack all --report`` (``make attacks``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synack.attack.report import Check

__all__ = ["markdown"]

INTRO = """\
synack's attack lab runs the classic attacks on TCP against synack itself, on the
deterministic simulator, and measures them. Each scenario has a *weak* setting,
the one the attack was invented against, and synack's defaults; the attack works
against the first and fails against the second, and the number of packets or
guesses it takes is compared with what the mathematics says.

The attacker is an off-path host: a node of the simulated network
(`synack.attack.offpath.OffPathHost`) that may send any packet with any source
address but receives only what is addressed to it. Its programs
(`synack.attack.attackers`) import nothing but `synack.wire`, and an
import-linter contract (`make lint`) keeps it so: they cannot read a victim's
state, only packets. The scenario itself is the referee: it may look inside the
victims to say whether the attack worked and which attempt did it. All hosts
hang off one router, 5 ms away each (10 ms between two hosts, as in
`synack demo`).

Every run prints a ladder diagram with the attacker's spoofed segments marked
`<- spoofed by the attacker` (long sprays are cut to their first and last lines
and a count), a summary, and with `--json` one JSON object on the last line
(`scenario`, `success`, `attempts`, `expected_attempts`, `seed`,
`configuration`, and the scenario's own numbers). `--pcap`, `--trace` (JSON
Lines), `--plot` (PNG) and `--view` (HTML) write files; `--seed` changes every random choice; the
same seed gives the same run. `synack attack all` runs each scenario once
against its weak setting and against synack's defaults.
"""

SECTIONS: dict[str, tuple[str, str]] = {
    "isn-prediction": (
        "1. ISN prediction (Morris 1985, Mitnick 1994)",
        """\
**History.** RFC 793 (September 1981, section 3.3) ties initial sequence
numbers to a clock that ticks every 4 microseconds, to keep old segments out of
new connections, not to keep attackers out. 4.2BSD (1983) and 4.3BSD (1986)
used a global counter instead. Robert T. Morris, "A Weakness in the 4.2BSD
Unix TCP/IP Software" (AT&T Bell Laboratories, Computing Science Technical
Report 117, February 1985), showed that a host trusting another's address
(`.rhosts`, rsh) can be fooled by an attacker who predicts the ISN of a SYN-ACK
it never sees; Steven M. Bellovin, "Security Problems in the TCP/IP Protocol
Suite" (ACM SIGCOMM Computer Communication Review 19(2), April 1989), spread
the word. On 25 December 1994 Kevin Mitnick did it to Tsutomu Shimomura's
machines: he probed the target's shell port to see how its ISNs advanced,
silenced the trusted server with a SYN flood, opened a spoofed connection and
sent `echo + + >> /.rhosts` (Shimomura's analysis went to Usenet in January
1995; CERT Advisory CA-1995-01, 23 January 1995). RFC 1948 (Bellovin, May
1996) proposed ISN = M + F(4-tuple, secret), which RFC 6528 (February 2012)
made the standard.

**The generators** (`--isn`, on the server):

- `counter`: 4.3BSD's rule, reproduced exactly from the CSRG SCCS history of
  BSD (the `calmsacibis995/final44-src` repository: `sys/netinet/SCCS/s.tcp_seq.h`,
  `s.tcp_timer.c`, `s.tcp_input.c`, `s.tcp_usrreq.c`). `tcp_seq.h` delta 6.4
  (Karels, 15 October 1985, "faster ISS change", released in 4.3BSD, 5 June
  1986) sets `TCP_ISSINCR` to `125*1024` (128,000), "increment for tcp_iss each
  second". `tcp_init` starts `tcp_iss` at 1; `tcp_slowtimo`, every 500 ms
  (`PR_SLOWHZ` = 2), does `tcp_iss += TCP_ISSINCR/PR_SLOWHZ`; a new connection,
  active (`PRU_CONNECT`) or passive (a SYN accepted in LISTEN), takes
  `tp->iss = tcp_iss` and then `tcp_iss += TCP_ISSINCR/2`. So: +64,000 per
  half-second tick, +64,000 per connection. (4.2BSD, the version Morris
  attacked, had the same code with `TCP_ISSINCR` 128: tcp_seq.h delta 6.1, the
  4.2 distribution of 29 July 1983; delta 8.2 of 24 May 1995 added a random part.) The host's uptime, hence the counter and the tick's phase,
  comes from the seed.
- `clock`: RFC 793's 4 us clock alone, from a seeded boot time.
- `rfc6528` (the default): synack's RFC 6528 generator, M + a keyed hash of the
  4-tuple (the secret from the seed).
- `random`: an independent random ISN for every connection.

**The run.** The server runs a toy rshd on port 514 that trusts
192.168.1.100 (the four NUL-terminated rsh fields; it records the command it
would run, and runs nothing). The trusted host is down (`--trusted online`
puts it back: it answers the server's unexpected SYN-ACK with a RST, which is
why Mitnick silenced his). The attacker probes the service three times from its
own address, 20 ms apart, then sends the SYN spoofed from 192.168.1.100:1023
100 ms later (`--gap`), and ACKs carrying the command with one guess each,
nearest first, at most 1,000 (`--budget`). A wrong ACK in SYN-RECEIVED only
draws a RST to the trusted host (RFC 9293 3.10.7.4), so every guess hits the
same half-open connection. Its path jitters by 0-500 us per packet (`--jitter`).
Knowing the algorithm but not the state (Kerckhoffs), it guesses
`last + 64,000 * (1 + k)` against the counter (k: ticks and other connections
since its probe) and `last + gap / 4 us`, then +-1, +-2, ... against a clock;
against RFC 6528 or random ISNs its own probes tell it nothing about the
trusted host's connection, and it extrapolates the clock anyway.

**The model.** Counter: k is the number of 500 ms ticks in the 100 ms gap
(mean 0.2) plus other connections (`--noise`, none here): mean guess number
1 + gap/500 ms. Clock: the error is floor((phase + D) / 4 us), D the difference
of two uniform 0-500 us delays and phase uniform in the 4 us tick; the
distribution of the guess number is computed exactly
(`analytic.clock_index_distribution`). RFC 6528 and random: a guess is right
with chance 2^-32, so 1,000 guesses win with 2.3e-7 and the expected number of
guesses is (2^32 + 1)/2.

**Defence.** Unpredictable ISNs: RFC 6528 section 3, synack's default
(`synack.tcp.isn.IsnGenerator`). And do not trust source addresses.
""",
    ),
    "blind-reset": (
        "2. Blind reset (Watson 2004)",
        """\
**History.** RFC 793 accepts a RST whose sequence number is anywhere in the
receive window. Paul A. Watson, "Slipping in the Window: TCP Reset Attacks"
(CanSecWest, April 2004; UK NISCC advisory 236929 and US-CERT TA04-111A, 20
April 2004), pointed out what that means for long-lived connections with
predictable 4-tuples such as BGP sessions: an attacker needs one RST per
window, about 2^32 / window of them, not 2^32. RFC 4953 (July 2007) weighed the
defences; RFC 5961 (Ramaiah, Stewart, Dalal, August 2010) section 3 is the one
stacks adopted: only a RST with SEG.SEQ = RCV.NXT resets; any other RST in the
window draws a *challenge ACK* (rate-limited, section 7), which the real peer
answers with an exact RST only if it really has lost the connection.

**The run.** A client keeps a session to the server's port 179 (BGP), sending a
19-byte keepalive every second. The attacker knows the 4-tuple and the window
(`--window`, default 256 KiB, synack's receive buffer) but not RCV.NXT: from a
random start it sends RSTs one window apart, 100,000 a second, at most one
sweep of the space (ceil(2^32 / window) RSTs). `--rfc5961 off` gives the server
`Config(rfc5961=False)`: RFC 793's rule.

**The model.** The sweep meets the window at a uniformly random step of
N = ceil(2^32 / window): (N + 1)/2 RSTs on average, N at most. With RFC 5961
the one RST of the sweep that falls in the window resets only if it is exactly
RCV.NXT (chance 1/window); an attacker must enumerate values one by one:
(2^32 + 1)/2 on average.

**Defence.** RFC 5961 section 3.2 (on by default: `Config.rfc5961`); for BGP,
also TCP-AO (RFC 5925) or the older MD5 option (RFC 2385).
""",
    ),
    "blind-inject": (
        "3. Blind data injection (RFC 5961 section 5)",
        """\
**History.** The same window arithmetic lets an attacker put data into a
stream (Watson 2004; RFC 4953 section 2.2). RFC 793 takes any segment whose
data falls in the window and whose ACK is not above SND.NXT; an ACK below
SND.UNA is merely "a duplicate" to be ignored, so half of all ACK values pass.
RFC 5961 section 5 (August 2010) narrows that to SND.UNA - MAX.SND.WND .. SND.NXT
and answers anything older with a challenge ACK. Timestamps (RFC 7323 5, PAWS)
drop a segment whose TSval is below TS.Recent: another half.

**The run.** A client streams text (numbered 32-byte lines, 1,000 bytes a
millisecond) to the server's port 179. The attacker knows the 4-tuple and the
window; from a random start it sends one data segment per window-sized step and
per guess: two ACK values half the space apart (one of them is always at or
below SND.NXT), and with timestamps two TSvals half the space apart (one passes
PAWS). Its payload, 1,386 bytes, repeats `<<INJECTED #NNNNNNN>>` with the
attempt number. A receiver prefers the sender's in-order data over what it
holds out of order (as BSD's `tcp_reass` and Linux do), so of a segment that
lands ahead of RCV.NXT only the part beyond the legitimate segment covering its
start survives; a long payload makes that part almost never empty. The
referee reports the attempt whose bytes the server's application read.
`--rfc5961 off --timestamps off` is RFC 793 without RFC 7323.

**The model.** Per window-sized step the attacker sends 2 segments (4 with
timestamps); the right step is uniform among N = ceil(2^32 / window) and the
right guess within it uniform: (segments per step x N + 1)/2 on average. With
RFC 5961 an ACK must fall in a range of MAX.SND.WND + 1 values (the client's
256 KiB window): ceil(2^32 / 262,145) = 16,384 ACK guesses per step, about
2^28 segments on average with timestamps. The attacker's two guesses per step
pass with chance 2 x 262,145 / 2^32 = 1.2e-4 a sweep.

**Defence.** RFC 5961 section 5.2 (on by default: `Config.rfc5961`); PAWS
(RFC 7323, on by default) halves the odds again; for real protection,
encryption and integrity above or inside TCP (TLS; TCP-AO).
""",
    ),
    "syn-flood": (
        "4. SYN flood (1996)",
        """\
**History.** A listener keeps each half-open connection (SYN-RECEIVED) until
the handshake completes or it gives up, and it keeps at most a backlog of them.
"Project Neptune" (daemon9, Phrack 48, July 1996) published a tool that fills
that queue with SYNs from spoofed, unreachable addresses; Panix, a New York
ISP, was knocked off the net by such a flood in September 1996, and CERT Advisory
CA-1996-21 (19 September 1996) described it. Daniel J. Bernstein's SYN cookies
(September 1996) keep no state for a SYN: the ISN itself encodes what is needed
to rebuild the connection when the ACK comes back. RFC 4987 (August 2007)
surveys the defences.

**The run.** The server listens on port 80 with backlog 128 and synack's
default SYN-ACK retries (five, as Linux's `tcp_synack_retries`, so an
unanswered half-open connection lives 1+2+4+8+16+32 = 63 s). The attacker
sends SYNs from random addresses in 198.18.0.0/15 (routed nowhere), a Poisson
stream at `--rate` a second. From one half-open lifetime after the flood
starts, for one more lifetime, a client tries to connect once a second on
average (Poisson), giving up after 3 SYN retransmissions (SYNs at 0, 1, 3 and
7 s, given up at 15 s). The referee notes, for every SYN the server receives,
whether its listen queue is full. (The report's runs measure for four
lifetimes after two: the queue frees in bursts, one lifetime after it filled,
and those take a few lifetimes to even out.) `--cookies off` gives the server
`Config(syn_cookies="never")`: SYNs that find the queue full are dropped.
With synack's default, `syn_cookies="auto"`, they are answered with a SYN
cookie instead.

**The model.** The queue is Erlang's loss system (A. K. Erlang, 1917): c = 128
slots, each held for a fixed T = 63 s, arrivals at rate R; a SYN arriving at a
random moment finds it full with probability B(c, R x T), Erlang's formula,
which holds whatever the holding-time distribution. The flood's own SYNs and
the client's first SYNs arrive at random moments and see B. Without cookies
such a SYN is dropped. The client's retransmissions do not arrive at random
moments: a retry one second after a drop often finds the queue still full (it
frees in bursts one lifetime after it filled, as the plot shows), so the client
connects less often than 1 - B^4, the value if its four tries were
independent; both are shown. With cookies the queue is just as full, but a SYN
that finds it so is answered statelessly and the client connects at its first
try, one round trip later.

**Defence.** SYN cookies (RFC 4987 section 3.6; synack's default, issue 16:
`Config.syn_cookies`, `synack.tcp.syncookies`). A larger backlog or fewer
SYN-ACK retries only raise the rate the attacker needs.
""",
    ),
    "side-channel": (
        "5. The challenge-ACK side channel (CVE-2016-5696)",
        """\
**History.** RFC 5961 section 7 tells a stack to limit the challenge ACKs it
sends. Linux 3.6 (2012) to 4.6 kept one such budget for the whole host, 100 a
second (`tcp_challenge_ack_limit`). Yue Cao, Zhiyun Qian, Zhongjie Wang, Tuan
Dao, Srikanth V. Krishnamurthy and Lisa M. Marvel, "Off-Path TCP Exploits:
Global Rate Limit Considered Dangerous" (USENIX Security, August 2016;
CVE-2016-5696), turned it into an oracle: an attacker with a connection of its
own to the server sends a spoofed segment, then 100 segments of its own that
each deserve a challenge ACK, and counts the answers. 99 means the spoofed
segment drew a challenge ACK, so it was in someone else's window. Linux 4.7
(July 2016) made the limit per socket and randomised it; synack's budget has
always been per connection (`Config.challenge_ack_limit`, 10 a second).

**The run.** A client has an idle connection to the server's port 80; the
attacker knows its 4-tuple (Cao et al. find it with the same oracle first) and
the server's window (256 KiB), opens its own connection, and plays rounds 1.2 s
apart (each round meets a fresh budget): spoofed RSTs for the client's
4-tuple, then 100 in-window, inexact RSTs on its own connection, then it counts
the challenge ACKs. A calibration round without spoofed RSTs sets the count to
expect. Phase A tests the space in batches of 4,096 window-sized steps until a
round comes back one short; phase B halves that batch to the one step inside
the window; phase C halves the window below it to RCV.NXT itself (a RST below
RCV.NXT is silent, one at or above it answers); the exact RST then resets the
connection. `--per-host` gives the server `Config(challenge_ack_per_host=True,
challenge_ack_limit=100)`: Linux 3.6-4.6's rule.

**The model.** With a shared budget: 1 calibration round, the batch holding
the window (uniform among 4: 2.5 rounds on average), log2(4,096) = 12 halvings,
and the bisection of the 262,144 values below the step, about 17 rounds
(`analytic.bisection_rounds`: the round that tests RCV.NXT itself resets at
once): 32.5 rounds on average, about 40 s. With a budget per connection the
attacker's count is always its own connection's 10, no round comes back short,
and after the calibration and the 4 batches (5 rounds) it has learnt nothing.

**Defence.** A challenge-ACK budget per connection (synack's default; Linux
4.7 and later, which also randomise it).
""",
    ),
}

DEFENCES = """\
| attack | weak setting | what stops it in synack | RFC |
|---|---|---|---|
| ISN prediction | `--isn counter`, `--isn clock` | ISN = M + F(4-tuple, secret) (`synack.tcp.isn`) | RFC 6528 3 (after RFC 1948) |
| blind reset | `--rfc5961 off` | exact RCV.NXT for RST and SYN, challenge ACK otherwise (`Config.rfc5961`) | RFC 5961 3, 4, 7 |
| blind data injection | `--rfc5961 off --timestamps off` | the ACK-value check; PAWS | RFC 5961 5; RFC 7323 5 |
| SYN flood | `--cookies off` | SYN cookies when the queue is full (`Config.syn_cookies`) | RFC 4987 3.6 |
| challenge-ACK side channel | `--per-host` | a budget per connection (`Config.challenge_ack_limit`) | RFC 5961 7; CVE-2016-5696 |
"""


def markdown(
    checks: Mapping[str, Sequence[Check]],
    examples: Mapping[str, Sequence[tuple[str, str]]],
    figures: Mapping[str, str],
    *,
    command: str,
    quick: bool,
    wall: float,
) -> str:
    """docs/attacks.md."""
    everything = [c for cs in checks.values() for c in cs]
    passed = sum(c.ok for c in everything)
    lines = [
        "# The attack lab: classic TCP attacks, run and measured",
        "",
        f"<!-- Generated by `{command}` (make attacks); edit src/synack/attack/docs.py "
        "and report.py, not this file. -->",
        "",
        f"Command: `{command}`{' (quick set)' if quick else ''}. Each row of the tables "
        "runs its own seeds (listed); the examples use seed 1. "
        f"{passed} of {len(everything)} checks pass; the run took {wall:.0f} s of real time.",
        "",
        INTRO,
        "## Contents",
        "",
    ]
    for key, (title, _) in SECTIONS.items():
        anchor = title.lower().replace(" ", "-")
        for ch in ".(),":
            anchor = anchor.replace(ch, "")
        lines.append(f"- [{title}](#{anchor}) (`synack attack {key}`)")
    lines += ["- [What stops each attack](#what-stops-each-attack)", ""]
    for key, (title, text) in SECTIONS.items():
        lines += [f"## {title}", "", text]
        for cmd, out in examples.get(key, ()):
            lines += ["```text", f"$ {cmd}", out.rstrip("\n"), "```", ""]
        lines += [
            "Measured over many seeds (mean +- standard error; a mean agrees when it is "
            "within 3 standard errors of the model):",
            "",
            "| setting | seeds | measured | model | z | result |",
            "|---|---|---|---|---:|---|",
        ]
        for c in checks.get(key, ()):
            z = f"{c.z:+.2f}" if c.z is not None and math.isfinite(c.z) else ""
            lines.append(
                f"| {c.setting} | {c.seeds or c.runs} | {c.measured} | {c.model} | {z} | "
                f"{'pass' if c.ok else '**fail**'} |"
            )
        lines.append("")
        if key in figures:
            lines += [f"![{title}](img/{figures[key]})", ""]
    lines += ["## What stops each attack", "", DEFENCES]
    return "\n".join(lines)

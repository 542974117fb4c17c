"""The RFC 9293 connection states and every transition between them, as data.

RFC 9293 3.3.2 (Figure 5) draws the state machine; this table is that figure,
with the edges section 3.10 adds (a FIN with or before the ACK of our SYN; RST,
ABORT and giving up from every state that has them) and without two that synack
never takes: SEND in LISTEN (3.10.2 allows it; synack raises instead) and CLOSE in
SYN-RECEIVED, whose FIN waits until ESTABLISHED (3.10.4: "queue for processing
after entering ESTABLISHED state"), so the transition is ESTABLISHED's. A FIN
that also acknowledges ours (Figure 5, note 2) takes FIN-WAIT-1 to TIME-WAIT in
two steps, through FIN-WAIT-2, as 3.10.7.4 processes it ("fifth ... enter
FIN-WAIT-2 and continue processing in that state").

The connection code moves states only through :func:`next_state`;
``tests/tcp/test_state_table.py`` compares the table with Figure 5 and takes
every edge with a real connection; ``docs/state-diagram.md`` is rendered from it
(``python -m synack.tcp.state``), so code, tests and docs cannot disagree.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "RECEIVING",
    "SENDING",
    "SYNCHRONIZED",
    "TRANSITIONS",
    "USER_SEND",
    "IllegalTransition",
    "State",
    "Trigger",
    "next_state",
    "render_mermaid",
]


class State(enum.Enum):
    """The eleven states of RFC 9293 3.3.2, named as the RFC writes them."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    def __str__(self) -> str:
        return self.value


class Trigger(enum.Enum):
    """What moves a connection: user calls, segments, and timers (RFC 9293 3.10)."""

    PASSIVE_OPEN = "passive OPEN"
    ACTIVE_OPEN = "active OPEN / snd SYN"
    RCV_SYN = "rcv SYN / snd SYN,ACK"
    RCV_SYN_ACK = "rcv SYN,ACK / snd ACK"
    RCV_ACK_OF_SYN = "rcv ACK of SYN"
    CLOSE = "CLOSE / snd FIN"
    CLOSE_NO_FIN = "CLOSE"
    RCV_FIN = "rcv FIN / snd ACK"
    RCV_ACK_OF_FIN = "rcv ACK of FIN"
    TIMEOUT_2MSL = "timeout=2MSL"
    RCV_RST = "rcv RST"
    RCV_RST_TO_LISTEN = "rcv RST (passive open)"
    ABORT = "ABORT / snd RST"
    TIMEOUT = "retransmission or user timeout"
    TIMEOUT_FIN_WAIT_2 = "timeout=FIN-WAIT-2 (abandoned)"


S = State
T = Trigger

TRANSITIONS: Final[dict[tuple[State, Trigger], State]] = {
    # Opening (RFC 9293 3.5)
    (S.CLOSED, T.PASSIVE_OPEN): S.LISTEN,
    (S.CLOSED, T.ACTIVE_OPEN): S.SYN_SENT,
    (S.LISTEN, T.RCV_SYN): S.SYN_RECEIVED,
    (S.LISTEN, T.CLOSE_NO_FIN): S.CLOSED,
    (S.SYN_SENT, T.RCV_SYN): S.SYN_RECEIVED,  # simultaneous open
    (S.SYN_SENT, T.RCV_SYN_ACK): S.ESTABLISHED,
    (S.SYN_SENT, T.CLOSE_NO_FIN): S.CLOSED,
    (S.SYN_RECEIVED, T.RCV_ACK_OF_SYN): S.ESTABLISHED,
    (S.SYN_RECEIVED, T.RCV_RST_TO_LISTEN): S.LISTEN,
    # Closing (RFC 9293 3.6)
    (S.ESTABLISHED, T.CLOSE): S.FIN_WAIT_1,
    (S.ESTABLISHED, T.RCV_FIN): S.CLOSE_WAIT,
    (S.SYN_RECEIVED, T.RCV_FIN): S.CLOSE_WAIT,  # FIN with or before the ACK of our SYN
    (S.FIN_WAIT_1, T.RCV_ACK_OF_FIN): S.FIN_WAIT_2,
    (S.FIN_WAIT_1, T.RCV_FIN): S.CLOSING,
    (S.FIN_WAIT_2, T.RCV_FIN): S.TIME_WAIT,
    # Not in RFC 9293: a connection the user abandoned stops waiting for the
    # peer's FIN (Config.fin_wait_2_timeout; Linux's tcp_fin_timeout).
    (S.FIN_WAIT_2, T.TIMEOUT_FIN_WAIT_2): S.CLOSED,
    (S.CLOSE_WAIT, T.CLOSE): S.LAST_ACK,
    (S.CLOSING, T.RCV_ACK_OF_FIN): S.TIME_WAIT,
    (S.LAST_ACK, T.RCV_ACK_OF_FIN): S.CLOSED,
    (S.TIME_WAIT, T.TIMEOUT_2MSL): S.CLOSED,
}

# RST and ABORT close a connection from any synchronized or opening state (RFC
# 9293 3.10.7, 3.10.5 ABORT); so does giving up (3.8.3 R2, the user timeout,
# keep-alives), except where no such timer runs: FIN-WAIT-2 has nothing
# outstanding (only its own timeout, above) and TIME-WAIT only its 2MSL timer.
for _s in State:
    if _s not in (S.CLOSED, S.LISTEN):
        TRANSITIONS[(_s, T.RCV_RST)] = S.CLOSED
        TRANSITIONS[(_s, T.ABORT)] = S.CLOSED
        if _s not in (S.FIN_WAIT_2, S.TIME_WAIT):
            TRANSITIONS[(_s, T.TIMEOUT)] = S.CLOSED
TRANSITIONS[(S.LISTEN, T.ABORT)] = S.CLOSED
del _s


# Groups of states the processing rules name (tuples: membership tests are fast).
SYNCHRONIZED: Final = (
    S.ESTABLISHED,
    S.FIN_WAIT_1,
    S.FIN_WAIT_2,
    S.CLOSE_WAIT,
    S.CLOSING,
    S.LAST_ACK,
    S.TIME_WAIT,
)
"""RFC 9293 3.10.7.4: the synchronized states."""
SENDING: Final = (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK)
"""States in which data (or our FIN) may still need to be sent or retransmitted."""
RECEIVING: Final = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2)
"""RFC 9293 3.10.7.4 seventh: states that process segment text."""
USER_SEND: Final = (S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT)
"""RFC 9293 3.10.2: states in which SEND queues data."""


class IllegalTransition(RuntimeError):
    """A bug: the core asked for a transition that RFC 9293 does not have."""


def next_state(state: State, trigger: Trigger) -> State:
    """The state after ``trigger`` in ``state``; raises :class:`IllegalTransition`."""
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise IllegalTransition(f"no transition from {state} on {trigger.value}") from None


def render_mermaid() -> str:
    """The transition table as a Mermaid state diagram (for docs/state-diagram.md)."""
    lines = ["stateDiagram-v2", "    [*] --> CLOSED"]
    generic = {T.RCV_RST, T.ABORT, T.TIMEOUT}
    for (src, trig), dst in TRANSITIONS.items():
        if trig in generic and src not in (S.LISTEN,):
            continue
        lines.append(f"    {src.name} --> {dst.name}: {trig.value}")
    lines.append("    note right of CLOSED: any state --> CLOSED on rcv RST, ABORT or timeout")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_mermaid(), end="")

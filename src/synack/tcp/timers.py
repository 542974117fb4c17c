"""The connection's timers: the earliest deadline, and what each one does when it fires.

A :class:`~synack.tcp.connection.Connection` keeps its deadlines as absolute
microseconds (``None`` when off) and delegates here: the retransmission timer
(RFC 6298 5), the RACK reordering timer and the tail-loss probe (RFC 8985 6.3,
7), the persist timer and SWS override (RFC 9293 3.8.6), delayed ACKs, keep-alives,
TIME-WAIT, the user timeout, and the pacing hold. Functions take the connection
as their first argument, as methods would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from synack.tcp.events import SoftError
from synack.tcp.state import SENDING, State, Trigger
from synack.wire.seq import add, gt, sub
from synack.wire.tcp import ACK

if TYPE_CHECKING:
    from synack.tcp.connection import Connection

__all__ = [
    "NAMES",
    "NO_TIMERS",
    "arm_persist",
    "arm_tlp",
    "deadlines",
    "fire",
    "next_deadline",
    "on_keepalive",
    "on_persist",
    "on_pto",
    "on_reorder_timeout",
    "on_rto",
    "trace_changes",
]

S = State
T = Trigger


NAMES: Final = (
    "rtx",
    "persist",
    "delack",
    "keepalive",
    "timewait",
    "user",
    "reorder",
    "tlp",
    "pacing",
)
"""The timers, in the order of :func:`deadlines` (the names traces use)."""
NO_TIMERS: Final[tuple[int | None, ...]] = (None,) * len(NAMES)


def deadlines(conn: Connection) -> tuple[int | None, ...]:
    """Every timer's deadline (absolute microseconds, None when off), in :data:`NAMES` order."""
    return (
        conn._rtx_at,
        conn._persist_at,
        conn._delack_at,
        conn._keepalive_at,
        conn._timewait_at,
        conn._user_at,
        conn._reo_at,
        conn._tlp_at,
        conn._pace_wait,
    )


def next_deadline(conn: Connection) -> int | None:
    """The earliest pending timer (absolute microseconds), or ``None``."""
    best: int | None = None
    for t in deadlines(conn):
        if t is not None and (best is None or t < best):
            best = t
    return best


def trace_changes(conn: Connection, now: int) -> None:
    """Trace every timer armed, moved or cancelled since the last call."""
    current = deadlines(conn)
    last = conn._traced_timers
    if current == last:
        return
    conn._traced_timers = current
    for name, old, new in zip(NAMES, last, current, strict=True):
        if old != new:
            action = "cancel" if new is None else "arm"
            conn._trace(now, "timer", which=name, action=action, deadline=new)


def fire(conn: Connection, now: int) -> None:
    """Fire every timer whose deadline is at or before ``now``."""
    if conn._timewait_at is not None and now >= conn._timewait_at:
        conn._timewait_at = None
        # RFC 9293 3.10.8: "If the time-wait timeout expires ... delete the TCB".
        conn._trace_timer(now, "timewait", None)
        conn._transition(T.TIMEOUT_2MSL, "2MSL timeout", now)
        conn._finish(now)
        return
    if conn._user_at is not None and now >= conn._user_at:
        conn._user_at = None
        conn._time_out(now, "user_timeout")
        return
    if conn._pace_wait is not None and now >= conn._pace_wait:
        conn._pace_wait = None  # the flush after this call sends what pacing held
    if conn._reo_at is not None and now >= conn._reo_at:
        conn._reo_at = None
        on_reorder_timeout(conn, now)
    if conn._tlp_at is not None and now >= conn._tlp_at:
        conn._tlp_at = None
        on_pto(conn, now)
    if conn._rtx_at is not None and now >= conn._rtx_at:
        conn._rtx_at = None
        on_rto(conn, now)
        if conn.state is S.CLOSED:
            return
    if conn._persist_at is not None and now >= conn._persist_at:
        conn._persist_at = None
        on_persist(conn, now)
    if conn._delack_at is not None and now >= conn._delack_at:
        conn._delack_at = None
        if conn._ack_pending or conn._ack_now:
            conn._ack_now = True
            conn.counters["delayed_ack"] += 1
    if conn._keepalive_at is not None and now >= conn._keepalive_at:
        conn._keepalive_at = None
        on_keepalive(conn, now)
    conn._wake()


def on_rto(conn: Connection, now: int) -> None:
    st = conn.state
    conn._trace_timer(now, "rtx", None)
    if st is S.SYN_SENT or st is S.SYN_RECEIVED:
        if conn._retries >= conn.config.syn_retries:
            conn._time_out(now, "syn_retries")
            return
        conn._retries += 1
        if conn._retries == conn.config.data_retries_r1:
            # MUST-22: the R1 advice applies to SYN retransmissions too.
            conn._event(SoftError("retransmission threshold R1 reached"))
        conn._syn_lost = True
        conn._rtt_seq = None  # Karn
        conn.rtt.back_off()  # RFC 6298 (5.5)
        if conn._tracer:
            conn._trace(now, "rto", rto_us=conn.rtt.rto, backoff=conn.rtt.backoff)
        conn.counters["retransmit.syn"] += 1
        conn._send_syn(now, ack=st is S.SYN_RECEIVED, rtx=True)
        return
    if st not in SENDING or conn.in_flight == 0:
        return
    if conn._retries >= conn.config.data_retries_r2:
        # RFC 9293 3.8.3: "When the number of transmissions of the same segment
        # reaches a threshold R2 ... close the connection".
        conn._time_out(now, "retransmissions")
        return
    conn._retries += 1
    if conn._retries == conn.config.data_retries_r1:
        # RFC 9293 3.8.3 (SHLD-10): at R1, pass negative advice to the IP layer.
        conn._event(SoftError("retransmission threshold R1 reached"))
    conn.counters["retransmit.rto"] += 1
    # RFC 5681 3.1 / RFC 6582 3.2 (4): the loss window, and recover = highest
    # sent; every un-SACKed segment is lost (RFC 6675 5.1).
    conn._rec.on_rto(now)
    conn._trace_cc(now, "rto")
    conn._tlp_at = conn._reo_at = None
    conn._pace_at = conn._pace_wait = None
    conn._rtt_seq = None  # Karn's algorithm: never time a retransmission
    conn.rtt.back_off()  # RFC 6298 (5.5)
    if conn._tracer:
        conn._trace(now, "rto", rto_us=conn.rtt.rto, backoff=conn.rtt.backoff)
    # RFC 6298 (5.4): retransmit the earliest unacknowledged segment, then the
    # rest in order as the window allows.
    conn._send_data(now)
    # RFC 6298 (5.6): start the timer with the backed-off RTO.
    conn._rtx_at = now + conn.rtt.rto


def on_reorder_timeout(conn: Connection, now: int) -> None:
    # RFC 8985 6.3: the reordering window passed: mark what is now overdue.
    if conn.state not in SENDING:
        return
    delay = conn._rec.rack_timeout(now, conn.rtt.srtt)
    conn._reo_at = now + delay if delay else None
    if conn._rec.in_recovery:
        conn._tlp_at = None


def on_pto(conn: Connection, now: int) -> None:
    # RFC 8985 7.3: send a probe: new data if the receive window allows,
    # otherwise the highest segment sent again; then re-arm the RTO, not the PTO.
    rec = conn._rec
    if conn.state not in SENDING or not rec.tlp_allowed():
        return
    sent = len(conn._outbox)
    conn._send_data(now, probe=True)
    if len(conn._outbox) > sent:
        rec.on_tlp(retransmission=False)
    else:
        last = rec.sb.last()
        if last is None:
            return
        if last.end - last.start - last.fin > conn.mss:
            last = rec.sb.split(last, last.end - last.start - last.fin - conn.mss)
        conn._retransmit(last, now)
        conn.counters["retransmit.tlp"] += 1
        rec.on_tlp(retransmission=True)
    conn._rtx_at = now + conn.rtt.rto


def on_persist(conn: Connection, now: int) -> None:
    # RFC 9293 3.8.6.1: probe a zero window with one octet, backing off
    # exponentially; MUST-36: never give up while the peer answers.
    if conn.state not in SENDING:
        return
    if conn.snd_wnd > 0:
        # The SWS override timer: send the short segment that was held back.
        conn.counters["sws_override"] += 1
        conn._sws_override = True
        conn._send_data(now)
        return
    cfg = conn.config
    if conn._probes_unanswered == 0:
        conn._probes_since = now
    elif conn._probes_unanswered >= cfg.data_retries_r2:
        # RFC 9293 3.8.6.1: the window may stay closed for ever (MUST-37) while
        # the receiver answers; a probe it never answers is a retransmission that
        # went unacknowledged, and R2 of them end the connection (3.8.3).
        conn._time_out(now, "retransmissions")
        return
    elif cfg.user_timeout is not None and now - conn._probes_since >= cfg.user_timeout:
        conn._time_out(now, "user_timeout")  # RFC 9293 3.8.3, USER TIMEOUT
        return
    conn._probes_unanswered += 1
    conn.counters["window_probe"] += 1
    off = sub(conn.snd_nxt, conn.snd_una)
    if conn.snd_una != conn.snd_nxt:
        payload, seq = conn._sendbuf.peek(0, 1), conn.snd_una
    elif off < len(conn._sendbuf):
        payload, seq = conn._sendbuf.peek(off, 1), conn.snd_nxt
        conn.snd_nxt = add(conn.snd_nxt, 1)
        if gt(conn.snd_nxt, conn.snd_max):
            conn.snd_max = conn.snd_nxt
        start = conn._una_abs + off
        conn._rec.on_send(start, start + 1, False, now)
    else:
        payload, seq = b"", conn.snd_una  # only a FIN is waiting: an empty probe
    conn._emit(conn._make(ACK, seq, now, payload), now, rtx=seq != conn.snd_nxt)
    conn._persist_backoff = min(conn._persist_backoff + 1, 16)
    arm_persist(conn, now)


def arm_persist(conn: Connection, now: int) -> None:
    rto = max(conn.rtt.rto, conn.config.min_rto)
    conn._persist_at = now + min(rto << conn._persist_backoff, conn.config.max_rto)


def on_keepalive(conn: Connection, now: int) -> None:
    cfg = conn.config
    if not cfg.keepalive or conn.state not in (S.ESTABLISHED, S.CLOSE_WAIT):
        return
    if conn.snd_una != conn.snd_max:
        # MUST-26: "Keep-alive packets MUST only be sent when no sent data is
        # outstanding": the retransmission timer is watching the peer already.
        conn._keepalive_at = now + cfg.keepalive_idle
        return
    if conn._keepalive_probes >= cfg.keepalive_probes:
        conn._time_out(now, "keepalive")
        return
    # RFC 9293 3.8.4: a keep-alive carries SEG.SEQ = SND.NXT-1 so the peer ACKs it.
    conn._keepalive_probes += 1
    conn.counters["keepalive_probe"] += 1
    conn._emit(conn._make(ACK, add(conn.snd_nxt, -1), now), now)
    conn._keepalive_at = now + cfg.keepalive_interval


def arm_tlp(conn: Connection, now: int) -> None:
    """RFC 8985 7.2: (re)schedule the probe timeout, no later than the RTO."""
    rec = conn._rec
    if not rec.tlp_allowed():
        conn._tlp_at = None
        return
    at = now + rec.pto(conn.rtt.srtt)
    rtx_at = conn._rtx_at
    conn._tlp_at = at if rtx_at is None or at < rtx_at else rtx_at

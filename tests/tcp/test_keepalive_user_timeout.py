"""Keep-alives (RFC 9293 3.8.4) and the user timeout (RFC 9293 3.8.3, 3.10.8)."""

from __future__ import annotations

from synack.tcp.config import Config
from synack.tcp.connection import Connection
from synack.tcp.events import Closed, StateChanged, TimedOut
from synack.tcp.state import State
from synack.wire.tcp import ACK, PSH, Segment
from tests.tcp.helpers import (
    LOCAL_ISS,
    MSS,
    REMOTE_ISS,
    established,
    events,
    feed,
    new_conn,
    out,
    syn_received,
    us,
)
from tests.tcp.test_timestamps import PEER_TS, peer_ts, ts_established

IDLE = 10_000_000
INTERVAL = 2_000_000
PROBES = 3


def keepalive_conn(**config: object) -> Connection:
    """ESTABLISHED at t=0 with keep-alives on: idle 10 s, interval 2 s, 3 probes."""
    settings: dict[str, object] = {
        "keepalive": True,
        "keepalive_idle": IDLE,
        "keepalive_interval": INTERVAL,
        "keepalive_probes": PROBES,
    }
    settings.update(config)
    return established(**settings)


def probe() -> list[Segment]:
    # RFC 9293 3.8.4: "SEG.SEQ = SND.NXT-1", and (SHLD-12) no data.
    return [us(seq=LOCAL_ISS)]


def run_timers(conn: Connection, until: int) -> list[tuple[int, list[Segment]]]:
    """Fire every deadline up to ``until``; return (time, segments) for each firing."""
    fired: list[tuple[int, list[Segment]]] = []
    while (t := conn.next_deadline()) is not None and t <= until:
        conn.handle_timer(t)
        fired.append((t, list(out(conn, t))))
    return fired


# ----------------------------------------------------------------- keep-alive


def test_keepalive_is_off_by_default() -> None:
    # RFC 9293 3.8.4 (MUST-25): keep-alives "MUST default to off".
    assert Config().keepalive is False
    conn = established()
    assert conn.next_deadline() is None
    conn.handle_timer(100 * 3600 * 1_000_000)
    assert out(conn, 100 * 3600 * 1_000_000) == []
    assert conn.state is State.ESTABLISHED


def test_default_keepalive_idle_is_two_hours() -> None:
    # RFC 9293 3.8.4 (MUST-28): the interval "MUST default to no less than two hours".
    conn = established(keepalive=True)
    assert conn.next_deadline() == 7_200_000_000
    conn.handle_timer(7_199_999_999)
    assert out(conn, 7_199_999_999) == []
    conn.handle_timer(7_200_000_000)
    assert out(conn, 7_200_000_000) == probe()


def test_first_probe_exactly_idle_after_the_last_segment() -> None:
    conn = keepalive_conn()
    assert conn.next_deadline() == IDLE
    feed(conn, now=3_000_000)  # a pure ACK from the peer restarts the idle period
    assert out(conn, 3_000_000) == []
    assert conn.next_deadline() == 3_000_000 + IDLE
    conn.handle_timer(3_000_000 + IDLE - 1)
    assert out(conn, 3_000_000 + IDLE - 1) == []
    conn.handle_timer(3_000_000 + IDLE)
    assert out(conn, 3_000_000 + IDLE) == probe()


def test_probe_has_seq_snd_nxt_minus_one_and_no_data() -> None:
    conn = keepalive_conn()
    conn.handle_timer(IDLE)
    (seg,) = out(conn, IDLE)
    assert seg.seq == (conn.snd_nxt - 1) % (1 << 32)
    assert seg.payload == b""
    assert seg.flags == ACK
    assert seg.ack == conn.rcv_nxt


def test_probes_repeat_at_the_interval() -> None:
    conn = keepalive_conn()
    fired = run_timers(conn, IDLE + (PROBES - 1) * INTERVAL)
    assert fired == [
        (IDLE, probe()),
        (IDLE + INTERVAL, probe()),
        (IDLE + 2 * INTERVAL, probe()),
    ]
    assert conn.state is State.ESTABLISHED


def test_unanswered_probes_time_out_the_connection() -> None:
    conn = keepalive_conn()
    deadline = IDLE + PROBES * INTERVAL
    run_timers(conn, deadline - 1)
    assert conn.state is State.ESTABLISHED
    assert conn.next_deadline() == deadline
    events(conn)
    conn.handle_timer(deadline)
    out(conn, deadline)
    assert conn.state is State.CLOSED
    assert events(conn) == [
        TimedOut("keepalive"),
        StateChanged(State.ESTABLISHED, State.CLOSED, "keepalive"),
        Closed(),
    ]
    assert conn.next_deadline() is None


def test_ack_of_a_probe_resets_the_count() -> None:
    conn = keepalive_conn()
    run_timers(conn, IDLE + INTERVAL)  # two probes, unanswered
    t = IDLE + INTERVAL + 500_000
    feed(conn, now=t, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 1)  # the peer answers
    assert out(conn, t) == []
    assert conn.next_deadline() == t + IDLE
    # A full set of probes is needed again before giving up.
    fired = run_timers(conn, t + IDLE + (PROBES - 1) * INTERVAL)
    assert [f[0] for f in fired] == [t + IDLE, t + IDLE + INTERVAL, t + IDLE + 2 * INTERVAL]
    assert conn.state is State.ESTABLISHED
    run_timers(conn, t + IDLE + PROBES * INTERVAL)
    assert conn.state is State.CLOSED


def test_keepalive_runs_on_passive_side_too() -> None:
    conn = syn_received(
        keepalive=True, keepalive_idle=IDLE, keepalive_interval=INTERVAL, keepalive_probes=PROBES
    )
    feed(conn, now=1_000, seq=REMOTE_ISS + 1, ack=LOCAL_ISS + 1)
    assert conn.state is State.ESTABLISHED
    assert conn.next_deadline() == 1_000 + IDLE


def test_no_probe_while_sent_data_is_outstanding() -> None:
    # RFC 9293 3.8.4 (MUST-26): "Keep-alive packets MUST only be sent when no sent
    # data is outstanding". Retransmissions already test the path.
    conn = keepalive_conn(data_retries_r2=100)
    conn.send(b"x" * 10)
    assert out(conn, 1_000_000) == [us(flags=ACK | PSH, payload=b"x" * 10)]
    fired = run_timers(conn, IDLE + PROBES * INTERVAL)
    segments = [seg for _, segs in fired for seg in segs]
    assert all(seg.payload == b"x" * 10 for seg in segments)  # only retransmissions
    assert conn.counters["keepalive_probe"] == 0
    assert conn.state is State.ESTABLISHED


# --------------------------------------------------------------- user timeout


def test_no_user_timeout_by_default() -> None:
    assert Config().user_timeout is None
    conn = established()
    conn.send(b"x" * MSS)
    out(conn, 0)
    assert conn.next_deadline() == 200_000  # only the retransmission timer (RTO at its floor)


def test_unacknowledged_data_times_out_at_the_exact_user_timeout() -> None:
    # RFC 9293 3.10.8 USER TIMEOUT: "flush all queues, signal the user 'error:
    # connection aborted due to user timeout' ... delete the TCB, enter the CLOSED state".
    conn = established(user_timeout=5_000_000)
    conn.send(b"x" * MSS)
    assert len(out(conn, 100_000)) == 1
    fired = run_timers(conn, 5_099_999)
    # RTOs from 0.1 s + 200 ms, backing off: 0.3, 0.7, 1.5 and 3.1 s (the next is 6.3 s).
    assert [f[0] for f in fired] == [300_000, 700_000, 1_500_000, 3_100_000]
    assert conn.state is State.ESTABLISHED
    assert conn.next_deadline() == 5_100_000
    events(conn)
    conn.handle_timer(5_100_000)
    out(conn, 5_100_000)
    assert conn.state is State.CLOSED
    assert events(conn) == [
        TimedOut("user_timeout"),
        StateChanged(State.ESTABLISHED, State.CLOSED, "user_timeout"),
        Closed(),
    ]
    assert conn.next_deadline() is None


def test_acknowledged_data_cancels_the_user_timeout() -> None:
    conn = established(user_timeout=5_000_000)
    conn.send(b"x" * MSS)
    out(conn, 0)
    feed(conn, now=200_000, ack=LOCAL_ISS + 1 + MSS)
    assert conn.next_deadline() is None
    conn.handle_timer(5_000_000)
    assert conn.state is State.ESTABLISHED


def test_user_timeout_restarts_from_the_next_send_after_all_was_acked() -> None:
    conn = established(user_timeout=5_000_000)
    conn.send(b"x" * MSS)
    out(conn, 0)
    feed(conn, now=200_000, ack=LOCAL_ISS + 1 + MSS)
    conn.send(b"y" * MSS)
    out(conn, 4_000_000)
    run_timers(conn, 8_999_999)
    assert conn.state is State.ESTABLISHED
    run_timers(conn, 9_000_000)
    assert conn.state is State.CLOSED
    assert conn.counters["timeout.user_timeout"] == 1


def test_an_ack_of_part_of_the_data_restarts_the_user_timeout() -> None:
    # RFC 9293 3.8.3: the user timeout bounds how long data may stay unacknowledged,
    # so it counts from the last progress: an ACK of new data, even of part of what
    # is outstanding, starts it again (as Linux's TCP_USER_TIMEOUT does).
    conn = established(user_timeout=5_000_000, nodelay=True)
    conn.send(b"x" * 3 * MSS)
    assert len(out(conn, 0)) == 3
    feed(conn, now=4_000_000, ack=LOCAL_ISS + 1 + MSS)  # one of three segments
    out(conn, 4_000_000)
    run_timers(conn, 8_999_999)
    assert conn.state is State.ESTABLISHED  # 5 s after the send, but 5 s after the ACK is 9 s
    run_timers(conn, 9_000_000)
    assert conn.state is State.CLOSED
    assert conn.counters["timeout.user_timeout"] == 1


def test_user_timeout_covers_data_queued_before_the_handshake_completes() -> None:
    # RFC 9293 3.10.8: "For any state if the user timeout expires ..." (here the peer
    # never answers the SYN that the queued data waits behind).
    conn = new_conn(user_timeout=2_500_000)
    conn.connect(0)
    conn.send(b"x" * 10)
    out(conn, 0)
    run_timers(conn, 2_499_999)
    assert conn.state is State.SYN_SENT
    run_timers(conn, 2_500_000)
    assert conn.state is State.CLOSED
    assert TimedOut("user_timeout") in events(conn)


def test_unacceptable_segments_do_not_keep_a_dead_connection_alive() -> None:
    # RFC 9293 3.8.4 (MUST-26): the idle interval counts from the last data or
    # acknowledgment *received*; a segment that fails the acceptability test (RFC
    # 9293 3.10.7.4 first: here a blind guess far outside the window) is neither.
    # Before the fix every segment for the 4-tuple restarted the idle timer and
    # the probe count, so a spoofer (or a stale duplicate) sending one now and then
    # kept a connection whose peer had vanished open for ever.
    conn = keepalive_conn()
    t = 0
    for _ in range(20):
        t += IDLE // 2
        feed(conn, now=t, seq=REMOTE_ISS + 1 + 5_000_000, ack=LOCAL_ISS + 1)
        out(conn, t)
        run_timers(conn, t)
        if conn.state is State.CLOSED:
            break
    assert conn.state is State.CLOSED
    assert conn.counters["timeout.keepalive"] == 1
    assert conn.counters["drop.out_of_window"] >= 1


def test_a_segment_failing_paws_does_not_restart_the_keepalive_idle_time() -> None:
    # The same for an old duplicate caught by PAWS (RFC 7323 5.3 R1: "treat the
    # arriving segment as not acceptable").
    conn, _ = ts_established(
        rtt=0,
        keepalive=True,
        keepalive_idle=IDLE,
        keepalive_interval=INTERVAL,
        keepalive_probes=PROBES,
    )
    assert conn.next_deadline() == IDLE
    feed(conn, now=IDLE // 2, options=peer_ts(PEER_TS + 1))  # acceptable: restarts it
    out(conn, IDLE // 2)
    assert conn.next_deadline() == IDLE // 2 + IDLE
    # Data stamped older than TS.Recent (not a reordered pure ACK, which is exempt).
    feed(conn, now=IDLE, options=peer_ts(PEER_TS - 1), payload=b"old")
    out(conn, IDLE)
    assert conn.counters["drop.paws"] == 1
    assert conn.next_deadline() == IDLE // 2 + IDLE

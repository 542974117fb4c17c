"""Socket options and bind/listen/connect semantics of the blocking sockets (issue 10, findings 3-4).

Two synack hosts on an in-process wire in one stack thread. Values are checked
where they land (the connection's Config, its TcpInfo) and, for the options
whose effect is quick to see, in behaviour: Nagle's delay, a keep-alive that
kills a dead connection, SO_LINGER's reset and wait, SO_REUSEADDR.
"""

from __future__ import annotations

import asyncio
import errno
import select
import socket as stdsocket
import struct
import threading
import time

import pytest

from synack.api import aio
from synack.api import socket as ssock
from synack.api.runtime import PairLink, Runtime
from synack.tcp.connection import Connection
from synack.tcp.endpoint import Endpoint
from synack.tcp.state import State
from tests.api.conftest import CLIENT, SERVER

pytestmark = pytest.mark.timeout(60)

T, S = stdsocket.IPPROTO_TCP, stdsocket.SOL_SOCKET


def _conn(sock: ssock.socket) -> Connection:
    conn = sock._connection()
    assert conn is not None
    return conn


def _client(stacks: tuple[ssock.Stack, ssock.Stack], **options: int | bytes) -> ssock.socket:
    sock = ssock.socket(stack=stacks[0])
    sock.settimeout(10)
    return sock


# ------------------------------------------------------------------ options


def test_nodelay_removes_nagles_wait_on_write_write_read(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, server_stack = stacks
    listener = ssock.socket(stack=server_stack)
    listener.bind(("", 12))
    listener.listen()

    def answer_each_request() -> None:
        # A request/response server: it answers only once the whole request is in.
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                while True:
                    got = b""
                    while len(got) < 20:
                        data = conn.recv(100)
                        if not data:
                            break
                        got += data
                    if len(got) < 20:
                        break
                    conn.sendall(b"r" * 20)

    threading.Thread(target=answer_each_request, daemon=True).start()

    def round_trips(nodelay: bool) -> float:
        with ssock.create_connection((SERVER, 12), timeout=10, stack=client_stack) as sock:
            sock.setsockopt(T, stdsocket.TCP_NODELAY, int(nodelay))
            assert sock.getsockopt(T, stdsocket.TCP_NODELAY) == int(nodelay)
            assert _conn(sock).config.nodelay is nodelay
            start = time.monotonic()
            for _ in range(10):
                # Header and body in two writes, then wait for the answer: with
                # Nagle the body waits for the ACK of the header, which the server
                # delays (RFC 9293 3.8.6.3; 40 ms here) since it has nothing to say yet.
                sock.sendall(b"h" * 10)
                time.sleep(0.002)  # the header leaves on its own
                sock.sendall(b"b" * 10)
                got = b""
                while len(got) < 20:
                    got += sock.recv(100)
            return time.monotonic() - start

    nagle = round_trips(False)
    nodelay = round_trips(True)
    assert nagle >= 0.35  # ten delayed ACKs of 40 ms
    assert nodelay < nagle - 0.25  # the same exchanges without them
    listener.close()


@pytest.mark.slow
def test_keepalive_options_reach_the_connection_and_kill_a_dead_peer() -> None:
    a, b = PairLink.pair()
    dead = threading.Event()
    a.drop = lambda packet: dead.is_set()

    def client_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint([CLIENT], isn_secret=b"c" * 32), a, loop)

    def server_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint([SERVER], isn_secret=b"s" * 32), b, loop)

    with ssock.Stack(client_rt) as client, ssock.Stack.sibling(client, server_rt) as srv:
        listener = ssock.socket(stack=srv)
        listener.bind(("", 9))
        listener.listen()
        sock = ssock.create_connection((SERVER, 9), timeout=30, stack=client)
        sock.setsockopt(S, stdsocket.SO_KEEPALIVE, 1)
        sock.setsockopt(T, stdsocket.TCP_KEEPIDLE, 1)
        sock.setsockopt(T, stdsocket.TCP_KEEPINTVL, 1)
        sock.setsockopt(T, stdsocket.TCP_KEEPCNT, 2)
        assert [sock.getsockopt(S, stdsocket.SO_KEEPALIVE)] + [
            sock.getsockopt(T, o)
            for o in (stdsocket.TCP_KEEPIDLE, stdsocket.TCP_KEEPINTVL, stdsocket.TCP_KEEPCNT)
        ] == [1, 1, 1, 2]
        cfg = _conn(sock).config
        assert (
            cfg.keepalive,
            cfg.keepalive_idle,
            cfg.keepalive_interval,
            cfg.keepalive_probes,
        ) == (
            True,
            1_000_000,
            1_000_000,
            2,
        )
        dead.set()
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            sock.recv(10)  # the probes go unanswered: idle 1 s + 2 probes 1 s apart
        assert 2.5 < time.monotonic() - start < 15
        sock.close()
        listener.close()
        dead.clear()  # the server's side hears the client's RST: no lingering at exit


def test_buffers_maxseg_user_timeout_congestion_and_tos_before_connect(
    stacks: tuple[ssock.Stack, ssock.Stack], echo_server: ssock.socket
) -> None:
    sock = _client(stacks)
    sock.setsockopt(S, stdsocket.SO_RCVBUF, 100_000)
    sock.setsockopt(S, stdsocket.SO_SNDBUF, 50_000)
    sock.setsockopt(T, stdsocket.TCP_MAXSEG, 1000)
    sock.setsockopt(T, stdsocket.TCP_USER_TIMEOUT, 5000)  # milliseconds
    sock.setsockopt(T, stdsocket.TCP_CONGESTION, b"cubic")
    sock.setsockopt(stdsocket.IPPROTO_IP, stdsocket.IP_TOS, 0x10)
    assert sock.getsockopt(S, stdsocket.SO_RCVBUF) == 100_000  # before connect: stored
    sock.connect((SERVER, 7))
    conn = _conn(sock)
    cfg = conn.config
    assert (cfg.recv_buffer, cfg.send_buffer, cfg.user_timeout, cfg.tos) == (
        100_000,
        50_000,
        5_000_000,
        0x10,
    )
    assert sock.getsockopt(T, stdsocket.TCP_MAXSEG) == conn.mss <= 1000
    assert sock.getsockopt(T, stdsocket.TCP_CONGESTION, 16) == b"cubic".ljust(16, b"\0")
    info = sock.tcp_info()
    assert info.congestion_control == "cubic"
    assert info.state is State.ESTABLISHED
    # At run time too: the connection is reconfigured.
    sock.setsockopt(T, stdsocket.TCP_CONGESTION, b"bbr")
    sock.setsockopt(S, stdsocket.SO_SNDBUF, 70_000)
    sock.setsockopt(T, stdsocket.TCP_USER_TIMEOUT, 0)
    assert sock.tcp_info().congestion_control == "bbr"
    assert (conn.config.send_buffer, conn.config.user_timeout) == (70_000, None)
    # The MSS is negotiated by the SYN: too late now.
    with pytest.raises(OSError) as late:
        sock.setsockopt(T, stdsocket.TCP_MAXSEG, 500)
    assert late.value.errno == errno.EINVAL
    sock.close()


def test_tcp_info_reports_rtt_counters_and_negotiated_options(
    stacks: tuple[ssock.Stack, ssock.Stack], echo_server: ssock.socket
) -> None:
    with ssock.create_connection((SERVER, 7), timeout=10, stack=stacks[0]) as sock:
        sock.sendall(b"x" * 100_000)
        got = 0
        while got < 100_000:
            got += len(sock.recv(65536))
        info = sock.tcp_info()
    assert info.state is State.ESTABLISHED
    assert info.srtt is not None and info.rto >= 200_000
    assert info.cwnd > 0 and info.ssthresh > 0
    assert info.bytes_acked >= 100_000 - 1 and info.bytes_received == 100_000
    assert info.sack and info.timestamps and info.snd_wscale >= 0
    assert info.retransmits == 0


def test_unknown_options_and_bad_values_raise() -> None:
    a, b = PairLink.pair()
    with ssock.Stack(lambda loop: Runtime(Endpoint([CLIENT]), a, loop)) as stack:
        sock = ssock.socket(stack=stack)
        for level, name in ((T, stdsocket.TCP_FASTOPEN), (S, stdsocket.SO_BROADCAST)):
            with pytest.raises(OSError) as exc:
                sock.setsockopt(level, name, 1)
            assert exc.value.errno == errno.ENOPROTOOPT
        with pytest.raises(OSError) as info:
            sock.getsockopt(T, stdsocket.TCP_INFO, 232)
        assert info.value.errno == errno.ENOPROTOOPT
        with pytest.raises(OSError) as cc:
            sock.setsockopt(T, stdsocket.TCP_CONGESTION, b"vegas")
        assert cc.value.errno == errno.ENOENT
        with pytest.raises(OSError) as bad:
            sock.setsockopt(S, stdsocket.SO_RCVBUF, -1)
        assert bad.value.errno == errno.EINVAL
        with pytest.raises(OSError) as unconnected:
            sock.tcp_info()
        assert unconnected.value.errno == errno.ENOTCONN
        sock.close()
        b.close()


def test_options_on_a_listener_apply_to_the_connections_it_accepts(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, server_stack = stacks
    with ssock.socket(stack=server_stack) as listener:
        listener.setsockopt(T, stdsocket.TCP_NODELAY, 1)  # before listen
        listener.bind(("", 8))
        listener.listen()
        listener.setsockopt(T, stdsocket.TCP_CONGESTION, b"cubic")  # after listen
        assert listener.getsockopt(S, stdsocket.SO_ACCEPTCONN) == 1
        with ssock.create_connection((SERVER, 8), timeout=10, stack=client_stack):
            listener.settimeout(10)
            child, _ = listener.accept()
            with child:
                assert child.getsockopt(T, stdsocket.TCP_NODELAY) == 1
                assert child.tcp_info().congestion_control == "cubic"


def test_so_linger_zero_resets_and_linger_n_waits_for_delivery(
    stacks: tuple[ssock.Stack, ssock.Stack], echo_server: ssock.socket
) -> None:
    client_stack, _ = stacks
    sock = ssock.create_connection((SERVER, 7), timeout=10, stack=client_stack)
    sock.setsockopt(S, stdsocket.SO_LINGER, struct.pack("ii", 1, 5))
    assert sock.getsockopt(S, stdsocket.SO_LINGER, 8) == struct.pack("ii", 1, 5)
    sock.sendall(b"z" * 1_000_000)
    conn = _conn(sock)
    sock.close()  # returns once the peer acknowledged the data and our FIN
    assert client_stack.runtime.delivered(conn)

    with ssock.socket(stack=stacks[1]) as listener:
        listener.bind(("", 10))
        listener.listen()
        listener.settimeout(10)
        sock = ssock.create_connection((SERVER, 10), timeout=10, stack=client_stack)
        peer, _ = listener.accept()
        sock.setsockopt(S, stdsocket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a RST, not a FIN
        peer.settimeout(10)
        with pytest.raises(ConnectionResetError):
            peer.recv(10)
        peer.close()


def test_tcp_cork_holds_partial_segments_until_uncorked(
    stacks: tuple[ssock.Stack, ssock.Stack],
    echo_server: ssock.socket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Linux's 200 ms ceiling (the next test) made a minute: only uncorking sends the rest.
    monkeypatch.setattr(ssock, "CORK_CEILING", 60.0)
    sock = ssock.create_connection((SERVER, 7), timeout=10, stack=stacks[0])
    sock.setsockopt(T, stdsocket.TCP_CORK, 1)
    assert sock.getsockopt(T, stdsocket.TCP_CORK) == 1
    mss = sock.getsockopt(T, stdsocket.TCP_MAXSEG)
    assert isinstance(mss, int)
    for _ in range(5):
        sock.send(b"x" * 10)
    time.sleep(0.2)
    assert sock.tcp_info().snd_nxt == sock.tcp_info().snd_una  # nothing left: all corked
    sock.send(b"y" * (2 * mss))  # now two whole segments can go, 50 octets stay behind
    got = b""
    while len(got) < 2 * mss:
        got += sock.recv(65536)
    time.sleep(0.2)
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(65536)  # the last 50 octets are still corked
    sock.settimeout(10)
    sock.setsockopt(T, stdsocket.TCP_CORK, 0)
    while len(got) < 2 * mss + 50:
        got += sock.recv(65536)
    assert got == b"x" * 50 + b"y" * (2 * mss)
    sock.close()


def test_tcp_cork_sends_a_partial_segment_after_200_ms(
    stacks: tuple[ssock.Stack, ssock.Stack], echo_server: ssock.socket
) -> None:
    # tcp(7), TCP_CORK: "there is a 200 millisecond ceiling on the time for which output
    # is corked by TCP_CORK. If this ceiling is reached, then queued data is
    # automatically transmitted."
    sock = ssock.create_connection((SERVER, 7), timeout=10, stack=stacks[0])
    sock.setsockopt(T, stdsocket.TCP_CORK, 1)
    start = time.monotonic()
    sock.send(b"x" * 10)
    sock.send(b"y" * 10)  # joins the wait, does not restart it
    got = b""
    while len(got) < 20:
        got += sock.recv(65536)  # the echo: what was corked has left and come back
    waited = time.monotonic() - start
    assert got == b"x" * 10 + b"y" * 10
    assert 0.2 <= waited < 10, waited
    assert sock.getsockopt(T, stdsocket.TCP_CORK) == 1  # still corked
    sock.close()


def test_so_linger_zero_is_kept_when_the_stack_closes() -> None:
    a, b = PairLink.pair()

    def client_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint([CLIENT], isn_secret=b"c" * 32), a, loop)

    def server_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint([SERVER], isn_secret=b"s" * 32), b, loop)

    with ssock.Stack(server_rt) as server_stack:
        listener = ssock.socket(stack=server_stack)
        listener.bind(("", 13))
        listener.listen()
        listener.settimeout(10)
        client_stack = ssock.Stack.sibling(server_stack, client_rt)
        sock = ssock.create_connection((SERVER, 13), timeout=10, stack=client_stack)
        sock.setsockopt(S, stdsocket.SO_LINGER, struct.pack("ii", 1, 0))
        peer, _ = listener.accept()
        client_stack.close()  # the program ends with the socket still open
        peer.settimeout(10)
        with pytest.raises(ConnectionResetError):
            peer.recv(10)
        assert peer._proto is not None and not peer._proto.eof  # a RST, never a FIN
        peer.close()
        listener.close()


def test_so_linger_n_bounds_that_connection_when_the_stack_closes() -> None:
    # The stack would linger 30 s; the socket's SO_LINGER of 1 s bounds its connection,
    # whose data is never acknowledged, so the program's end waits about 1 s.
    a, b = PairLink.pair()
    drop = threading.Event()
    a.drop = lambda packet: drop.is_set()

    def client_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint([CLIENT], isn_secret=b"c" * 32), a, loop, linger=30.0)

    def server_rt(loop: asyncio.AbstractEventLoop) -> Runtime:
        return Runtime(Endpoint([SERVER], isn_secret=b"s" * 32), b, loop)

    with ssock.Stack(server_rt) as server_stack:
        listener = ssock.socket(stack=server_stack)
        listener.bind(("", 14))
        listener.listen()
        listener.settimeout(10)
        client_stack = ssock.Stack.sibling(server_stack, client_rt)
        sock = ssock.create_connection((SERVER, 14), timeout=10, stack=client_stack)
        sock.setsockopt(S, stdsocket.SO_LINGER, struct.pack("ii", 1, 1))
        peer, _ = listener.accept()
        drop.set()
        sock.sendall(b"never acknowledged")
        start = time.monotonic()
        client_stack.close()  # the program ends with the socket still open
        waited = time.monotonic() - start
        assert 1.0 <= waited < 15, waited
        peer.close()
        listener.close()
        server_stack.close(linger=0)  # its FIN would wait for a peer that is gone


# ------------------------------------------------------- bind, listen, connect


def test_bind_port_zero_assigns_the_port_at_bind_and_conflicts_raise(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    stack = stacks[1]
    first = ssock.socket(stack=stack)
    first.bind(("", 0))
    port = first.getsockname()[1]
    assert 49152 <= port <= 65535  # RFC 6335 6: the dynamic range
    second = ssock.socket(stack=stack)
    with pytest.raises(OSError) as taken:
        second.bind((SERVER, port))
    assert taken.value.errno == errno.EADDRINUSE
    with pytest.raises(OSError) as foreign:
        second.bind(("10.9.9.9", 0))
    assert foreign.value.errno == errno.EADDRNOTAVAIL
    first.listen()
    second.setsockopt(S, stdsocket.SO_REUSEADDR, 1)
    with pytest.raises(OSError) as listening:
        second.bind(("", port))  # SO_REUSEADDR never shares a listening port
    assert listening.value.errno == errno.EADDRINUSE
    first.close()
    second.bind(("", port))  # released by close
    second.close()


def test_so_reuseaddr_binds_over_a_time_wait_connection(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, server_stack = stacks
    listener = ssock.socket(stack=server_stack)
    listener.bind(("", 11))
    listener.listen()
    listener.settimeout(10)
    client = ssock.create_connection((SERVER, 11), timeout=10, stack=client_stack)
    peer, _ = listener.accept()
    peer.close()  # the server closes first: its side goes to TIME-WAIT
    assert client.recv(10) == b""
    client.close()
    listener.close()
    runtime = server_stack.runtime
    deadline = time.monotonic() + 10
    while not any(
        c.state is State.TIME_WAIT for c in server_stack.call(runtime.endpoint.connections)
    ):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    again = ssock.socket(stack=server_stack)
    with pytest.raises(OSError) as busy:
        again.bind(("", 11))
    assert busy.value.errno == errno.EADDRINUSE
    again.setsockopt(S, stdsocket.SO_REUSEADDR, 1)
    again.bind(("", 11))
    again.listen()
    again.close()


def test_nonblocking_connect_einprogress_then_writable_and_so_error(
    stacks: tuple[ssock.Stack, ssock.Stack], echo_server: ssock.socket
) -> None:
    sock = ssock.socket(stack=stacks[0])
    sock.setblocking(False)
    with pytest.raises(BlockingIOError) as started:
        sock.connect((SERVER, 7))
    assert started.value.errno == errno.EINPROGRESS
    # Still opening, or done: then 0 once, as Linux (EISCONN only after that).
    assert sock.connect_ex((SERVER, 7)) in (errno.EALREADY, 0)
    # writable_fileno() is an eventfd: readable (in the read set) when writable.
    ready, _, _ = select.select([sock.writable_fileno()], [], [], 10)
    assert ready
    assert sock.getsockopt(S, stdsocket.SO_ERROR) == 0
    assert sock.getpeername() == (SERVER, 7)
    sock.send(b"ping")
    assert select.select([sock], [], [], 10)[0] == [sock]
    assert sock.recv(10) == b"ping"
    sock.close()

    refused = ssock.socket(stack=stacks[0])
    refused.setblocking(False)
    assert refused.connect_ex((SERVER, 99)) == errno.EINPROGRESS
    assert select.select([refused.writable_fileno()], [], [], 10)[0]
    assert refused.getsockopt(S, stdsocket.SO_ERROR) == errno.ECONNREFUSED
    assert refused.getsockopt(S, stdsocket.SO_ERROR) == 0  # read once, as on Linux
    refused.close()


def test_asyncio_server_sockets_lists_the_listening_sockets(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    _, server_stack = stacks

    async def start() -> aio.Server:
        return await aio.start_server(lambda r, w: None, port=0, runtime=server_stack.runtime)

    srv = server_stack.run(start(), 10)
    sockets = srv.sockets
    assert len(sockets) == 1
    name = sockets[0].getsockname()
    assert name == ("0.0.0.0", srv.port) and 49152 <= name[1] <= 65535
    assert sockets[0].getsockopt(T, stdsocket.TCP_NODELAY) == 1  # asyncio's default
    sockets[0].setsockopt(T, stdsocket.TCP_NODELAY, 0)
    assert not srv.listener.config.nodelay
    assert sockets[0].getsockopt(T, stdsocket.TCP_NODELAY) == 0
    server_stack.call(srv.close)
    assert srv.sockets == ()


# ------------------------------------------------------------ per-call cost


def test_send_that_fits_returns_without_waiting_for_the_stack_thread(
    stacks: tuple[ssock.Stack, ssock.Stack], echo_server: ssock.socket
) -> None:
    client_stack, _ = stacks
    sock = ssock.create_connection((SERVER, 7), timeout=10, stack=client_stack)
    busy, release = threading.Event(), threading.Event()

    def hold_the_loop() -> None:
        busy.set()
        release.wait(20)

    client_stack.call_soon(hold_the_loop)
    assert busy.wait(10)
    try:
        # The stack's thread is busy: writes that fit are queued and return at once.
        start = time.monotonic()
        for _ in range(100):
            assert sock.send(b"x" * 100) == 100
        assert time.monotonic() - start < 5
    finally:
        release.set()
    got = b""
    while len(got) < 10_000:
        got += sock.recv(65536)
    assert got == b"x" * 10_000
    sock.close()

"""Details of the ``socket`` contract that programs notice, as CPython on Linux behaves.

Each expectation was measured with the same calls on kernel sockets (CPython 3.11,
Linux 6.x) and is pinned here by value: recv/send flags, the datagram-style
methods a TCP socket also has, errors reported once, ``shutdown`` waking a
reader in another thread, the exceptions' errno and text. Two synack hosts on
an in-process wire (the ``stacks`` fixture); about 2 s.
"""

from __future__ import annotations

import errno
import select
import socket as stdsocket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from synack.api import socket as ssock
from synack.api.patch import patch

SERVER = "10.0.0.2"
S = stdsocket.SOL_SOCKET
T = stdsocket.IPPROTO_TCP

pytestmark = pytest.mark.timeout(60)

Pair = tuple[ssock.socket, ssock.socket]


@pytest.fixture
def pair(stacks: tuple[ssock.Stack, ssock.Stack]) -> Iterator[Pair]:
    """A connected (client, server-side) pair of synack sockets."""
    client_stack, server_stack = stacks
    with ssock.socket(stack=server_stack) as listener:
        listener.bind(("", 80))
        listener.listen()
        client = ssock.create_connection((SERVER, 80), timeout=10, stack=client_stack)
        server, _ = listener.accept()
        server.settimeout(10)
    try:
        yield client, server
    finally:
        client.close()
        server.close()


def _wait_readable(sock: ssock.socket) -> None:
    assert select.select([sock], [], [], 10)[0] == [sock]


def _abort(sock: ssock.socket) -> None:
    """Reset the connection from this end (what SO_LINGER 0 and close() send)."""
    sock.setsockopt(S, stdsocket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_recv_flags_peek_dontwait_and_waitall(pair: Pair) -> None:
    client, server = pair
    server.sendall(b"peekdata")
    _wait_readable(client)
    # MSG_PEEK leaves the data where it is.
    assert client.recv(4, stdsocket.MSG_PEEK) == b"peek"
    assert client.recv(100) == b"peekdata"
    # MSG_DONTWAIT: this call does not block on a blocking socket...
    client.settimeout(None)
    with pytest.raises(BlockingIOError) as nothing:
        client.recv(10, stdsocket.MSG_DONTWAIT)
    assert nothing.value.errno == errno.EAGAIN
    # ... while a socket with a timeout waits for it anyway (CPython polls first).
    client.settimeout(0.2)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.recv(10, stdsocket.MSG_DONTWAIT)
    assert time.monotonic() - started >= 0.2
    # MSG_WAITALL on a blocking socket: the whole amount, across separate arrivals...
    client.settimeout(None)
    server.sendall(b"abcd")
    threading.Timer(0.2, server.sendall, args=(b"efgh",)).start()
    assert client.recv(8, stdsocket.MSG_WAITALL) == b"abcdefgh"
    # ... with a timeout, what has arrived (CPython reads a non-blocking descriptor).
    client.settimeout(10)
    server.sendall(b"ab")
    _wait_readable(client)
    assert client.recv(8, stdsocket.MSG_WAITALL) == b"ab"
    # The end of the stream ends a blocking wait with what there is.
    client.settimeout(None)
    server.sendall(b"xy")
    server.shutdown(stdsocket.SHUT_WR)
    assert client.recv(8, stdsocket.MSG_WAITALL) == b"xy"
    # MSG_NOSIGNAL (Python ignores SIGPIPE anyway) and MSG_MORE (a hint) are accepted.
    assert client.send(b"q", stdsocket.MSG_NOSIGNAL | stdsocket.MSG_MORE) == 1
    assert server.recv(10) == b"q"


def test_unsupported_flags_raise_eopnotsupp_naming_the_flag(pair: Pair) -> None:
    client, _ = pair
    with pytest.raises(OSError, match="MSG_OOB") as oob:
        client.recv(10, stdsocket.MSG_OOB)
    assert oob.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError, match="MSG_OOB"):
        client.send(b"!", stdsocket.MSG_OOB)


def test_a_tcp_socket_has_the_datagram_style_methods(pair: Pair) -> None:
    client, server = pair
    # On a connected TCP socket the address is ignored (sendto) or None (recvfrom).
    assert client.sendto(b"one", ("192.0.2.1", 9)) == 3
    assert client.sendto(b"two", 0, ("192.0.2.1", 9)) == 3
    assert client.sendmsg([b"th", memoryview(b"ree")]) == 5
    got = b""
    while len(got) < 11:
        got += server.recv(100)
    assert got == b"onetwothree"
    server.sendall(b"0123456789")
    _wait_readable(client)
    assert client.recvfrom(4) == (b"0123", None)
    buf = bytearray(3)
    assert client.recvfrom_into(buf) == (3, None)
    assert buf == b"456"
    assert client.recvmsg(100) == (b"789", [], 0, None)
    with pytest.raises(OSError) as dup:
        client.dup()
    assert dup.value.errno == errno.EOPNOTSUPP


@pytest.mark.parametrize("how", [stdsocket.SHUT_RD, stdsocket.SHUT_RDWR])
def test_shutdown_wakes_a_recv_blocked_in_another_thread(pair: Pair, how: int) -> None:
    client, _ = pair
    client.settimeout(None)
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(client.recv(10)))
    reader.start()
    time.sleep(0.2)  # the reader is waiting: the peer sends nothing
    client.shutdown(how)
    reader.join(5)
    assert not reader.is_alive(), "recv() still blocked after shutdown()"
    assert result == [b""]


def test_recv_after_shut_rd_returns_buffered_data_then_eof(pair: Pair) -> None:
    client, server = pair
    server.sendall(b"still here")
    _wait_readable(client)
    client.shutdown(stdsocket.SHUT_RD)
    assert client.recv(100) == b"still here"
    client.setblocking(False)
    assert client.recv(100) == b""  # not EAGAIN: the read side is shut


def test_a_reset_is_reported_once_then_eof_and_epipe(pair: Pair) -> None:
    client, server = pair
    _abort(server)
    _wait_readable(client)
    with pytest.raises(ConnectionResetError) as reset:
        client.recv(10)
    assert str(reset.value) == "[Errno 104] Connection reset by peer"
    assert client.recv(10) == b""
    with pytest.raises(BrokenPipeError) as pipe:
        client.send(b"x")
    assert pipe.value.errno == errno.EPIPE


def test_so_error_takes_a_pending_reset(pair: Pair) -> None:
    client, server = pair
    _abort(server)
    _wait_readable(client)
    assert client.getsockopt(S, stdsocket.SO_ERROR) == errno.ECONNRESET
    assert client.getsockopt(S, stdsocket.SO_ERROR) == 0
    assert client.recv(10) == b""  # reported already


def test_send_raises_the_reset_once_when_it_comes_first(pair: Pair) -> None:
    client, server = pair
    _abort(server)
    _wait_readable(client)
    with pytest.raises(ConnectionResetError):
        client.send(b"x")
    with pytest.raises(BrokenPipeError):
        client.send(b"x")
    assert client.recv(10) == b""


def test_a_reset_after_the_peers_fin_is_a_broken_pipe(pair: Pair) -> None:
    client, server = pair
    server.shutdown(stdsocket.SHUT_WR)
    assert client.recv(10) == b""  # the FIN: CLOSE-WAIT
    _abort(server)
    time.sleep(0.3)
    # Linux's tcp_reset() sets EPIPE for a reset in CLOSE-WAIT.
    with pytest.raises(BrokenPipeError):
        client.send(b"x")
    assert client.recv(10) == b""


def test_socket_timeouts_are_cpythons_timeouterror(pair: Pair) -> None:
    client, _ = pair
    client.settimeout(0.1)
    with pytest.raises(TimeoutError) as timeout:
        client.recv(10)
    # CPython raises TimeoutError("timed out"): no errno (ETIMEDOUT is the
    # kernel's, for a connection that died).
    assert timeout.value.errno is None
    assert str(timeout.value) == "timed out"
    assert timeout.value.args == ("timed out",)


def test_errors_of_unconnected_sockets(stacks: tuple[ssock.Stack, ssock.Stack]) -> None:
    client_stack, _ = stacks
    with ssock.socket(stack=client_stack) as sock:
        with pytest.raises(BrokenPipeError):  # Linux: EPIPE, not ENOTCONN
            sock.send(b"x")
        with pytest.raises(OSError) as notconn:
            sock.recv(1)
        assert notconn.value.errno == errno.ENOTCONN
        with pytest.raises(ConnectionRefusedError) as refused:
            sock.connect((SERVER, 99))
        assert str(refused.value) == "[Errno 111] Connection refused"
        assert sock.recv(1) == b""  # as Linux after a failed connect
        with pytest.raises(OSError) as bad:
            sock.shutdown(7)
        assert bad.value.errno == errno.EINVAL


def test_connect_after_a_nonblocking_connect_completed_returns_zero_once(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, server_stack = stacks
    with ssock.socket(stack=server_stack) as listener:
        listener.bind(("", 80))
        listener.listen()
        sock = ssock.socket(stack=client_stack)
        sock.setblocking(False)
        assert sock.connect_ex((SERVER, 80)) == errno.EINPROGRESS
        assert select.select([sock.writable_fileno()], [], [], 10)[0]
        # The "connect again to see" idiom: 0 once, then EISCONN (Linux).
        assert sock.connect_ex((SERVER, 80)) == 0
        assert sock.connect_ex((SERVER, 80)) == errno.EISCONN
        sock.close()


def test_a_failed_nonblocking_connect_is_readable_and_writable(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, _ = stacks
    for _ in range(20):  # both at once, every time
        sock = ssock.socket(stack=client_stack)
        sock.setblocking(False)
        assert sock.connect_ex((SERVER, 99)) == errno.EINPROGRESS
        with patch(client_stack):
            readable, writable, _ = select.select([sock], [sock], [], 10)
        assert (readable, writable) == ([sock], [sock])
        assert sock.getsockopt(S, stdsocket.SO_ERROR) == errno.ECONNREFUSED
        sock.close()


def test_getsockopt_returns_an_int_without_a_buffer_length(pair: Pair) -> None:
    client, _ = pair
    client.setsockopt(T, stdsocket.TCP_CONGESTION, b"cubic")
    assert client.getsockopt(T, stdsocket.TCP_CONGESTION, 16) == b"cubic".ljust(16, b"\0")
    # Without buflen, getsockopt() is the option's first C int, as for kernel sockets.
    assert client.getsockopt(T, stdsocket.TCP_CONGESTION) == struct.unpack("i", b"cubi")[0]
    assert client.getsockopt(S, stdsocket.SO_DOMAIN) == stdsocket.AF_INET
    assert client.getsockopt(S, stdsocket.SO_PROTOCOL) == stdsocket.IPPROTO_TCP
    with pytest.raises(OSError, match="SO_REUSEPORT") as unknown:
        client.setsockopt(S, stdsocket.SO_REUSEPORT, 1)
    assert unknown.value.errno == errno.ENOPROTOOPT


def test_patched_getaddrinfo_filters_by_protocol(stacks: tuple[ssock.Stack, ssock.Stack]) -> None:
    with patch(stacks[0]):
        tcp = stdsocket.getaddrinfo("fd00::1", 80, proto=stdsocket.IPPROTO_TCP)
        every = stdsocket.getaddrinfo("10.0.0.1", 80)
    assert tcp == [
        (
            stdsocket.AF_INET6,
            stdsocket.SOCK_STREAM,
            stdsocket.IPPROTO_TCP,
            "",
            ("fd00::1", 80, 0, 0),
        )
    ]
    assert [info[1] for info in every] == [
        stdsocket.SOCK_STREAM,
        stdsocket.SOCK_DGRAM,
        stdsocket.SOCK_RAW,
    ]

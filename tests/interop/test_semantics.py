"""Connection semantics against the kernel's TCP: refusals, resets, half-close, concurrency, capture.

Items 5-7 of the interop plan. synack runs in-process (the socket and asyncio
APIs on a :class:`~synack.api.socket.Stack`); the kernel side is Python's
``socket`` module, ``curl`` or ``tshark`` run inside the test's namespace.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from synack.api import aio
from synack.api import socket as ssock
from synack.api.apps import echo_handler
from synack.link.netns import NetnsLab
from synack.tcp.config import Config
from tests.interop.conftest import KERNEL, KERNEL6, SYNACK, _require_tools, open_stack
from tests.interop.helpers import (
    KERNEL_CLIENTS,
    KERNEL_HALF_CLOSE_SERVER,
    in_ns,
    kernel_capture,
    running,
)

pytestmark = [pytest.mark.netns, pytest.mark.timeout(180)]

KERNEL_CONNECT = """
import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
except OSError as exc:
    print(errno.errorcode.get(exc.errno, exc.errno), flush=True)
else:
    print('connected', flush=True)
"""

# Accept one connection, read `first` bytes, then reset it (SO_LINGER 0) or, with
# mode "send", send `first` bytes and then reset.
KERNEL_RESETTER = """
import socket, struct, sys
host, port, mode, first = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port)); srv.listen(1); print('listening', flush=True)
c, _ = srv.accept()
if mode == 'read':
    n = 0
    while n < first:
        b = c.recv(65536)
        if not b: break
        n += len(b)
else:
    c.sendall(b'z' * first)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.close()
print('reset', flush=True)
"""


def test_kernel_connecting_to_a_closed_synack_port_gets_econnrefused(
    lab: NetnsLab, stack: ssock.Stack
) -> None:
    for host in (SYNACK, "fd00::5"):
        result = lab.run([sys.executable, "-c", KERNEL_CONNECT, host, "81"], timeout=60)
        assert result.stdout.strip() == "ECONNREFUSED", result.stdout + result.stderr


def test_synack_connecting_to_a_closed_kernel_port_raises_connection_refused(
    lab: NetnsLab, stack: ssock.Stack
) -> None:
    for host in (KERNEL, KERNEL6):
        with pytest.raises(ConnectionRefusedError):
            ssock.create_connection((host, 81), timeout=30, stack=stack)


def test_kernel_reset_while_synack_sends_raises_connection_reset(
    lab: NetnsLab, stack: ssock.Stack
) -> None:
    with running(
        in_ns(lab, sys.executable, "-c", KERNEL_RESETTER, KERNEL, "7000", "read", "200000"),
        "resetter",
    ) as k:
        k.expect("listening")
        sock = ssock.create_connection((KERNEL, 7000), timeout=30, stack=stack)
        with pytest.raises(ConnectionResetError):
            _send_until_error(sock)
        k.expect("reset")
        sock.close()


def test_kernel_reset_while_synack_receives_raises_connection_reset(
    lab: NetnsLab, stack: ssock.Stack
) -> None:
    with running(
        in_ns(lab, sys.executable, "-c", KERNEL_RESETTER, KERNEL, "7001", "send", "300000"),
        "resetter",
    ) as k:
        k.expect("listening")
        sock = ssock.create_connection((KERNEL, 7001), timeout=30, stack=stack)
        k.expect("reset")
        received: list[int] = []
        with pytest.raises(ConnectionResetError):
            _recv_until_error(sock, received)
        assert sum(received) <= 300_000
        sock.close()


def _send_until_error(sock: ssock.socket) -> None:
    for _ in range(400):  # 100 MB at most
        sock.sendall(b"a" * 250_000)


def _recv_until_error(sock: ssock.socket, sizes: list[int]) -> None:
    while True:
        data = sock.recv(65536)
        assert data, "a reset connection must not look like a clean EOF"
        sizes.append(len(data))


def test_synack_half_close_then_kernel_answers(lab: NetnsLab, stack: ssock.Stack) -> None:
    payload = bytes(range(256)) * 4000
    with running(
        in_ns(lab, sys.executable, "-c", KERNEL_HALF_CLOSE_SERVER, KERNEL, "7002"),
        "half-close server",
    ) as k:
        k.expect("listening")
        with ssock.create_connection((KERNEL, 7002), timeout=30, stack=stack) as sock:
            sock.sendall(payload)
            sock.shutdown(ssock.SHUT_WR)
            reply = b""
            while data := sock.recv(1000):
                reply += data
        k.expect("done")
    assert reply.decode() == f"got {len(payload)} {hashlib.sha256(payload).hexdigest()}"


def test_kernel_half_close_and_50_concurrent_clients_against_synack_echo(
    lab: NetnsLab, stack: ssock.Stack
) -> None:
    async def start() -> aio.Server:
        return await aio.start_server(echo_handler(), port=7, runtime=stack.runtime)

    server = stack.run(start(), 10)
    # One client first: the plain half-close case (send, SHUT_WR, read the echo to EOF).
    single = lab.run(
        [sys.executable, "-c", KERNEL_CLIENTS, SYNACK, "7", "1", "1000000"], timeout=120
    )
    assert single.stdout.strip() == "ok 1 errors []", single.stdout + single.stderr
    many = lab.run([sys.executable, "-c", KERNEL_CLIENTS, SYNACK, "7", "50", "100000"], timeout=150)
    assert many.stdout.strip() == "ok 50 errors []", many.stdout + many.stderr
    stack.call(server.close)


def test_tshark_sees_a_clean_handshake_with_the_seeded_isn(lab: NetnsLab, tmp_path: Path) -> None:
    _require_tools("tshark")
    iss = 3_000_000_000  # close to the 2^32 wrap on purpose
    stack = open_stack(lab, config=Config(fixed_iss=iss))
    try:

        async def start() -> aio.Server:
            return await aio.start_server(echo_handler(), port=80, runtime=stack.runtime)

        stack.run(start(), 10)
        pcap = tmp_path / "handshake.pcap"
        with kernel_capture(lab, 80, pcap, ping=SYNACK):
            result = lab.run(
                [sys.executable, "-c", KERNEL_CLIENTS, SYNACK, "80", "1", "10000"], timeout=60
            )
            assert result.stdout.strip() == "ok 1 errors []", result.stdout + result.stderr
    finally:
        stack.close()
    fields = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-Y",
            "tcp",
            "-o",
            "tcp.relative_sequence_numbers:FALSE",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "tcp.flags.str",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.ack",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    rows = [line.split("\t") for line in fields]
    first = next(i for i, row in enumerate(rows) if "S" in row[1] and "A" not in row[1])  # the SYN
    syn, syn_ack, ack = rows[first : first + 3]
    client_isn = int(syn[2])
    assert syn[0] == KERNEL and "S" in syn[1] and "A" not in syn[1].replace("·", "")
    assert (
        syn_ack[0] == SYNACK
        and int(syn_ack[2]) == iss
        and int(syn_ack[3]) == (client_isn + 1) % 2**32
    )
    assert (
        ack[0] == KERNEL
        and int(ack[2]) == (client_isn + 1) % 2**32
        and int(ack[3]) == (iss + 1) % 2**32
    )
    bad = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-Y",
            "_ws.malformed or tcp.checksum.status == 0 or ip.checksum.status == 0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert bad == "", bad
    assert len(rows) >= 10  # handshake, 10 kB each way, both FINs

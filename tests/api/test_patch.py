"""``synack.patch``: what it routes to synack, what it leaves to the kernel, and readiness."""

from __future__ import annotations

import errno
import select
import selectors
import socket
import ssl

import pytest

import synack
from synack.api import socket as ssock
from synack.api.patch import patched_stack
from synack.api.tls import TLSSocket
from tests.api.conftest import SERVER

pytestmark = pytest.mark.timeout(60)


def test_tcp_sockets_go_to_synack_and_everything_else_stays_on_the_kernel(
    stacks: tuple[ssock.Stack, ssock.Stack],
) -> None:
    client_stack, _ = stacks
    original = socket.socket
    with synack.patch(client_stack) as stack:
        assert patched_stack() is stack
        tcp = socket.socket()
        assert isinstance(tcp, ssock.socket) and tcp.stack is stack
        assert isinstance(tcp, socket.socket)  # isinstance checks keep working
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        unix_a, unix_b = socket.socketpair()
        assert type(udp) is original and type(unix_a) is original
        assert isinstance(udp, socket.socket)
        # IP literals are answered without a resolver.
        infos = socket.getaddrinfo(SERVER, 80, type=socket.SOCK_STREAM)
        assert infos[0][4] == (SERVER, 80) and infos[0][2] == socket.IPPROTO_TCP
        for s in (tcp, udp, unix_a, unix_b):
            s.close()
    assert socket.socket is original and patched_stack() is None


def test_readiness_for_writing_through_selectors_select_and_poll(
    stacks: tuple[ssock.Stack, ssock.Stack], echo_server: ssock.socket
) -> None:
    with synack.patch(stacks[0]):
        sock = socket.socket()
        sock.setblocking(False)
        assert sock.connect_ex((SERVER, 7)) == errno.EINPROGRESS
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_WRITE, "data")
            ((key, events),) = sel.select(10)
            assert key.fileobj is sock and key.data == "data" and events == selectors.EVENT_WRITE
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            sel.modify(sock, selectors.EVENT_READ)
            assert sel.select(0) == []  # nothing to read yet
            sock.send(b"hi")
            ((key, events),) = sel.select(10)
            assert events == selectors.EVENT_READ
            assert sock.recv(10) == b"hi"
            assert sel.get_map()[sock] is key
            sel.unregister(sock)
        _, w, _ = select.select([], [sock], [], 10)
        assert w == [sock]
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLOUT)
        assert poller.poll(10_000) == [(sock.fileno(), select.POLLOUT)]
        sock.close()


def test_ssl_wrap_socket_wraps_synack_sockets(stacks: tuple[ssock.Stack, ssock.Stack]) -> None:
    ctx = ssl.create_default_context()
    with synack.patch(stacks[0]):
        raw = socket.socket()
        wrapped = ctx.wrap_socket(raw, server_hostname=SERVER)  # not connected yet
        assert isinstance(wrapped, TLSSocket)
        wrapped.close()
        kernel = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(NotImplementedError, match="stream sockets"):
            ctx.wrap_socket(kernel, server_hostname=SERVER)  # ssl's own kernel path, as before
        kernel.close()


def test_run_program_runs_python_command_lines_with_the_patch(
    stacks: tuple[ssock.Stack, ssock.Stack],
    tmp_path: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from synack.api.patch import run_program

    code = "import socket, sys; print(type(socket.socket()).__module__, sys.argv[1:]); sys.exit(3)"
    assert run_program(stacks[0], ["python3", "-c", code, "a", "b"]) == 3
    assert capsys.readouterr().out == "synack.api.socket ['a', 'b']\n"
    assert socket.socket.__module__ == "socket"  # restored afterwards
    assert run_program(stacks[0], ["-m", "no_such_module_here"]) == 1
    assert run_program(stacks[0], ["python", "/no/such/script.py"]) == 2
    assert "can't open file" in capsys.readouterr().err
    assert run_program(stacks[0], ["-c", "raise KeyError('boom')"]) == 1  # traceback, status 1
    assert "KeyError: 'boom'" in capsys.readouterr().err
    # Ctrl-C: Python prints the KeyboardInterrupt traceback; the status is 128 + SIGINT.
    assert run_program(stacks[0], ["-c", "raise KeyboardInterrupt"]) == 130
    assert capsys.readouterr().err.endswith("KeyboardInterrupt\n")
    with pytest.raises(ValueError, match="no program"):
        run_program(stacks[0], ["python"])


def test_synack_run_without_a_program_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from synack.cli import main

    assert main(["run", "--tap", "tap9"]) == 2
    assert "no program" in capsys.readouterr().err

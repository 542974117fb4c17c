"""The CLI's netns and connect commands, and synack on a TUN device (IP without Ethernet)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from synack.api import aio
from synack.api import socket as ssock
from synack.api.apps import echo_handler
from synack.link.netns import NetnsLab, netns_exists
from synack.wire.gso import MAX_TSO
from tests.interop.helpers import in_ns, running, synack_argv

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

KERNEL_UPPER_ECHO = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print('listening', flush=True)
c, _ = s.accept()
while d := c.recv(100):
    c.sendall(d.upper())
c.close()
"""


def test_netns_up_and_down_commands() -> None:
    name = f"synack-cli{os.getpid()}"
    synack = [sys.executable, "-m", "synack", "netns"]
    try:
        up = subprocess.run([*synack, "up", name], capture_output=True, text=True, timeout=30)
        assert up.returncode == 0, up.stderr
        assert f"namespace {name}: tap0 with kernel address 10.0.0.1/24, fd00::1/64" in up.stdout
        assert netns_exists(name)
        addrs = subprocess.run(
            ["ip", "-n", name, "addr", "show", "tap0"], capture_output=True, text=True
        )
        assert "10.0.0.1/24" in addrs.stdout
        assert "fd00::1/64" in addrs.stdout
        again = subprocess.run([*synack, "up", name], capture_output=True, text=True, timeout=30)
        assert again.returncode == 1
        assert "exists already" in again.stderr
    finally:
        down = subprocess.run([*synack, "down", name], capture_output=True, text=True, timeout=30)
    assert down.returncode == 0, down.stderr
    assert not netns_exists(name)


def test_connect_pipes_stdin_and_stdout(lab_tap: NetnsLab) -> None:
    lab = lab_tap
    with running(
        in_ns(lab, sys.executable, "-c", KERNEL_UPPER_ECHO, "10.0.0.1", "7"), "upper echo"
    ) as kernel:
        kernel.expect("listening")
        result = subprocess.run(
            synack_argv(lab, "connect", "10.0.0.1:7", "-q"),
            input=b"hello kernel\n",
            capture_output=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"HELLO KERNEL\n"


@pytest.mark.parametrize("offload", [False, True], ids=["plain", "offload"])
def test_synack_on_a_tun_device(lab: NetnsLab, offload: bool) -> None:
    lab.tap = "tun0"
    lab.kernel_addrs = ("10.0.1.1/24",)
    stack = ssock.Stack.tap("tun0", ["10.0.1.5/24"], netns=lab.name, kind="tun", offloads=offload)
    try:
        # With TSO on the device the link asks the core for super-segments (the echo below).
        assert stack.runtime.link.tso_max == (MAX_TSO if offload else 0)
        lab.configure()

        async def start() -> aio.Server:
            return await aio.start_server(echo_handler(), port=7, runtime=stack.runtime)

        stack.run(start(), 10)
        ping = lab.run(["ping", "-c", "2", "-i", "0.2", "-W", "5", "10.0.1.5"], timeout=30)
        assert "2 received" in ping.stdout, ping.stdout + ping.stderr
        script = (
            "import socket; s = socket.create_connection(('10.0.1.5', 7), timeout=20); "
            "data = bytes(range(256)) * 2000; s.sendall(data); s.shutdown(socket.SHUT_WR); "
            "got = b''.join(iter(lambda: s.recv(65536), b'')); print(got == data, len(got))"
        )
        echo = lab.run([sys.executable, "-c", script], timeout=60)
        assert echo.stdout.strip() == "True 512000", echo.stdout + echo.stderr
        with pytest.raises(ConnectionRefusedError):
            ssock.create_connection(("10.0.1.1", 9), timeout=20, stack=stack)
    finally:
        stack.close()

"""The APIs' lifecycle against the kernel: device offloads after the CLI, no data lost at exit.

Findings 1 and 2 of issue 10: README's Python examples work in any order after
CLI commands on the same TAP (opening a device always sets its offloads to what
this process handles, with one default for the CLI and the APIs), and a program
that leaves ``with Stack(...)`` right after ``sendall()``, or ends
``asyncio.run()`` with ``runtime.close()``, delivers everything to the kernel.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synack import aio
from synack import socket as ssock
from synack.link.netns import NetnsLab
from tests.interop.conftest import KERNEL
from tests.interop.helpers import KERNEL_SINK, in_ns, running, synack_argv

pytestmark = [pytest.mark.netns, pytest.mark.timeout(240)]

ADDRS = ["10.0.0.5/24", "fd00::5/64"]
PAYLOAD = hashlib.shake_256(b"no data lost").digest(5_000_000)

# KERNEL_SINK with a slow start: the sender's program ends long before it is done.
SLOW_SINK = KERNEL_SINK.replace("conn, _ = srv.accept()", "conn, _ = srv.accept(); time.sleep(1)")
SLOW_SINK = SLOW_SINK.replace("import hashlib,", "import time, hashlib,")


def _socket_example(lab: NetnsLab, offloads: bool | None = None) -> bytes:
    """README's socket example (a GET of hello.txt), with the given device options."""
    with (
        ssock.Stack.tap(lab.tap, ADDRS, netns=lab.name, **_options(offloads)) as stack,
        ssock.create_connection((KERNEL, 8000), timeout=10, stack=stack) as sock,
    ):
        sock.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
        with sock.makefile("rb") as f:
            data: bytes = f.read()
            return data


def _options(offloads: bool | None) -> dict[str, Any]:
    """README's call as written (no offloads argument), or with ``offloads=``."""
    return {} if offloads is None else {"offloads": offloads}


def _aio_example(lab: NetnsLab, offloads: bool | None = None) -> bytes:
    """README's asyncio example."""

    async def main() -> bytes:
        runtime = aio.open_tap_runtime(
            tap=lab.tap,
            addrs=ADDRS,
            netns=lab.name,
            loop=asyncio.get_running_loop(),
            **_options(offloads),
        )
        try:
            reader, writer = await asyncio.wait_for(
                aio.open_connection(KERNEL, 8000, runtime=runtime), 10
            )
            writer.write(b"GET /hello.txt HTTP/1.0\r\n\r\n")
            return await asyncio.wait_for(reader.read(), 10)
        finally:
            runtime.close()

    return asyncio.run(main())


def _cli_get(lab: NetnsLab, *options: str) -> str:
    result = subprocess.run(
        synack_argv(lab, "get", "http://10.0.0.1:8000/hello.txt", *options),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "hello from the kernel\n"  # the body goes to stdout, as with curl
    return result.stderr  # and the summary line to stderr


def test_readme_examples_work_in_any_order_after_cli_commands(
    lab_tap: NetnsLab, tmp_path: Path
) -> None:
    lab = lab_tap
    (tmp_path / "hello.txt").write_text("hello from the kernel\n")
    server = in_ns(
        lab, sys.executable, "-u", "-m", "http.server", "8000", "--bind", KERNEL,
        "--directory", str(tmp_path),
    )  # fmt: skip
    with running(server, "http.server") as k:
        k.expect("Serving HTTP")
        assert "HTTP 200" in _cli_get(lab)  # the CLI leaves checksum offload and TSO on
        for example in (_socket_example, _aio_example):
            assert example(lab).endswith(b"hello from the kernel\n")  # the shared default
            assert example(lab, offloads=False).endswith(b"hello from the kernel\n")
            assert "HTTP 200" in _cli_get(lab)
        assert "HTTP 200" in _cli_get(lab, "--no-offload")  # after offloads were on
        assert _socket_example(lab).endswith(b"hello from the kernel\n")
        assert "HTTP 200" in _cli_get(lab, "--no-offload")


# A program that never closes its stack nor its socket: the interpreter's exit does.
NO_CLOSE_PROGRAM = """
import hashlib, sys
from synack import socket
stack = socket.Stack.tap(sys.argv[1], ["10.0.0.5/24"], netns=sys.argv[2])
sock = socket.create_connection(("10.0.0.1", 9000), timeout=10, stack=stack)
sock.sendall(hashlib.shake_256(b"no data lost").digest(5_000_000))
"""


@pytest.mark.parametrize("api", ["socket", "asyncio", "interpreter-exit"])
def test_program_end_right_after_sending_delivers_everything_to_the_kernel(
    lab_tap: NetnsLab, api: str
) -> None:
    lab = lab_tap
    with running(in_ns(lab, sys.executable, "-c", SLOW_SINK, KERNEL, "9000"), "sink") as k:
        k.expect("listening")
        if api == "interpreter-exit":
            done = subprocess.run(
                [sys.executable, "-c", NO_CLOSE_PROGRAM, lab.tap, lab.name],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
        elif api == "socket":
            with (
                ssock.Stack.tap(lab.tap, ADDRS, netns=lab.name) as stack,
                ssock.create_connection((KERNEL, 9000), timeout=10, stack=stack) as sock,
            ):
                sock.sendall(PAYLOAD)
        else:

            async def main() -> None:
                runtime = aio.open_tap_runtime(
                    tap=lab.tap, addrs=ADDRS, netns=lab.name, loop=asyncio.get_running_loop()
                )
                _reader, writer = await aio.open_connection(KERNEL, 9000, runtime=runtime)
                writer.write(PAYLOAD)
                writer.close()
                await writer.wait_closed()
                runtime.close()

            asyncio.run(main())
        line = k.expect("", timeout=30)
    assert line == f"{len(PAYLOAD)} {hashlib.sha256(PAYLOAD).hexdigest()}"

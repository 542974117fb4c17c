"""``synack run``: a program ends as it ends under Python, and its data reaches the kernel.

After the main module, the interpreter waits for the program's non-daemon
threads (and lets ``concurrent.futures`` finish its jobs), then runs its
``atexit`` handlers, with sockets still working; SIGTERM kills a process, and
the kernel then closes its sockets (a FIN after the data written). Each
program here is run with ``synack run`` in a namespace this test creates; a
kernel server counts what each connection delivered and how it ended. About
10 s.
"""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import pytest

from synack.link.netns import NetnsLab
from tests.interop.conftest import KERNEL
from tests.interop.helpers import Proc, env_without_proxies, in_ns, running, synack_argv

pytestmark = [pytest.mark.netns, pytest.mark.timeout(180)]

# The kernel's side: for each connection, one line "got N eof" (or "got N reset").
KERNEL_SINK = """
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 9100)); s.listen(8); print('listening', flush=True)
def sink(c):
    n = 0
    try:
        while d := c.recv(65536):
            n += len(d)
        end = 'eof'
    except ConnectionResetError:
        end = 'reset'
    sys.stdout.write(f'got {n} {end}\\n')  # one write: print() writes word by word, and threads interleave
while True:
    threading.Thread(target=sink, args=(s.accept()[0],)).start()
"""

THREADS_AND_ATEXIT = """
import atexit, socket, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

def send(n, delay=0.0):
    time.sleep(delay)
    with socket.create_connection((sys.argv[1], 9100), timeout=20) as s:
        s.sendall(b"x" * n)

threading.Thread(target=send, args=(200_000, 0.5)).start()  # not a daemon: Python waits
ThreadPoolExecutor(2).submit(send, 3_000, 0.5)               # never shut down: Python waits too
atexit.register(send, 6)                                      # after the threads
print("main done", flush=True)
"""

KILLED = """
import socket, sys, time
s = socket.create_connection((sys.argv[1], 9100), timeout=20)
s.sendall(b"y" * 100_000)
print("sent", flush=True)
time.sleep(60)
"""


def _program(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "program.py"
    path.write_text(textwrap.dedent(text))
    return path


def _synack_run(lab: NetnsLab, program: Path) -> Proc:
    argv = synack_argv(lab, "run", "-q", "--", sys.executable, str(program), KERNEL)
    return Proc(argv, "synack run", env={**env_without_proxies(), "PYTHONUNBUFFERED": "1"})


def _results(sink: Proc, count: int) -> list[str]:
    return sorted(sink.expect("got ", timeout=30) for _ in range(count))


def test_threads_and_atexit_handlers_still_talk_after_the_main_module(
    lab_tap: NetnsLab, tmp_path: Path
) -> None:
    program = _program(tmp_path, THREADS_AND_ATEXIT)
    with running(in_ns(lab_tap, sys.executable, "-u", "-c", KERNEL_SINK, KERNEL), "sink") as sink:
        sink.expect("listening")
        run = _synack_run(lab_tap, program)
        run.expect("main done")
        assert run.wait(60) == 0, run.stderr
        assert run.stderr == ""
        assert _results(sink, 3) == ["got 200000 eof", "got 3000 eof", "got 6 eof"]


def test_sigterm_closes_the_connections_as_the_kernel_would(
    lab_tap: NetnsLab, tmp_path: Path
) -> None:
    program = _program(tmp_path, KILLED)
    with running(in_ns(lab_tap, sys.executable, "-u", "-c", KERNEL_SINK, KERNEL), "sink") as sink:
        sink.expect("listening")
        run = _synack_run(lab_tap, program)
        run.expect("sent")
        run.proc.send_signal(signal.SIGTERM)
        assert run.wait(30) == -signal.SIGTERM  # killed by it, as Python would be
        # The kernel got everything that was sent, then a FIN (not a connection
        # left open until the kernel gives up on it).
        assert _results(sink, 1) == ["got 100000 eof"]

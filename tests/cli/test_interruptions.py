"""Signals and closed streams: SIGTERM is an interruption like Ctrl-C, at any moment, with clean-up.

README promises status 130 for Ctrl-C *or* SIGTERM, one line on stderr, and
nothing left behind. The commands on an event loop (get, send, serve, connect)
are covered in tests/interop/test_cli_ux.py; here are the others: a command
interrupted before it starts, a simulation stopped by SIGTERM, and above all
``packetdrill --linux``, which creates network namespaces (one per script, in
worker processes with ``--jobs``): stopped by SIGTERM (``kill``, ``timeout``) or
by a terminal's Ctrl-C (SIGINT to the whole process group), it must delete every
namespace and leave no worker running. Also: stdout closed (``>&-``) is a
one-line failure, not a traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synack.cli import main

# A server that sits in LISTEN for a minute: the run is stopped long before.
LONG_SCRIPT = """\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+60 close(3) = 0
"""


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``synack ARGV`` in this process: (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, err.getvalue()


def test_ctrl_c_before_the_command_starts_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C while the command's modules are still being imported (the parser is
    # built from them): status 130 and one line, not an ImportError traceback.
    import synack.cli.program as program

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(program, "build_parser", interrupted)
    assert run_cli(["get", "--tap", "tap0", "http://10.0.0.1/"]) == (
        130,
        "synack get: interrupted\n",
    )


def test_sigterm_interrupts_a_simulation_and_the_handler_is_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import synack.cli.sim as sim

    def terminated(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` while the simulation runs
        time.sleep(5)  # the handler interrupts this

    monkeypatch.setattr(sim, "run_transfer", terminated)
    before = signal.getsignal(signal.SIGTERM)
    assert run_cli(["sim", "--bytes", "1M"]) == (130, "synack sim: interrupted\n")
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_closed_stdout_is_a_one_line_failure() -> None:
    # `synack handshake >&-`: descriptor 1 is closed when synack starts.
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" -m synack handshake >&-', sys.executable],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr == "synack handshake: cannot write to standard output: it is closed\n"


# ------------------------------------------------------------ packetdrill --linux


def _netns() -> set[str]:
    return set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _namespaces_of(pids: set[int]) -> set[str]:
    """The namespaces the runner made in these processes (``synack-pd-PID-N``)."""
    return {n for n in _netns() for pid in pids if n.startswith(f"synack-pd-{pid}-")}


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.netns
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("how", "jobs"),
    [("sigterm", 1), ("ctrl-c", 1), ("sigterm", 2), ("ctrl-c", 2)],
    ids=["sigterm", "ctrl-c", "sigterm-jobs2", "ctrl-c-jobs2"],
)
def test_an_interrupted_linux_run_deletes_its_namespaces(
    how: str, jobs: int, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.fail("--linux runs need root (CI runs as root)")
    scripts = []
    for n in range(jobs):
        scripts.append(tmp_path / f"long{n}.pkt")
        scripts[-1].write_text(LONG_SCRIPT)
    argv = [sys.executable, "-m", "synack", "packetdrill", "--linux", "-j", str(jobs)]
    # Its own session, as a shell job: Ctrl-C is then SIGINT to its process group.
    proc = subprocess.Popen(
        [*argv, *map(str, scripts)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        runners = {proc.pid}

        def started() -> bool:
            if jobs > 1:
                runners.update(_children(proc.pid))
            # Every script is running: each has its namespace.
            return len(_namespaces_of(runners)) >= jobs

        _wait_for(started, 120, "the scripts' namespaces")
        workers = runners - {proc.pid}
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)  # to synack alone, as `kill` or `timeout` do
        else:
            os.killpg(proc.pid, signal.SIGINT)  # to every process of the group
        start = time.monotonic()
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - start
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 130, err
    assert err == "synack packetdrill: interrupted\n"
    assert took < 20  # not after the scripts' minute
    assert _namespaces_of(runners) == set()
    for pid in workers:  # no worker goes on with another script
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _state(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    return "Z"

"""The TAP commands as a curl or iperf3 user expects them, against the kernel in a test namespace.

Issue 11's items that need real packets: the body of ``get`` on stdout, ``-O``,
an address without a prefix, reason phrases from ``serve http``, an
unreachable neighbour reported in about 3 s, ``--connect-timeout`` and
``--max-time``, Ctrl-C (a real SIGINT) with a summary and the connection closed
as the kernel would, a TAP that did not exist, a TAP in use, ``netns up``
errors, and the progress bar on a terminal only.
"""

from __future__ import annotations

import errno
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from synack.link.device import TunTapDevice
from synack.link.netns import NetnsLab, netns_exists
from synack.trace.pcap import read_pcap
from tests.interop.helpers import env_without_proxies, in_ns, running, synack_argv

pytestmark = [pytest.mark.netns, pytest.mark.timeout(180)]

TEXT = "hello from the kernel\n"
BINARY = bytes(range(256)) * 64  # every byte value, NUL included
BIG = 4_000_000_000  # a sparse file: more than any test lets through

# A kernel-side sink that says when data starts to arrive ("receiving") and how
# the connection ended: "eof N" or "reset N".
KERNEL_SINK_REPORT = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print('listening', flush=True)
c, _ = s.accept(); print('accepted', flush=True)
n = 0
try:
    while d := c.recv(1 << 20):
        if not n:
            print('receiving', flush=True)
        n += len(d)
    print('eof', n, flush=True)
except ConnectionResetError:
    print('reset', n, flush=True)
"""


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


@contextmanager
def http_server(lab: NetnsLab, root: Path) -> Iterator[None]:
    """``python -m http.server`` on 10.0.0.1:8000 in the namespace, serving ``root``."""
    argv = in_ns(
        lab, sys.executable, "-u", "-m", "http.server", "8000", "--bind", "10.0.0.1",
        "--directory", str(root),
    )  # fmt: skip
    with running(argv, "http.server") as server:
        server.expect("Serving HTTP")
        yield


@pytest.fixture
def www(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "hello.txt").write_text(TEXT)
    (root / "bytes.bin").write_bytes(BINARY)
    with (root / "big.bin").open("wb") as f:
        f.truncate(BIG)
    return root


def synack(lab: NetnsLab, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        synack_argv(lab, *args), capture_output=True, timeout=120, **kwargs
    )


def test_get_writes_the_body_to_stdout_or_where_asked(
    lab_tap: NetnsLab, www: Path, tmp_path: Path
) -> None:
    lab = lab_tap
    with http_server(lab, www):
        # The default, like curl: the body on stdout; with -q nothing else.
        done = synack(lab, "get", "-q", "http://10.0.0.1:8000/hello.txt")
        assert (done.returncode, done.stdout, done.stderr) == (0, TEXT.encode(), b"")
        # -o - is stdout too, binary-safe; the summary goes to stderr then.
        done = synack(lab, "get", "-q", "-o", "-", "http://10.0.0.1:8000/bytes.bin")
        assert done.returncode == 0
        assert done.stdout == BINARY
        # -O: a file named as the URL's last path segment, here; the summary on stdout.
        here = tmp_path / "here"
        here.mkdir()
        done = synack(lab, "get", "-q", "-O", "http://10.0.0.1:8000/bytes.bin", cwd=here)
        assert done.returncode == 0, done.stderr
        assert (here / "bytes.bin").read_bytes() == BINARY
        assert done.stdout.decode().startswith(f"HTTP 200: {len(BINARY)} bytes")
        # An address without a prefix gets /24, so the kernel at 10.0.0.1 is on-link.
        argv = synack_argv(lab, "get", "-q", "http://10.0.0.1:8000/hello.txt")
        i = argv.index("10.0.0.5/24")
        argv[i] = "10.0.0.5"
        done = subprocess.run(argv, capture_output=True, timeout=120)
        assert (done.returncode, done.stdout) == (0, TEXT.encode()), done.stderr
        # Binary data is not poured onto a terminal unless asked for (as curl does).
        master, slave = pty.openpty()
        try:
            done = subprocess.run(
                synack_argv(lab, "get", "-q", "http://10.0.0.1:8000/bytes.bin"),
                stdout=slave,
                stderr=subprocess.PIPE,
                timeout=120,
            )
        finally:
            os.close(slave)
            os.close(master)
        assert done.returncode == 1
        assert done.stderr.decode().startswith("synack get: the body is binary: not writing it")
        # A 404 is a failure: status 1 and one line saying so.
        done = synack(lab, "get", "-q", "http://10.0.0.1:8000/missing")
        assert done.returncode == 1
        assert done.stderr.decode().startswith("HTTP 404: ")
        assert done.stderr.count(b"\n") == 1


def test_serve_http_status_lines_have_reason_phrases(lab_tap: NetnsLab, www: Path) -> None:
    lab = lab_tap
    argv = synack_argv(lab, "serve", "--port", "80", "--max-connections", "2", "http", str(www))
    with running(argv, "synack serve") as server:
        server.expect("synack: serving http")
        for path, status_line in (
            ("hello.txt", "HTTP/1.1 200 OK"),
            ("nope", "HTTP/1.1 404 Not Found"),
        ):
            curl = lab.run(
                [
                    "curl",
                    "--noproxy",
                    "*",
                    "-sS",
                    "-i",
                    "--max-time",
                    "30",
                    f"http://10.0.0.5/{path}",
                ],
                timeout=60,
                env=env_without_proxies(),
            )
            assert curl.stdout.splitlines()[0] == status_line, curl.stdout + curl.stderr
        assert server.wait(30) == 0


def test_an_unreachable_neighbour_is_reported_in_about_three_seconds(lab_tap: NetnsLab) -> None:
    # Nobody answers ARP for 10.0.0.99: like the kernel, "No route to host" after
    # three requests one second apart, not after every SYN retransmission.
    start = time.monotonic()
    done = synack(lab_tap, "get", "-q", "http://10.0.0.99/")
    elapsed = time.monotonic() - start
    assert done.returncode == 1
    assert done.stderr.decode() == (
        "synack get: cannot connect to 10.0.0.99:80: No route to host (host_unreachable)\n"
    )
    assert elapsed < 30, elapsed  # about 3 s, plus start-up on a loaded machine


def test_connect_timeout_gives_up_on_the_connection_alone(lab_tap: NetnsLab) -> None:
    # Every packet to synack is lost (ARP replies too): --connect-timeout 1 fires
    # before the neighbour cache gives up (3 s).
    start = time.monotonic()
    done = synack(
        lab_tap, "get", "-q", "--connect-timeout", "1", "--impair-in", "loss=100%",
        "http://10.0.0.1:8000/",
    )  # fmt: skip
    elapsed = time.monotonic() - start
    assert done.returncode == 1
    assert last_line(done.stderr.decode()) == (
        "synack get: cannot connect to 10.0.0.1:8000 within 1 s (--connect-timeout)"
    )
    assert elapsed < 30, elapsed


def test_max_time_bounds_the_whole_transfer(lab_tap: NetnsLab, www: Path) -> None:
    with http_server(lab_tap, www):
        done = synack(
            lab_tap, "get", "-q", "--max-time", "2", "-o", "/dev/null",
            "http://10.0.0.1:8000/big.bin",
        )  # fmt: skip
    assert done.returncode == 1
    line = done.stderr.decode()
    assert re.fullmatch(
        rf"synack get: gave up after 2 s \(--max-time\): received [\d,]+ of {BIG:,} bytes "
        r"in [\d.]+ s \(.*\)\n",
        line,
    ), line


def _interrupt(
    proc: subprocess.Popen[bytes], ready: bytes, until: Callable[[], bool]
) -> tuple[int, str]:
    """Wait for ``ready`` on the process's stderr, then for ``until()``; send SIGINT.

    Conditions, not delays: on a loaded machine a second after start-up may
    still be before the first byte.
    """
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 60
    while ready not in seen and time.monotonic() < deadline:
        r, _, _ = select.select([proc.stderr], [], [], 1)
        if r:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
    assert ready in seen, seen
    deadline = time.monotonic() + 60
    while not until():
        assert proc.poll() is None, seen
        assert time.monotonic() < deadline, f"the condition never held: {seen!r}"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, (seen + err).decode()


def _watches_stdin(pid: int) -> bool:
    """Whether an epoll set of process ``pid`` watches its stdin (fd 0): asyncio's reader."""
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        with suppress(OSError):
            if re.search(r"^tfd:\s+0\s", info.read_text(), re.MULTILINE):
                return True
    return False


def test_ctrl_c_stops_get_with_a_summary_and_resets_the_connection(
    lab_tap: NetnsLab, www: Path, tmp_path: Path
) -> None:
    pcap, body = tmp_path / "get.pcap", tmp_path / "body"
    with http_server(lab_tap, www):
        argv = synack_argv(
            lab_tap, "get", "-o", str(body), "--no-offload", "--pcap", str(pcap),
            "http://10.0.0.1:8000/big.bin",
        )  # fmt: skip
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Once the body flows, the response's length is known: "received N of M bytes".
        status, err = _interrupt(
            proc, b"synack: tap tap0", lambda: body.exists() and body.stat().st_size > 0
        )
    assert status == 130, err
    assert re.fullmatch(
        rf"synack get: interrupted: received [\d,]+ of {BIG:,} bytes in [\d.]+ s \(.*\)",
        last_line(err),
    ), err
    assert "Traceback" not in err
    # The rest of the body will never be read: synack resets the connection, as
    # the kernel does when a socket with unread data is closed (RFC 1122 4.2.2.13).
    _, frames = read_pcap(pcap)
    flags_out = [
        frame[14 + (frame[14] & 0x0F) * 4 + 13]
        for _, frame in frames
        if frame[12:14] == b"\x08\x00" and frame[23] == 6 and frame[26:30] == bytes([10, 0, 0, 5])
    ]
    assert any(f & 0x04 for f in flags_out), "no RST from synack"


def test_ctrl_c_stops_send_with_a_summary_and_the_kernel_is_not_left_hanging(
    lab_tap: NetnsLab,
) -> None:
    sink = in_ns(lab_tap, sys.executable, "-u", "-c", KERNEL_SINK_REPORT, "10.0.0.1", "9001")
    with running(sink, "kernel sink") as kernel:
        kernel.expect("listening")
        argv = synack_argv(lab_tap, "send", "10.0.0.1:9001", "--bytes", "100G")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        kernel.expect("receiving", timeout=60)
        status, err = _interrupt(proc, b"synack: tap tap0", lambda: True)
        assert status == 130, err
        assert re.fullmatch(
            r"synack send: interrupted: sent [\d,]+ of 100,000,000,000 bytes in [\d.]+ s \(.*\)",
            last_line(err),
        ), err
        # The kernel's socket ends (FIN, or RST for what could not be sent in time).
        ended = kernel.expect("", timeout=30)
        assert ended.split()[0] in ("eof", "reset"), ended


def test_ctrl_c_while_connect_waits_for_stdin(lab_tap: NetnsLab) -> None:
    # Once a thread blocked reading stdin made Python abort at exit (SIGABRT,
    # "Fatal Python error: _enter_buffered_busy"). Now: status 130, one line, and
    # the kernel sees the connection closed with a FIN.
    sink = in_ns(lab_tap, sys.executable, "-u", "-c", KERNEL_SINK_REPORT, "10.0.0.1", "7")
    with running(sink, "kernel sink") as kernel:
        kernel.expect("listening")
        argv = synack_argv(lab_tap, "connect", "10.0.0.1:7")
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        status, err = _interrupt(
            proc, b"synack: connected to 10.0.0.1:7", lambda: _watches_stdin(proc.pid)
        )
        assert status == 130, err
        assert "Fatal Python error" not in err
        assert last_line(err) == "synack connect: interrupted: sent 0 bytes, received 0 bytes"
        assert kernel.expect("eof", timeout=30) == "eof 0"


def test_a_tap_that_did_not_exist_is_made_and_the_failure_is_quick(lab: NetnsLab) -> None:
    # The namespace has no TAP: synack creates one (down, no kernel address), says
    # so, and reports the unreachable peer instead of EIO tracebacks; the device
    # goes when synack exits.
    argv = [
        sys.executable, "-m", "synack", "send", "--netns", lab.name, "--tap", "newtap",
        "--addr", "10.0.0.5/24", "10.0.0.1:9",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith("synack: created TAP device newtap; it is down"), done.stderr
    assert (
        lines[-1]
        == "synack send: cannot connect to 10.0.0.1:9: No route to host (host_unreachable)"
    )
    assert "Traceback" not in done.stderr and "Future exception" not in done.stderr
    gone = subprocess.run(["ip", "-n", lab.name, "link", "show", "newtap"], capture_output=True)
    assert gone.returncode != 0


def test_a_tap_in_use_is_named_as_such(lab_tap: NetnsLab) -> None:
    with TunTapDevice(lab_tap.tap, netns=lab_tap.name, offloads=True):
        done = synack(lab_tap, "send", "10.0.0.1:9")
    assert done.returncode == 1
    assert done.stderr.decode() == (
        "synack send: tap0 is in use by another process (one process per TAP device)\n"
    )


def test_netns_up_says_why_it_failed_and_leaves_nothing(tmp_path: Path) -> None:
    name = f"synack-ux{os.getpid()}"
    argv = [
        sys.executable, "-m", "synack", "netns", "up", name,
        "--kernel-addr", "10.0.0.1/24", "--kernel-addr", "10.0.0.1/24",
    ]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert done.stderr.startswith(f"synack netns: cannot add 10.0.0.1/24 to tap0 in {name}: ")
        assert done.stderr.count("\n") == 1
        assert " ip " not in done.stderr and "-n " not in done.stderr  # the reason, not the command
        assert not netns_exists(name)
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def _stderr_through(argv: list[str], *, tty: bool) -> bytes:
    """Run ``argv`` with stderr on a pseudo-terminal (or a pipe); return what it wrote there."""
    if not tty:
        return subprocess.run(argv, capture_output=True, timeout=120).stderr
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError as exc:  # EIO: the other end has closed
            if exc.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(60) == 0, out
    return out


def test_a_progress_bar_on_a_terminal_only(lab_tap: NetnsLab) -> None:
    sink = in_ns(lab_tap, sys.executable, "-u", "-c", KERNEL_SINK_REPORT, "10.0.0.1", "9002")
    argv = synack_argv(lab_tap, "send", "10.0.0.1:9002", "--bytes", "300M")
    with running(sink, "kernel sink") as kernel:
        kernel.expect("listening")
        on_tty = _stderr_through(argv, tty=True)
        kernel.expect("eof", timeout=30)
    assert "━".encode() in on_tty and b"MB/s" in on_tty, on_tty[-2000:]
    with running(sink, "kernel sink") as kernel:
        kernel.expect("listening")
        on_pipe = _stderr_through(argv, tty=False)
        kernel.expect("eof", timeout=30)
    assert "━".encode() not in on_pipe and b"MB/s" not in on_pipe, on_pipe


KERNEL_SHORT_BODY = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print('listening', flush=True)
c, _ = s.accept()
c.recv(65536)
c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: 1000\\r\\n\\r\\n' + b'x' * 10)
c.close()
"""


def test_a_body_cut_short_is_a_failure(lab_tap: NetnsLab) -> None:
    server = in_ns(lab_tap, sys.executable, "-u", "-c", KERNEL_SHORT_BODY, "10.0.0.1", "8080")
    with running(server, "short body") as kernel:
        kernel.expect("listening")
        done = synack(lab_tap, "get", "-q", "-o", "/dev/null", "http://10.0.0.1:8080/")
    assert done.returncode == 1
    err = done.stderr.decode()
    assert err.startswith("synack get: bad HTTP response: "), err
    assert "(received 10 of 1,000 bytes" in err
    assert err.count("\n") == 1

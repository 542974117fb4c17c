"""A careless user's mistakes: each is one line on stderr, the right exit status, and nothing left behind.

The table holds the mistakes of issue 11 (and a few more). Each row runs the
command in-process and checks: exit status 2 for a usage error or 1 for a
failure, exactly one line on stderr that names the problem, no traceback, and
no network namespace, network device or child process left behind (looking
only at the names the command gives, so that other test runs on the machine do
not count). None of them sends a packet: every one is refused before a device
is opened.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from synack.cli import main
from synack.link.netns import in_netns, netns_exists

TAP = ["--tap", "tap0"]
GET = ["get", *TAP]
SEND = ["send", *TAP]
URL = "http://10.0.0.1/"
RUN = ["run", *TAP, "--linger"]
PROGRAM = ["--", "python", "-c", "pass"]
PKT = str(Path(__file__).parents[1] / "packetdrill" / "options" / "timestamps-echo.pkt")
NO_DIR = "cannot write /nonexistent/x: no directory /nonexistent"

# (argv, exit status, what the one line must say)
CASES: list[tuple[list[str], int, str]] = [
    # Addresses, ports and URLs.
    ([*GET, "--addr", "banana", URL], 2, "--addr: not an address"),
    ([*GET, "--addr", "10.0.0.5/99", URL], 2, "--addr: not an address"),
    ([*GET, "--gateway", "banana", URL], 2, "--gateway: not an IP address"),
    ([*SEND, "10.0.0.1:0"], 2, "a port is 1 to 65535, got '0'"),
    ([*SEND, "10.0.0.1:70000"], 2, "a port is 1 to 65535, got '70000'"),
    ([*SEND, "10.0.0.1"], 2, "expected ADDRESS:PORT"),
    ([*SEND, "fd00::1:80"], 2, "IPv6 address in brackets"),
    (["serve", *TAP, "--port", "70000", "echo"], 2, "a port is 1 to 65535"),
    (["serve", *TAP, "--port", "-1", "echo"], 2, "--port"),
    ([*GET, "ftp://10.0.0.1/x"], 2, "ftp:// URLs are not supported"),
    ([*GET, "notaurl"], 2, "URLs without http:// are not supported"),
    ([*GET, "http://h:99999/"], 2, "a port is 1 to 65535"),
    ([*GET, "http://example.com/"], 2, "synack has no DNS"),
    ([*GET, "http://[fd00::1]/"], 2, "no IPv6 address: add --addr fd00::5/64"),
    ([*SEND, "--addr", "fd00::5/64", "10.0.0.1:9"], 2, "no IPv4 address"),
    # Link options.
    ([*GET, "--mtu", "50", URL], 2, "an MTU is 128 to 65535 octets, got 50"),
    ([*GET, "--mtu", "100000", URL], 2, "an MTU is 128 to 65535 octets"),
    ([*GET, "--mtu", "-1", URL], 2, "an MTU is 128 to 65535 octets"),
    ([*GET, "--addr", "fd00::5/64", "--mtu", "1000", URL], 2, "IPv6 needs an MTU of at least 1280"),
    ([*GET, "--buffer", "0", URL], 2, "a buffer needs at least 1024 bytes"),
    ([*GET, "--drop", "2", URL], 2, "probability must be in [0, 1]"),
    ([*GET, "--drop", "-1", URL], 2, "probability must be in [0, 1]"),
    ([*GET, "--impair-in", "loss=200%", URL], 2, "loss must be in [0, 1]"),
    (["get", "--tap", "a-name-far-too-long", URL], 2, "not an interface name"),
    (["get", "--tap", "", URL], 2, "not an interface name"),
    (["get", "--tap", "tap 0", URL], 2, "not an interface name"),
    ([*GET, "--netns", "bad/name", URL], 2, "not a namespace name"),
    ([*GET, "--netns", "synack-no-such-ns", URL], 1, "no network namespace 'synack-no-such-ns'"),
    (["netns", "up", "bad/name"], 2, "not a namespace name"),
    (["netns", "up", "ok", "--kernel-addr", "10.0.0.1/99"], 2, "--kernel-addr"),
    (["netns", "down", "synack-no-such-ns"], 1, "no namespace 'synack-no-such-ns'"),
    ([*GET, "--connect-timeout", "0", URL], 2, "must be more than 0"),
    ([*GET, "--max-time", "-3", URL], 2, "--max-time"),
    (["get", URL], 2, "required: --tap"),
    # Files that cannot be written, or read.
    ([*GET, "--pcap", "/nonexistent/x.pcap", URL], 2, "no directory /nonexistent"),
    ([*GET, "--trace", "/proc/x.jsonl", URL], 2, "cannot write /proc/x.jsonl"),
    ([*GET, "-o", "/nonexistent/body", URL], 2, "no directory /nonexistent"),
    ([*GET, "-O", "http://10.0.0.1/"], 2, "-O needs a file name"),
    (["demo", "--pcap", "/nonexistent/d.pcap"], 2, "no directory /nonexistent"),
    (["demo", "--trace", "/nonexistent/d.jsonl"], 2, "no directory /nonexistent"),
    (["sim", "--pcap", "/nonexistent/s.pcap"], 2, "no directory /nonexistent"),
    (["sim", "--plot", "/nonexistent/s.png"], 2, "no directory /nonexistent"),
    # --view is checked before the run, as --pcap is, not once the page is written.
    (["demo", "--view", "/nonexistent/x"], 2, f"argument --view: {NO_DIR}"),
    (["sim", "--view", "/nonexistent/x"], 2, f"argument --view: {NO_DIR}"),
    (["attack", "syn-flood", "--view", "/nonexistent/x"], 2, f"argument --view: {NO_DIR}"),
    (["packetdrill", PKT, "--view", "/nonexistent/x"], 2, f"argument --view: {NO_DIR}"),
    (["packetdrill", PKT, "--pcap", "/nonexistent/x"], 2, f"argument --pcap: {NO_DIR}"),
    (["packetdrill", PKT, "--trace", "/tmp"], 2, "cannot write /tmp: it is a directory"),
    (["plot", "/nonexistent/t.jsonl"], 2, "cannot read /nonexistent/t.jsonl"),
    (["plot", "t.jsonl", "-o", "/nonexistent/t.png"], 2, "no directory /nonexistent"),
    (["serve", *TAP, "http", "/nonexistent/dir"], 2, "no directory /nonexistent/dir"),
    (["serve", *TAP, "http"], 2, "http needs a DIR"),
    (["serve", *TAP, "echo", "/tmp"], 2, "echo serves no files"),
    # The simulator's options.
    (["sim", "--mtu", "100000"], 2, "an MTU is 128 to 65535 octets"),
    (["sim", "--mss", "10"], 2, "an MSS is 88 to 65495 octets"),
    (["sim", "--loss", "1.5"], 2, "probability must be in [0, 1]"),
    (["sim", "--bytes", "ten"], 2, "not a count"),
    (["sim", "--drop", "nonsense"], 2, "unknown segment kind"),
    (["sim", "--periodic-loss", "-2"], 2, "must be >= 0"),
    (["sim", "--rtt", "inf"], 2, "--rtt: not a finite number: 'inf'"),
    ([*RUN, "-1", *PROGRAM], 2, "argument --linger: must be >= 0, got -1.0"),
    ([*RUN, "nan", *PROGRAM], 2, "argument --linger: not a finite number: 'nan'"),
    (["packetdrill", PKT, "--tolerance-percent", "-5"], 2, "--tolerance-percent: must be >= 0"),
    (["handshake", "--client-isn", str(2**32)], 2, "ISN"),
    (["demo", "--server-isn", "-1"], 2, "ISN"),
    # Commands.
    (["dmeo"], 2, "invalid choice: 'dmeo'"),
    (["experiment", "nosuch"], 2, "invalid choice: 'nosuch'"),
]

# Found by the outside review of issue 11 (a careless user, from the outside).
PNG = str(Path(__file__).parents[2] / "docs" / "img" / "view-demo.png")  # not a trace
CASES += [
    # A peer that no packet could reach: refused up front, as Linux's connect() does.
    ([*GET, "--addr", "10.0.0.5/32", URL], 2, "10.0.0.1 is on none of synack's networks"),
    ([*SEND, "--addr", "10.0.0.5/24", "192.0.2.1:80"], 2, "and there is no --gateway"),
    ([*GET, "--addr", "10.0.0.1/24", URL], 2, "10.0.0.1 is synack's own address (--addr)"),
    ([*GET, "--gateway", "10.9.9.9", URL], 2, "--gateway 10.9.9.9 is on none of synack's"),
    # URLs and ADDR:PORT that only looked right.
    ([*GET, "http://10.0.0.1/a b"], 2, "' ' cannot be in a URL: percent-encode it"),
    ([*GET, "http://10.0.0.1/caf\u00e9"], 2, "cannot be in a URL: percent-encode it"),
    ([*SEND, "--addr", "fd00::5/64", "[fd00::1:80"], 2, "unbalanced brackets in '[fd00::1:80'"),
    # An extra word is named with its command, not as "synack: unrecognized arguments".
    (["handshake", "extra"], 2, "synack handshake: unrecognized arguments: extra"),
    (["--bogus", "demo"], 2, "synack demo: unrecognized arguments: --bogus"),
    # Files that are not what the command reads.
    (["view", PNG], 2, "neither a pcap/pcapng capture nor a JSON Lines trace"),
    (["view", "/tmp"], 2, "/tmp is a directory: give a trace or a capture file"),
    (["view", PNG, "-o", "/nonexistent/x.html"], 2, "cannot write /nonexistent/x.html"),
    (["plot", "/dev/null"], 2, "/dev/null has no segments to plot"),
    (["experiment", "report", "/nonexistent/r.parquet"], 2, "r.parquet: no such file"),
    # A run that fails says so on stderr too (the ladder on stdout shows where).
    (["demo", "--delay", "100000"], 1, "synack demo: the exchange did not complete"),
]


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``synack ARGV`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
    return status, out.getvalue(), err.getvalue()


def named(argv: list[str]) -> tuple[set[str], set[str]]:
    """The namespaces and devices ``synack ARGV`` could create: the ones it names.

    The CLI makes no names of its own: a TAP is ``--tap NAME`` (``netns up``'s
    default is tap0), a namespace ``--netns NAME`` or ``netns up NAME``.
    """
    namespaces, devices = set(), {"tap0"}
    for option, value in itertools.pairwise(argv):
        if option == "--netns":
            namespaces.add(value)
        elif option == "--tap":
            devices.add(value)
    if argv[:1] == ["netns"] and len(argv) > 2:
        namespaces.add(argv[2])
    return namespaces, devices


def devices_here() -> set[str]:
    """The devices of this thread's network namespace (/sys/class/net shows sysfs's own)."""
    return {name for _, name in socket.if_nameindex()}


def leftovers(argv: list[str]) -> tuple[set[str], set[tuple[str, str]]]:
    """Which of the namespaces and devices ``argv`` names exist now (devices by namespace).

    Only those names, so that other test runs creating or deleting their own
    namespaces at the same moment (other pytest processes, CI jobs) do not count.
    Devices are looked for in this process's namespace and in each named one.
    """
    names, devices = named(argv)
    namespaces = set()
    for name in names:
        with contextlib.suppress(ValueError):  # not a valid name: nothing can exist by it
            if netns_exists(name):
                namespaces.add(name)
    found = {("", d) for d in devices_here() & devices}
    for ns in namespaces:
        with contextlib.suppress(OSError), in_netns(ns):
            found |= {(ns, d) for d in devices_here() & devices}
    return namespaces, found


def children() -> set[str]:
    found: set[str] = set()
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            found |= set((task / "children").read_text().split())
    return found


@pytest.mark.parametrize(("argv", "status", "says"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_a_bad_input_is_one_line_and_leaves_nothing_behind(
    argv: list[str], status: int, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = (leftovers(argv), children())
    got, out, err = run_cli(argv)
    assert got == status, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("synack"), err
    assert says in err, err
    assert "Traceback" not in err and "Traceback" not in out
    assert (leftovers(argv), children()) == before
    assert list(tmp_path.iterdir()) == []  # no half-written file either


def test_the_leak_check_sees_what_the_command_names_and_nothing_else() -> None:
    # A namespace and a TAP by the names the command gives are a leak; a namespace
    # another test run makes at the same moment is not.
    pid = os.getpid()
    mine, theirs = f"synack-bad{pid}", f"synack-t{pid}-other"
    argv = [*GET, "--netns", mine, URL]
    before = leftovers(argv)
    subprocess.run(["ip", "netns", "add", theirs], check=True)
    try:
        assert leftovers(argv) == before
        subprocess.run(["ip", "netns", "add", mine], check=True)
        assert leftovers(argv) == ({mine}, set())
        subprocess.run(
            ["ip", "-n", mine, "tuntap", "add", "dev", "tap0", "mode", "tap"], check=True
        )
        assert leftovers(argv) == ({mine}, {(mine, "tap0")})
        subprocess.run(["ip", "netns", "delete", mine], check=True)
        subprocess.run(["ip", "tuntap", "add", "dev", "tap0", "mode", "tap"], check=True)
        assert leftovers(argv) == (set(), {("", "tap0")})
    finally:
        subprocess.run(["ip", "link", "delete", "tap0"], capture_output=True)
        for name in (mine, theirs):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    assert leftovers(argv) == before


def test_experiment_validate_outside_a_checkout_wants_an_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(["experiment", "validate", "--quick"])
    assert status == 2
    assert err == (
        "synack experiment validate: where should the report go? Give --output FILE.md "
        "(the default, docs/congestion.md, applies inside a synack checkout only)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback_and_without_it_there_is_one_line() -> None:
    argv = [sys.executable, "-m", "synack", *GET, "--netns", "synack-no-such-ns", URL]
    plain = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1
    assert plain.stderr == (
        "synack get: no network namespace 'synack-no-such-ns' "
        "(create one with: synack netns up synack-no-such-ns)\n"
    )
    debug = subprocess.run([*argv, "--debug"], capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "CommandFailed: no network namespace" in debug.stderr


def test_an_unexpected_exception_is_one_line_that_points_at_debug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import synack.cli.handshake as handshake

    def broken(*args: object, **kwargs: object) -> list[str]:
        raise KeyError("oops")

    monkeypatch.setattr(handshake, "handshake_lines", broken)
    status, _, err = run_cli(["handshake"])
    assert status == 1
    assert (
        err == "synack handshake: internal error: KeyError: 'oops' (--debug shows the traceback)\n"
    )


def run_as_nobody(argv: list[str]) -> tuple[int, str]:
    """``synack ARGV`` in a child process that gave up root: (exit status, stderr).

    The child is forked from this process and drops to uid and gid 65534 before
    ``main``: Python itself may live where "nobody" cannot read (under /root), so
    the modules the command needs must be loaded already (run it as root first).
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        status = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.chdir("/")
            status, _, err = run_cli(argv)
            os.write(write, err.encode())
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, encoding="utf-8") as f:
        err = f.read()
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status), err


@pytest.mark.netns
def test_without_root_each_mistake_is_still_one_line(tmp_path: Path) -> None:
    # As a user without privileges ("nobody"): `netns down` cannot delete the
    # namespace and must say so (it used to print "deleted"), and an output file
    # behind a directory nobody may search is a usage error, not a PermissionError
    # traceback out of argparse.
    if os.geteuid() != 0:
        pytest.fail("this test switches to another user: it needs root (CI runs as root)")
    name = f"synack-nr{os.getpid()}"
    # The same commands as root first, where they fail otherwise, to load their modules.
    assert run_cli(["netns", "down", "synack-no-such-ns"])[0] == 1
    assert run_cli(["demo", "--pcap", str(tmp_path / "warm.pcap")])[0] == 0
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        status, err = run_as_nobody(["netns", "down", name])
        assert status == 1
        assert err.startswith(f"synack netns: cannot delete namespace {name}: ")
        assert err.endswith(" (network namespaces need root or CAP_SYS_ADMIN)\n")
        assert err.count("\n") == 1
        assert netns_exists(name)
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    hidden = tmp_path / "d.pcap"  # pytest's tmp_path is root's own (mode 0700)
    assert run_as_nobody(["demo", "--pcap", str(hidden)]) == (
        2,
        f"synack demo: argument --pcap: cannot write {hidden}: Permission denied "
        "(see synack demo --help)\n",
    )

"""A capture of the Linux kernel talking to itself renders with the right counts.

Three namespaces the test creates and deletes: a sender A, a router R and a
receiver B, joined by veth pairs. R's link to B is a token bucket (tc tbf) with
a short queue, so the kernel's TCP in A loses packets and retransmits. tcpdump
(classic pcap) and dumpcap (pcapng) capture on A's interface, before the
bottleneck, so they see every segment A sent. The truth to compare with is
the kernel's own per-namespace counters (/proc/net/snmp in A): segments out,
segments in, segments retransmitted. The page is checked in Chromium, as a
person reads it: the summary table's numbers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synack.trace.capture import read_capture
from synack.view import write_page
from tests.view.browser import browser_missing, chromium, console_errors, open_page

pytestmark = pytest.mark.netns

NBYTES = 3_000_000
PORT = 5001

SINK = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.2.2", 5001)); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
c.close(); print(n, flush=True)
"""

SOURCE = """
import socket, sys
s = socket.create_connection(("10.99.2.2", 5001), timeout=60)
s.sendall(b"k" * int(sys.argv[1])); s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
s.close()
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _in(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def _snmp(ns: str) -> dict[str, int]:
    out = subprocess.run(
        _in(ns, "cat", "/proc/net/snmp"), capture_output=True, text=True, check=True
    )
    heads, values = (
        line.split()[1:] for line in out.stdout.splitlines() if line.startswith("Tcp:")
    )
    return dict(zip(heads, map(int, values), strict=True))


@pytest.fixture
def three_namespaces() -> Iterator[tuple[str, str, str]]:
    if os.geteuid() != 0:
        pytest.fail("this test creates network namespaces and needs root (CI runs as root)")
    for tool in ("ip", "tc", "tcpdump", "dumpcap", "ethtool"):
        if shutil.which(tool) is None:
            pytest.fail(f"missing {tool}: run `make sysdeps` (as root)")
    pid = os.getpid()
    a, r, b = f"synack-va{pid}", f"synack-vr{pid}", f"synack-vb{pid}"
    try:
        for ns in (a, r, b):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("link", "add", "va0", "netns", a, "type", "veth", "peer", "name", "ra0", "netns", r)
        _ip("link", "add", "rb0", "netns", r, "type", "veth", "peer", "name", "vb0", "netns", b)
        for ns, dev, addr in (
            (a, "va0", "10.99.1.1/24"),
            (r, "ra0", "10.99.1.254/24"),
            (r, "rb0", "10.99.2.254/24"),
            (b, "vb0", "10.99.2.2/24"),
        ):
            _ip("-n", ns, "addr", "add", addr, "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            # Segments of one MSS on the wire, as a NIC without offloads sends them.
            subprocess.run(
                _in(ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"),
                capture_output=True,
                check=True,
            )
        _ip("-n", a, "route", "add", "default", "via", "10.99.1.254")
        _ip("-n", b, "route", "add", "default", "via", "10.99.2.254")
        subprocess.run(_in(r, "sysctl", "-qw", "net.ipv4.ip_forward=1"), check=True)
        # The bottleneck: 40 Mbit/s with a 20 kB queue; bursts beyond it are dropped.
        subprocess.run(
            [
                "tc",
                "-n",
                r,
                "qdisc",
                "add",
                "dev",
                "rb0",
                "root",
                "tbf",
                "rate",
                "40mbit",
                "burst",
                "8kb",
                "limit",
                "20kb",
            ],
            check=True,
            capture_output=True,
        )
        yield a, r, b
    finally:
        for ns in (a, r, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def _wait_for(pred: Any, timeout: float, what: Any) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what() if callable(what) else what}")


def _count(path: Path) -> int:
    try:
        return sum(1 for _ in read_capture(path))
    except (OSError, ValueError):
        return -1


def test_kernel_transfer_captured_by_tcpdump_and_dumpcap_renders_with_the_right_counts(
    three_namespaces: tuple[str, str, str], tmp_path: Path
) -> None:
    a, _, b = three_namespaces
    pcap, pcapng = tmp_path / "k.pcap", tmp_path / "k.pcapng"
    filt = f"tcp port {PORT}"
    caps = [
        subprocess.Popen(
            _in(a, "tcpdump", "-i", "va0", "-U", "-w", str(pcap), filt),
            stderr=subprocess.PIPE,
            text=True,
        ),
        subprocess.Popen(
            _in(a, "dumpcap", "-q", "-i", "va0", "-w", str(pcapng), "-f", filt),
            stderr=subprocess.PIPE,
            text=True,
        ),
    ]
    sink = subprocess.Popen(_in(b, sys.executable, "-c", SINK), stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "listening"
        _wait_for(lambda: _count(pcap) == 0 and _count(pcapng) == 0, 30, "the captures to start")
        time.sleep(0.5)
        subprocess.run(_in(a, sys.executable, "-c", SOURCE, str(NBYTES)), check=True, timeout=120)
        assert sink.wait(timeout=60) == 0 and sink.stdout.readline().strip() == str(NBYTES)
        kernel = _snmp(a)
        # Linux's OutSegs leaves out segments holding only retransmitted octets.
        sent = kernel["OutSegs"] + kernel["RetransSegs"]
        total = sent + kernel["InSegs"]
        # Both capture tools write every packet before they are stopped.
        _wait_for(
            lambda: _count(pcap) == total and _count(pcapng) == total,
            20,
            lambda: f"the captures: {_count(pcap)} and {_count(pcapng)} packets, kernel {kernel}",
        )
    finally:
        for p in caps:
            p.send_signal(signal.SIGINT)
        for p in caps:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        if sink.poll() is None:
            sink.kill()
    assert kernel["RetransSegs"] > 0, "the bottleneck should have made the kernel retransmit"

    why = browser_missing()
    if why is not None:
        pytest.fail(why)
    with chromium() as browser:
        for capture in (pcap, pcapng):
            info = write_page(capture, tmp_path / f"{capture.suffix[1:]}.html")
            assert not info.exact and len(info.connections) == 1
            open_page(browser, info.path)
            assert console_errors(browser) == []
            table = browser.execute_script(
                "const t = Array.from(document.querySelectorAll('#summary table'))"
                ".find(t => t.caption.textContent.startsWith('Per direction'));"
                "return Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.textContent))"
            )
            rows = {
                r[0]: (int(r[1].replace(",", "")), int(r[2].replace(",", "")))
                for r in table
                if r[1].replace(",", "").isdigit()
            }
            assert rows["total packets"] == (sent, kernel["InSegs"])
            assert rows["rexmt data pkts"][0] == kernel["RetransSegs"]
            assert rows["unique bytes sent"] == (NBYTES, 0)
            lines = browser.execute_script(
                "return Array.from(document.querySelectorAll('#ladder .row.seg .line')).map(e => e.textContent)"
            )
            assert lines[0].startswith("Client (10.99.1.1) -> Server (10.99.2.2:5001)   [SYN] Seq=")
            assert (
                browser.execute_script("return window.synackView.retransmissions.length")
                == kernel["RetransSegs"]
            )

"""With the Linux kernel, window scaling, timestamps and SACK are negotiated both ways.

synack as the server (the kernel's curl connects) and as the client (synack get from
the kernel's http.server), each with a pcap read back by tshark: both SYNs offer
SACK-permitted, Timestamps and Window Scale, every later segment carries
Timestamps (RFC 7323 3.2), and under loss the receivers send SACK blocks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from synack.link.netns import NetnsLab
from tests.interop.conftest import _require_tools
from tests.interop.helpers import (
    curl_from_synack_serve,
    in_ns,
    random_file,
    running,
    sha256_file,
    synack_argv,
)

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

FIELDS = (
    "ip.src",
    "tcp.flags.syn",
    "tcp.flags.reset",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.wscale.shift",
    "tcp.options.sack_le",
)


def segments(pcap: Path) -> list[dict[str, str]]:
    """One dict of FIELDS per TCP segment in ``pcap``."""
    argv = ["tshark", "-r", str(pcap), "-Y", "tcp", "-T", "fields", "-E", "separator=|"]
    for f in FIELDS:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout
    return [dict(zip(FIELDS, line.split("|"), strict=True)) for line in out.splitlines()]


def check_negotiated(segs: list[dict[str, str]]) -> None:
    syns = [s for s in segs if s["tcp.flags.syn"] in ("1", "True")]
    senders = {s["ip.src"] for s in syns}
    assert senders == {"10.0.0.1", "10.0.0.5"}, syns  # the SYN and the SYN-ACK
    for s in syns:
        assert s["tcp.options.sack_perm"], s
        assert s["tcp.options.timestamp.tsval"], s
        assert s["tcp.options.wscale.shift"], s
    rest = [s for s in segs if s["tcp.flags.syn"] not in ("1", "True")]
    assert rest
    for s in rest:
        if s["tcp.flags.reset"] not in ("1", "True"):
            assert s["tcp.options.timestamp.tsval"], s


def test_synack_server_negotiates_with_the_kernel_client(lab_tap: NetnsLab, tmp_path: Path) -> None:
    _require_tools("curl", "tshark")
    pcap = tmp_path / "serve.pcap"
    options = ["--pcap", str(pcap), "--drop", "0.02", "--seed", "3"]
    curl_from_synack_serve(lab_tap, tmp_path, 2_000_000, *options, seed=5)
    segs = segments(pcap)
    check_negotiated(segs)
    # synack dropped 2% of what it sent: the kernel reported the holes with SACK.
    assert any(s["tcp.options.sack_le"] for s in segs if s["ip.src"] == "10.0.0.1")


def test_synack_client_negotiates_with_the_kernel_server(lab_tap: NetnsLab, tmp_path: Path) -> None:
    _require_tools("tshark")
    lab = lab_tap
    www = tmp_path / "www"
    www.mkdir()
    digest = random_file(www / "f.bin", 2_000_000, seed=6)
    kernel_server = in_ns(
        lab,
        sys.executable,
        "-m",
        "http.server",
        "8000",
        "--bind",
        "10.0.0.1",
        "--directory",
        str(www),
    )
    pcap = tmp_path / "get.pcap"
    with running(kernel_server, "python http.server") as server:
        server.expect("Serving HTTP on", timeout=30)
        out = tmp_path / "got.bin"
        argv = synack_argv(
            lab,
            "get",
            "http://10.0.0.1:8000/f.bin",
            "-o",
            str(out),
            "-q",
            "--pcap",
            str(pcap),
            "--impair-in",
            "loss=2%",
            "--seed",
            "4",
        )
        with running(argv, "synack get") as get:
            get.expect("HTTP ", timeout=120)
            assert get.wait(30) == 0, get.stderr
    assert sha256_file(out) == digest
    segs = segments(pcap)
    check_negotiated(segs)
    # synack lost 2% of what arrived: it reported the holes with SACK blocks.
    assert any(s["tcp.options.sack_le"] for s in segs if s["ip.src"] == "10.0.0.5")

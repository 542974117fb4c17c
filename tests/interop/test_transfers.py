"""Bulk transfers between synack (CLI, on a TAP) and the kernel's TCP in a namespace.

Items 1-4 of the interop plan: curl from ``synack serve http``; ``synack get``
from ``python3 -m http.server``; 100 MB each way with hashes, with and without
offloads; and the same under netem impairment plus synack's own seeded drops.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from synack.link.netns import NetnsLab
from tests.interop.conftest import _require_tools
from tests.interop.helpers import (
    KERNEL_SEND_FILE,
    KERNEL_SINK,
    curl_from_synack_serve,
    curl_get,
    in_ns,
    random_file,
    running,
    sha256_file,
    synack_argv,
)

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

MB = 1_000_000


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_curl_downloads_20mb_from_synack_http(
    lab_tap: NetnsLab, tmp_path: Path, family: str
) -> None:
    _require_tools("curl")
    lab = lab_tap
    www = tmp_path / "www"
    www.mkdir()
    digest = random_file(www / "file.bin", 20 * MB, seed=1)
    argv = synack_argv(lab, "serve", "--port", "80", "--max-connections", "1", "http", str(www))
    host = "10.0.0.5" if family == "ipv4" else "[fd00::5]"
    with running(argv, "synack serve") as server:
        server.expect("synack: serving http on")
        out = tmp_path / "got.bin"
        result = curl_get(
            lab, f"http://{host}/file.bin", out, max_time=120, extra=["-w", "%{http_code}"]
        )
        assert result.stdout == "200", result.stderr
        assert sha256_file(out) == digest
        line = server.expect(("10.0.0.1:" if family == "ipv4" else "[fd00::1]:"), timeout=30)
        assert f"sent {20 * MB}" in line
        assert server.wait(30) == 0


def test_synack_get_downloads_20mb_from_python_http_server(
    lab_tap: NetnsLab, tmp_path: Path
) -> None:
    lab = lab_tap
    www = tmp_path / "www"
    www.mkdir()
    digest = random_file(www / "file.bin", 20 * MB, seed=2)
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
    with running(kernel_server, "python http.server") as server:
        # http.server prints its banner on stdout once it listens.
        server.expect("Serving HTTP on", timeout=30)
        out = tmp_path / "got.bin"
        with running(
            synack_argv(lab, "get", "http://10.0.0.1:8000/file.bin", "-o", str(out), "-q"),
            "synack get",
        ) as get:
            line = get.expect("HTTP ", timeout=120)
            assert get.wait(30) == 0, get.stderr
        assert line.startswith("HTTP 200: 20000000 bytes")
        assert line.endswith(digest)
        assert sha256_file(out) == digest


def _kernel_to_synack(
    lab: NetnsLab, tmp_path: Path, size: int, offload: bool, extra: list[str]
) -> None:
    data = tmp_path / "k2s.bin"
    digest = random_file(data, size, seed=3)
    argv = synack_argv(
        lab, "serve", "--port", "9000", "--max-connections", "1", *extra, "discard", offload=offload
    )
    with running(argv, "synack serve discard") as server:
        server.expect("synack: serving discard")
        sender = lab.run(
            [sys.executable, "-c", KERNEL_SEND_FILE, "10.0.0.5", "9000", str(data)], timeout=240
        )
        assert sender.returncode == 0, sender.stderr
        line = server.expect("10.0.0.1:", timeout=60)
        assert f"received {size} " in line, line
        assert line.endswith(f"sha256 {digest}"), line
        assert server.wait(30) == 0
    if extra:
        assert "synack: impairment out: lost " in server.stderr, server.stderr


def _synack_to_kernel(lab: NetnsLab, size: int, offload: bool, extra: list[str]) -> None:
    sink = in_ns(lab, sys.executable, "-c", KERNEL_SINK, "10.0.0.1", "9001")
    with running(sink, "kernel sink") as kernel:
        kernel.expect("listening")
        with running(
            synack_argv(
                lab, "send", "10.0.0.1:9001", "--bytes", str(size), "-q", *extra, offload=offload
            ),
            "synack send",
        ) as send:
            sent = send.expect("sent ", timeout=240)
            assert send.wait(30) == 0, send.stderr
        got = kernel.expect(str(size), timeout=30)
    assert got.split()[1] == sent.split()[-1]
    if extra:
        assert "synack: impairment out: lost " in send.stderr, send.stderr


@pytest.mark.parametrize("offload", [True, False], ids=["offload", "no-offload"])
def test_100mb_kernel_to_synack_with_hash(lab_tap: NetnsLab, tmp_path: Path, offload: bool) -> None:
    _kernel_to_synack(lab_tap, tmp_path, 100 * MB, offload, [])


@pytest.mark.parametrize("offload", [True, False], ids=["offload", "no-offload"])
def test_100mb_synack_to_kernel_with_hash(lab_tap: NetnsLab, offload: bool) -> None:
    _synack_to_kernel(lab_tap, 100 * MB, offload, [])


NETEM = "loss=2%,delay=10ms,reorder=10%"


def _impair(lab: NetnsLab) -> list[str]:
    """netem on the kernel's side of the TAP, or the same impairment applied by synack on receipt.

    Kernels built without sch_netem (like this project's CI VM) cannot delay,
    lose or reorder in the qdisc; synack's link then does it to every frame the
    kernel sent before processing it, which the kernel's TCP experiences the same
    way. Returns the synack options for the fallback.
    """
    _require_tools("tc")
    netem = NETEM.replace(",", " ").replace("=", " ").split()
    result = lab.run(["tc", "qdisc", "add", "dev", lab.tap, "root", "netem", *netem], timeout=10)
    if result.returncode == 0:
        return []
    assert "unknown" in result.stderr, result.stderr
    return ["--impair-in", NETEM]


@pytest.mark.parametrize("offload", [True, False], ids=["offload", "no-offload"])
def test_impaired_transfers_complete_with_exact_bytes(
    lab_tap: NetnsLab, tmp_path: Path, offload: bool
) -> None:
    extra = [*_impair(lab_tap), "--drop", "0.02", "--seed", "7"]
    _kernel_to_synack(lab_tap, tmp_path, 4 * MB, offload, extra)
    _synack_to_kernel(lab_tap, 4 * MB, offload, extra)


def test_serve_writes_a_pcap_tshark_accepts_and_a_trace(lab_tap: NetnsLab, tmp_path: Path) -> None:
    _require_tools("curl", "tshark")
    pcap, trace = tmp_path / "serve.pcap", tmp_path / "serve.jsonl"
    options = ["--pcap", str(pcap), "--trace", str(trace)]
    curl_from_synack_serve(lab_tap, tmp_path, 200_000, *options, seed=4, max_time=60)
    tshark = [
        "tshark",
        "-r",
        str(pcap),
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
    ]
    frames = subprocess.run(
        [*tshark, "-T", "fields", "-e", "frame.protocols"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    protocols = frames.stdout.splitlines()
    assert any("arp" in p for p in protocols)
    assert sum("http" in p for p in protocols) >= 2  # request and response
    bad = subprocess.run(
        [*tshark, "-Y", "_ws.malformed or tcp.checksum.status == 0 or ip.checksum.status == 0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.stdout == "", bad.stdout
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    states = [r["new"] for r in records if r["ev"] == "state"]
    assert "ESTABLISHED" in states
    assert any(r["ev"] == "seg_out" for r in records)

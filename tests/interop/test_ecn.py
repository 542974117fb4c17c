"""ECN with the Linux kernel (RFC 3168), over TAP in a namespace with net.ipv4.tcp_ecn=1.

This kernel has no queueing disciplines to mark packets with, so synack's own
link plays the congested router: its ``mark`` impairment sets CE on a share of
the ECN-capable packets it sends (or receives). tshark, on the kernel's side of
the TAP, then shows the whole exchange: the ECN-setup SYN (ECE and CWR) and
SYN-ACK (ECE alone), data sent ECT(0) and some of it CE, the receiver's ECE
and the sender's CWR, in both directions.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from synack.api import aio
from synack.api import socket as ssock
from synack.api.apps import echo_handler
from synack.link.impair import Impairment
from synack.link.netns import NetnsLab
from synack.tcp.config import Config
from synack.trace.capture import read_capture
from tests.interop.conftest import KERNEL, SYNACK, _require_tools, open_stack
from tests.interop.helpers import (
    KERNEL_CLIENTS,
    KERNEL_HALF_CLOSE_SERVER,
    in_ns,
    kernel_capture,
    running,
    synack_argv,
)

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

# RFC 3168 5: the ECN field's codepoints, as tshark prints ip.dsfield.ecn.
ECT0, CE = 2, 3
CONFIG = Config(ecn=True, send_buffer=4 << 20, recv_buffer=4 << 20)

FIELDS = (
    "frame.number",
    "ip.src",
    "ip.dsfield.ecn",
    "tcp.flags.syn",
    "tcp.flags.ece",
    "tcp.flags.cwr",
    "tcp.len",
)
RETRANSMITTED = (
    "tcp.analysis.retransmission || tcp.analysis.fast_retransmission"
    " || tcp.analysis.spurious_retransmission"
)


def segments(pcap: Path) -> list[dict[str, str]]:
    """One dict of FIELDS per TCP segment, plus ``rtx``: tshark calls it a retransmission."""
    argv = ["tshark", "-r", str(pcap), "-Y", "tcp", "-T", "fields", "-E", "separator=|"]
    for f in FIELDS:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout
    rtx = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", RETRANSMITTED, "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    segs = [dict(zip(FIELDS, line.split("|"), strict=True)) for line in out.splitlines()]
    for s in segs:
        s["rtx"] = "1" if s["frame.number"] in rtx else ""
    return segs


def flag(seg: dict[str, str], name: str) -> bool:
    return seg[f"tcp.flags.{name}"] in ("1", "True")


def check_negotiated(segs: list[dict[str, str]], client: str, server: str) -> None:
    syn = next(s for s in segs if flag(s, "syn") and s["ip.src"] == client)
    syn_ack = next(s for s in segs if flag(s, "syn") and s["ip.src"] == server)
    # RFC 3168 6.1.1: an ECN-setup SYN (ECE and CWR) answered by an ECN-setup SYN-ACK (ECE).
    assert flag(syn, "ece") and flag(syn, "cwr"), syn
    assert flag(syn_ack, "ece") and not flag(syn_ack, "cwr"), syn_ack
    # Neither carries ECT (RFC 3168 6.1.1).
    assert int(syn["ip.dsfield.ecn"]) == 0 and int(syn_ack["ip.dsfield.ecn"]) == 0


def check_signalled(segs: list[dict[str, str]], sender: str, receiver: str) -> None:
    data = [s for s in segs if s["ip.src"] == sender and int(s["tcp.len"] or 0) > 0]
    assert data
    # New data goes out ECN-capable (some of it then marked by our router);
    # retransmissions go out Not-ECT (RFC 3168 6.1.5).
    assert {int(s["ip.dsfield.ecn"]) for s in data if not s["rtx"]} <= {ECT0, CE}
    assert {int(s["ip.dsfield.ecn"]) for s in data if s["rtx"]} <= {0}
    # The receiver echoes (ECE) and the sender answers with CWR afterwards.
    first_ece = next(
        i
        for i, s in enumerate(segs)
        if s["ip.src"] == receiver and flag(s, "ece") and not flag(s, "syn")
    )
    assert any(s["ip.src"] == sender and flag(s, "cwr") for s in segs[first_ece:])


def test_synack_sends_to_the_kernel_with_ecn(lab: NetnsLab, tmp_path: Path) -> None:
    _require_tools("tshark")
    lab.run(["sysctl", "-q", "-w", "net.ipv4.tcp_ecn=1"], check=True)
    # Our router marks a tenth of what synack sends (after ECT(0) was set).
    stack = open_stack(lab, config=CONFIG, impair_out=Impairment(mark=0.1))
    pcap = tmp_path / "send.pcap"
    payload = hashlib.shake_256(b"to the kernel").digest(1_500_000)
    try:
        with (
            running(
                in_ns(lab, sys.executable, "-c", KERNEL_HALF_CLOSE_SERVER, KERNEL, "7010"), "sink"
            ) as k,
            kernel_capture(lab, 7010, pcap, ping=SYNACK),
        ):
            k.expect("listening")
            with ssock.create_connection((KERNEL, 7010), timeout=30, stack=stack) as sock:
                sock.sendall(payload)
                sock.shutdown(ssock.SHUT_WR)
                reply = b""
                while data := sock.recv(1000):
                    reply += data
            k.expect("done")
    finally:
        stack.close()
    assert reply.decode() == f"got {len(payload)} {hashlib.sha256(payload).hexdigest()}"
    segs = segments(pcap)
    check_negotiated(segs, SYNACK, KERNEL)
    assert any(int(s["ip.dsfield.ecn"]) == CE for s in segs if s["ip.src"] == SYNACK)
    check_signalled(segs, SYNACK, KERNEL)


def test_the_kernel_sends_to_synack_with_ecn(lab: NetnsLab, tmp_path: Path) -> None:
    _require_tools("tshark")
    lab.run(["sysctl", "-q", "-w", "net.ipv4.tcp_ecn=1"], check=True)
    # Our router marks a tenth of what the kernel sends, on its way into synack.
    stack = open_stack(lab, config=CONFIG, impair_in=Impairment(mark=0.1))
    pcap = tmp_path / "receive.pcap"
    try:

        async def start() -> aio.Server:
            return await aio.start_server(echo_handler(), port=7011, runtime=stack.runtime)

        stack.run(start(), 10)
        with kernel_capture(lab, 7011, pcap, ping=SYNACK):
            done = lab.run(
                [sys.executable, "-c", KERNEL_CLIENTS, SYNACK, "7011", "1", "1500000"],
                timeout=120,
            )
        assert done.stdout.strip() == "ok 1 errors []", done.stdout + done.stderr
    finally:
        stack.close()
    segs = segments(pcap)
    check_negotiated(segs, KERNEL, SYNACK)
    # The kernel's capture point is before our marking: its data shows ECT(0).
    kernel_data = [
        s for s in segs if s["ip.src"] == KERNEL and int(s["tcp.len"] or 0) > 0 and not s["rtx"]
    ]
    assert kernel_data and all(int(s["ip.dsfield.ecn"]) == ECT0 for s in kernel_data)
    check_signalled(segs, KERNEL, SYNACK)


def _tcp_packets(pcap: Path) -> list[tuple[bytes, int, int]]:
    """(IPv4 source, ECN field, TCP flags) of each TCP packet in a capture."""
    out = []
    for packet in read_capture(pcap):
        ip = packet.data
        if ip[0] >> 4 == 4 and ip[9] == 6:
            tcp = ip[(ip[0] & 0x0F) * 4 :]
            out.append((ip[12:16], ip[1] & 0b11, tcp[13]))
    return out


@pytest.mark.parametrize("ecn", [True, False], ids=["--ecn", "without"])
def test_the_tap_commands_negotiate_ecn_with_the_ecn_option(
    lab_tap: NetnsLab, tmp_path: Path, ecn: bool
) -> None:
    # RFC 3168 6.1.1: an ECN-setup SYN has ECE (0x40) and CWR (0x80); the SYN-ACK
    # agreeing has ECE alone; then data goes out ECT(0) (ECN field 0b10, RFC 3168 5).
    lab_tap.run(["sysctl", "-q", "-w", "net.ipv4.tcp_ecn=1"], check=True)
    pcap = tmp_path / "send.pcap"
    payload = 300_000
    with running(
        in_ns(lab_tap, sys.executable, "-c", KERNEL_HALF_CLOSE_SERVER, KERNEL, "7012"), "sink"
    ) as k:
        k.expect("listening")
        argv = synack_argv(
            lab_tap, "send", f"{KERNEL}:7012", "--bytes", str(payload), "--pcap", str(pcap)
        )
        done = subprocess.run(
            argv + (["--ecn"] if ecn else []), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        k.expect("done")
    synack, kernel = bytes([10, 0, 0, 5]), bytes([10, 0, 0, 1])
    packets = _tcp_packets(pcap)
    syn = next(flags for src, _, flags in packets if src == synack and flags & 0x12 == 0x02)
    syn_ack = next(flags for src, _, flags in packets if src == kernel and flags & 0x12 == 0x12)
    data_ecn = {field for src, field, flags in packets if src == synack and not flags & 0x02}
    if ecn:
        assert syn & 0xC0 == 0xC0, hex(syn)
        assert syn_ack & 0xC0 == 0x40, hex(syn_ack)
        assert 0b10 in data_ecn
    else:
        assert syn & 0xC0 == 0 and syn_ack & 0xC0 == 0
        assert data_ecn == {0}

"""The runner on synack (virtual time): what passes, and the exact message of each failure.

A script that expects the wrong packet, the wrong time or the wrong return
value must fail on the right line, saying what was expected and what
happened, in packetdrill's own terms.
"""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest

from synack.cli import main
from synack.packetdrill import RunOptions, ScriptResult, parse_script, run_script
from synack.packetdrill.views import LadderView, PcapView, TraceView, VerboseView
from synack.trace import read_pcap
from synack.wire import parse_tcp_packet

# A server: listen, the handshake, accept (lines 1 to 8).
SERVER = """\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+.1 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 512
+0 accept(3, ..., ...) = 4
"""


def run(body: str, **options: object) -> ScriptResult:
    script = parse_script(SERVER + textwrap.dedent(body), "t.pkt")
    return run_script(script, RunOptions(**options))  # type: ignore[arg-type]


def test_a_correct_script_passes() -> None:
    r = run(
        """\
        +0 write(4, ..., 1000) = 1000
        +0 > P. 1:1001(1000) ack 1
        +.1 < . 1:1(0) ack 1001 win 512
        +0 close(4) = 0
        +0 > F. 1001:1001(0) ack 1
        """
    )
    assert r.passed, r.error
    assert r.error is None
    assert r.script_time == 300_000  # virtual time: exactly the script's


def test_a_wrong_packet_fails_with_both_packets_in_script_syntax() -> None:
    r = run(
        """\
        +0 write(4, ..., 1000) = 1000
        +0 > P. 1:1001(1000) ack 2
        """
    )
    assert not r.passed
    assert r.error == (
        "t.pkt:10: error handling packet: live packet field tcp_ack_seq: "
        "expected: 2 (0x2) vs actual: 1 (0x1)\n"
        "script packet: 0.200000 P. 1:1001(1000) ack 2\n"
        "actual packet: 0.200000 P. 1:1001(1000) ack 1 win 32768"
    )


def test_a_wrong_length_and_wrong_flags_are_named() -> None:
    r = run("+0 write(4, ..., 1000) = 1000\n+0 > P. 1:501(500) ack 1\n")
    assert r.error is not None
    assert r.error.splitlines()[0] == (
        "t.pkt:10: error handling packet: live packet payload: expected 500 bytes vs actual 1000 bytes"
    )
    r = run("+0 write(4, ..., 1000) = 1000\n+0 > F. 1:1001(1000) ack 1\n")
    assert r.error is not None
    assert "live packet field tcp_flags: expected: F. vs actual: P." in r.error


def test_a_packet_at_the_wrong_time_fails_with_both_times() -> None:
    # The delayed ACK comes 40 ms after the data, not 100 ms.
    r = run(
        """\
        +.1 < P. 1:101(100) ack 1 win 512
        +.1 > . 1:1(0) ack 101
        """
    )
    assert r.error == (
        "t.pkt:10: error handling packet: timing error: expected outbound packet at "
        "0.400000 sec but happened at 0.340000 sec; tolerance 0.012500 sec\n"
        "script packet: 0.400000 . 1:1(0) ack 101\n"
        "actual packet: 0.340000 . 1:1(0) ack 101 win 32755"
    )


def test_a_missing_packet_says_the_stack_sent_nothing() -> None:
    r = run("+1 > P. 1:101(100) ack 1\n")
    assert r.error == (
        "t.pkt:9: error handling packet: expected outbound packet at 1.200000 sec but the "
        "stack sent nothing\n"
        "script packet: 1.200000 P. 1:101(100) ack 1"
    )


def test_wrong_options_are_shown_in_full() -> None:
    r = run("+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1 <nop,nop,TS val 1 ecr 0>\n")
    assert r.error is not None
    assert r.error.splitlines()[0] == (
        "t.pkt:10: error handling packet: bad outbound TCP options: expected "
        "<nop,nop,TS val 1 ecr 0> vs actual <>"
    )


def test_a_wrong_return_value_fails_with_the_errno() -> None:
    r = run("+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 100) = 100\n")
    assert r.error == (
        "t.pkt:10: error in read call: expected result 100 but got -1 with errno EAGAIN "
        "(Resource temporarily unavailable)"
    )


def test_a_wrong_errno_fails() -> None:
    r = run("+0 close(4) = 0\n+0 write(4, ..., 10) = -1 EPIPE (Broken pipe)\n")
    assert r.error == (
        "t.pkt:10: error in write call: expected result -1 EPIPE but got -1 with errno EBADF "
        "(Bad file descriptor) [fd 4 is not open in the script]"
    )


def test_a_call_that_blocks_without_an_end_time_fails() -> None:
    r = run("+0 read(4, ..., 100) = 100\n")
    assert r.error is not None
    assert r.error.startswith(
        "t.pkt:9: read() blocked, but the script expects it to return at once"
    )


def test_a_blocking_call_must_return_at_its_end_time() -> None:
    ok = run("+0...0.1 read(4, ..., 100) = 100\n+.1 < P. 1:101(100) ack 1 win 512\n")
    assert ok.passed, ok.error
    late = run("+0...0.05 read(4, ..., 100) = 100\n+.1 < P. 1:101(100) ack 1 win 512\n")
    assert late.error == (
        "t.pkt:9: timing error: expected system call return at 0.250000 sec but happened at "
        "0.300000 sec; tolerance 0.006250 sec"
    )


def test_getsockopt_and_poll_outputs_are_checked() -> None:
    ok = run(
        "+0 getsockopt(4, IPPROTO_TCP, TCP_NODELAY, [0], [4]) = 0\n"
        "+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1\n"
    )
    assert ok.passed, ok.error
    r = run("+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN}], 1, 0) = 1\n")
    assert r.error == "t.pkt:9: error in poll call: fd 4: expected revents POLLIN but got POLLOUT"
    r = run("+0 getsockopt(4, SOL_SOCKET, SO_ERROR, [5], [4]) = 0\n")
    assert r.error == "t.pkt:9: error in getsockopt call: expected option value 5 but got 0"


def test_unsupported_calls_and_options_fail_with_their_line() -> None:
    r = run("+0 epoll_create(1) = 5\n")
    assert r.error == "t.pkt:9: system call epoll_create() is not supported by synack's runner"
    r = run_script(parse_script("--wire_client\n0 close(3) = -1 EBADF (x)\n", "o.pkt"))
    assert r.error == "o.pkt:1: --wire_client is not supported by synack's runner"


def test_sysctls_map_to_the_config_and_other_commands_are_skipped() -> None:
    r = run_script(
        parse_script(
            textwrap.dedent(
                """\
                `sysctl -q net.ipv4.tcp_sack=0 net.ipv4.tcp_timestamps=0`
                0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
                +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
                +0 > S 0:0(0) <mss 1460,wscale 3>
                +0 `ethtool -K tun0 tso off`
                """
            ).replace("connect(3", "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 connect(3"),
            "c.pkt",
        )
    )
    assert r.passed, r.error
    assert r.warnings == ["c.pkt:6: skipped command (not run on synack): ethtool -K tun0 tso off"]


def test_a_bad_sysctl_value_fails_on_its_line() -> None:
    r = run("+0 `sysctl -q net.ipv4.tcp_ecn=2`\n")
    assert r.error == (
        "t.pkt:9: command `sysctl -q net.ipv4.tcp_ecn=2`: net.ipv4.tcp_ecn=2: synack "
        "negotiates RFC 3168 ECN both ways or not at all: tcp_ecn=0 or 1 (no accept-only 2, "
        "no Accurate ECN 3)"
    )


def test_leniency_options() -> None:
    body = "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1 win 9 <nop,nop,TS val 1 ecr 0>\n"
    assert not run(body).passed
    assert not run(body, ignore_window=True).passed
    assert run(body, ignore_window=True, ignore_options=True).passed
    late = "+.1 < P. 1:101(100) ack 1 win 512\n+.1 > . 1:1(0) ack 101\n"
    assert not run(late).passed
    assert run(late, tolerance_usecs=60_000).passed


def test_views_write_a_ladder_a_pcap_and_a_trace(tmp_path: Path) -> None:
    out = io.StringIO()
    verbose = io.StringIO()
    pcap, trace = tmp_path / "t.pcap", tmp_path / "t.jsonl"
    r = run(
        "+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n",
        verbose=True,
        observers=[
            LadderView(out, "192.168.0.1", "192.0.2.1", "synack"),
            PcapView(pcap),
            TraceView(trace),
            VerboseView(verbose),
        ],
    )
    assert r.passed, r.error
    ladder = out.getvalue()
    assert "script (192.0.2.1:48000) -> synack (192.168.0.1:8080)   [SYN] Seq=0" in ladder
    assert "synack: SYN-RECEIVED -> ESTABLISHED" in ladder
    assert "write(4, ..., 100) = 100" in ladder
    _, packets = read_pcap(pcap)
    flags = [parse_tcp_packet(p)[1].flags for _, p in packets]
    assert len(flags) == 4  # SYN, SYN-ACK, ACK, data
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert {"link", "state", "note", "result"} <= {rec["ev"] for rec in records}
    assert "0.200000  > P. 1:101(100) ack 1 win 32768" in verbose.getvalue()


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.pkt"
    good.write_text(SERVER)
    bad = tmp_path / "bad.pkt"
    bad.write_text(SERVER + "+0 read(4, ..., 1) = 1\n")
    assert main(["packetdrill", str(good)]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["packetdrill", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:9: read() blocked" in out
    assert "1 of 2 scripts passed on synack" in out
    page = tmp_path / "good.html"
    assert main(["packetdrill", "--view", str(page), str(good)]) == 0
    assert page.read_text().lstrip().lower().startswith("<!doctype html")
    assert main(["packetdrill", str(tmp_path / "missing.pkt")]) == 2
    assert main(["packetdrill", "--allow-shell", str(good)]) == 2


def test_ect01_matches_either_ect_codepoint_and_nothing_else() -> None:
    # packetdrill's [ect01]: an outbound packet with ECT(0) or ECT(1).
    ecn_server = SERVER.replace("+.1 < S 0:0(0)", "+.1 < SEW 0:0(0)").replace(
        "+0 > S. 0:0(0)", "+0 > SE. 0:0(0)"
    )
    body = "+0 write(4, ..., 1000) = 1000\n+0 > [ect01] P. 1:1001(1000) ack 1\n"
    ecn_on = "+0 `sysctl -q net.ipv4.tcp_ecn=1`\n"
    ok = run_script(parse_script(ecn_on + ecn_server + body, "t.pkt"), RunOptions())
    assert ok.passed, ok.error
    # Without ECN the data goes out Not-ECT: [ect01] fails on it.
    r = run(body)
    assert r.error is not None
    assert r.error.splitlines()[0] == (
        "t.pkt:10: error handling packet: live packet field ip_ecn: "
        "expected: 2 (0x2) vs actual: 0 (0x0) (ect01: ECT(0) or ECT(1))"
    )

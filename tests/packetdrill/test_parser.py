"""The packetdrill lexer and parser: tokens, times, packets, calls, and errors with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from synack.packetdrill import run_file
from synack.packetdrill.lexer import ScriptSyntaxError, tokenize
from synack.packetdrill.parser import parse_file, parse_script, parse_seconds
from synack.packetdrill.script import (
    BinOp,
    Command,
    Direction,
    Elided,
    IcmpPacket,
    Int,
    ListExpr,
    Struct,
    Syscall,
    TcpPacket,
    TimeKind,
    Word,
)
from synack.wire.tcp import (
    MaxSegmentSize,
    NoOperation,
    Sack,
    SackPermitted,
    Timestamps,
    WindowScale,
)


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokenize(text)][:-1]


def test_lexer_takes_the_longest_match_like_flex() -> None:
    # "S." is a flag word and a dot (a FLOAT needs a digit after the dot);
    # "+.1" is a plus and the float .1; "1:1001(1000)" three integers.
    assert kinds("+.1 > S. 1:1001(1000)") == [
        ("PUNCT", "+"),
        ("FLOAT", ".1"),
        ("PUNCT", ">"),
        ("WORD", "S"),
        ("PUNCT", "."),
        ("INT", "1"),
        ("PUNCT", ":"),
        ("INT", "1001"),
        ("PUNCT", "("),
        ("INT", "1000"),
        ("PUNCT", ")"),
    ]
    assert kinds("192.0.2.1 0x2 ... -1 --mtu=1500") == [
        ("IPV4", "192.0.2.1"),
        ("HEX", "0x2"),
        ("ELLIPSIS", "..."),
        ("INT", "-1"),
        ("OPTION", "--mtu=1500"),
    ]


def test_lexer_skips_comments_and_counts_lines() -> None:
    toks = tokenize("// one\n/* two\nthree */ 0 `cmd`\n\n  +1")
    assert [(t.text, t.line) for t in toks[:-1]] == [("0", 3), ("`cmd`", 3), ("+", 5), ("1", 5)]


def test_lexer_reports_an_unterminated_string_with_its_line() -> None:
    with pytest.raises(ScriptSyntaxError, match=r"^x.pkt:2: unterminated string"):
        tokenize('0 close(3) = 0\n+0 write(3, "abc, 3) = 3', "x.pkt")


def test_times_are_exact_microseconds() -> None:
    # Binary floating point would make 1.001 s 1000999 us.
    assert parse_seconds("1.001") == 1_001_000
    assert parse_seconds(".1") == 100_000
    assert parse_seconds("7") == 7_000_000
    with pytest.raises(ValueError, match="finer than a microsecond"):
        parse_seconds("0.0000001")


def test_event_times_in_all_five_forms() -> None:
    s = parse_script(
        "0 close(3) = 0\n"
        "+.25 close(3) = 0\n"
        "* > . 1:1(0) ack 1\n"
        "1~2 > . 1:1(0) ack 1\n"
        "+0.1~+0.3 > . 1:1(0) ack 1\n"
    )
    times = [(e.time.kind, e.time.usecs, e.time.end) for e in s.events]
    assert times == [
        (TimeKind.ABSOLUTE, 0, None),
        (TimeKind.RELATIVE, 250_000, None),
        (TimeKind.ANY, 0, None),
        (TimeKind.ABSOLUTE_RANGE, 1_000_000, 2_000_000),
        (TimeKind.RELATIVE_RANGE, 100_000, 300_000),
    ]
    assert [e.line for e in s.events] == [1, 2, 3, 4, 5]


def test_tcp_packets_with_flags_numbers_and_options() -> None:
    s = parse_script(
        "0 < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 7 ecr 0,nop,wscale 7>\n"
        "+0 > P. 1:1001(1000) ack 1 win 257 <nop,nop,sack 1:2 3:4>\n"
        "+0 > F. 1001:1001(0) ack 1 <...>\n"
        "+0 < [ect0] 40000>8080 R 5:5(0) win 0\n"
    )
    syn, data, fin, rst = (e.action for e in s.events)
    assert syn == TcpPacket(
        Direction.INBOUND,
        "S",
        0,
        0,
        window=32792,
        options=(
            MaxSegmentSize(1000),
            SackPermitted(),
            Timestamps(7, 0),
            NoOperation(),
            WindowScale(7),
        ),
    )
    assert isinstance(data, TcpPacket)
    assert (data.flags, data.seq, data.length, data.end, data.ack, data.window) == (
        "P.",
        1,
        1000,
        1001,
        1,
        257,
    )
    assert data.options == (NoOperation(), NoOperation(), Sack(((1, 2), (3, 4))))
    assert isinstance(fin, TcpPacket) and fin.options is None and fin.window is None
    assert isinstance(rst, TcpPacket) and (rst.ecn, rst.ports, rst.flags) == (
        "ect0",
        (40000, 8080),
        "R",
    )


def test_icmp_packets_both_orders() -> None:
    s = parse_script(
        "0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]\n"
        "+0 < [1:1461(1460)] icmp unreachable port_unreachable\n"
    )
    a, b = (e.action for e in s.events)
    assert a == IcmpPacket(Direction.INBOUND, "unreachable", "frag_needed", 1200, (1, 1460))
    assert b == IcmpPacket(Direction.INBOUND, "unreachable", "port_unreachable", None, (1, 1460))


def test_system_calls_with_expressions_errno_and_end_time() -> None:
    s = parse_script(
        "0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n"
        "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
        "+0 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)\n"
        "+.1...0.3 connect(3, ..., ...) = 0\n"
        "+0 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 0) = 1\n"
        "+0 `sysctl -q net.ipv4.tcp_sack=0`\n"
    )
    linger, fcntl, read, connect, poll = (e.action for e in s.events[:5])
    assert linger == Syscall(
        "setsockopt",
        (
            Int(3),
            Word("SOL_SOCKET"),
            Word("SO_LINGER"),
            Struct((("onoff", Int(1)), ("linger", Int(0)))),
            Int(8),
        ),
        Int(0),
    )
    assert isinstance(fcntl, Syscall)
    assert fcntl.args[2] == BinOp("|", Word("O_RDWR"), Word("O_NONBLOCK"))
    assert isinstance(read, Syscall)
    assert (read.result, read.errno, read.note) == (
        Int(-1),
        "EAGAIN",
        "Resource temporarily unavailable",
    )
    assert isinstance(connect, Syscall)
    assert (connect.end, connect.args[1]) == (300_000, Elided())
    assert isinstance(poll, Syscall) and isinstance(poll.args[0], ListExpr)
    assert s.events[5].action == Command("sysctl -q net.ipv4.tcp_sack=0")


def test_options_and_init_command_at_the_top() -> None:
    s = parse_script("--tolerance_usecs=10000\n--ip_version=ipv6\n`echo x`\n0 close(3) = 0\n")
    assert [(o.name, o.value, o.line) for o in s.options] == [
        ("tolerance_usecs", "10000", 1),
        ("ip_version", "ipv6", 2),
    ]
    assert s.init_command == Command("echo x") and s.init_line == 3


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("0 close(3) = 0\n+0 < udp(100)\n", 2, "UDP packets are not supported"),
        ("0 close(3) = 0\n\n+0 %{ print(1) }%\n", 3, "python code"),
        ("0 < S 0:0(0) win 1 <md5 abc>\n", 1, "'md5' is not supported"),
        ("0 < S 0:0(0) win 1 <wibble 3>\n", 1, "unknown TCP option 'wibble'"),
        ("0 < S 0:5(0) win 1\n", 1, "inconsistent TCP sequence numbers"),
        ("0 < S 0:0(0)\n", 1, "window must be specified for inbound packets"),
        ("0 < S 0:0(0) win 1 <...>\n", 1, "<...> for TCP options can only be used with outbound"),
        ("0 close(3) = 0\n* close(3) = 0\n", 2, "'*' can only be used with outbound packets"),
        ("0 < SX 0:0(0) win 1\n", 1, "invalid TCP flag 'X'"),
        ("0 read(3, ..., 1) = -1 EWHATEVER\n", 1, "unknown errno name 'EWHATEVER'"),
        ("0 close(3) = 0\n+1~0.5 > . 1:1(0)\n", 2, "either absolute"),
        ("0 > icmp echo_request\n", 1, "outbound ICMP packets are not supported"),
        ("0 close(3\n", 2, "expected ')' closing the argument list"),
    ],
)
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptSyntaxError) as info:
        parse_script(text, "bad.pkt")
    assert info.value.line == line
    assert str(info.value).startswith(f"bad.pkt:{line}: ")
    assert message in str(info.value)


def test_a_binary_file_is_a_syntax_error_on_its_line(tmp_path: Path) -> None:
    # `synack packetdrill capture.pcap` by mistake: a failed script with a line
    # number, not a UnicodeDecodeError out of the runner.
    path = tmp_path / "not-a-script.pkt"
    path.write_bytes(b"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 \xd4\xc3\xb2\xa1\n")
    with pytest.raises(ScriptSyntaxError) as err:
        parse_file(path)
    assert str(err.value) == f"{path}:2: not a text file (UTF-8)"
    result = run_file(str(path))
    assert not result.passed
    assert result.error == f"{path}:2: not a text file (UTF-8)"


def test_ect01_is_for_outbound_packets_only() -> None:
    s = parse_script("0 > [ect01] . 1:1001(1000) ack 1\n")
    (pkt,) = (e.action for e in s.events)
    assert isinstance(pkt, TcpPacket) and pkt.ecn == "ect01"
    with pytest.raises(ScriptSyntaxError, match=r"\[ect01\] matches either ECT codepoint"):
        parse_script("0 < [ect01] . 1:1001(1000) ack 1 win 512\n")

"""The packetdrill parser: tokens to a :class:`~synack.packetdrill.script.Script`.

A recursive-descent reading of the grammar packetdrill documents (its
``parser.y``), for the subset synack runs::

    script     := option* [command] event*
    event      := time action
    time       := ['+'] num ['~' ['+'] num] | '*'
    action     := packet | syscall | command
    packet     := ('<'|'>') ['[' ecn ']'] [port '>' port] flags seq
                  ['ack' n] ['win' n] ['urg' n] ['<' options '>' | '<' '...' '>']
                | ('<'|'>') 'icmp' type [code] ['mtu' n] ['[' seq ']']
    seq        := n ':' n '(' n ')'
    syscall    := ['...' num] name '(' [expr {',' expr}] ')' '=' expr [errno] ['(' note ')']

Every error names the file and line: a script that uses something the runner
does not support (UDP, ``%{ }%`` code, an unknown TCP option) fails here with
its line number rather than being skipped.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

from synack.packetdrill.lexer import ScriptSyntaxError, Token, tokenize
from synack.packetdrill.script import (
    Action,
    BinOp,
    Command,
    Direction,
    Elided,
    Event,
    Expr,
    FuncCall,
    IcmpPacket,
    Int,
    ListExpr,
    Script,
    ScriptOption,
    Str,
    Struct,
    Syscall,
    TcpPacket,
    TimeKind,
    TimeSpec,
    Word,
)
from synack.packetdrill.symbols import ERRNO
from synack.wire.tcp import (
    EndOfOptions,
    MaxSegmentSize,
    NoOperation,
    Option,
    Sack,
    SackPermitted,
    Timestamps,
    WindowScale,
)

__all__ = ["ScriptSyntaxError", "parse_file", "parse_script", "parse_seconds"]

_FLAG_LETTERS: Final = frozenset("FSRP.UEWA")
_ECN_WORDS: Final = frozenset({"noecn", "ect0", "ect1", "ect01", "ce"})
_U32: Final = 1 << 32


def parse_seconds(text: str) -> int:
    """``"0.1"``, ``".001"`` or ``"2"`` seconds as exact integer microseconds.

    Decimal arithmetic, not binary floating point: ``1.001`` is 1001000 us.
    Raises ``ValueError`` for a negative or malformed time.
    """
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"bad time {text!r}") from None
    if value < 0:
        raise ValueError(f"negative time {text}")
    usecs = value * 1_000_000
    if usecs != usecs.to_integral_value():
        raise ValueError(f"time {text} is finer than a microsecond")
    return int(usecs)


def parse_file(path: str | Path) -> Script:
    """Read and parse the script at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[: exc.start].count(b"\n") + 1
        raise ScriptSyntaxError(str(path), line, "not a text file (UTF-8)") from None
    return parse_script(text, str(path))


def parse_script(text: str, path: str = "<script>") -> Script:
    """Parse script text; raises :class:`ScriptSyntaxError` (``path:line: ...``)."""
    return _Parser(tokenize(text, path), path, text).script()


class _Parser:
    def __init__(self, tokens: list[Token], path: str, source: str) -> None:
        self.toks = tokens
        self.i = 0
        self.path = path
        self.source = source

    # ------------------------------------------------------------ helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def next(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != "EOF":
            self.i += 1
        return tok

    def error(self, message: str, line: int | None = None) -> ScriptSyntaxError:
        return ScriptSyntaxError(self.path, self.tok.line if line is None else line, message)

    def at(self, text: str) -> bool:
        tok = self.tok
        return tok.kind in ("PUNCT", "WORD", "ELLIPSIS") and tok.text == text

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.next()
            return True
        return False

    def expect(self, text: str, what: str | None = None) -> Token:
        if not self.at(text):
            raise self.error(f"expected {what or repr(text)} but found {self._found()}")
        return self.next()

    def _found(self) -> str:
        tok = self.tok
        return "end of file" if tok.kind == "EOF" else repr(tok.text)

    def integer(self, what: str, *, lo: int = 0, hi: int = _U32 - 1) -> int:
        tok = self.tok
        if tok.kind not in ("INT", "HEX"):
            raise self.error(f"expected {what} (an integer) but found {self._found()}")
        self.next()
        value = int(tok.text, 16) if tok.kind == "HEX" else int(tok.text)
        if not lo <= value <= hi:
            raise self.error(f"{what} {value} out of range {lo}..{hi}", tok.line)
        return value

    # ------------------------------------------------------------- script
    def script(self) -> Script:
        options: list[ScriptOption] = []
        while self.tok.kind == "OPTION":
            tok = self.next()
            name, eq, value = tok.text[2:].partition("=")
            options.append(ScriptOption(name, value if eq else None, tok.line))
        init: Command | None = None
        init_line = 0
        if self.tok.kind == "BACKQUOTE":
            tok = self.next()
            init, init_line = Command(_unquote(tok.text)), tok.line
        events: list[Event] = []
        while self.tok.kind != "EOF":
            events.append(self.event())
        return Script(self.path, tuple(options), tuple(events), init, init_line, self.source)

    def event(self) -> Event:
        line = self.tok.line
        time = self.time()
        action = self.action(time)
        _check_time_kind(self, time, action, line)
        return Event(line, time, action)

    def time(self) -> TimeSpec:
        if self.accept("*"):
            return TimeSpec(TimeKind.ANY)
        relative = self.accept("+")
        start = self.number("event time")
        if not self.at("~"):
            return TimeSpec(TimeKind.RELATIVE if relative else TimeKind.ABSOLUTE, start)
        self.next()
        relative_end = self.accept("+")
        if relative != relative_end:
            raise self.error("a time range is either absolute (a~b) or relative (+a~+b)")
        end = self.number("end of the time range")
        if end < start:
            raise self.error("time range is backwards")
        kind = TimeKind.RELATIVE_RANGE if relative else TimeKind.ABSOLUTE_RANGE
        return TimeSpec(kind, start, end)

    def number(self, what: str) -> int:
        tok = self.tok
        if tok.kind not in ("INT", "FLOAT"):
            raise self.error(f"expected {what} but found {self._found()}")
        self.next()
        try:
            return parse_seconds(tok.text)
        except ValueError as exc:
            raise self.error(str(exc), tok.line) from None

    # ------------------------------------------------------------- actions
    def action(self, time: TimeSpec) -> Action:
        tok = self.tok
        if tok.kind == "PUNCT" and tok.text in "<>":
            self.next()
            direction = Direction.INBOUND if tok.text == "<" else Direction.OUTBOUND
            return self.packet(direction)
        if tok.kind == "BACKQUOTE":
            self.next()
            return Command(_unquote(tok.text))
        if tok.kind == "CODE":
            raise self.error("%{ python code }% blocks are not supported by synack's runner")
        end: int | None = None
        if tok.kind == "ELLIPSIS":
            self.next()
            end = self.number("end time of the blocking call")
        if self.tok.kind == "WORD" and self.peek().text == "(":
            return self.syscall(end)
        raise self.error(f"expected a packet, a system call or a command but found {self._found()}")

    def packet(self, direction: Direction) -> TcpPacket | IcmpPacket:
        line = self.toks[self.i - 1].line  # the direction's line
        ecn: str | None = None
        echoed: tuple[int, int] | None = None
        if self.at("[") or self.at("("):
            close = "]" if self.at("[") else ")"
            if self.peek().kind in ("INT",) and close == "]":
                # Old ICMP form: < [1:1461(1460)] icmp unreachable ...
                self.next()
                echoed = self.seq()
                self.expect("]")
            else:
                self.next()
                ecn_tok = self.tok
                ecn = self.ip_info()
                if ecn == "ect01" and direction is Direction.INBOUND:
                    raise self.error(
                        "[ect01] matches either ECT codepoint: outbound packets only"
                        " (an inbound packet needs one: ect0 or ect1)",
                        ecn_tok.line,
                    )
                self.expect(close)
        if self.at("icmp"):
            self.next()
            return self.icmp(direction, echoed)
        if echoed is not None:
            raise self.error("a quoted segment [a:b(n)] belongs to an icmp packet")
        if self.at("udp"):
            raise self.error("UDP packets are not supported by synack's runner (TCP only)")
        ports: tuple[int, int] | None = None
        if self.tok.kind == "INT" and self.peek().text == ">":
            src = self.integer("source port", hi=65535)
            self.expect(">")
            dst = self.integer("destination port", hi=65535)
            ports = (src, dst)
        flags = self.flags()
        seq, length = self.seq()
        ack = window = urg = None
        while True:
            if self.at("ack"):
                self.next()
                ack = self.integer("ack number")
            elif self.at("win"):
                self.next()
                window = self.integer("window", hi=0xFFFF)
            elif self.at("urg"):
                self.next()
                urg = self.integer("urgent pointer", hi=0xFFFF)
            else:
                break
        options: tuple[Option, ...] | None = ()
        if self.at("<"):
            self.next()
            if self.accept("..."):
                if direction is Direction.INBOUND:
                    raise self.error(
                        "<...> for TCP options can only be used with outbound packets", line
                    )
                options = None
            else:
                options = self.tcp_options()
            self.expect(">", "'>' closing the TCP options")
        if window is None and direction is Direction.INBOUND:
            raise self.error("window must be specified for inbound packets ('win N')", line)
        if "." not in flags and ack is not None and ack != 0:
            raise self.error("'ack N' on a packet without the ACK flag ('.')", line)
        return TcpPacket(direction, flags, seq, length, ack, window, urg, options, ecn, ports)

    def ip_info(self) -> str:
        tok = self.tok
        if tok.kind == "WORD" and tok.text in _ECN_WORDS:
            self.next()
            return tok.text
        raise self.error(
            f"unsupported IP information {self._found()} (supported: noecn, ect0, ect1, ect01, ce)"
        )

    def flags(self) -> str:
        tok = self.tok
        if tok.kind == "PUNCT" and tok.text in ".-":
            self.next()
            return "." if tok.text == "." else ""
        if tok.kind != "WORD":
            raise self.error(f"expected TCP flags (like S, S., P., F.) but found {self._found()}")
        self.next()
        letters = tok.text
        bad = [c for c in letters if c not in _FLAG_LETTERS]
        if bad:
            raise self.error(f"invalid TCP flag {bad[0]!r} in {letters!r}", tok.line)
        if self.at(".") and self.tok.line == tok.line:
            self.next()
            letters += "."
        return letters

    def seq(self) -> tuple[int, int]:
        start = self.integer("start sequence number")
        self.expect(":", "':' in start:end(length)")
        end = self.integer("end sequence number")
        self.expect("(", "'(' in start:end(length)")
        length = self.integer("payload length", hi=0xFFFF)
        self.expect(")", "')' in start:end(length)")
        if end != (start + length) & 0xFFFFFFFF:
            raise self.error("inconsistent TCP sequence numbers and payload size")
        return start, length

    def tcp_options(self) -> tuple[Option, ...]:
        opts: list[Option] = [self.tcp_option()]
        while self.accept(","):
            opts.append(self.tcp_option())
        return tuple(opts)

    def tcp_option(self) -> Option:
        tok = self.tok
        if tok.kind != "WORD":
            raise self.error(f"expected a TCP option but found {self._found()}")
        self.next()
        name = tok.text
        if name == "nop":
            return NoOperation()
        if name == "eol":
            return EndOfOptions()
        if name == "mss":
            return MaxSegmentSize(self.integer("mss", hi=0xFFFF))
        if name == "wscale":
            return WindowScale(self.integer("window scale shift", hi=255))
        if name == "sackOK":
            return SackPermitted()
        if name == "sack":
            blocks: list[tuple[int, int]] = []
            while self.tok.kind == "INT" and self.peek().text == ":":
                left = self.integer("SACK left edge")
                self.expect(":")
                blocks.append((left, self.integer("SACK right edge")))
            if not 1 <= len(blocks) <= 4:
                raise self.error("a SACK option has 1 to 4 blocks left:right", tok.line)
            return Sack(tuple(blocks))
        if name == "TS":
            self.expect("val", "'val' in 'TS val N ecr M'")
            val = self.integer("TS val")
            self.expect("ecr", "'ecr' in 'TS val N ecr M'")
            return Timestamps(val, self.integer("TS ecr"))
        if name in ("FO", "FOEXP", "md5", "mpcapable", "dss"):
            raise self.error(f"TCP option {name!r} is not supported by synack's runner", tok.line)
        raise self.error(f"unknown TCP option {name!r}", tok.line)

    def icmp(self, direction: Direction, echoed: tuple[int, int] | None) -> IcmpPacket:
        if direction is Direction.OUTBOUND:
            raise self.error("outbound ICMP packets are not supported (synack sends none)")
        if self.tok.kind != "WORD":
            raise self.error(f"expected an ICMP type but found {self._found()}")
        icmp_type = self.next().text
        code: str | None = None
        if self.tok.kind == "WORD" and self.tok.text not in ("mtu",):
            code = self.next().text
        mtu: int | None = None
        if self.accept("mtu"):
            mtu = self.integer("mtu", hi=0xFFFF)
        if self.at("["):
            self.next()
            if echoed is not None:
                raise self.error("the quoted segment is given twice")
            echoed = self.seq()
            self.expect("]")
        return IcmpPacket(direction, icmp_type, code, mtu, echoed)

    # ------------------------------------------------------------ syscalls
    def syscall(self, end: int | None) -> Syscall:
        name = self.next().text
        self.expect("(")
        args: list[Expr] = []
        if not self.at(")"):
            args.append(self.expr())
            while self.accept(","):
                args.append(self.expr())
        self.expect(")", "')' closing the argument list")
        self.expect("=", "'= result' after the system call")
        result = self.expr()
        errno: str | None = None
        if self.tok.kind == "WORD":
            tok = self.next()
            if tok.text not in ERRNO:
                raise self.error(f"unknown errno name {tok.text!r}", tok.line)
            errno = tok.text
        note: str | None = None
        if self.at("("):
            note = self.note()
        return Syscall(name, tuple(args), result, errno, note, end)

    def note(self) -> str:
        start = self.expect("(")
        depth = 1
        words: list[str] = []
        while depth:
            tok = self.next()
            if tok.kind == "EOF":
                raise self.error("unterminated '(' note", start.line)
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth -= 1
                if not depth:
                    break
            words.append(tok.text)
        return " ".join(words)

    def expr(self) -> Expr:
        lhs = self.primary()
        while self.at("|"):
            self.next()
            lhs = BinOp("|", lhs, self.primary())
        return lhs

    def primary(self) -> Expr:
        tok = self.tok
        if tok.kind == "ELLIPSIS":
            self.next()
            return Elided()
        if tok.kind == "INT":
            self.next()
            return Int(int(tok.text))
        if tok.kind == "HEX":
            self.next()
            return Int(int(tok.text, 16), hex=True)
        if tok.kind == "STRING":
            text = ""
            while self.tok.kind == "STRING":
                text += _unescape(self.next().text[1:-1])
            more = self.accept("...")
            return Str(text, more)
        if tok.kind == "WORD":
            self.next()
            if self.at("("):
                self.next()
                args: list[Expr] = []
                if not self.at(")"):
                    args.append(self.expr())
                    while self.accept(","):
                        args.append(self.expr())
                self.expect(")")
                return FuncCall(tok.text, tuple(args))
            return Word(tok.text)
        if tok.kind == "PUNCT" and tok.text == "[":
            self.next()
            items: list[Expr] = []
            if not self.at("]"):
                items.append(self.expr())
                while self.accept(","):
                    items.append(self.expr())
            self.expect("]", "']' closing the list")
            return ListExpr(tuple(items))
        if tok.kind == "PUNCT" and tok.text == "{":
            self.next()
            fields: list[tuple[str | None, Expr]] = []
            while True:
                if self.tok.kind == "WORD" and self.peek().text == "=":
                    key = self.next().text
                    self.next()
                    fields.append((key, self.expr()))
                else:
                    fields.append((None, self.expr()))
                if not self.accept(","):
                    break
            self.expect("}", "'}' closing the structure")
            return Struct(tuple(fields))
        raise self.error(f"expected an expression but found {self._found()}")


def _check_time_kind(p: _Parser, time: TimeSpec, action: Action, line: int) -> None:
    outbound = isinstance(action, TcpPacket | IcmpPacket) and action.direction is Direction.OUTBOUND
    if time.kind is TimeKind.ANY and not outbound:
        raise p.error("event time '*' can only be used with outbound packets", line)
    if time.kind in (TimeKind.ABSOLUTE_RANGE, TimeKind.RELATIVE_RANGE) and not outbound:
        raise p.error("an event time range can only be used with outbound packets", line)


def _unquote(text: str) -> str:
    return _unescape(text[1:-1])


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t", "0": "\0"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)

"""The packetdrill runner: executes a script against a backend and checks every step.

The runner plays the script's remote end at the IP layer and the local
application through system calls, as packetdrill does:

* ``<`` packets are built from the script, their numbers mapped to the live
  connection (the script's own sequence numbers are absolute; its
  acknowledgment numbers, SACK blocks and echoed timestamps refer to the
  stack's side, relative to the stack's initial sequence number), and
  injected at the event's time;
* ``>`` packets are compared with the next packet the stack sent: flags,
  sequence number (made relative to the stack's ISN), length,
  acknowledgment, window (if the script gives one), urgent pointer, TCP
  options (unless ``<...>``) and ECN field (if given), then its time;
* system calls run at their time; the return value, the errno and any output
  (``getsockopt``'s value, ``poll``'s ``revents``) must match, and a blocking
  call (``+0...0.2 accept(...)``) must return at its end time.

Times follow packetdrill: ``+t`` is relative to when the previous event
actually happened (to the previous one's script time between two inbound
packets), and an event passes if it happens within the tolerance:
``max(--tolerance_usecs, --tolerance_percent of the gap since the previous
event)``. The first failure stops the script with a message naming the file,
line, what was expected, what happened, and when.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from synack.packetdrill.backend import Backend, Op, Outcome, PendingCall, RunObserver, Settings
from synack.packetdrill.calls import CallError, Calls
from synack.packetdrill.format import (
    flag_letters,
    format_options,
    format_packet,
    format_syscall,
    format_tcp,
    format_time,
)
from synack.packetdrill.packets import ECN_BITS, ECN_NAMES, icmp_error, tcp_flags
from synack.packetdrill.parser import ScriptSyntaxError, parse_file
from synack.packetdrill.script import (
    Command,
    Direction,
    Event,
    IcmpPacket,
    Script,
    ScriptOption,
    Syscall,
    TcpPacket,
    TimeKind,
    TimeSpec,
)
from synack.packetdrill.sysctl import parse_command
from synack.tcp import Config
from synack.wire.errors import MalformedPacket
from synack.wire.ip import emit_tcp_packet, parse_tcp_packet
from synack.wire.seq import MASK
from synack.wire.tcp import (
    ACK,
    SYN,
    URG,
    EndOfOptions,
    MaxSegmentSize,
    Option,
    Sack,
    Segment,
    Timestamps,
    WindowScale,
)

__all__ = ["RunOptions", "ScriptFailure", "ScriptResult", "run_file", "run_script", "settings_for"]

# The script's remote end: the first passive connection comes from this port
# (each further one from the next), as packetdrill picks an unused port.
REMOTE_PORT_BASE = 48000
# How long a call the script says returns at once may take in real time.
IMMEDIATE_GRACE = 200_000


class ScriptFailure(Exception):
    """A script failed: ``path:line: message``, then the packets or calls involved."""

    def __init__(self, path: str, line: int, message: str, details: Sequence[str] = ()) -> None:
        self.path = path
        self.line = line
        self.message = message
        self.details = list(details)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join([f"{self.path}:{self.line}: {self.message}", *self.details])


@dataclass
class RunOptions:
    """How to run scripts: the stack, the leniency options, and the views.

    ``tolerance_usecs``/``tolerance_percent`` override the script's own;
    ``ignore_window`` and ``ignore_options`` skip those checks on outbound
    packets (for running other stacks' scripts against synack).
    """

    linux: bool = False
    verbose: bool = False
    tolerance_usecs: int | None = None
    tolerance_percent: float | None = None
    ignore_window: bool = False
    ignore_options: bool = False
    allow_shell: bool = False
    seed: int = 1
    observers: Sequence[RunObserver] = ()


@dataclass
class ScriptResult:
    """The outcome of one script on one stack."""

    path: str
    stack: str
    passed: bool
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    script_time: int = 0
    wall_time: float = 0.0


@dataclass
class _Flow:
    """The connection under test, as the script and the stack each number it."""

    remote_port: int
    local_port: int | None
    isn_live: int | None = None
    isn_script: int | None = None
    ts_map: dict[int, int] = field(default_factory=dict)
    ts_first: tuple[int, int] | None = None
    new_syn: bool = False  # the script sent a SYN: the stack may answer with a new ISN
    last_tsval: int | None = None  # the stack's latest TSval, live

    def local_offset(self) -> int:
        """Add to a script (relative) number on the stack's side to get the live one."""
        if self.isn_live is None or self.isn_script is None:
            return 0
        return (self.isn_live - self.isn_script) & MASK


# ------------------------------------------------------------------- options
_SCRIPT_OPTIONS = {
    "ip_version",
    "local_ip",
    "remote_ip",
    "bind_port",
    "connect_port",
    "mtu",
    "tolerance_usecs",
    "tolerance_percent",
    "tcp_ts_tick_usecs",
    "strict_segments",
    "verbose",
    "v",
}


def settings_for(script: Script, options: RunOptions | None = None) -> Settings:
    """The :class:`Settings` a script's ``--options`` (and the run's overrides) give."""
    opts = options or RunOptions()
    values: dict[str, Any] = {}
    ipv6 = False
    for o in script.options:
        _check_option(script.path, o)
        v = o.value or ""
        if o.name == "ip_version":
            if v not in ("ipv4", "ipv6"):
                raise ScriptFailure(
                    script.path, o.line, f"--ip_version={v}: synack's runner has ipv4 and ipv6"
                )
            ipv6 = v == "ipv6"
        elif o.name in ("local_ip", "remote_ip"):
            values[o.name] = _address(script.path, o, v)
        elif o.name in ("bind_port", "connect_port", "mtu", "tolerance_usecs", "tcp_ts_tick_usecs"):
            values[o.name.replace("tcp_ts_tick_usecs", "ts_tick_usecs")] = _number(
                script.path, o, v, int
            )
        elif o.name == "tolerance_percent":
            values["tolerance_percent"] = _number(script.path, o, v, float)
    if ipv6:
        values.setdefault("local_ip", "fd3d:fa7b:d17d::1")
        values.setdefault("remote_ip", "2001:db8::1")
    settings = Settings(ipv6=ipv6, **values)
    if ipaddress.ip_address(settings.local_ip).version != (6 if ipv6 else 4) or (
        ipaddress.ip_address(settings.remote_ip).version != (6 if ipv6 else 4)
    ):
        raise ScriptFailure(script.path, 1, "--local_ip/--remote_ip do not match --ip_version")
    if opts.tolerance_usecs is not None:
        settings = replace(settings, tolerance_usecs=opts.tolerance_usecs)
    if opts.tolerance_percent is not None:
        settings = replace(settings, tolerance_percent=opts.tolerance_percent)
    return replace(
        settings,
        ignore_window=opts.ignore_window,
        ignore_options=opts.ignore_options,
        allow_shell=opts.allow_shell,
    )


def _check_option(path: str, o: ScriptOption) -> None:
    if o.name not in _SCRIPT_OPTIONS:
        raise ScriptFailure(path, o.line, f"--{o.name} is not supported by synack's runner")


def _address(path: str, o: ScriptOption, v: str) -> str:
    try:
        return str(ipaddress.ip_address(v.split("/")[0]))
    except ValueError:
        raise ScriptFailure(path, o.line, f"--{o.name}={v}: not an IP address") from None


def _number(path: str, o: ScriptOption, v: str, kind: type[int] | type[float]) -> Any:
    try:
        value = kind(v)
    except ValueError:
        raise ScriptFailure(path, o.line, f"--{o.name}={v}: not a number") from None
    if value < 0:
        raise ScriptFailure(path, o.line, f"--{o.name}={v}: must not be negative")
    return value


def config_for(settings: Settings) -> Config:
    """synack's :class:`Config` for a script: the defaults, with the MSS the MTU gives."""
    return Config(mss=settings.mtu - 40)


# -------------------------------------------------------------------- running
def run_file(path: str, options: RunOptions | None = None) -> ScriptResult:
    """Parse and run the script at ``path``; never raises for a bad script."""
    opts = options or RunOptions()
    try:
        script = parse_file(path)
    except ScriptSyntaxError as exc:
        return ScriptResult(path, _stack(opts), False, str(exc))
    except OSError as exc:
        return ScriptResult(path, _stack(opts), False, f"{path}: {exc.strerror or exc}")
    return run_script(script, opts)


def _stack(opts: RunOptions) -> str:
    return "linux" if opts.linux else "synack"


def run_script(script: Script, options: RunOptions | None = None) -> ScriptResult:
    """Run a parsed script on synack (virtual time) or Linux (``options.linux``)."""
    opts = options or RunOptions()
    started = time.monotonic()
    result = ScriptResult(script.path, _stack(opts), False)
    backend: Backend | None = None
    try:
        settings = settings_for(script, opts)
        backend = _make_backend(settings, opts)
        runner = _Runner(script, settings, backend, opts, result)
        runner.run()
        result.passed = True
    except ScriptFailure as exc:
        result.error = str(exc)
    finally:
        if backend is not None:
            result.script_time = backend.now()
            backend.close()
        result.wall_time = time.monotonic() - started
    for o in opts.observers:
        o.finish(result.passed, result.error)
    return result


def _make_backend(settings: Settings, opts: RunOptions) -> Backend:
    if opts.linux:
        from synack.packetdrill.linux import LinuxBackend

        return LinuxBackend(settings, opts.observers)
    from synack.packetdrill.virtual import SynackBackend

    return SynackBackend(settings, config_for(settings), opts.observers, seed=opts.seed)


class _Runner:
    def __init__(
        self,
        script: Script,
        settings: Settings,
        backend: Backend,
        opts: RunOptions,
        result: ScriptResult,
    ) -> None:
        self.script = script
        self.path = script.path
        self.s = settings
        self.backend = backend
        self.opts = opts
        self.result = result
        self.local = ipaddress.ip_address(settings.local_ip).packed
        self.remote = ipaddress.ip_address(settings.remote_ip).packed
        self.calls = Calls(ipv6=settings.ipv6)
        self.flow: _Flow | None = None
        self.listener_under_test = False
        self.next_remote_port = REMOTE_PORT_BASE
        self.blocked: list[PendingCall] = []
        self.event: Event | None = None
        self.last_time = 0  # script time of the previous event
        self.anchor = 0  # when the previous event actually began
        self.anchor_end = 0  # ... and when it was over (a call's return)

    # ------------------------------------------------------------ helpers
    def fail(
        self, message: str, details: Sequence[str] = (), line: int | None = None
    ) -> ScriptFailure:
        if line is None:
            line = self.event.line if self.event is not None else 1
        return ScriptFailure(self.path, line, message, details)

    def note(self, t: int, text: str) -> None:
        self.backend.note(t, text)

    def tolerance(self, expected: int) -> int:
        gap = max(0, expected - self.last_time)
        return max(self.s.tolerance_usecs, int(self.s.tolerance_percent / 100 * gap))

    def check_time(self, what: str, start: int, end: int | None, actual: int) -> None:
        tol = self.tolerance(start)
        if end is not None:
            if not start - tol <= actual <= end + tol:
                raise self.fail(
                    f"timing error: expected {what} in time range "
                    f"{format_time(start)}~{format_time(end)} sec but happened at "
                    f"{format_time(actual)} sec; tolerance {format_time(tol)} sec"
                )
            return
        if abs(actual - start) > tol:
            raise self.fail(
                f"timing error: expected {what} at {format_time(start)} sec but happened at "
                f"{format_time(actual)} sec; tolerance {format_time(tol)} sec"
            )

    # ---------------------------------------------------------------- run
    def run(self) -> None:
        if self.script.init_command is not None:
            # packetdrill runs the init command before the script's clock starts.
            self.event = Event(self.script.init_line, _ZERO, self.script.init_command)
            self.command(self.script.init_command)
        self.backend.start()
        prev: Event | None = None
        for ev in self.script.events:
            self.event = ev
            start, end = self.event_times(ev, prev)
            action = ev.action
            if isinstance(action, TcpPacket) and action.direction is Direction.OUTBOUND:
                self.expect(action, start, end)
            elif isinstance(action, TcpPacket):
                self.at(start, "inbound packet")
                self.inject_tcp(action)
            elif isinstance(action, IcmpPacket):
                self.at(start, "inbound packet")
                self.inject_icmp(action)
            elif isinstance(action, Syscall):
                self.at(start, "system call start")
                self.syscall(action, start)
            else:
                assert isinstance(action, Command)
                self.at(start, "command")
                self.command(action)
            self.check_blocked()
            self.last_time = start if start is not None else self.anchor
            prev = ev
        # Blocking calls still in progress get until their end time to return.
        for pc in list(self.blocked):
            if "end" in pc.data:
                end = pc.data["end"] + self.tolerance(pc.data["end"])
                self.backend.wait_until(max(end, self.backend.now()))
            self.backend.settle(pc, IMMEDIATE_GRACE)
        self.check_blocked()
        if self.blocked:
            pc = self.blocked[0]
            raise self.fail(
                f"blocking {pc.op.name} call still in progress at the end of the script",
                line=pc.line,
            )

    def event_times(self, ev: Event, prev: Event | None) -> tuple[int | None, int | None]:
        ts = ev.time
        if ts.kind is TimeKind.ANY:
            return None, None
        if ts.kind in (TimeKind.ABSOLUTE, TimeKind.ABSOLUTE_RANGE):
            return ts.usecs, ts.end
        if prev is not None and prev.inbound_packet and ev.inbound_packet:
            offset = self.last_time  # consecutive inbound packets: no drift
        elif isinstance(ev.action, TcpPacket) and ev.action.direction is Direction.OUTBOUND:
            # What the previous event made the stack send leaves once it began.
            offset = self.anchor
        else:
            # The script's own actions follow one another: from when the
            # previous one was over (packetdrill's "now"), not from when the
            # runner got round to this one.
            offset = self.anchor_end
        end = offset + ts.end if ts.end is not None else None
        return offset + ts.usecs, end

    def at(self, t: int | None, what: str) -> None:
        """Wait for script time ``t``, then check we got there in time.

        In virtual time an action is late only when the script's own times go
        backwards (an absolute time before the previous event). In real time
        the runner itself may wake late on a busy machine: that says nothing
        about the stack (later events count from when this one happened), so
        it is a warning, not a failure.
        """
        assert t is not None
        self.backend.wait_until(t)
        self.check_blocked()
        try:
            self.check_time(what, t, None, self.backend.now())
        except ScriptFailure as exc:
            if not self.backend.real_time:
                raise
            self.result.warnings.append(
                f"{self.path}:{exc.line}: the runner was late: {exc.message.split(': ', 1)[1]}"
            )

    # -------------------------------------------------------- inbound TCP
    def inject_tcp(self, p: TcpPacket) -> None:
        bits = tcp_flags(p.flags)
        flow = self.flow
        syn_only = bits & (SYN | ACK) == SYN
        new_ports = p.ports is not None and (
            flow is None or (p.ports[0], p.ports[1]) != (flow.remote_port, flow.local_port)
        )
        if flow is None or (syn_only and self.listener_under_test) or new_ports:
            if p.ports is not None:
                remote_port, local_port = p.ports
            else:
                remote_port, local_port = self.next_remote_port, self.s.bind_port
                self.next_remote_port += 1
            flow = self.flow = _Flow(remote_port, local_port)
            self.listener_under_test = False
        if flow.local_port is None:
            raise self.fail(
                "inbound packet before the stack sent its SYN: no connection to send it to"
            )
        if syn_only:
            flow.new_syn = True
        off = flow.local_offset() if bits & ACK else 0
        ack = (p.ack + off) & MASK if (p.ack is not None and bits & ACK) else 0
        options = tuple(self.map_inbound_option(o, off, bits) for o in (p.options or ()))
        seg = Segment(
            flow.remote_port,
            flow.local_port,
            p.seq,
            ack,
            bits,
            p.window or 0,
            p.urg or 0,
            options,
            bytes(p.length),
        )
        tos = ECN_BITS.get(p.ecn or "noecn", 0)
        try:
            packet = emit_tcp_packet(self.remote, self.local, seg, 64, 0, tos)
        except ValueError as exc:
            raise self.fail(f"cannot build the inbound packet: {exc}") from None
        self.verbose_line(self.backend.now(), "<", format_packet(p))
        self.anchor = self.anchor_end = self.backend.now()  # it leaves before the write
        self.backend.inject(packet)

    def map_inbound_option(self, o: Option, off: int, bits: int) -> Option:
        if isinstance(o, Sack):
            return Sack(tuple(((a + off) & MASK, (b + off) & MASK) for a, b in o.blocks))
        if isinstance(o, Timestamps) and bits & ACK and self.flow is not None:
            return Timestamps(o.tsval, self.live_ecr(o.tsecr))
        return o

    def live_ecr(self, ecr: int) -> int:
        flow = self.flow
        assert flow is not None
        if ecr in flow.ts_map:
            return flow.ts_map[ecr]
        if flow.ts_first is not None:
            script0, live0 = flow.ts_first
            return (live0 + ecr - script0) & MASK
        if flow.last_tsval is not None:
            # The script never named one of the stack's TSvals (its packets so
            # far had <...>): echo the latest the stack sent.
            return flow.last_tsval
        return ecr

    def inject_icmp(self, p: IcmpPacket) -> None:
        flow = self.flow
        if flow is None or flow.local_port is None:
            raise self.fail("ICMP error before any connection: nothing for it to quote")
        start, length = p.echoed if p.echoed is not None else (0, 0)
        packet = icmp_error(
            p,
            self.remote,
            self.local,
            ports=(flow.local_port, flow.remote_port),
            seq=(start + flow.local_offset()) & MASK if p.echoed is not None else 0,
            length=length,
        )
        if packet is None:
            raise self.fail(f"unsupported ICMP message: {p.icmp_type} {p.code or ''}".rstrip())
        self.verbose_line(self.backend.now(), "<", format_packet(p))
        self.anchor = self.anchor_end = self.backend.now()  # it leaves before the write
        self.backend.inject(packet)

    # ------------------------------------------------------- outbound TCP
    def expect(self, p: TcpPacket, start: int | None, end: int | None) -> None:
        tol = self.tolerance(start) if start is not None else 0
        if start is None:
            limit = self.backend.now() + self.backend.late_horizon
        else:
            limit = (end if end is not None else start) + tol
        while True:
            got = self.backend.next_outbound(limit)
            if got is None:
                got = self.backend.next_outbound(limit + self.backend.late_horizon)
            if got is None:
                when = "" if start is None else f" at {format_time(start)} sec"
                raise self.fail(
                    f"error handling packet: expected outbound packet{when} but the stack "
                    "sent nothing",
                    [f"script packet: {_t(start)} {format_packet(p)}"],
                )
            t, packet = got
            try:
                ip, seg = parse_tcp_packet(packet)
            except MalformedPacket as exc:
                self.verbose_line(t, ">", f"(not TCP: {exc.reason}, ignored)")
                continue
            if ip.src != self.local or ip.dst != self.remote:
                self.verbose_line(t, ">", "(for another address, ignored)")
                continue
            if not self.adopt(seg, p):
                self.verbose_line(
                    t, ">", f"(port {seg.src_port} > {seg.dst_port}: not the connection under test)"
                )
                continue
            break
        actual = self.to_script(seg, p, ip.ecn)
        self.verbose_line(t, ">", actual)
        problem = self.compare(p, seg, ip.ecn)
        details = [
            f"script packet: {_t(start)} {format_packet(p)}",
            f"actual packet: {_t(t)} {actual}",
        ]
        if problem is not None:
            raise self.fail(f"error handling packet: {problem}", details)
        if start is not None:
            try:
                self.check_time("outbound packet", start, end, t)
            except ScriptFailure as exc:
                raise self.fail(f"error handling packet: {exc.message}", details) from None
        self.backend.wait_until(t)
        self.anchor = self.anchor_end = t

    def adopt(self, seg: Segment, p: TcpPacket) -> bool:
        """Is ``seg`` from the connection under test? Learn its port and ISN."""
        flow = self.flow
        if flow is None:
            flow = self.flow = _Flow(seg.dst_port, seg.src_port)
        if flow.local_port is None:
            if seg.dst_port != flow.remote_port:
                return False
            flow.local_port = seg.src_port
        elif (seg.src_port, seg.dst_port) != (flow.local_port, flow.remote_port):
            return False
        if seg.flags & SYN and "S" in p.flags and (flow.isn_live is None or flow.new_syn):
            # The stack's ISN: from its first SYN, or from its answer to a SYN
            # the script sent since (a new incarnation, e.g. from TIME-WAIT).
            flow.isn_live = seg.seq
            flow.isn_script = p.seq
            flow.new_syn = False
        return True

    def to_script(self, seg: Segment, p: TcpPacket, ecn: int) -> str:
        """The live segment in script numbering and syntax."""
        flow = self.flow
        assert flow is not None
        seq = (seg.seq - flow.local_offset()) & MASK
        opts = tuple(self.display_option(o, p) for o in seg.options if not _is_padding(o))
        ecn_name = ECN_NAMES[ecn] if p.ecn else None
        return format_tcp(
            seg.flags,
            seq,
            len(seg.payload),
            seg.ack if seg.flags & ACK else None,
            seg.window,
            opts,
            urg=seg.urgent if seg.flags & URG or seg.urgent else None,
            ecn=ecn_name,
        )

    def display_option(self, o: Option, p: TcpPacket) -> Option:
        if isinstance(o, Timestamps):
            script_val = _script_ts(p)
            flow = self.flow
            assert flow is not None
            flow.last_tsval = o.tsval
            if script_val is not None:
                flow.ts_map.setdefault(script_val, o.tsval)
                if flow.ts_first is None:
                    flow.ts_first = (script_val, o.tsval)
            if flow.ts_first is not None:
                script0, live0 = flow.ts_first
                return Timestamps((script0 + o.tsval - live0) & MASK, o.tsecr)
        return o

    def compare(self, p: TcpPacket, seg: Segment, ecn: int) -> str | None:
        flow = self.flow
        assert flow is not None
        want = tcp_flags(p.flags)
        if want != seg.flags:
            return (
                f"live packet field tcp_flags: expected: {flag_letters(want)} vs actual: "
                f"{flag_letters(seg.flags)}"
            )
        seq = (seg.seq - flow.local_offset()) & MASK
        if seq != p.seq:
            return _field("tcp_seq", p.seq, seq)
        if len(seg.payload) != p.length:
            return (
                f"live packet payload: expected {p.length} bytes vs actual {len(seg.payload)} bytes"
            )
        if want & ACK and seg.ack != (p.ack or 0):
            return _field("tcp_ack_seq", p.ack or 0, seg.ack)
        if p.window is not None and not self.s.ignore_window and seg.window != p.window:
            return _field("tcp_window", p.window, seg.window)
        if (p.urg or 0) != seg.urgent and (want & URG or p.urg is not None):
            return _field("tcp_urg_ptr", p.urg or 0, seg.urgent)
        if p.ecn == "ect01":
            # Either ECT codepoint (RFC 3168 5: ECT(0) '10' or ECT(1) '01').
            if ecn not in (ECN_BITS["ect0"], ECN_BITS["ect1"]):
                return _field("ip_ecn", ECN_BITS["ect0"], ecn) + " (ect01: ECT(0) or ECT(1))"
        elif p.ecn is not None and ECN_BITS[p.ecn] != ecn:
            return _field("ip_ecn", ECN_BITS[p.ecn], ecn)
        if p.options is not None and not self.s.ignore_options:
            return self.compare_options(p.options, seg.options)
        return None

    def compare_options(self, want: tuple[Option, ...], got: tuple[Option, ...]) -> str | None:
        actual = [o for o in got if not _is_padding(o)]
        expected = [o for o in want if not _is_padding(o)]
        bad = f"bad outbound TCP options: expected {format_options(want)} vs actual " + (
            format_options(tuple(actual))
        )
        if len(actual) != len(expected):
            return bad
        for w, g in zip(expected, actual, strict=True):
            if type(w) is not type(g):
                return bad
            if isinstance(w, Timestamps) and isinstance(g, Timestamps):
                if w.tsecr != g.tsecr:
                    return f"bad outbound TCP timestamp echo reply: expected ecr {w.tsecr} vs actual ecr {g.tsecr}"
                flow = self.flow
                tick = self.s.ts_tick_usecs
                if tick and flow is not None and flow.ts_first is not None:
                    script0, live0 = flow.ts_first
                    mapped = (script0 + g.tsval - live0) & MASK
                    delta = abs(((mapped - w.tsval + (1 << 31)) & MASK) - (1 << 31))
                    if delta * tick > self.s.tolerance_usecs:
                        return f"bad outbound TCP timestamp value: expected val {w.tsval} vs actual val {mapped}"
                continue
            if isinstance(w, MaxSegmentSize | WindowScale | Sack) and w != g:
                return bad
        return None

    # ------------------------------------------------------------- output
    def verbose_line(self, t: int, arrow: str, text: str) -> None:
        if self.opts.verbose:
            self.note(t, f"{arrow} {text}")

    # ------------------------------------------------------------ syscalls
    def syscall(self, call: Syscall, start: int | None) -> None:
        assert start is not None
        for pc in list(self.blocked):
            self.backend.settle(pc, self.s.tolerance_usecs + IMMEDIATE_GRACE // 4)
        self.check_blocked()
        if self.blocked:
            raise self.fail(
                f"{call.name}() starts while the blocking {self.blocked[0].op.name}() call "
                f"of line {self.blocked[0].line} is still in progress"
            )
        line = self.event.line if self.event else 0
        try:
            built = self.calls.build(call)
        except CallError as exc:
            raise self.fail(str(exc)) from None
        if isinstance(built, Outcome):  # an fd the script never opened: EBADF at once
            now = self.backend.now()
            pc = PendingCall(Op(call.name), line, outcome=built, done_at=now, started_at=now)
            pc.data["spec"], pc.data["start"] = call, start
            self.finish_call(pc)
            return
        op = built
        if call.name == "listen":
            self.listener_under_test = True
        elif call.name == "connect":
            addr = op.args[0]
            if self.flow is None or self.flow.local_port is not None:
                self.flow = _Flow(addr[1] if addr else self.s.connect_port, None)
                self.listener_under_test = False
        may_block = call.end is not None
        pc = self.backend.call(op, line, may_block=may_block)
        pc.data["spec"] = call
        pc.data["start"] = start
        if call.end is not None:
            ev = self.event
            relative = ev is not None and ev.time.relative
            pc.data["end"] = start - ev.time.usecs + call.end if relative and ev else call.end
        if not pc.done and not may_block:
            self.backend.settle(pc, IMMEDIATE_GRACE)
        # What the call makes the stack send leaves while it runs: packets the
        # script expects next count from its start, its own next call from its
        # return (or its start, for a call that blocks).
        self.anchor = pc.started_at
        self.anchor_end = pc.done_at if pc.done_at is not None else pc.started_at
        if not pc.done:
            if not may_block:
                raise self.fail(
                    f"{call.name}() blocked, but the script expects it to return at once "
                    f"(write '...END_TIME {call.name}(...)' for a blocking call)"
                )
            if not pc.done:
                self.blocked.append(pc)
                return
        self.finish_call(pc)

    def check_blocked(self) -> None:
        for pc in list(self.blocked):
            if pc.done:
                self.blocked.remove(pc)
                self.finish_call(pc)

    def finish_call(self, pc: PendingCall) -> None:
        call: Syscall = pc.data["spec"]
        outcome = pc.outcome
        assert outcome is not None and pc.done_at is not None
        line = pc.line
        try:
            shown = self.calls.describe(call, outcome)
            self.note(pc.done_at, f"{format_syscall(call).split(' = ')[0]} = {shown}")
            self.calls.check(call, outcome)
        except CallError as exc:
            raise self.fail(str(exc), line=line) from None
        if "end" in pc.data:
            saved = self.last_time
            self.last_time = pc.data["start"]
            try:
                self.check_time("system call return", pc.data["end"], None, pc.done_at)
            except ScriptFailure as exc:
                raise self.fail(exc.message, line=line) from None
            finally:
                self.last_time = saved

    # ------------------------------------------------------------ commands
    def command(self, cmd: Command) -> None:
        try:
            parsed = parse_command(cmd.text)
        except ValueError as exc:
            raise self.fail(f"command `{cmd.text}`: {exc}") from None
        for w in self.backend.command(parsed, cmd.text):
            self.result.warnings.append(f"{self.path}:{self.event.line if self.event else 0}: {w}")
        self.note(self.backend.now(), f"`{cmd.text}`")
        self.anchor = self.anchor_end = self.backend.now()


_ZERO = TimeSpec(TimeKind.ABSOLUTE)


def _t(t: int | None) -> str:
    return "*" if t is None else format_time(t)


def _field(name: str, want: int, got: int) -> str:
    return f"live packet field {name}: expected: {want} ({want:#x}) vs actual: {got} ({got:#x})"


def _is_padding(o: Option) -> bool:
    """An End of Option List holding only zero padding (emit pads options so)."""
    return isinstance(o, EndOfOptions) and not o.padding.strip(b"\x00")


def _script_ts(p: TcpPacket) -> int | None:
    for o in p.options or ():
        if isinstance(o, Timestamps):
            return o.tsval
    return None

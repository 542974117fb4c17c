"""The synack backend: the core on a virtual clock, packets injected at the IP layer.

One :class:`~synack.tcp.Endpoint` at the script's local address; the clock is
an integer of microseconds that moves only when the runner lets time pass,
from one timer deadline to the next. Every packet the endpoint emits is kept
with the time it left, for the runner to match against the script. ICMP
errors are parsed here and handed to the endpoint, as a link layer does.
Blocking system calls are retried after every change (a packet in, a timer),
and return at the virtual time the change happened.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from synack.packetdrill.backend import Backend, Op, Outcome, PendingCall, RunObserver, Settings
from synack.packetdrill.sysctl import ParsedCommand
from synack.packetdrill.vsock import SysError, VirtualSockets, VSocket, WouldBlock
from synack.tcp import Config, Endpoint
from synack.wire.errors import MalformedPacket
from synack.wire.icmp import error_kind, parse_icmp4, parse_icmp6
from synack.wire.ip import parse_ip_span

__all__ = ["SynackBackend"]

Attempt = Callable[[], Outcome]


class SynackBackend(Backend):
    """synack's TCP in virtual time, behind the socket calls of :mod:`.vsock`."""

    name = "synack"

    def __init__(
        self,
        settings: Settings,
        config: Config,
        observers: Sequence[RunObserver] = (),
        *,
        seed: int = 1,
    ) -> None:
        self.settings = settings
        self.observers = list(observers)
        self.clock = 0
        self.endpoint = Endpoint(
            [settings.local_ip],
            config=config,
            isn_secret=f"synack-packetdrill-seed-{seed}".encode(),
            port_seed=seed,
            tracer=self._trace if self.observers else None,
            name="synack",
        )
        self.sockets = VirtualSockets(
            self.endpoint,
            local=settings.local_ip,
            remote=settings.remote_ip,
            bind_port=settings.bind_port,
            connect_port=settings.connect_port,
        )
        self.outbox: deque[tuple[int, bytes]] = deque()
        self._blocked: list[tuple[PendingCall, Attempt]] = []
        self._deadlines: dict[PendingCall, int] = {}
        self._retrying = False

    # --------------------------------------------------------------- time
    def start(self) -> None:
        self.clock = 0

    def now(self) -> int:
        return self.clock

    def _next_deadline(self) -> int | None:
        d = self.endpoint.next_deadline()
        for t in self._deadlines.values():
            if d is None or t < d:
                d = t
        return d

    def _step(self, limit: int) -> bool:
        """Fire the next timer if it is due by ``limit``; False if there is none."""
        d = self._next_deadline()
        if d is None or d > limit:
            return False
        self.clock = max(self.clock, d)
        self.endpoint.handle_timer(self.clock)
        self._flush()
        return True

    def wait_until(self, t: int) -> None:
        while self._step(t):
            pass
        if t > self.clock:
            self.clock = t
            self._flush()

    def next_outbound(self, limit: int) -> tuple[int, bytes] | None:
        while not self.outbox:
            if not self._step(limit):
                return None
        return self.outbox.popleft()

    # ------------------------------------------------------------ packets
    def inject(self, packet: bytes) -> None:
        for o in self.observers:
            o.packet(self.clock, "in", packet)
        if packet and packet[0] >> 4 in (4, 6) and _protocol(packet) in (1, 58):
            self._icmp(packet)
        else:
            self.endpoint.receive_packet(packet, self.clock)
        self._flush()

    def _icmp(self, packet: bytes) -> None:
        try:
            ip, start, end = parse_ip_span(packet)
            body = packet[start:end]
            msg = parse_icmp4(body) if ip.version == 4 else parse_icmp6(body, ip.src, ip.dst)
        except MalformedPacket:
            return
        found = error_kind(msg)
        if found is not None:
            kind, original, mtu = found
            self.endpoint.handle_icmp_error(self.clock, kind=kind, original=original, mtu=mtu)

    def _flush(self) -> None:
        """Collect what the endpoint sends, hand out events, retry blocked calls."""
        for _ in range(64):
            out = self.endpoint.packets_to_send(self.clock)
            for p in out:
                data = bytes(p)
                self.outbox.append((self.clock, data))
                for o in self.observers:
                    o.packet(self.clock, "out", data)
            self.sockets.on_events(self.clock)
            progressed = self._retry()
            if not out and not progressed:
                return

    def _trace(self, record: dict[str, Any]) -> None:
        for o in self.observers:
            o.trace(record)

    # ------------------------------------------------------------- calls
    def call(self, op: Op, line: int, *, may_block: bool) -> PendingCall:
        pc = PendingCall(op, line, started_at=self.clock)
        attempt = self._attempt(op, pc)
        try:
            self._finish(pc, attempt())
        except WouldBlock:
            if self._nonblocking(op):
                self._finish(pc, Outcome(-1, "EAGAIN"))
            else:
                self._blocked.append((pc, attempt))
        self._flush()
        return pc

    def settle(self, pending: PendingCall, grace: int) -> None:
        """Virtual time: a blocked call has had every chance to finish already."""

    def _nonblocking(self, op: Op) -> bool:
        if op.name == "poll":
            return False
        s = op.sock
        return isinstance(s, VSocket) and (s.nonblocking or op.nonblocking_flag)

    def _finish(self, pc: PendingCall, outcome: Outcome) -> None:
        pc.outcome = outcome
        pc.done_at = self.clock
        self._deadlines.pop(pc, None)

    def _retry(self) -> bool:
        if self._retrying:
            return False
        self._retrying = True
        try:
            return self._retry_blocked()
        finally:
            self._retrying = False

    def _retry_blocked(self) -> bool:
        progressed = False
        for item in list(self._blocked):
            pc, attempt = item
            try:
                outcome = attempt()
            except WouldBlock:
                continue
            self._blocked.remove(item)
            self._finish(pc, outcome)
            progressed = True
        return progressed

    def _attempt(self, op: Op, pc: PendingCall) -> Attempt:
        """The function that tries ``op`` once: an Outcome, or WouldBlock."""
        socks = self.sockets
        s = op.sock

        def guard(fn: Callable[[], Outcome]) -> Attempt:
            def run() -> Outcome:
                try:
                    return fn()
                except SysError as exc:
                    return Outcome(-1, exc.errno, exc.detail)

            return run

        name = op.name
        if name == "socket":
            return guard(lambda: Outcome(0, value=socks.socket(*op.args)))
        if name == "bind":
            return guard(_ok(lambda: socks.bind(s, op.args[0])))
        if name == "listen":
            return guard(_ok(lambda: socks.listen(s, op.args[0])))
        if name == "accept":
            return guard(lambda: Outcome(0, value=socks.accept(s)))
        if name == "connect":
            first = [True]

            def connect() -> Outcome:
                if first[0]:
                    first[0] = False
                    socks.connect(s, op.args[0], self.clock)
                else:
                    socks.connect_done(s)
                return Outcome(0)

            return guard(connect)
        if name == "send":
            data, flags = op.args
            sent = [0]

            def send() -> Outcome:
                nonblocking = socks.nonblocking(s, flags)
                while sent[0] < len(data):
                    try:
                        n = socks.send(s, data[sent[0] :], flags, self.clock)
                    except WouldBlock:
                        if sent[0] and nonblocking:
                            break
                        raise
                    except SysError:
                        if sent[0]:
                            break
                        raise
                    sent[0] += n
                return Outcome(sent[0])

            return guard(send)
        if name == "recv":
            size, flags = op.args
            return guard(lambda: Outcome(len(socks.recv(s, size, flags))))
        if name == "shutdown":
            return guard(_ok(lambda: socks.shutdown(s, op.args[0], self.clock)))
        if name == "close":
            return guard(_ok(lambda: socks.close(s, self.clock)))
        if name == "setsockopt":
            level, opt, value = op.args
            return guard(_ok(lambda: socks.setsockopt(s, level, opt, value, self.clock)))
        if name == "getsockopt":
            level, opt = op.args
            return guard(lambda: Outcome(0, value=socks.getsockopt(s, level, opt)))
        if name == "fcntl":
            cmd, arg = op.args
            return guard(lambda: Outcome(socks.fcntl(s, cmd, arg)))
        if name == "poll":
            items, timeout_ms = op.args
            deadline = self.clock + timeout_ms * 1000 if timeout_ms > 0 else None

            def poll() -> Outcome:
                revents = []
                for sock, events in items:
                    if sock is None:
                        revents.append(_POLLNVAL)
                        continue
                    got = socks.poll_events(sock)
                    revents.append(got & (events | _ALWAYS))
                ready = sum(1 for r in revents if r)
                if ready or timeout_ms == 0 or (deadline is not None and self.clock >= deadline):
                    return Outcome(ready, value=revents)
                if deadline is not None:
                    self._deadlines[pc] = deadline
                raise WouldBlock

            return guard(poll)
        return lambda: Outcome(-1, "ENOSYS", f"{name} is not supported")

    # ----------------------------------------------------------- commands
    def command(self, parsed: ParsedCommand, text: str) -> list[str]:
        if parsed.unknown is not None:
            return [f"skipped command (not run on synack): {text}"]
        if parsed.config:
            cfg: Config = replace(self.sockets.config, **parsed.config)
            self.sockets.config = cfg
            self.endpoint.config = cfg
        return []

    def close(self) -> None:
        self._blocked.clear()


_POLLNVAL = 0x20
_ALWAYS = 0x8 | 0x10 | 0x20  # POLLERR, POLLHUP, POLLNVAL are reported unasked


def _ok(fn: Callable[[], None]) -> Attempt:
    """An attempt for a call that returns nothing but 0 on success."""

    def run() -> Outcome:
        fn()
        return Outcome(0)

    return run


def _protocol(packet: bytes) -> int:
    if packet[0] >> 4 == 4:
        return packet[9] if len(packet) > 9 else -1
    return packet[6] if len(packet) > 6 else -1

"""System calls between the script and a backend: arguments in, results checked.

:class:`Calls` keeps the script's file descriptors (the numbers the script
gives its sockets, mapped to the backend's handles) and translates both ways:
:meth:`Calls.build` evaluates a call's argument expressions into an
:class:`~synack.packetdrill.backend.Op`; :meth:`Calls.check` compares the
:class:`~synack.packetdrill.backend.Outcome` with what the script expects
(return value, errno, and outputs such as ``getsockopt``'s value or
``poll``'s ``revents``). Problems raise :class:`CallError`, which the runner
reports with the call's line.
"""

from __future__ import annotations

from typing import Any, Final

from synack.packetdrill.backend import Op, Outcome
from synack.packetdrill.script import (
    BinOp,
    Elided,
    Expr,
    FuncCall,
    Int,
    ListExpr,
    Str,
    Struct,
    Syscall,
    Word,
)
from synack.packetdrill.symbols import ERRNO, SYMBOLS, lookup

__all__ = ["ARGC", "CallError", "Calls", "poll_names"]

ARGC: Final[dict[str, tuple[int, ...]]] = {
    "socket": (3,),
    "bind": (3,),
    "listen": (2,),
    "accept": (3,),
    "connect": (3,),
    "write": (3,),
    "send": (4,),
    "sendto": (6,),
    "writev": (3,),
    "read": (3,),
    "recv": (4,),
    "recvfrom": (6,),
    "readv": (3,),
    "shutdown": (2,),
    "close": (1,),
    "setsockopt": (5,),
    "getsockopt": (5,),
    "fcntl": (2, 3),
    "poll": (3,),
}
"""The system calls the runner supports and their argument counts."""

_POLL_BITS: Final = (
    "POLLIN",
    "POLLPRI",
    "POLLOUT",
    "POLLERR",
    "POLLHUP",
    "POLLNVAL",
    "POLLRDNORM",
    "POLLRDBAND",
    "POLLWRNORM",
    "POLLWRBAND",
    "POLLRDHUP",
)


class CallError(Exception):
    """A call the script gets wrong, or whose result is not what it expects."""


def poll_names(mask: int) -> str:
    """``POLLIN|POLLOUT`` for a ``revents`` mask (``0`` for none)."""
    if not mask:
        return "0"
    names = [n for n in _POLL_BITS if mask & SYMBOLS[n]]
    rest = mask & ~sum(SYMBOLS[n] for n in names)
    if rest:
        names.append(hex(rest))
    return "|".join(names)


def _errno_num(name: str | None) -> int:
    return 0 if name is None else ERRNO.get(name, (-1, ""))[0]


def _strerror(name: str) -> str:
    return ERRNO.get(name, (0, "?"))[1]


class Calls:
    """The script's file descriptors and its calls' translation, for one run."""

    def __init__(self, *, ipv6: bool) -> None:
        self.ipv6 = ipv6
        self.fds: dict[int, Any] = {}

    # ----------------------------------------------------------- arguments
    def eval_int(self, e: Expr) -> int:
        """An integer expression: a number, a symbol, ``A|B``, or ``[N]``."""
        if isinstance(e, Int):
            return e.value
        if isinstance(e, Word):
            v = lookup(e.name)
            if v is None:
                raise CallError(f"unknown symbol {e.name!r}")
            return v
        if isinstance(e, BinOp) and e.op == "|":
            return self.eval_int(e.lhs) | self.eval_int(e.rhs)
        if isinstance(e, ListExpr) and len(e.items) == 1:
            return self.eval_int(e.items[0])
        raise CallError(f"expected an integer expression, not {e!r}")

    def addr(self, e: Expr) -> tuple[str, int] | None:
        """``...`` (the backend's default) or ``{sa_family=..., sin_port=htons(N), ...}``."""
        if isinstance(e, Elided):
            return None
        if not isinstance(e, Struct):
            raise CallError("an address argument must be ... or a sockaddr {...}")
        port = e.get("sin_port") or e.get("sin6_port")
        host = e.get("sin_addr") or e.get("sin6_addr")
        if not (isinstance(port, FuncCall) and port.name == "htons" and port.args):
            raise CallError("sockaddr needs sin_port=htons(N)")
        if not (isinstance(host, FuncCall) and host.args and isinstance(host.args[0], Str)):
            raise CallError('sockaddr needs sin_addr=inet_addr("A.B.C.D")')
        return host.args[0].text, self.eval_int(port.args[0])

    def build(self, call: Syscall) -> Op | Outcome:
        """The backend operation for ``call``, or the outcome at once (an unknown fd)."""
        name, args = call.name, call.args
        need = ARGC.get(name)
        if need is None:
            raise CallError(f"system call {name}() is not supported by synack's runner")
        if len(args) not in need:
            counts = " or ".join(map(str, need))
            raise CallError(f"{name}() takes {counts} arguments, not {len(args)}")
        if name == "socket":
            default = SYMBOLS["AF_INET6"] if self.ipv6 else SYMBOLS["AF_INET"]
            family = default if isinstance(args[0], Elided) else self.eval_int(args[0])
            return Op("socket", None, (family, self.eval_int(args[1]), self.eval_int(args[2])))
        if name == "poll":
            return Op("poll", None, (self._pollfds(args[0]), self.eval_int(args[2])))
        fd = self.eval_int(args[0])
        s = self.fds.get(fd)
        if s is None:
            return Outcome(-1, "EBADF", f"fd {fd} is not open in the script")
        if name == "bind":
            return Op("bind", s, (self.addr(args[1]),))
        if name == "listen":
            return Op("listen", s, (self.eval_int(args[1]),))
        if name == "accept":
            return Op("accept", s)
        if name == "connect":
            return Op("connect", s, (self.addr(args[1]),))
        dontwait = SYMBOLS["MSG_DONTWAIT"]
        if name in ("write", "send", "sendto", "writev"):
            flags = self.eval_int(args[3]) if name in ("send", "sendto") else 0
            return Op("send", s, (self._buffer(name, args), flags), bool(flags & dontwait))
        if name in ("read", "recv", "recvfrom", "readv"):
            flags = self.eval_int(args[3]) if name in ("recv", "recvfrom") else 0
            size = self._iov_total(args[1]) if name == "readv" else self.eval_int(args[2])
            return Op("recv", s, (size, flags), bool(flags & dontwait))
        if name == "shutdown":
            return Op("shutdown", s, (self.eval_int(args[1]),))
        if name == "close":
            return Op("close", s)
        if name == "setsockopt":
            level, opt = self.eval_int(args[1]), self.eval_int(args[2])
            return Op("setsockopt", s, (level, opt, self._optval(args[3])))
        if name == "getsockopt":
            return Op("getsockopt", s, (self.eval_int(args[1]), self.eval_int(args[2])))
        arg = self.eval_int(args[2]) if len(args) > 2 else 0  # fcntl
        return Op("fcntl", s, (self.eval_int(args[1]), arg))

    def _pollfds(self, e: Expr) -> list[tuple[Any, int]]:
        if not isinstance(e, ListExpr):
            raise CallError("poll() takes a list of {fd=..., events=...}")
        items = []
        for item in e.items:
            fd = item.get("fd") if isinstance(item, Struct) else None
            if not isinstance(item, Struct) or fd is None:
                raise CallError("poll() takes a list of {fd=..., events=...}")
            events = item.get("events")
            items.append((self.fds.get(self.eval_int(fd)), self.eval_int(events) if events else 0))
        return items

    def _buffer(self, name: str, args: tuple[Expr, ...]) -> bytes:
        if name == "writev":
            return bytes(self._iov_total(args[1]))
        buf, count = args[1], self.eval_int(args[2])
        if isinstance(buf, Str):
            data = buf.text.encode()
            return (data + bytes(max(0, count - len(data))))[:count]
        return bytes(count)  # "...": zeros, as packetdrill writes

    def _iov_total(self, e: Expr) -> int:
        if not isinstance(e, ListExpr):
            raise CallError("an iovec argument is a list [{..., LEN}, ...]")
        total = 0
        for item in e.items:
            if not isinstance(item, Struct) or len(item.fields) != 2:
                raise CallError("an iovec is {..., LEN}")
            total += self.eval_int(item.fields[1][1])
        return total

    def _optval(self, e: Expr) -> Any:
        if isinstance(e, Struct):
            onoff, linger = e.get("onoff"), e.get("linger")
            if onoff is None or linger is None:
                raise CallError("SO_LINGER takes {onoff=N, linger=M}")
            return (self.eval_int(onoff), self.eval_int(linger))
        if isinstance(e, Str):
            return e.text.encode()
        return self.eval_int(e)

    # -------------------------------------------------------------- results
    def describe(self, call: Syscall, o: Outcome) -> str:
        """The result as the script would write it: ``4``, ``-1 EAGAIN (...)``."""
        if o.errno:
            return f"-1 {o.errno} ({_strerror(o.errno)})"
        if call.name in ("socket", "accept") and not isinstance(call.result, Elided):
            return str(self.eval_int(call.result))
        return str(o.ret)

    def check(self, call: Syscall, o: Outcome) -> None:
        """Compare with the script; remember new descriptors, forget closed ones."""
        name, expected = call.name, call.result
        if isinstance(expected, Elided):
            return
        want = self.eval_int(expected)
        if name in ("socket", "accept") and o.errno is None:
            if want < 0:
                raise CallError(
                    f"{name}() succeeded but the script expects {want} {call.errno or ''}".rstrip()
                )
            self.fds[want] = o.value  # the script's number for the new socket
            return
        got_ret = -1 if o.errno else o.ret
        wrong_errno = want == -1 and call.errno and _errno_num(call.errno) != _errno_num(o.errno)
        if got_ret != want or wrong_errno:
            got = f"{got_ret}"
            if o.errno:
                got += f" with errno {o.errno} ({_strerror(o.errno)})"
                if o.value:
                    got += f" [{o.value}]"
            expected_text = f"{want}" + (f" {call.errno}" if call.errno else "")
            raise CallError(f"error in {name} call: expected result {expected_text} but got {got}")
        if o.errno is not None:
            return
        if name == "close":
            self.fds.pop(self.eval_int(call.args[0]), None)
        elif name == "getsockopt":
            self._check_option_value(call, o)
        elif name == "poll":
            self._check_revents(call, o)

    def _check_option_value(self, call: Syscall, o: Outcome) -> None:
        want_expr = call.args[3]
        if isinstance(want_expr, ListExpr) and len(want_expr.items) == 1:
            want = self.eval_int(want_expr.items[0])
            if o.value != want:
                raise CallError(
                    f"error in getsockopt call: expected option value {want} but got {o.value}"
                )
        elif isinstance(want_expr, Str):
            got = o.value.decode() if isinstance(o.value, bytes) else str(o.value)
            got = got.rstrip("\x00")
            if got != want_expr.text:
                raise CallError(
                    f'error in getsockopt call: expected option value "{want_expr.text}" '
                    f'but got "{got}"'
                )

    def _check_revents(self, call: Syscall, o: Outcome) -> None:
        fds = call.args[0]
        if not isinstance(fds, ListExpr):
            return
        for i, item in enumerate(fds.items):
            want_expr = item.get("revents") if isinstance(item, Struct) else None
            if want_expr is None or isinstance(want_expr, Elided) or not isinstance(item, Struct):
                continue
            want = self.eval_int(want_expr)
            got = o.value[i] if o.value is not None and i < len(o.value) else 0
            if got != want:
                fd = self.eval_int(item.get("fd") or Int(-1))
                raise CallError(
                    f"error in poll call: fd {fd}: expected revents {poll_names(want)} "
                    f"but got {poll_names(got)}"
                )

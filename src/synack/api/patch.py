"""Run unmodified Python networking code on synack: ``with synack.patch(stack): ...``.

While the context manager is active, the standard library's TCP goes through a
synack :class:`~synack.api.socket.Stack` instead of the kernel:

* ``socket.socket(AF_INET or AF_INET6, SOCK_STREAM)`` makes a synack socket
  (anything else, and sockets made from a descriptor, stay kernel sockets), so
  ``socket.create_connection``, ``socket.create_server``, ``socketserver``,
  ``http.server``, ``http.client``, ``urllib.request`` and urllib3/requests
  (which make their sockets with ``socket.socket``) run on synack;
* ``socket.getaddrinfo`` answers IP literals itself; names go to the kernel's
  resolver (``/etc/hosts``, DNS over the kernel's UDP);
* ``select.select``, ``select.poll`` and the ``selectors`` classes (and
  ``socketserver``'s) see a synack socket's real write readiness (its
  :meth:`~synack.api.socket.socket.writable_fileno`); read readiness is its
  ``fileno()`` already;
* ``ssl.SSLContext.wrap_socket`` wraps synack sockets with
  :func:`synack.api.tls.wrap_socket` (kernel sockets as before);
* asyncio's ``loop.create_connection`` / ``loop.create_server`` (so
  ``asyncio.open_connection`` / ``start_server`` too, ``ssl=`` included) give
  bridged transports over the stack (:mod:`synack.api.bridge`), for any loop.

Not patched: UDP and other socket types (kernel), Unix sockets, ``sock=``
arguments to asyncio (kernel sockets), ``loop.sock_*`` calls on synack sockets,
and code that captured ``socket.socket`` before the patch (a class defined
earlier as its subclass, say). synack has no loopback: ``127.0.0.1`` and ``::1``
are not its addresses. The patch is process-wide, not per thread; nesting is not
supported.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import io
import ipaddress
import os
import runpy
import select as _select
import selectors
import signal
import socket as _stdsocket
import ssl as _ssl
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from synack.api import bridge
from synack.api.socket import READINESS_CHANGE, Stack
from synack.api.socket import socket as synack_socket
from synack.api.tls import TLSSocket, wrap_socket

__all__ = ["SynackSelector", "patch", "patched_stack", "run_program"]

_ORIG_SOCKET = _stdsocket.socket
_ORIG_GETADDRINFO = _stdsocket.getaddrinfo
_ORIG_SELECT = _select.select
_ORIG_POLL = _select.poll
_ORIG_WRAP_SOCKET = _ssl.SSLContext.wrap_socket
_ORIG_SELECTORS = {
    name: getattr(selectors, name)
    for name in ("DefaultSelector", "SelectSelector", "PollSelector", "EpollSelector")
    if hasattr(selectors, name)
}
_BaseLoop = asyncio.base_events.BaseEventLoop
_ORIG_CREATE_CONNECTION: Any = _BaseLoop.create_connection
_ORIG_CREATE_SERVER: Any = _BaseLoop.create_server

_active: Stack | None = None


def patched_stack() -> Stack | None:
    """The stack the standard library is patched to, if any."""
    return _active


def _writable_fd(obj: Any) -> int | None:
    """A synack socket's write-readiness eventfd, or None for anything else."""
    if isinstance(obj, synack_socket | TLSSocket):
        fd: int = obj.writable_fileno()
        return fd
    return None


# ---------------------------------------------------------------- socket


class _SocketMeta(type):
    """``isinstance(x, socket.socket)`` holds for kernel and synack sockets alike."""

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _ORIG_SOCKET | synack_socket | TLSSocket)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _ORIG_SOCKET | synack_socket | TLSSocket)


class _PatchedSocket(metaclass=_SocketMeta):
    """What ``socket.socket`` is while patched: TCP on synack, everything else on the kernel."""

    def __new__(
        cls,
        family: int = -1,
        type: int = -1,
        proto: int = -1,
        fileno: int | None = None,
    ) -> Any:
        stack = _active
        kind = _stdsocket.SOCK_STREAM if type == -1 else type & 0xF
        if (
            stack is not None
            and fileno is None
            and family in (-1, _stdsocket.AF_INET, _stdsocket.AF_INET6)
            and kind == _stdsocket.SOCK_STREAM
            and proto in (-1, 0, _stdsocket.IPPROTO_TCP)
        ):
            return synack_socket(
                _stdsocket.AF_INET if family == -1 else family,
                _stdsocket.SOCK_STREAM if type == -1 else type,
                0,
                stack=stack,
            )
        return _ORIG_SOCKET(family, type, proto, fileno)


def _getaddrinfo(
    host: bytes | str | None,
    port: bytes | str | int | None,
    family: int = 0,
    type: int = 0,
    proto: int = 0,
    flags: int = 0,
) -> list[tuple[Any, ...]]:
    """IP literals answered here; names (and None) by the kernel's resolver."""
    name = host.decode() if isinstance(host, bytes) else host
    try:
        ip = ipaddress.ip_address(name.split("%", 1)[0]) if name else None
    except ValueError:
        ip = None
    if ip is None or (isinstance(port, str | bytes) and not str(port).isdigit()):
        return _ORIG_GETADDRINFO(host, port, family, type, proto, flags)
    af = _stdsocket.AF_INET6 if ip.version == 6 else _stdsocket.AF_INET
    if family not in (0, _stdsocket.AF_UNSPEC, af):
        raise _stdsocket.gaierror(
            _stdsocket.EAI_ADDRFAMILY, "Address family for hostname not supported"
        )
    number = int(port) if port is not None else 0
    addr: tuple[Any, ...] = (
        (str(ip), number) if af == _stdsocket.AF_INET else (str(ip), number, 0, 0)
    )
    protos: dict[int, int] = {
        int(_stdsocket.SOCK_STREAM): _stdsocket.IPPROTO_TCP,
        int(_stdsocket.SOCK_DGRAM): _stdsocket.IPPROTO_UDP,
    }
    if type:
        kinds = [type]
    elif proto:  # as glibc: the socket types that carry this protocol
        kinds = [kind for kind, number in protos.items() if number == proto]
    else:
        kinds = [_stdsocket.SOCK_STREAM, _stdsocket.SOCK_DGRAM, _stdsocket.SOCK_RAW]
    return [
        (
            _stdsocket.AddressFamily(af),
            _stdsocket.SocketKind(kind),
            proto or protos.get(int(kind), 0),
            "",
            addr,
        )
        for kind in kinds
    ]


# -------------------------------------------------------------- select


class _WriteWatch:
    """A stand-in object for a synack socket's write-readiness fd in ``select()``."""

    def __init__(self, fd: int, owner: Any) -> None:
        self.fd = fd
        self.owner = owner

    def fileno(self) -> int:
        return self.fd


def _select_fn(
    rlist: Any, wlist: Any, xlist: Any, timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    reads = list(rlist)
    kernel_writes: list[Any] = []
    watches: list[_WriteWatch] = []
    for obj in wlist:
        fd = _writable_fd(obj)
        if fd is None:
            kernel_writes.append(obj)
        else:
            watches.append(_WriteWatch(fd, obj))
    r, w, x = _ORIG_SELECT(reads + watches, kernel_writes, xlist, timeout)
    if watches and (r or w or x) and timeout != 0:
        # A synack socket's read and write readiness are two eventfds, which the stack
        # sets one after the other (a failed connect makes both ready): wait for such a
        # change to end, and look once more, so that both are seen, as with a kernel
        # socket.
        with READINESS_CHANGE:
            pass
        again = _ORIG_SELECT(reads + watches, kernel_writes, xlist, 0)
        r, w, x = (_merge(a, b) for a, b in zip((r, w, x), again, strict=True))
    ready_writes = [o.owner for o in r if isinstance(o, _WriteWatch)]
    return [o for o in r if not isinstance(o, _WriteWatch)], w + ready_writes, x


def _merge(first: list[Any], second: list[Any]) -> list[Any]:
    return first + [o for o in second if o not in first]


class _Poll:
    """``select.poll()`` that maps POLLOUT of a synack socket to its write-readiness fd."""

    def __init__(self) -> None:
        self._poll = _ORIG_POLL()
        self._masks: dict[int, tuple[int, int | None]] = {}  # fd -> (mask, write fd)
        self._write_fds: dict[int, int] = {}  # write fd -> fd

    def register(
        self, fd: Any, eventmask: int = _select.POLLIN | _select.POLLPRI | _select.POLLOUT
    ) -> None:
        number = fd if isinstance(fd, int) else fd.fileno()
        with contextlib.suppress(KeyError):
            self.unregister(number)
        wfd = _writable_fd(fd)
        if wfd is None or not eventmask & _select.POLLOUT:
            self._poll.register(number, eventmask)
            self._masks[number] = (eventmask, None)
            return
        rest = eventmask & ~_select.POLLOUT
        if rest:
            self._poll.register(number, rest)
        self._poll.register(wfd, _select.POLLIN)
        self._write_fds[wfd] = number
        self._masks[number] = (eventmask, wfd)

    def modify(self, fd: Any, eventmask: int) -> None:
        number = fd if isinstance(fd, int) else fd.fileno()
        if number not in self._masks:
            raise FileNotFoundError(2, "No such file or directory")
        self.register(fd, eventmask)

    def unregister(self, fd: Any) -> None:
        number = fd if isinstance(fd, int) else fd.fileno()
        mask, wfd = self._masks.pop(number)
        if wfd is None or mask & ~_select.POLLOUT:
            self._poll.unregister(number)
        if wfd is not None:
            self._poll.unregister(wfd)
            del self._write_fds[wfd]

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        out: dict[int, int] = {}
        events = self._poll.poll(timeout)
        if events and self._write_fds and timeout != 0:
            with READINESS_CHANGE:  # both readinesses of a socket (see _select_fn)
                pass
            events += self._poll.poll(0)
        for fd, ev in events:
            owner = self._write_fds.get(fd)
            if owner is not None:
                out[owner] = out.get(owner, 0) | (_select.POLLOUT if ev & _select.POLLIN else ev)
            else:
                out[fd] = out.get(fd, 0) | ev
        return list(out.items())


class _KeyMap(Mapping[Any, selectors.SelectorKey]):
    def __init__(self, selector: SynackSelector) -> None:
        self._selector = selector

    def __len__(self) -> int:
        return len(self._selector._keys)

    def __getitem__(self, fileobj: Any) -> selectors.SelectorKey:
        fd = self._selector._find(fileobj)
        if fd is None:
            raise KeyError(f"{fileobj!r} is not registered")
        return self._selector._keys[fd][0]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._selector._keys)


class SynackSelector(selectors.BaseSelector):
    """A selector over a kernel one that knows synack sockets' write readiness."""

    _inner_class: type[selectors.BaseSelector] = _ORIG_SELECTORS["DefaultSelector"]

    def __init__(self) -> None:
        self._inner = self._inner_class()
        self._keys: dict[int, tuple[selectors.SelectorKey, int | None]] = {}
        self._map = _KeyMap(self)

    def _find(self, fileobj: Any) -> int | None:
        try:
            fd = fileobj if isinstance(fileobj, int) else int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError, OSError):
            fd = -1
        if fd in self._keys:
            return fd
        for number, (key, _) in self._keys.items():  # a closed file: fileno() is -1
            if key.fileobj is fileobj:
                return number
        return None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        if not events or events & ~(selectors.EVENT_READ | selectors.EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
        fd = fileobj if isinstance(fileobj, int) else int(fileobj.fileno())
        if fd < 0:
            raise ValueError(f"Invalid file descriptor: {fd}")
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
        key = selectors.SelectorKey(fileobj, fd, events, data)
        wfd = _writable_fd(fileobj) if events & selectors.EVENT_WRITE else None
        if wfd is None:
            self._inner.register(fd, events, (key, None))
        else:
            if events & selectors.EVENT_READ:
                self._inner.register(fd, selectors.EVENT_READ, (key, None))
            self._inner.register(wfd, selectors.EVENT_READ, (key, selectors.EVENT_WRITE))
        self._keys[fd] = (key, wfd)
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = self._find(fileobj)
        if fd is None:
            raise KeyError(f"{fileobj!r} is not registered")
        key, wfd = self._keys.pop(fd)
        if wfd is None or key.events & selectors.EVENT_READ:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._inner.unregister(fd)
        if wfd is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._inner.unregister(wfd)
        return key

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        self.unregister(fileobj)
        return self.register(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: dict[int, tuple[selectors.SelectorKey, int]] = {}
        found = self._inner.select(timeout)
        if found and timeout != 0 and any(w is not None for _, w in self._keys.values()):
            with READINESS_CHANGE:  # both readinesses of a socket (see _select_fn)
                pass
            found += self._inner.select(0)
        for inner_key, events in found:
            key, mapped = inner_key.data
            current = self._keys.get(key.fd)
            if current is None or current[0] is not key:
                continue
            got = events if mapped is None else mapped
            got &= key.events
            if got:
                ready[key.fd] = (key, ready.get(key.fd, (key, 0))[1] | got)
        return list(ready.values())

    def close(self) -> None:
        self._inner.close()
        self._keys.clear()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._map


def _selector_classes() -> dict[str, type[SynackSelector]]:
    return {
        name: type(f"Synack{cls.__name__}", (SynackSelector,), {"_inner_class": cls})
        for name, cls in _ORIG_SELECTORS.items()
    }


# ----------------------------------------------------------------- ssl


def _wrap_socket(self: _ssl.SSLContext, sock: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(sock, synack_socket):
        return wrap_socket(self, sock, *args, **kwargs)
    return _ORIG_WRAP_SOCKET(self, sock, *args, **kwargs)


# ------------------------------------------------------------- asyncio


async def _first_address(loop: asyncio.AbstractEventLoop, host: str, port: int, family: int) -> str:
    infos = await loop.getaddrinfo(host, port, family=family, type=_stdsocket.SOCK_STREAM)
    if not infos:
        raise OSError(f"getaddrinfo({host!r}) returned an empty list")
    return str(infos[0][4][0])


async def _create_connection(
    self: asyncio.AbstractEventLoop,
    protocol_factory: Any,
    host: str | None = None,
    port: int | None = None,
    *,
    ssl: Any = None,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    sock: Any = None,
    local_addr: Any = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    **kwargs: Any,
) -> Any:
    stack = _active
    if stack is None or sock is not None or host is None or port is None:
        return await _ORIG_CREATE_CONNECTION(
            self,
            protocol_factory,
            host,
            port,
            ssl=ssl,
            family=family,
            proto=proto,
            flags=flags,
            sock=sock,
            local_addr=local_addr,
            server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            **kwargs,
        )
    address = await _first_address(self, host, port, family)
    return await bridge.create_connection(
        stack,
        protocol_factory,
        address,
        port,
        ssl=ssl,
        server_hostname=server_hostname if server_hostname is not None else host,
        local_addr=local_addr,
        ssl_handshake_timeout=ssl_handshake_timeout,
    )


async def _create_server(
    self: asyncio.AbstractEventLoop,
    protocol_factory: Any,
    host: Any = None,
    port: int | None = None,
    *,
    family: int = 0,
    flags: int = _stdsocket.AI_PASSIVE,
    sock: Any = None,
    backlog: int = 100,
    ssl: Any = None,
    ssl_handshake_timeout: float | None = None,
    start_serving: bool = True,
    **kwargs: Any,
) -> Any:
    stack = _active
    if stack is None or sock is not None:
        return await _ORIG_CREATE_SERVER(
            self,
            protocol_factory,
            host,
            port,
            family=family,
            flags=flags,
            sock=sock,
            backlog=backlog,
            ssl=ssl,
            ssl_handshake_timeout=ssl_handshake_timeout,
            start_serving=start_serving,
            **kwargs,
        )
    if isinstance(host, list | tuple):
        host = host[0] if len(host) == 1 else None  # the listener takes every address anyway
    if host not in (None, "", "0.0.0.0", "::"):
        host = await _first_address(self, host, port or 0, family)
    return await bridge.create_server(
        stack,
        protocol_factory,
        host or None,
        port or 0,
        backlog=backlog,
        ssl=ssl,
        ssl_handshake_timeout=ssl_handshake_timeout,
        start_serving=start_serving,
    )


# ---------------------------------------------------------------- patch


@contextlib.contextmanager
def patch(stack: Stack) -> Iterator[Stack]:
    """Route the standard library's TCP (sockets, select, ssl, asyncio) to ``stack`` for the body.

    See the module docstring for exactly what is patched and what is not.
    """
    global _active
    if _active is not None:
        raise RuntimeError("synack.patch() is already active")
    saved: list[tuple[Any, str, Any]] = []

    def replace(obj: Any, name: str, value: Any) -> None:
        saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    _active = stack
    try:
        replace(_stdsocket, "socket", _PatchedSocket)
        replace(_stdsocket, "getaddrinfo", _getaddrinfo)
        replace(_select, "select", _select_fn)
        replace(_select, "poll", _Poll)
        for name, cls in _selector_classes().items():
            replace(selectors, name, cls)
        socketserver = sys.modules.get("socketserver")
        if socketserver is not None and hasattr(socketserver, "_ServerSelector"):
            # Bound when socketserver was imported.
            replace(socketserver, "_ServerSelector", selectors.PollSelector)
        replace(_ssl.SSLContext, "wrap_socket", _wrap_socket)
        replace(_BaseLoop, "create_connection", _create_connection)
        replace(_BaseLoop, "create_server", _create_server)
        yield stack
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)
        _active = None


# ------------------------------------------------------------ programs


def run_program(
    stack: Stack, argv: Sequence[str], *, as_process: bool = False, linger: float | None = None
) -> int:
    """Run a Python program in this process with :func:`patch` active; its exit status.

    ``argv`` is a command line as given to Python: ``python -m MODULE ARGS``,
    ``python SCRIPT ARGS`` or ``python -c CODE ARGS`` (the leading ``python`` is
    optional; ``-u`` makes stdout and stderr unbuffered). The program sees
    ``sys.argv`` as it would under Python and runs as ``__main__``; its
    ``SystemExit`` is its exit status, an uncaught exception prints its
    traceback and gives 1 (``KeyboardInterrupt``: 130). ``stack`` stays open:
    close it afterwards (that lingers until the program's closed connections
    delivered their data).

    ``as_process=True`` (for a process that exits next, as ``synack run``) ends
    the program as the interpreter ends one, with the patch still active: it
    waits for the program's non-daemon threads and runs its ``atexit``
    handlers, whatever way its main module ended; and SIGTERM, which would kill
    a process whose sockets the kernel then closes, closes the stack's
    connections (lingering at most ``linger`` seconds) before the process dies
    of it.
    """
    args = list(argv)
    if args and os.path.basename(args[0]).startswith("python"):
        args = args[1:]
    while args and args[0].startswith("-") and args[0] not in ("-m", "-c"):
        flag = args.pop(0)
        if flag != "-u":
            raise ValueError(f"unsupported Python option {flag!r} (only -u, -m, -c)")
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(write_through=True)
    if not args or (args[0] in ("-m", "-c") and len(args) < 2):
        raise ValueError("no program: give -m MODULE, -c CODE or a SCRIPT")
    # What Python itself answers for a program that is not there.
    if args[0] == "-m" and importlib.util.find_spec(args[1].split(".")[0]) is None:
        print(f"{sys.executable}: No module named {args[1]}", file=sys.stderr)
        return 1
    if args[0] not in ("-m", "-c") and not os.path.isfile(args[0]):
        print(f"{sys.executable}: can't open file {args[0]!r}", file=sys.stderr)
        return 2
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    saved_sigterm = _terminate_with(stack, linger) if as_process else None
    if as_process:
        atexit.unregister(stack.close)  # the caller closes it, after the program's handlers
    try:
        with patch(stack):
            status = _run_main(args)
            if as_process:
                status = _end_like_the_interpreter(status)
        return status
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if saved_sigterm is not None:
            signal.signal(signal.SIGTERM, saved_sigterm)


def _run_main(args: list[str]) -> int:
    """Run the program's ``__main__``; its exit status."""
    try:
        if args[0] == "-m":
            sys.argv = [args[1], *args[2:]]
            sys.path.insert(0, os.getcwd())
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        elif args[0] == "-c":
            sys.argv = ["-c", *args[2:]]
            sys.path.insert(0, "")
            exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = args
            sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
            runpy.run_path(args[0], run_name="__main__")
        return 0
    except SystemExit as exc:
        return _exit_status(exc)
    except KeyboardInterrupt:
        traceback.print_exc()  # as Python prints it; status 130 (128 + SIGINT)
        return 130
    except BaseException:
        traceback.print_exc()
        return 1


def _exit_status(exc: SystemExit) -> int:
    code = exc.code
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def _end_like_the_interpreter(status: int) -> int:
    """After ``__main__``: wait for non-daemon threads, then run the atexit handlers.

    The interpreter does both before the process exits (``Py_FinalizeEx``), while
    the program's sockets still work; threading's own exit hooks (say,
    ``concurrent.futures`` telling idle workers to stop) run first. A Ctrl-C
    while waiting ends the wait, as it does in Python.
    """
    try:
        shutdown = getattr(threading, "_shutdown", None)  # what Py_FinalizeEx calls
        if shutdown is not None:
            shutdown()
        else:  # pragma: no cover - every CPython has it
            for thread in threading.enumerate():
                if thread is not threading.current_thread() and not thread.daemon:
                    thread.join()
    except KeyboardInterrupt:
        traceback.print_exc()
        status = 130
    try:
        atexit._run_exitfuncs()  # prints and ignores a failing handler, as at exit
    except SystemExit as exc:
        status = _exit_status(exc)
    return status


def _terminate_with(stack: Stack, linger: float | None) -> Any:
    """On SIGTERM (default action: die), close the stack's connections first.

    The kernel closes a killed process's sockets (a FIN after the data written,
    a RST if data was left unread); synack's connections die with the process
    unless they are closed before it. A program that handles SIGTERM itself
    replaces this, as it would replace the default.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None

    def on_sigterm(signum: int, frame: object) -> None:
        # From another thread: the main thread may hold a lock the stack needs.
        closer = threading.Thread(target=stack.close, args=(linger,), daemon=True)
        closer.start()
        closer.join((linger if linger is not None else stack.runtime.linger) + 5)
        sys.stdout.flush()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    return signal.signal(signal.SIGTERM, on_sigterm)

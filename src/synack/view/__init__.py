"""``synack view``: one self-contained HTML page that shows a TCP connection.

The page links a ladder diagram (the seed's lines, with each end's state along
its timeline), a tcptrace-style time-sequence graph, cwnd / ssthresh / bytes in
flight, RTT / SRTT / RTO, goodput and pacing rate, and a summary, all sharing
one time range. From a synack JSON Lines trace every value is the core's own;
from a pcap or pcapng capture of any stack the page reconstructs what packets
show and says what is inferred.

>>> from synack.view import write_page
>>> info = write_page("demo.jsonl", "demo.html")  # doctest: +SKIP

Drivers and commands that produce traces call :func:`write_page` with a path
or with the records themselves (``TraceCollector.records``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synack.view.from_capture import connections_from_capture
from synack.view.from_trace import connections_from_records
from synack.view.model import ConnectionView, ConnInfo
from synack.view.page import render_page

__all__ = [
    "ConnInfo",
    "ConnectionView",
    "PageInfo",
    "ViewError",
    "is_capture",
    "load_view",
    "render_page",
    "write_page",
]

_CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",  # pcap, microseconds, little-endian
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",  # pcap, nanoseconds
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",  # pcapng section header
)


class ViewError(ValueError):
    """The source cannot be shown: unreadable, empty, or no such connection."""


@dataclass(frozen=True)
class PageInfo:
    """What :func:`write_page` wrote."""

    path: Path
    connection: int
    connections: list[ConnInfo]
    segments: int
    size: int
    exact: bool


def is_capture(path: str | Path) -> bool:
    """True when ``path`` starts like a pcap or pcapng file."""
    with open(path, "rb") as f:
        return f.read(4) in _CAPTURE_MAGICS


def _iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    import json

    with open(path, encoding="utf-8") as f:
        lines = enumerate(f, 1)
        while True:
            try:
                n, line = next(lines)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ViewError(
                    f"{path}: neither a pcap/pcapng capture nor a JSON Lines trace (binary data)"
                ) from None
            if line.strip():
                try:
                    rec = json.loads(line)
                except ValueError as exc:
                    raise ViewError(f"{path}:{n}: not a JSON line ({exc})") from None
                if not isinstance(rec, dict) or "ev" not in rec:
                    raise ViewError(f"{path}:{n}: not a synack trace record")
                yield rec


def _choose(infos: list[ConnInfo], connection: int | str | None) -> int:
    if not infos:
        raise ViewError("no TCP connection in the source")
    if connection is None:
        return max(range(len(infos)), key=lambda i: (infos[i].payload, infos[i].packets))
    if isinstance(connection, int) or connection.isdigit():
        n = int(connection)
        if not 0 <= n < len(infos):
            raise ViewError(f"connection {n} does not exist (0..{len(infos) - 1})")
        return n
    parts = [p for p in connection.replace(",", " ").replace("-", " ").split() if p]
    want = {_plain(p) for p in parts}
    for i, x in enumerate(infos):
        have = {x.a, x.b}
        if want == have or (len(want) == 1 and want <= have):
            return i
    raise ViewError(f"no connection matches {connection!r}")


def _plain(endpoint: str) -> str:
    if endpoint.startswith("["):
        addr, _, port = endpoint[1:].partition("]:")
        return f"{addr}:{port}"
    return endpoint


def load_view(
    source: str | Path | Iterable[Mapping[str, Any]],
    *,
    connection: int | str | None = None,
    series_limit: int = 20_000,
) -> tuple[ConnectionView, int, list[ConnInfo]]:
    """The view of one connection of ``source``, its index, and all connections found.

    ``source`` is a JSON Lines trace, a pcap/pcapng file, or trace records.
    ``connection`` is an index (as listed), or ``addr:port`` / a 4-tuple
    ``addr:port-addr:port``; by default the connection that carried the most
    payload. Raises :class:`ViewError` (and ``OSError`` for unreadable files).
    """
    build: Callable[[int], ConnectionView]
    if isinstance(source, str | Path):
        path = Path(source)
        if is_capture(path):
            try:
                infos, build = connections_from_capture(path, series_limit=series_limit)
            except ValueError as exc:
                raise ViewError(f"{path}: {exc}") from None
        else:
            # Read twice (the connections, then the chosen one's records): memory
            # holds one connection's view, never the records (docs/view.md).
            infos, build = connections_from_records(
                lambda: _iter_jsonl(path), series_limit=series_limit
            )
    else:
        infos, build = connections_from_records(source, series_limit=series_limit)
    index = _choose(infos, connection)
    return build(index), index, infos


def write_page(
    source: str | Path | Iterable[Mapping[str, Any]],
    out: str | Path,
    *,
    connection: int | str | None = None,
    title: str | None = None,
) -> PageInfo:
    """Write the HTML page of one connection of ``source`` to ``out``.

    ``source``: a JSON Lines trace path, a pcap/pcapng path, or trace records
    (dicts, e.g. ``TraceCollector.records``). See :func:`load_view` for
    ``connection``. Raises :class:`ViewError` for a source that cannot be shown.
    """
    view, index, infos = load_view(source, connection=connection)
    if title:
        view.title = title
    text = render_page(view)
    path = Path(out)
    path.write_text(text, encoding="utf-8")
    return PageInfo(path, index, infos, len(view.segs), len(text.encode()), view.exact)

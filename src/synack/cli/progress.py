"""What a transfer has done so far: a progress bar on a terminal, and the summary line.

:class:`Transfer` counts the bytes a command has moved. On a terminal (or with
``--progress``) it draws a rich progress bar with the rate and the time left,
on stderr, and erases it when done; elsewhere it draws nothing. Its
:meth:`Transfer.summary` is the line printed when the transfer ends early
(Ctrl-C, ``--max-time``), like iperf3's.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

__all__ = ["Transfer", "add_progress_option", "rate", "want_progress"]


def add_progress_option(p: argparse.ArgumentParser, when: str = "on a terminal") -> None:
    """``--progress`` / ``--no-progress``."""
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"a progress bar on stderr (default: {when})",
    )


def want_progress(args: argparse.Namespace) -> bool:
    """``--progress``, ``--no-progress``, or by default: stderr is a terminal and not ``--quiet``."""
    if args.progress is not None:
        return bool(args.progress)
    return sys.stderr.isatty() and not getattr(args, "quiet", False)


def rate(bytes_per_s: float) -> str:
    """``12.345 MB/s (98.76 Mbit/s)``."""
    return f"{bytes_per_s / 1e6:.3f} MB/s ({bytes_per_s * 8 / 1e6:.2f} Mbit/s)"


class Transfer:
    """Bytes moved so far (``update``), with an optional progress bar."""

    def __init__(
        self,
        verb: str,
        total: int | None = None,
        *,
        bar: bool = False,
        extra: str = "",
        fields: dict[str, float] | None = None,
    ) -> None:
        """``extra`` is one more rich column (a format using ``task.fields``, set by ``fields``)."""
        self.verb = verb
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self._extra = extra
        self._fields = fields or {}
        self._bar: Any = None
        self._task: Any = None
        if bar:
            self.show()

    def show(self) -> None:
        """Start drawing the bar (on stderr)."""
        if self._bar is not None:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns: list[Any] = [
            TextColumn(f"[bold]{self.verb}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
        ]
        if self._extra:
            columns.append(TextColumn(self._extra))
        columns.append(TimeRemainingColumn())
        self._bar = Progress(*columns, console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task(self.verb, total=self.total, **self._fields)
        self._bar.start()

    def update(self, done: int, total: int | None = None, **fields: float) -> None:
        """``done`` bytes so far (of ``total``, if it has become known)."""
        self.done = done
        if total is not None:
            self.total = total
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=self.total, **fields)

    def stop(self) -> None:
        """Erase the bar (idempotent)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def summary(self) -> str:
        """``received 1,234,567 of 20,000,000 bytes in 0.812 s (1.520 MB/s (12.16 Mbit/s))``."""
        seconds = self.seconds
        of = f" of {self.total:,}" if self.total is not None else ""
        speed = rate(self.done / seconds) if seconds > 0 else rate(0)
        return f"{self.verb} {self.done:,}{of} bytes in {seconds:.3f} s ({speed})"

"""Where a trace writer writes: a path it opens and closes, or a file object it is lent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Generic, Self, TextIO, TypeVar

__all__ = ["FileOutput"]

F = TypeVar("F", TextIO, BinaryIO)


class FileOutput(Generic[F]):
    """The file of a writer (:class:`~synack.trace.jsonl.JsonlWriter`, :class:`~synack.trace.pcap.PcapWriter`).

    ``dest`` is a path, opened with ``open_path`` and closed by :meth:`close`,
    or a file object, which :meth:`close` only flushes. A writer is a context
    manager that closes it.
    """

    def __init__(self, dest: str | Path | F, open_path: Callable[[str | Path], F]) -> None:
        self._file: F
        if isinstance(dest, str | Path):
            self._file = open_path(dest)
            self._owned = True
        else:
            self._file = dest
            self._owned = False

    def close(self) -> None:
        """Flush, and close the file if the writer opened it."""
        if self._owned:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

"""The optional ``lab`` extra (dask.distributed, pyarrow): import it or say how to get it."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRA", "MissingExtra", "require"]

EXTRA = "lab"


class MissingExtra(ImportError):
    """A module of the ``lab`` extra is not installed; the message says how to install it."""


def require(module: str, extra: str = EXTRA) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` with a one-line hint."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"{module} is not installed: it comes with the {extra} extra "
            f"(pip install 'synack[{extra}]')"
        ) from None

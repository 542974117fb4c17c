"""The optional ``lab`` extra (dask.distributed, pyarrow): import a module of it or say how to get it."""

from __future__ import annotations

import importlib
from types import ModuleType

from synack.extras import MissingExtra, require_extra

__all__ = ["EXTRA", "MissingExtra", "require"]

EXTRA = "lab"


def require(module: str, extra: str = EXTRA, feature: str = "experiment sweeps") -> ModuleType:
    """Import ``module``, or raise :class:`~synack.extras.MissingExtra` naming the extra."""
    require_extra(module, extra=extra, feature=feature)
    return importlib.import_module(module)

"""synack: a complete TCP (RFC 9293) in Python, sans-I/O at its core.

Layers (each only imports the ones below it): ``synack.wire`` (bytes <-> values),
``synack.tcp`` (the protocol core), ``synack.cc`` (congestion control), then the
drivers ``synack.sim``, ``synack.link``, ``synack.api``, ``synack.trace`` and the CLI.
"""

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``synack.patch(stack)`` (see synack.api.patch), imported on first use only: the
    # package itself stays below every layer, and ``import synack`` stays cheap.
    if name == "patch":
        return importlib.import_module("synack.api.patch").patch
    raise AttributeError(f"module 'synack' has no attribute {name!r}")

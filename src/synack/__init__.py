"""synack: a complete TCP (RFC 9293) in Python, sans-I/O at its core.

Layers (each only imports the ones below it): ``synack.wire`` (bytes <-> values),
``synack.tcp`` (the protocol core), ``synack.cc`` (congestion control), then the
drivers ``synack.sim``, ``synack.link``, ``synack.api``, ``synack.trace`` and the CLI.
"""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``synack.patch(stack)`` without importing the APIs for every ``import synack``.
    if name == "patch":
        from synack.api.patch import patch

        return patch
    raise AttributeError(f"module 'synack' has no attribute {name!r}")

"""The one place the sans-I/O core draws entropy: secrets that make a connection unpredictable.

RFC 6528 ISNs, RFC 6056 ephemeral-port offsets and RFC 7323 7.1 timestamp
offsets are keyed hashes of a secret; the secret comes from here (the
operating system's CSPRNG) unless the driver injects one for a reproducible
run. import-linter holds the rest of the core to that: no ``os``, ``random`` or
``secrets`` anywhere else in ``synack.tcp``, ``synack.cc`` and ``synack.wire``.
"""

from __future__ import annotations

import os

__all__ = ["random_bytes"]


def random_bytes(size: int) -> bytes:
    """``size`` octets from the operating system's CSPRNG."""
    return os.urandom(size)

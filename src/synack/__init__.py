"""synack: a complete TCP (RFC 9293) in Python, sans-I/O at its core.

Layers (each only imports the ones below it): ``synack.wire`` (bytes <-> values),
``synack.tcp`` (the protocol core), ``synack.cc`` (congestion control), then the
drivers ``synack.sim``, ``synack.link``, ``synack.api``, ``synack.trace`` and the CLI.
"""

__version__ = "0.1.0"

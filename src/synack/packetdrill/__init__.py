"""packetdrill for synack: run packetdrill scripts against synack, and against Linux.

A packetdrill script is a list of timed events: socket calls made by the
local application, packets the remote end sends (``<``), and packets the
stack must send (``>``). :func:`run_file` runs one on synack's core in virtual
time, or (``RunOptions(linux=True)``) on the kernel in a private network
namespace, and reports the first difference::

    from synack.packetdrill import RunOptions, run_file

    result = run_file("tests/packetdrill/handshake/passive-open.pkt")
    print(result.passed, result.error)

The language subset, the sysctl table and the Linux set-up are documented in
``docs/packetdrill.md``.
"""

from synack.packetdrill.backend import RunObserver, Settings
from synack.packetdrill.lexer import ScriptSyntaxError
from synack.packetdrill.parser import parse_file, parse_script
from synack.packetdrill.runner import RunOptions, ScriptFailure, ScriptResult, run_file, run_script
from synack.packetdrill.suite import find_scripts, run_many

__all__ = [
    "RunObserver",
    "RunOptions",
    "ScriptFailure",
    "ScriptResult",
    "ScriptSyntaxError",
    "Settings",
    "find_scripts",
    "parse_file",
    "parse_script",
    "run_file",
    "run_many",
    "run_script",
]

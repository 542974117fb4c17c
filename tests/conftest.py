"""Shared pytest set-up.

* Hypothesis runs derandomized, so every run is the same.
* The safety belt of DEVELOPERS.md's network rule: when run as root, the whole
  test process moves into a fresh, empty network namespace before any test runs
  (``unshare(CLONE_NEWNET)``), with only loopback up. A test that opened a kernel
  socket by mistake could then reach nothing but loopback; the interop tests
  still create their own named namespaces (``ip netns add``) for real traffic.
  Set ``SYNACK_TEST_NETNS=0`` to turn the belt off.
"""

from __future__ import annotations

import ctypes
import os
import subprocess

from hypothesis import settings

settings.register_profile("synack", derandomize=True, deadline=None, database=None)
settings.load_profile("synack")

_CLONE_NEWNET = 0x40000000


def _isolate_network() -> bool:
    if os.geteuid() != 0 or os.environ.get("SYNACK_TEST_NETNS", "1") == "0":
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        return False
    subprocess.run(["ip", "link", "set", "lo", "up"], check=False, capture_output=True)
    return True


ISOLATED = _isolate_network()

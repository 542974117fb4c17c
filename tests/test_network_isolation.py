"""The test process runs in a network namespace of its own (see tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ISOLATED


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a namespace")
def test_tests_run_in_a_private_network_namespace_with_no_routes() -> None:
    # As root (as in CI) the belt is always on: nothing but loopback is reachable.
    assert ISOLATED or os.environ.get("SYNACK_TEST_NETNS") == "0"
    if not ISOLATED:
        return
    routes = subprocess.run(["ip", "route", "show"], capture_output=True, text=True, check=True)
    assert routes.stdout.strip() == ""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    assert [line.split(":")[1].strip() for line in links.stdout.splitlines()] == ["lo"]

"""Download the wheels of synack's dependencies and extras into a directory.

``make wheelhouse`` runs this before the tests: the packaging test
(tests/packaging/test_install.py) installs the built wheel into fresh virtual
environments offline, from these wheels, because the test process has no
network (tests/conftest.py). pip's cache makes a second run quick.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def requirements() -> list[str]:
    """Every third-party requirement of a plain install and of each extra but ``dev``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra, items in project["optional-dependencies"].items():
        if extra != "dev":
            reqs += [r for r in items if not r.startswith("synack")]
    return reqs


if __name__ == "__main__":
    out = sys.argv[1]
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", out]
    raise SystemExit(subprocess.call(cmd + requirements()))

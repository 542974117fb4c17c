"""Run synack's benchmarks: ``python bench/run.py [--only NAME ...]`` (``make bench``).

Each section is a module ``bench/bench_NAME.py`` with a ``run() -> None`` that
prints its own lines; adding a file adds a section. Sections run in name order.
Numbers are wall-clock and depend on the machine: record them in BENCHMARKS.md
together with the command and the machine.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sections() -> list[str]:
    """The names of all sections: ``bench_wire.py`` is ``wire``."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this section (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    args = parser.parse_args(argv)
    names = sections()
    if args.list:
        print("\n".join(names))
        return 0
    wanted = args.only or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        parser.error(f"no such section: {', '.join(unknown)} (have: {', '.join(names)})")
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    print(f"synack benchmarks: Python {platform.python_version()}, {platform.machine()}")
    for name in wanted:
        print(f"\n== {name} ==")
        module = importlib.import_module(f"bench_{name}")
        module.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""README.md stays true: its Python examples run as doctests, and its handshake output is real.

(tests/sim/test_docs.py checks the demo and sim output shown in README.md.)
"""

from __future__ import annotations

import doctest
from pathlib import Path

from synack.cli import handshake_lines

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_examples_give_the_output_shown() -> None:
    result = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_readme_shows_the_real_handshake_output() -> None:
    text = README.read_text()
    shown = text.split("$ synack handshake\n", 1)[1].split("```", 1)[0].splitlines()
    assert shown == handshake_lines()

"""Re-run the examples of docs/simulator.md and README.md and paste their real output.

``python docs/update_examples.py`` after a change to the core alters what the
examples print (``tests/sim/test_docs.py`` fails until then). Every ```text
block whose first line is ``$ synack ...`` is replaced by that command's output;
the Python example's output block is refreshed; the plot goes to
docs/img/sim-plot.png.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import tempfile
from pathlib import Path

from synack.cli import main

DOCS = Path(__file__).resolve().parent
FILES = [DOCS / "simulator.md", DOCS.parent / "README.md"]


def run_command(line: str, workdir: Path) -> str:
    argv = shlex.split(line.replace("\\\n", " "))[1:]  # drop "synack"
    out = io.StringIO()
    with contextlib.chdir(workdir), contextlib.redirect_stdout(out):
        main(argv)
    return out.getvalue()


def update(path: Path, workdir: Path) -> None:
    text = path.read_text()

    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        command = re.match(r"\$ (synack (?:[^\n]*\\\n)*[^\n]*)\n", body)
        if command is None:
            return match.group(0)
        return f"```text\n{command.group(0)}{run_command(command.group(1), workdir)}```"

    text = re.sub(r"```text\n(.*?)```", replace, text, flags=re.S)
    code = re.search(r"```python\n(.*?)```\n\n```text\n(.*?)```", text, flags=re.S)
    if code is not None and not code.group(1).startswith(">>>"):  # doctests run elsewhere
        out = io.StringIO()
        with contextlib.chdir(workdir), contextlib.redirect_stdout(out):
            exec(compile(code.group(1), str(path), "exec"), {"__name__": "doc_example"})
        start, end = code.span(2)
        text = text[:start] + out.getvalue() + text[end:]
    path.write_text(text)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for f in FILES:
            if f.exists():
                update(f, Path(tmp))
        plot = Path(tmp) / "sim.png"
        if plot.exists():
            shutil.copy(plot, DOCS / "img" / "sim-plot.png")

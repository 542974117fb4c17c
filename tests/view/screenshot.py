"""Regenerate README's picture of ``synack view``: ``make view-screenshot``.

Runs the seed's demo on the simulator, writes its page, opens it in headless
Chromium (Debian's package, see browser.py) and saves a PNG of the window.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from synack.sim.demo import run_demo
from synack.view import write_page
from tests.view.browser import browser_missing, chromium, console_errors, open_page


def main(out: str = "docs/img/view-demo.png") -> int:
    why = browser_missing()
    if why is not None:
        print(why, file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "demo.jsonl"
        run_demo(trace=trace)
        page = write_page(trace, Path(tmp) / "demo.html").path
        with chromium(1280, 1000) as browser:
            open_page(browser, page)
            errors = console_errors(browser)
            if errors:
                print("\n".join(errors), file=sys.stderr)
                return 1
            # Point at the server's data segment, as a reader would, to show the linking.
            browser.execute_script("window.synackView.select(3)")
            browser.save_screenshot(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

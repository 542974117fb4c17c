"""A real headless Chromium (Debian's package) driven through its chromedriver.

Nothing is downloaded: the browser is /usr/bin/chromium and the driver
/usr/bin/chromedriver, both installed by ``make sysdeps``; Selenium's own
driver manager is kept offline. Each browser gets a fresh profile directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Flags for a browser on a machine without network or GPU, started for one test.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def browser_missing() -> str | None:
    """Why no browser can run here (``None`` when it can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return f"{path} is missing: run `make sysdeps` (as root) to install chromium"
    return None


@contextmanager
def chromium(width: int = 1400, height: int = 1100) -> Iterator[Any]:
    """A Selenium WebDriver for a fresh headless Chromium; quit and cleaned up after."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never try the network
    profile = tempfile.mkdtemp(prefix="synack-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument(f"--window-size={width},{height}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: Any, path: Path) -> None:
    """Load a local HTML file and wait until its script says it is ready."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return !!(window.synackView && window.synackView.ready)")
    )


def console_errors(driver: Any) -> list[str]:
    """The console's error messages (and uncaught exceptions) so far."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]

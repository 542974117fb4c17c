"""The page in a real browser: headless Chromium from Debian, driven by Selenium.

What a person would check: the page opens without console errors; the demo's
ladder shows the seed's lines; hovering or clicking a retransmission in the
time-sequence graph finds the same segment in the ladder; dragging zooms every
view; the screenshot is a picture with every panel drawn.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synack.sim import LinkConfig
from synack.sim.demo import run_demo
from synack.sim.scenario import run_transfer
from synack.view import write_page
from tests.view.browser import browser_missing, chromium, console_errors, open_page

pytestmark = pytest.mark.slow  # a browser: make test only

SEED_HANDSHAKE = [
    "Client (192.168.1.100) -> Server (10.0.0.5:80)   [SYN] Seq=1000",
    "Server (10.0.0.5:80) -> Client (192.168.1.100)   [SYN, ACK] Seq=5000 Ack=1001",
    "Client (192.168.1.100) -> Server (10.0.0.5:80)   [ACK] Seq=1001 Ack=5001",
]

LINES = (
    "return Array.from(document.querySelectorAll('#ladder .row.seg .line')).map(e => e.textContent)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why = browser_missing()
    if why is not None:
        pytest.fail(why)
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pages")
    demo = run_demo(trace=d / "demo.jsonl")
    link = LinkConfig(delay=10_000, bandwidth=20_000_000, queue_packets=40, loss=0.02)
    run_transfer(300_000, link, seed=4, trace=d / "lossy.jsonl")
    write_page(d / "demo.jsonl", d / "demo.html")
    write_page(d / "lossy.jsonl", d / "lossy.html")
    (d / "demo.txt").write_text("\n".join(demo.ladder))
    return {"demo": d / "demo.html", "lossy": d / "lossy.html", "demo_text": d / "demo.txt"}


def test_demo_ladder_shows_the_seeds_lines_without_console_errors(
    browser: Any, pages: dict[str, Path]
) -> None:
    open_page(browser, pages["demo"])
    lines = browser.execute_script(LINES)
    assert lines[:3] == SEED_HANDSHAKE
    # Every segment line is the one `synack demo` prints (its text ladder).
    text = pages["demo_text"].read_text().splitlines()
    printed = [line.split("  ", 1)[1].strip() for line in text if " -> " in line and "[" in line]
    assert lines == printed
    assert console_errors(browser) == []


def test_relative_numbers_and_window_and_options(browser: Any, pages: dict[str, Path]) -> None:
    open_page(browser, pages["demo"])
    browser.find_element("id", "relative").click()
    lines = browser.execute_script(LINES)
    assert lines[0].endswith("[SYN] Seq=0")
    assert lines[1].endswith("[SYN, ACK] Seq=0 Ack=1")
    browser.find_element("id", "verbose").click()
    first = browser.execute_script(LINES)[0]
    assert "[SYN] Seq=0 Win=65535 <mss 1460,sackOK,TS val " in first and first.endswith("wscale 3>")
    assert console_errors(browser) == []


def test_states_are_drawn_along_both_timelines(browser: Any, pages: dict[str, Path]) -> None:
    open_page(browser, pages["demo"])
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('#ladder-svg text')).map(e => e.textContent)"
    )
    for state in (
        "SYN-SENT",
        "SYN-RECEIVED",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "CLOSE-WAIT",
        "TIME-WAIT",
    ):
        assert state in labels
    rows = browser.execute_script(
        "return Array.from(document.querySelectorAll('#ladder .row.state .line')).map(e => e.textContent)"
    )
    assert rows[0] == "client: CLOSED -> SYN-SENT  (active open)"


def _hover_segment(browser: Any, i: int) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = browser.find_element("id", "tseq")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    p = browser.execute_script("return window.synackView.pointInGraph(arguments[0])", i)
    r = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, r.height]",
        canvas,
    )
    dx = round(p["x"] - r[0] - r[2] / 2)
    dy = round(p["y"] - r[1] - r[3] / 2)
    ActionChains(browser).move_to_element_with_offset(canvas, dx, dy).perform()


def test_hovering_and_clicking_a_retransmission_finds_it_in_the_ladder(
    browser: Any, pages: dict[str, Path]
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(browser, pages["lossy"])
    rtx = browser.execute_script("return window.synackView.retransmissions")
    assert len(rtx) >= 3
    i = rtx[len(rtx) // 2]
    # Narrow the time range around it so the mouse can single it out.
    t = browser.execute_script(
        "const v = window.synackView; v.select(arguments[0]); const r = v.range(); v.select(-1); return r",
        i,
    )
    browser.execute_script("window.synackView.zoom(arguments[0], arguments[1])", t[0], t[1])
    _hover_segment(browser, i)
    hl = browser.execute_script(
        "const e = document.querySelector('#ladder .row.hl'); return e && [+e.dataset.seg, e.textContent]"
    )
    assert hl is not None and hl[0] == i
    assert "(retransmission: " in hl[1]
    tip = browser.find_element("id", "tip")
    assert tip.is_displayed() and "retransmission" in tip.text
    ActionChains(browser).click().perform()
    sel = browser.execute_script(
        "const e = document.querySelector('#ladder .row.sel'); return e && +e.dataset.seg"
    )
    assert sel == i
    # The selected row is in sight in the ladder's scrolled box.
    inside = browser.execute_script(
        "const l = document.getElementById('ladder').getBoundingClientRect();"
        "const r = document.querySelector('#ladder .row.sel').getBoundingClientRect();"
        "return r.top >= l.top && r.bottom <= l.bottom"
    )
    assert inside
    assert console_errors(browser) == []


def test_the_retransmission_list_selects_in_the_ladder(
    browser: Any, pages: dict[str, Path]
) -> None:
    open_page(browser, pages["lossy"])
    button = browser.find_elements("css selector", "#rtx-list button.rtx")[1]
    browser.execute_script("arguments[0].scrollIntoView()", button)
    button.click()
    sel = browser.execute_script(
        "const e = document.querySelector('#ladder .row.sel'); return e && e.dataset.seg"
    )
    assert sel == button.get_attribute("data-seg")


def test_dragging_on_a_graph_zooms_every_view(browser: Any, pages: dict[str, Path]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(browser, pages["lossy"])
    before = browser.execute_script("return window.synackView.range()")
    rows_before = browser.find_element("id", "ladder-info").text
    canvas = browser.find_element("id", "cwnd")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    chain = ActionChains(browser).move_to_element_with_offset(canvas, -100, 0).click_and_hold()
    chain.move_by_offset(60, 0).move_by_offset(60, 0).release().perform()
    after = browser.execute_script("return window.synackView.range()")
    assert before[0] < after[0] < after[1] < before[1]
    assert (after[1] - after[0]) < 0.5 * (before[1] - before[0])
    assert browser.find_element("id", "ladder-info").text != rows_before
    # Every ladder row on show lies in the new range.
    times = browser.execute_script(
        "return Array.from(document.querySelectorAll('#ladder .row .t')).map(e => parseFloat(e.textContent))"
    )
    assert times and all(after[0] / 1e6 - 1e-6 <= t <= after[1] / 1e6 + 1e-6 for t in times)
    assert console_errors(browser) == []


def test_screenshot_is_a_picture_with_every_panel(
    browser: Any, pages: dict[str, Path], tmp_path: Path
) -> None:
    from PIL import Image

    open_page(browser, pages["lossy"])
    for pid in (
        "ladder-panel",
        "tseq-panel",
        "cwnd-panel",
        "rtt-panel",
        "rate-panel",
        "summary-panel",
    ):
        box = browser.execute_script(
            "const r = document.getElementById(arguments[0]).getBoundingClientRect(); return [r.width, r.height]",
            pid,
        )
        assert box[0] > 300 and box[1] > 150, pid
    # Each graph has drawn something besides its axes: count coloured pixels.
    for cid in ("tseq", "cwnd", "rtt", "rate"):
        coloured = browser.execute_script(
            "const c = document.getElementById(arguments[0]); const d = c.getContext('2d')"
            ".getImageData(0, 0, c.width, c.height).data; let n = 0;"
            "for (let k = 0; k < d.length; k += 4) { const r = d[k], g = d[k+1], b = d[k+2], a = d[k+3];"
            "if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++; } return n",
            cid,
        )
        assert coloured > 500, cid
    png = browser.get_screenshot_as_png()
    (tmp_path / "page.png").write_bytes(png)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    small = img.resize((img.width // 4, img.height // 4))
    colours = [(n, tuple(c)) for n, c in small.getcolors(1 << 20) or []]  # type: ignore[arg-type]
    assert len(colours) > 200
    white = sum(n for n, c in colours if min(c) > 245)
    assert white < 0.9 * small.width * small.height
    assert console_errors(browser) == []

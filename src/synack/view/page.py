"""The HTML page: one self-contained file, the view's data as JSON and a small script.

Nothing is fetched when the page opens: the stylesheet, the script
(``assets/view.css``, ``assets/view.js``) and the data are inlined. Segments are
stored column by column (times as deltas, sequence numbers relative to each
side's ISN and unwrapped, options with their timestamps and SACK blocks taken
out into columns, repeated texts interned), which keeps a 100 MB transfer's
page to tens of megabytes; docs/view.md has the measurements.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Any

from synack import __version__
from synack.view.model import ConnectionView, end_label, unwrap
from synack.view.summary import sack_blocks
from synack.wire.seq import MASK
from synack.wire.tcp import ACK, flag_names

__all__ = ["page_data", "render_page"]

_TS = re.compile(r"TS val (\d+) ecr (\d+)")
_SACK = re.compile(r"sack \d+ (?:\{\d+:\d+\})+")


class _Interner:
    def __init__(self) -> None:
        self.items: list[str] = [""]
        self.index: dict[str, int] = {"": 0}

    def __call__(self, text: str) -> int:
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = len(self.items)
            self.items.append(text)
        return i


def page_data(view: ConnectionView) -> dict[str, Any]:
    """The JSON the page's script reads (see ``assets/view.js`` for the keys)."""
    segs = view.segs
    t0 = min((s.ts for s in segs), default=0)
    if view.exact and t0 >= 0:
        t0 = 0  # synack's virtual clock starts at 0: keep its times as they are
    a, b = view.ends
    isn = (a.isn or 0, b.isn or 0)
    rseq: list[int] = [0] * len(segs)
    rack: list[int] = [0] * len(segs)
    for d in (0, 1):
        idx = [i for i, s in enumerate(segs) if s.d == d]
        for i, v in zip(idx, unwrap([segs[i].seq for i in idx], isn[d]), strict=True):
            rseq[i] = v
        idx = [i for i in idx if segs[i].flags & ACK]
        for i, v in zip(idx, unwrap([segs[i].ack for i in idx], isn[1 - d]), strict=True):
            rack[i] = v
    opts = _Interner()
    texts = _Interner()
    cols: dict[str, list[int]] = {
        k: []
        for k in ("ts", "ta", "d", "fl", "rs", "ra", "w", "n", "o", "tv", "te", "c", "f", "m", "u")
    }
    sacks: dict[str, list[int]] = {}
    prev = t0
    for i, s in enumerate(segs):
        cols["ts"].append(s.ts - prev)
        prev = s.ts
        cols["ta"].append(s.ta - s.ts if s.ta is not None else -1)
        cols["d"].append(s.d)
        cols["fl"].append(s.flags)
        cols["rs"].append(rseq[i])
        cols["ra"].append(rack[i])
        cols["w"].append(s.win)
        cols["n"].append(s.length)
        text = s.opts
        tv = te = -1
        if text:
            m = _TS.search(text)
            if m:
                tv, te = int(m.group(1)), int(m.group(2))
                text = text[: m.start()] + "\x01" + text[m.end() :]
            blocks = sack_blocks(text)
            if blocks:
                base = isn[1 - s.d]
                rel: list[int] = []
                for lo, hi in blocks:
                    lo_off = _near((lo - base) & MASK, rack[i])
                    rel += [lo_off, lo_off + ((hi - lo) & MASK)]
                sacks[str(i)] = rel
                text = _SACK.sub("\x02", text)
        cols["o"].append(opts(text))
        cols["tv"].append(tv)
        cols["te"].append(te)
        cols["c"].append(texts(s.cause) if s.rtx else 0)
        cols["f"].append(texts(s.fate))
        cols["m"].append(texts(", ".join(s.marks)))
        cols["u"].append(s.urg)
    # Columns that say nothing (all zero or -1) are left out; the script fills them.
    for k in ("tv", "te"):
        if all(v == -1 for v in cols[k]):
            del cols[k]
    for k in ("c", "f", "m", "u"):
        if not any(cols[k]):
            del cols[k]
    series: dict[str, list[dict[str, Any]]] = {}
    for end, lst in view.series.items():
        out = []
        for x in lst:
            pts = x.points
            out.append(
                {
                    "name": x.name,
                    "unit": x.unit,
                    "step": x.step,
                    "hold": x.hold,
                    "total": x.total,
                    "t": [t - t0 for t, _ in pts],
                    "v": [None if v != v else round(v, 3) for _, v in pts],
                }
            )
        series[str(end)] = out
    payload = [0, 0]
    for s in segs:
        payload[s.d] += s.length
    return {
        "version": __version__,
        "title": view.title,
        "source": view.source,
        "exact": view.exact,
        "notes": view.notes,
        "others": view.others,
        "t0": t0,
        "dataDir": 0 if payload[0] >= payload[1] else 1,
        "flagNames": [[1 << i, flag_names(1 << i)[0]] for i in range(12)],
        "ends": [
            {
                "label": end_label(e),
                "name": e.name,
                "endpoint": e.endpoint,
                "isn": e.isn or 0,
                "wscale": e.wscale or 0,
                "first": e.first_state,
                "states": [[t - t0, st, why] for t, st, why in e.states],
            }
            for e in view.ends
        ],
        "seg": cols,
        "opts": opts.items,
        "texts": texts.items,
        "sack": sacks,
        "series": series,
        "events": [[t - t0, end, text] for t, end, text in view.events],
        "summary": [{"title": s.title, "columns": s.columns, "rows": s.rows} for s in view.summary],
    }


def _near(offset: int, ref: int) -> int:
    """The unwrapped offset congruent to ``offset`` mod 2**32 nearest to ``ref``."""
    d = (offset - ref) & MASK
    if d >= 1 << 31:
        d -= 1 << 32
    return ref + d


def _asset(name: str) -> str:
    return resources.files("synack.view").joinpath("assets", name).read_text(encoding="utf-8")


def render_page(view: ConnectionView) -> str:
    """The whole HTML document for ``view``."""
    data = json.dumps(page_data(view), separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    data = data.replace("</", "<\\/")  # never close the script element early
    title = html.escape(f"synack view: {view.title}")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # No network: this page fetches nothing, and says so to the browser.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{title}</title>\n<style>\n{_asset('view.css')}</style>\n</head>\n<body>\n"
        f"{_asset('view.html')}"
        f'<script id="synack-data" type="application/json">{data}</script>\n'
        f"<script>\n{_asset('view.js')}</script>\n</body>\n</html>\n"
    )

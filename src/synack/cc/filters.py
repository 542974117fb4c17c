"""Windowed extremum filters for model-based congestion control (BBR's BtlBw filter).

:class:`WindowedMax` keeps the maximum of the samples seen within a sliding
window (of time, or of round trips) in O(1) per sample and O(1) space, using
Kathleen Nichols' three-sample scheme: the best, second-best and third-best
candidates, each from a later part of the window than the one before.
"""

from __future__ import annotations

__all__ = ["WindowedMax"]


class WindowedMax:
    """Running maximum over the last ``window`` time units (any monotonic clock).

    Exact when the maximum is recent; when old candidates age out, the value
    falls back to the best sample of a later sub-window, never to one outside
    the window.
    """

    __slots__ = ("_t", "_v", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self._t = [0, 0, 0]  # times of the best, second and third candidates
        self._v = [0, 0, 0]

    @property
    def value(self) -> int:
        """The windowed maximum (0 before any sample)."""
        return self._v[0]

    def reset(self, t: int, v: int) -> int:
        """Forget everything and start from the sample ``v`` at time ``t``."""
        self._t[0] = self._t[1] = self._t[2] = t
        self._v[0] = self._v[1] = self._v[2] = v
        return v

    def update(self, t: int, v: int) -> int:
        """Add sample ``v`` taken at time ``t`` (not before the previous one); return the max."""
        ts, vs = self._t, self._v
        win = self.window
        if v >= vs[0] or t - ts[2] > win:
            # A new overall maximum, or even the newest candidate has expired.
            return self.reset(t, v)
        if v >= vs[1]:
            ts[1] = ts[2] = t
            vs[1] = vs[2] = v
        elif v >= vs[2]:
            ts[2] = t
            vs[2] = v
        age = t - ts[0]
        if age > win:
            # The best candidate left the window: promote the others, take the
            # new sample as third, and promote once more if needed.
            ts[0], vs[0] = ts[1], vs[1]
            ts[1], vs[1] = ts[2], vs[2]
            ts[2], vs[2] = t, v
            if t - ts[0] > win:
                ts[0], vs[0] = ts[1], vs[1]
                ts[1], vs[1] = ts[2], vs[2]
        elif ts[1] == ts[0] and age > win // 4:
            # A quarter of the window passed with no second candidate: take one.
            ts[1] = ts[2] = t
            vs[1] = vs[2] = v
        elif ts[2] == ts[1] and age > win // 2:
            # Half of the window passed with no third candidate: take one.
            ts[2] = t
            vs[2] = v
        return vs[0]

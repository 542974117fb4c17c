"""Parsing the values a sweep spec may give as text: counts, queue sizes, bursty loss."""

from __future__ import annotations

from synack import units
from synack.lab.spec import SpecError
from synack.sim.aqm import AqmConfig, CoDel, Red, StepMark
from synack.sim.link import GilbertElliott

__all__ = ["parse_aqm", "parse_burst", "parse_count", "parse_queue"]


def parse_count(text: str) -> int:
    """``10000``, ``10M``, ``1G``, ``64Ki`` (optionally ending in ``B``) as an int."""
    try:
        return units.parse_count(text)
    except ValueError as exc:
        raise SpecError(str(exc)) from None


def parse_queue(text: str) -> tuple[int | None, int | None, float | None]:
    """``(packets, bytes, bdp multiple)``: ``"50"``/``"50p"``, ``"64KB"``, ``"bdp"``/``"2bdp"``."""
    t = text.strip().lower()
    if t.endswith("bdp"):
        factor = t[:-3] or "1"
        try:
            f = float(factor)
        except ValueError:
            raise SpecError(f"not a queue size: {text!r}") from None
        if f <= 0:
            raise SpecError(f"queue must be > 0 BDP: {text!r}")
        return None, None, f
    try:
        packets, octets = units.parse_queue(t)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    return packets, octets, None


def parse_burst(text: str) -> GilbertElliott:
    """``"RATE"`` or ``"RATE:MEAN_BURST"`` (mean burst 3 packets by default)."""
    rate, _, length = text.partition(":")
    try:
        return GilbertElliott.from_rate(float(rate), float(length) if length else 3.0)
    except ValueError as exc:
        raise SpecError(f"burst-loss {text!r}: {exc}") from None


def parse_aqm(text: str, *, ecn: bool, packet_time: int = 1200) -> AqmConfig | None:
    """``droptail`` (``None``), ``red[:MIN:MAX[:MAX_P]]`` (packets),
    ``codel[:TARGET_MS:INTERVAL_MS]``, ``step[:K]`` (packets).

    ``ecn``: the manager marks ECN-capable packets instead of dropping them.
    ``packet_time`` is RED's idle-decay unit (µs to send one packet).
    """
    name, *args = text.strip().lower().split(":")
    try:
        nums = [float(a) for a in args]
    except ValueError:
        raise SpecError(f"aqm {text!r}: the parameters must be numbers") from None
    try:
        if name in ("droptail", "fifo") and not nums:
            return None
        if name == "red" and len(nums) in (0, 2, 3):
            lo, hi, p = [*nums, 0.1][:3] if nums else (5.0, 15.0, 0.1)
            return Red(min_th=lo, max_th=hi, max_p=p, packet_time=packet_time, ecn=ecn)
        if name == "codel" and len(nums) in (0, 2):
            target, interval = nums or [5.0, 100.0]
            return CoDel(target=round(target * 1000), interval=round(interval * 1000), ecn=ecn)
        if name == "step" and len(nums) in (0, 1):
            return StepMark(k=int(nums[0]) if nums else 20, ecn=ecn)
    except ValueError as exc:
        raise SpecError(f"aqm {text!r}: {exc}") from None
    raise SpecError(
        f"not a queue manager: {text!r} (droptail, red[:MIN:MAX[:MAX_P]], "
        "codel[:TARGET_MS:INTERVAL_MS], step[:K])"
    )

"""Congestion control: a small interface, a name -> factory registry, and the algorithms.

>>> from synack.cc import create
>>> cc = create("cubic", mss=1460, initial_window=10 * 1460, now=0)
>>> cc.name
'cubic'

Registered: ``newreno`` (alias ``reno``), ``cubic``, ``bbr`` and ``dctcp``.
"""

from synack.cc.base import (
    INFINITE_SSTHRESH,
    REGISTRY,
    CongestionControl,
    RateSample,
    available,
    create,
    register,
)
from synack.cc.bbr import Bbr, BbrState
from synack.cc.cubic import Cubic
from synack.cc.dctcp import Dctcp
from synack.cc.hystart import HyStartPlusPlus, RoundCounter
from synack.cc.newreno import NewReno

__all__ = [
    "INFINITE_SSTHRESH",
    "REGISTRY",
    "Bbr",
    "BbrState",
    "CongestionControl",
    "Cubic",
    "Dctcp",
    "HyStartPlusPlus",
    "NewReno",
    "RateSample",
    "RoundCounter",
    "available",
    "create",
    "register",
]

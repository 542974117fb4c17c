"""Congestion control: a small interface and a name -> factory registry.

>>> from synack.cc import create
>>> cc = create("newreno", mss=1460, initial_window=10 * 1460, now=0)
"""

from synack.cc.base import REGISTRY, CongestionControl, available, create, register
from synack.cc.newreno import NewReno

__all__ = ["REGISTRY", "CongestionControl", "NewReno", "available", "create", "register"]

"""A deterministic network simulator for synack's sans-I/O endpoints.

:class:`Simulator` is the virtual clock and event heap; :class:`Link` one
direction of a path with delay, bandwidth, queue, MTU and seeded impairments;
:class:`HostNode` drives an endpoint; :class:`Router` forwards by destination;
:func:`two_hosts` and :func:`dumbbell` build the usual topologies.
"""

from synack.sim.engine import SimulationError, Simulator
from synack.sim.link import DROP_REASONS, GilbertElliott, Link, LinkConfig, LinkObserver
from synack.sim.node import HostNode, Router, SansIOHost
from synack.sim.rules import DropRule, parse_rule
from synack.sim.topology import Dumbbell, HostSpec, TwoHosts, dumbbell, two_hosts

__all__ = [
    "DROP_REASONS",
    "DropRule",
    "Dumbbell",
    "GilbertElliott",
    "HostNode",
    "HostSpec",
    "Link",
    "LinkConfig",
    "LinkObserver",
    "Router",
    "SansIOHost",
    "SimulationError",
    "Simulator",
    "TwoHosts",
    "dumbbell",
    "parse_rule",
    "two_hosts",
]

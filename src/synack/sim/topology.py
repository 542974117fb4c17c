"""Ready-made networks: two hosts on a link, and N senders through one bottleneck.

Every link gets a distinct name (used in traces and to seed its impairments),
and both builders return a small dataclass holding the nodes and links so that
tests and scenarios can attach observers and read counters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from synack.sim.engine import Simulator
from synack.sim.link import Link, LinkConfig, LinkObserver
from synack.sim.node import App, HostNode, Router, SansIOHost

__all__ = ["Dumbbell", "HostSpec", "Network", "TwoHosts", "dumbbell", "two_hosts"]


@dataclass(frozen=True, slots=True)
class HostSpec:
    """A host to place in a topology: its endpoint, name, addresses and app."""

    endpoint: SansIOHost
    name: str
    addresses: tuple[str | bytes, ...] = ()
    app: App | None = None

    def node(self, sim: Simulator) -> HostNode:
        return HostNode(sim, self.endpoint, name=self.name, addresses=self.addresses, app=self.app)


@dataclass
class Network:
    """Nodes and links of a topology (base of the concrete ones)."""

    sim: Simulator
    hosts: dict[str, HostNode] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)

    def observe(self, observer: LinkObserver, links: Iterable[str] | None = None) -> None:
        """Attach ``observer`` to the named links (default: every link)."""
        for name in links if links is not None else self.links:
            self.links[name].observers.append(observer)

    def drops(self) -> dict[str, int]:
        """Drops by reason summed over every link."""
        out: dict[str, int] = {}
        for link in self.links.values():
            for reason, n in link.drops.items():
                out[reason] = out.get(reason, 0) + n
        return dict(sorted(out.items()))


@dataclass(kw_only=True)
class TwoHosts(Network):
    """Host ``a`` and host ``b`` joined by link ``ab`` (a -> b) and link ``ba``."""

    a: HostNode
    b: HostNode
    ab: Link
    ba: Link


def two_hosts(
    sim: Simulator,
    a: HostSpec,
    b: HostSpec,
    ab: LinkConfig | None = None,
    ba: LinkConfig | None = None,
    *,
    seed: int = 0,
) -> TwoHosts:
    """Join two hosts with a link in each direction (``ba`` defaults to ``ab``)."""
    ab = ab or LinkConfig()
    ba = ba or ab
    node_a = a.node(sim)
    node_b = b.node(sim)
    link_ab = Link(sim, node_b, ab, name=f"{a.name}->{b.name}", seed=seed)
    link_ba = Link(sim, node_a, ba, name=f"{b.name}->{a.name}", seed=seed)
    node_a.default = link_ab
    node_b.default = link_ba
    return TwoHosts(
        sim=sim,
        hosts={a.name: node_a, b.name: node_b},
        links={link_ab.name: link_ab, link_ba.name: link_ba},
        a=node_a,
        b=node_b,
        ab=link_ab,
        ba=link_ba,
    )


@dataclass(kw_only=True)
class Dumbbell(Network):
    """N senders with access links to one router; a bottleneck to the receiver.

    ``bottleneck`` is router -> receiver, ``reverse`` receiver -> router.
    """

    router: Router
    senders: list[HostNode]
    receiver: HostNode
    bottleneck: Link
    reverse: Link


def dumbbell(
    sim: Simulator,
    senders: Sequence[HostSpec],
    receiver: HostSpec,
    *,
    access: LinkConfig | None = None,
    bottleneck: LinkConfig | None = None,
    reverse: LinkConfig | None = None,
    seed: int = 0,
) -> Dumbbell:
    """Build the dumbbell; the router routes by destination address.

    Access links (both directions) use ``access``; the receiver's return path
    uses ``reverse`` (default: the same configuration as ``bottleneck``).
    Every host must list its addresses so the router can reach it.
    """
    access = access or LinkConfig()
    bottleneck = bottleneck or LinkConfig()
    reverse = reverse or bottleneck
    router = Router("router")
    recv = receiver.node(sim)
    if not recv.addresses:
        raise ValueError(f"host {receiver.name!r} needs addresses to be routable")
    down_link = Link(sim, recv, bottleneck, name=f"router->{receiver.name}", seed=seed)
    up_link = Link(sim, router, reverse, name=f"{receiver.name}->router", seed=seed)
    recv.default = up_link
    for a in recv.addresses:
        router.add_route(a, down_link)
    net = Dumbbell(
        sim=sim,
        hosts={receiver.name: recv},
        links={down_link.name: down_link, up_link.name: up_link},
        router=router,
        senders=[],
        receiver=recv,
        bottleneck=down_link,
        reverse=up_link,
    )
    for spec in senders:
        node = spec.node(sim)
        if not node.addresses:
            raise ValueError(f"host {spec.name!r} needs addresses to be routable")
        up = Link(sim, router, access, name=f"{spec.name}->router", seed=seed)
        down = Link(sim, node, access, name=f"router->{spec.name}", seed=seed)
        node.default = up
        for a in node.addresses:
            router.add_route(a, down)
        net.senders.append(node)
        net.hosts[spec.name] = node
        net.links[up.name] = up
        net.links[down.name] = down
    return net

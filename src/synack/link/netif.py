"""A host's network interface between a link device and the TCP endpoint.

:class:`NetInterface` owns synack's MAC and IP addresses on one link. It answers
ARP and neighbour solicitations, resolves next hops (with a queue for packets
awaiting resolution), answers pings, turns ICMP errors into
``handle_icmp_error`` calls, and hands TCP packets for its addresses to the
endpoint. Like the core it is driven with explicit time (integer microseconds)
and does no I/O: frames come in through :meth:`NetInterface.receive_frame` (TAP)
or :meth:`NetInterface.receive_ip` (TUN), and go out through
:meth:`NetInterface.frames_to_send`, as ``(link header, IP packet)`` pairs that a
device can write with one ``writev``.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol

from synack.link.neighbors import (
    DEFAULT_CONFIG,
    Neighbor,
    NeighborCache,
    NeighborConfig,
    NeighborState,
)
from synack.wire.errors import MalformedPacket
from synack.wire.ether import (
    ARP_REPLY,
    ARP_REQUEST,
    BROADCAST_MAC,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    ArpPacket,
    ipv6_multicast_mac,
    parse_arp,
    str_to_mac,
)
from synack.wire.gso import GsoPacket
from synack.wire.icmp import (
    NDP_OPT_SOURCE_LLADDR,
    NDP_OPT_TARGET_LLADDR,
    UNREACH_PROTOCOL,
    Icmp4DestUnreachable,
    Icmp4Echo,
    Icmp4Message,
    Icmp6Echo,
    Icmp6Message,
    Icmp6ParamProblem,
    IcmpKind,
    NeighborAdvertisement,
    NeighborSolicitation,
    error_kind,
    parse_icmp4,
    parse_icmp6,
    parse_quoted_tcp,
)
from synack.wire.ip import (
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    IPv4Header,
    IPv6Header,
    parse_ip,
    parse_ip_addresses,
    peek_ip,
)
from synack.wire.tcp import Segment, parse_segment

__all__ = ["IPInterface", "NetInterface", "PacketEndpoint", "default_mac"]

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

_ALL_NODES: Final = ipaddress.IPv6Address("ff02::1").packed
_V6_UNSPECIFIED: Final = bytes(16)
_V6_LOOPBACK: Final = bytes(15) + b"\x01"
_V6_V4MAPPED: Final = bytes(10) + b"\xff\xff"
_UNSPECIFIED6: Final = bytes(16)
_LINK_LOCAL6: Final = ipaddress.IPv6Network("fe80::/10")
_ETH_V4: Final = ETHERTYPE_IPV4.to_bytes(2, "big")
_ETH_V6: Final = ETHERTYPE_IPV6.to_bytes(2, "big")
_ETH_ARP: Final = ETHERTYPE_ARP.to_bytes(2, "big")
# RFC 1122 3.2.2: a host may limit the ICMP errors it sends; synack sends at most
# this many per second.
_ICMP_ERRORS_PER_SECOND: Final = 100
# RFC 1812 4.3.2.3 / RFC 4443 2.4(c): quote as much of the original as fits in 576 / 1280.
_QUOTE4: Final = 576 - 20 - 8
_QUOTE6: Final = 1280 - 40 - 8


class PacketEndpoint(Protocol):
    """What :class:`NetInterface` needs from the TCP endpoint (synack.tcp.endpoint.Endpoint)."""

    def receive_packet(self, packet: bytes, now: int) -> None: ...

    def receive_segment(self, src: bytes, dst: bytes, seg: Segment, now: int) -> None: ...

    def handle_icmp_error(
        self, now: int, *, kind: IcmpKind, original: bytes, mtu: int | None = None
    ) -> None: ...


def default_mac(addrs: Iterable[IPInterface]) -> bytes:
    """A locally administered unicast MAC, 02:53:4b ("SK") + the low 24 bits of the first address."""
    first = next(iter(addrs), None)
    tail = first.ip.packed[-3:] if first is not None else b"\x00\x00\x01"
    return b"\x02\x53\x4b" + tail


def solicited_node(addr: bytes) -> bytes:
    """RFC 4291 2.7.1: the solicited-node multicast group ff02::1:ffXX:XXXX of ``addr``."""
    return bytes.fromhex("ff0200000000000000000001ff") + addr[13:16]


def _as_interface(value: str | IPInterface) -> IPInterface:
    if isinstance(value, str):
        return ipaddress.ip_interface(value)
    return value


class NetInterface:
    """synack's end of one link: addresses, neighbour resolution, ICMP, and the endpoint.

    ``addrs`` are ``"10.0.0.5/24"``-style interface addresses; the prefix says
    which destinations are on-link. Other destinations go to ``gateways`` (one per
    family) or are dropped as ``no_route``. With ``ethernet=False`` (a TUN
    device) there is no link header and no neighbour resolution.
    """

    def __init__(
        self,
        endpoint: PacketEndpoint,
        addrs: Sequence[str | IPInterface],
        *,
        mac: bytes | str | None = None,
        gateways: Sequence[str] = (),
        ethernet: bool = True,
        mtu: int = 1500,
        neighbor_config: NeighborConfig = DEFAULT_CONFIG,
        tracer: Callable[[dict[str, Any]], None] | None = None,
        name: str = "link",
    ) -> None:
        if not addrs:
            raise ValueError("a NetInterface needs at least one address")
        self.endpoint = endpoint
        self.addrs: list[IPInterface] = [_as_interface(a) for a in addrs]
        self.mac = str_to_mac(mac) if isinstance(mac, str) else (mac or default_mac(self.addrs))
        if len(self.mac) != 6 or self.mac[0] & 1:
            raise ValueError("the interface MAC must be a 6-byte unicast address")
        self.ethernet = ethernet
        self.mtu = mtu
        self.name = name
        self.tracer = tracer
        self.counters: Counter[str] = Counter()
        self.neighbors = NeighborCache(neighbor_config)
        self._v4 = [a for a in self.addrs if isinstance(a, ipaddress.IPv4Interface)]
        self._v6 = [a for a in self.addrs if isinstance(a, ipaddress.IPv6Interface)]
        self._own4 = frozenset(a.ip.packed for a in self._v4)
        self._own6 = frozenset(a.ip.packed for a in self._v6)
        self._broadcast4 = frozenset(
            [b"\xff\xff\xff\xff"]
            + [a.network.broadcast_address.packed for a in self._v4 if a.network.prefixlen < 31]
        )
        self._groups6 = frozenset([_ALL_NODES] + [solicited_node(a) for a in self._own6])
        self._gateway4: bytes | None = None
        self._gateway6: bytes | None = None
        for gw in gateways:
            ip = ipaddress.ip_address(gw)
            if ip.version == 4:
                self._gateway4 = ip.packed
            else:
                self._gateway6 = ip.packed
        self._out: list[tuple[bytes, bytes | GsoPacket]] = []
        self._routes: dict[bytes, bytes | None] = {}  # destination -> next hop (a cache)
        self._icmp_window = 0
        self._icmp_sent = 0

    # ------------------------------------------------------------------ outputs

    def frames_to_send(self) -> list[tuple[bytes, bytes | GsoPacket]]:
        """Everything queued for the device, as ``(link header, IP or ARP packet)`` pairs.

        A :class:`~synack.wire.gso.GsoPacket` appears only if the endpoint made
        one (the device said it does segmentation offload).
        """
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> int | None:
        """When :meth:`handle_timer` must next run (neighbour request retransmission)."""
        return self.neighbors.next_deadline()

    # ------------------------------------------------------------------- inputs

    def receive_frame(self, frame: bytes, now: int, *, checksum_trusted: bool = False) -> None:
        """One Ethernet frame from a TAP device. Never raises for bad input.

        ``checksum_trusted``: the device vouches for the TCP checksum (see
        :meth:`synack.link.device.TunTapDevice.read_trusted`), so it is not checked.
        """
        if len(frame) < 14:
            self._drop("truncated_frame", now)
            return
        dst = frame[0:6]
        if dst != self.mac and not dst[0] & 1:
            # Another host's unicast (a TAP sees only frames for the kernel's idea of us).
            self._drop("not_our_mac", now)
            return
        ethertype = frame[12:14]
        if ethertype in (_ETH_V4, _ETH_V6):
            self._receive_ip(memoryview(frame)[14:], now, frame[6:12], checksum_trusted)
        elif ethertype == _ETH_ARP:
            self._receive_arp(memoryview(frame)[14:], frame[6:12], now)
        else:
            self._drop("unknown_ethertype", now)

    def receive_ip(self, packet: bytes, now: int, *, checksum_trusted: bool = False) -> None:
        """One IP packet from a TUN device (no link header). Never raises for bad input."""
        self._receive_ip(memoryview(packet), now, None, checksum_trusted)

    def handle_timer(self, now: int) -> None:
        """Retransmit or give up neighbour requests whose timer fired."""
        config = self.neighbors.config
        for entry in self.neighbors.due(now):
            if entry.probes < config.max_probes:
                entry.probes += 1
                entry.deadline = now + config.retrans_us
                self._solicit(entry, now, unicast=entry.state is NeighborState.PROBE)
                continue
            self.neighbors.remove(entry.addr)
            if entry.state is NeighborState.INCOMPLETE:
                self._resolution_failed(entry, now)
            else:
                self._trace(
                    now, "neigh", addr=_fmt(entry.addr), state="FAILED", reason="probe_timeout"
                )

    def send_ip(self, packet: bytes | GsoPacket, now: int) -> None:
        """Route one IP packet from the endpoint and queue it (or its resolution)."""
        if not self.ethernet:
            self._out.append((b"", packet))
            return
        try:
            version, proto, _, dst, _, _ = peek_ip(
                packet.packet if isinstance(packet, GsoPacket) else packet
            )
        except MalformedPacket:
            self._drop("bad_outgoing_packet", now)
            return
        if version == 4:
            if dst in self._broadcast4:
                self._out.append((BROADCAST_MAC + self.mac + _ETH_V4, packet))
                return
            if dst[0] >= 224:
                # RFC 1112 6.4: 01:00:5e + the low 23 bits of the group.
                mac = b"\x01\x00\x5e" + bytes((dst[1] & 0x7F,)) + dst[2:4]
                self._out.append((mac + self.mac + _ETH_V4, packet))
                return
        elif dst[0] == 0xFF:
            self._out.append((ipv6_multicast_mac(dst) + self.mac + _ETH_V6, packet))
            return
        hop = self._next_hop(dst)
        if hop is None:
            self._drop("no_route", now, dst=_fmt(dst))
            if proto == PROTO_TCP:
                # No route and no gateway: tell TCP at once, as an ICMP "network
                # unreachable" from ourselves would (a soft error, RFC 1122 4.2.3.9),
                # so that a connect fails now with ENETUNREACH as on Linux rather
                # than after its SYN retransmissions.
                data = packet.packet if isinstance(packet, GsoPacket) else packet
                self.endpoint.handle_icmp_error(
                    now, kind="net_unreachable", original=data[:_QUOTE4]
                )
            return
        entry = self.neighbors.get(hop)
        if entry is not None and entry.mac is not None:
            self._out.append((entry.header, packet))
            if entry.state is NeighborState.REACHABLE and now >= entry.expires:
                self.neighbors.start_probe(entry, now)
                self._solicit(entry, now, unicast=True)
            return
        if entry is None:
            entry = self.neighbors.create(hop, now)
            self._trace(now, "neigh", addr=_fmt(hop), state="INCOMPLETE", reason="resolve")
            self._solicit(entry, now, unicast=False)
        self._enqueue(entry, packet, now)

    # ------------------------------------------------------------------ routing

    def _next_hop(self, dst: bytes) -> bytes | None:
        try:
            return self._routes[dst]
        except KeyError:
            pass
        if len(self._routes) >= 4096:
            self._routes.clear()
        hop = self._routes[dst] = self._lookup_route(dst)
        return hop

    def _lookup_route(self, dst: bytes) -> bytes | None:
        if len(dst) == 4:
            ip4 = ipaddress.IPv4Address(dst)
            if any(ip4 in a.network for a in self._v4):
                return dst
            return self._gateway4
        ip6 = ipaddress.IPv6Address(dst)
        if ip6 in _LINK_LOCAL6 or any(ip6 in a.network for a in self._v6):
            return dst
        return self._gateway6

    def _source_for(self, dst: bytes) -> bytes | None:
        ifaces: Sequence[IPInterface] = self._v4 if len(dst) == 4 else self._v6
        addr = ipaddress.ip_address(dst)
        for iface in ifaces:
            if addr in iface.network:
                return iface.ip.packed
        return ifaces[0].ip.packed if ifaces else None

    # ----------------------------------------------------------- neighbour work

    def _enqueue(self, entry: Neighbor, packet: bytes | GsoPacket, now: int) -> None:
        limit = self.neighbors.config.queue_bytes
        entry.queue.append(packet)
        entry.queued_bytes += len(packet)
        while entry.queued_bytes > limit and len(entry.queue) > 1:
            old = entry.queue.popleft()
            entry.queued_bytes -= len(old)
            self._drop("neighbor_queue_full", now)

    def _flush(self, entry: Neighbor) -> None:
        while entry.queue:
            self._out.append((entry.header, entry.queue.popleft()))
        entry.queued_bytes = 0

    def _learn(self, addr: bytes, mac: bytes, now: int, *, create: bool) -> None:
        ethertype = _ETH_V4 if len(addr) == 4 else _ETH_V6
        before = self.neighbors.get(addr)
        was = before.state if before is not None else None
        entry = self.neighbors.confirm(addr, mac, mac + self.mac + ethertype, now, create=create)
        if entry is None:
            return
        if was is not NeighborState.REACHABLE:
            self._trace(now, "neigh", addr=_fmt(addr), state="REACHABLE", mac=mac.hex(":"))
        self._flush(entry)

    def _solicit(self, entry: Neighbor, now: int, *, unicast: bool) -> None:
        addr = entry.addr
        src = self._source_for(addr)
        if src is None:
            return
        if len(addr) == 4:
            # RFC 826; RFC 1122 2.3.2.1 allows unicast requests to re-validate an entry.
            dst_mac = entry.mac if unicast and entry.mac else BROADCAST_MAC
            arp = ArpPacket(ARP_REQUEST, self.mac, src, bytes(6), addr)
            self._out.append((dst_mac + self.mac + _ETH_ARP, arp.emit()))
            self.counters["arp_request_out"] += 1
            return
        # RFC 4861 7.2.2: to the solicited-node group (or unicast when probing), with
        # our link-layer address as an option and hop limit 255.
        if unicast and entry.mac:
            dst, dst_mac = addr, entry.mac
        else:
            dst = solicited_node(addr)
            dst_mac = ipv6_multicast_mac(dst)
        ns = NeighborSolicitation(addr, ((NDP_OPT_SOURCE_LLADDR, self.mac),)).emit(src, dst)
        packet = IPv6Header(src, dst, PROTO_ICMPV6, 255).emit(len(ns)) + ns
        self._out.append((dst_mac + self.mac + _ETH_V6, packet))
        self.counters["ns_out"] += 1

    def _resolution_failed(self, entry: Neighbor, now: int) -> None:
        self._trace(now, "neigh", addr=_fmt(entry.addr), state="FAILED", reason="no_answer")
        self.counters["neighbor_unresolved"] += 1
        first = entry.queue[0] if entry.queue else None
        self.counters["drop.neighbor_unresolved"] += len(entry.queue)
        entry.queue.clear()
        if first is not None:
            # RFC 1122 2.3.2.2 / RFC 4861 7.2.2: tell the transport the host is
            # unreachable, as an ICMP error from ourselves would (a soft error for TCP).
            data = first.packet if isinstance(first, GsoPacket) else first
            self.endpoint.handle_icmp_error(now, kind="host_unreachable", original=data[:_QUOTE4])

    # --------------------------------------------------------------------- ARP

    def _receive_arp(self, payload: memoryview, frame_src: bytes, now: int) -> None:
        try:
            arp = parse_arp(payload)
        except MalformedPacket as exc:
            self._drop(exc.reason, now)
            return
        self.counters["arp_in"] += 1
        if arp.spa == bytes(4) or arp.sha[0] & 1:
            # RFC 5227 probes (sender 0.0.0.0) and group sender addresses teach nothing.
            self.counters["arp_ignored"] += 1
            return
        for_us = arp.tpa in self._own4
        # RFC 826 packet reception: merge the sender into an existing entry; if the
        # request is for us, add it even when it is new.
        self._learn(arp.spa, arp.sha, now, create=for_us)
        if for_us and arp.op == ARP_REQUEST:
            reply = ArpPacket(ARP_REPLY, self.mac, arp.tpa, arp.sha, arp.spa)
            self._out.append((frame_src + self.mac + _ETH_ARP, reply.emit()))
            self.counters["arp_reply_out"] += 1

    # ---------------------------------------------------------------------- IP

    def _receive_ip(
        self, packet: memoryview, now: int, frame_src: bytes | None, checksum_trusted: bool = False
    ) -> None:
        # Only the destination and protocol decide where the packet goes; the
        # endpoint (or the ICMP code) then checks the whole header.
        try:
            version, proto, _, dst, _, _ = peek_ip(packet)
        except MalformedPacket as exc:
            self._drop(exc.reason, now)
            return
        if version == 4:
            if dst in self._own4:
                if proto == PROTO_TCP:
                    self._deliver_tcp(packet, now, checksum_trusted)
                    return
                self._receive_other4(packet, now, broadcast=False)
                return
            if dst in self._broadcast4 or 224 <= dst[0] < 240:
                self._receive_other4(packet, now, broadcast=True)
                return
            self._drop("not_our_address", now)
            return
        if dst in self._own6:
            if proto == PROTO_TCP:
                self._deliver_tcp(packet, now, checksum_trusted)
                return
            self._receive_other6(packet, now, frame_src, multicast=False)
            return
        if dst in self._groups6:
            self._receive_other6(packet, now, frame_src, multicast=True)
            return
        self._drop("not_our_address", now)

    def _deliver_tcp(self, packet: memoryview, now: int, checksum_trusted: bool) -> None:
        self.counters["tcp_in"] += 1
        if not checksum_trusted:
            self.endpoint.receive_packet(bytes(packet), now)
            return
        try:
            _, _, src, dst, start, end = parse_ip_addresses(packet)
            seg = parse_segment(packet[start:end])  # no pseudo-header sum: checksum not checked
        except MalformedPacket as exc:
            self._drop(exc.reason, now)
            return
        self.endpoint.receive_segment(src, dst, seg, now)

    def _receive_other4(self, packet: memoryview, now: int, *, broadcast: bool) -> None:
        try:
            ip, payload = parse_ip(packet)
        except MalformedPacket as exc:
            self._drop(exc.reason, now)
            return
        assert isinstance(ip, IPv4Header)
        if ip.proto != PROTO_ICMP:
            if not broadcast:
                # RFC 1122 3.2.2.1: a host SHOULD say "protocol unreachable" for a
                # transport it does not implement (never for broadcasts, 3.2.2).
                quote = bytes(packet[:_QUOTE4])
                self._send_icmp4_error(
                    ip.src, ip.dst, Icmp4DestUnreachable(UNREACH_PROTOCOL, quote).emit(), now
                )
            self._drop("unsupported_protocol", now, proto=ip.proto)
            return
        try:
            msg = parse_icmp4(payload)
        except MalformedPacket as exc:
            self._drop(exc.reason, now)
            return
        if isinstance(msg, Icmp4Echo):
            if msg.reply:
                self.counters["icmp_echo_reply_in"] += 1
                return
            if broadcast:
                # RFC 1122 3.2.2.6: replying to broadcast echoes is optional; synack does not.
                self.counters["icmp_echo_broadcast_ignored"] += 1
                return
            if not self._single_host(ip.src):
                self.counters["icmp_echo_ignored"] += 1  # RFC 1122 3.2.1.3: a bogus source
                return
            self.counters["icmp_echo_in"] += 1
            reply = msg.answer().emit()
            self.send_ip(IPv4Header(ip.dst, ip.src, PROTO_ICMP).emit(len(reply)) + reply, now)
            return
        self._deliver_icmp_error(msg, now)

    def _receive_other6(
        self, packet: memoryview, now: int, frame_src: bytes | None, *, multicast: bool
    ) -> None:
        try:
            ip, payload = parse_ip(packet)
        except MalformedPacket as exc:
            # MLD reports carry a hop-by-hop header and land here: not for us.
            self._drop(exc.reason, now)
            return
        assert isinstance(ip, IPv6Header)
        if ip.proto != PROTO_ICMPV6:
            if not multicast:
                # RFC 4443 3.4: code 1, "unrecognized Next Header type", pointing at it.
                quote = bytes(packet[:_QUOTE6])
                err = Icmp6ParamProblem(1, 6, quote).emit(ip.dst, ip.src)
                self._send_icmp6(ip.dst, ip.src, err, now, error=True)
            self._drop("unsupported_protocol", now, proto=ip.proto)
            return
        try:
            msg = parse_icmp6(payload, ip.src, ip.dst)
        except MalformedPacket as exc:
            self._drop(exc.reason, now)
            return
        if isinstance(msg, NeighborSolicitation | NeighborAdvertisement):
            if ip.hop_limit != 255:
                # RFC 4861 7.1.1 / 7.1.2: a hop limit below 255 means it came through a router.
                self._drop("ndp_hop_limit", now)
                return
            if isinstance(msg, NeighborSolicitation):
                self._receive_ns(ip, msg, frame_src, now)
            else:
                self._receive_na(ip, msg, now)
            return
        if isinstance(msg, Icmp6Echo):
            if msg.reply or multicast or not self._single_host(ip.src):
                self.counters["icmp_echo_ignored"] += 1
                return
            self.counters["icmp_echo_in"] += 1
            self._send_icmp6(ip.dst, ip.src, msg.answer().emit(ip.dst, ip.src), now, error=False)
            return
        self._deliver_icmp_error(msg, now)

    def _receive_ns(
        self, ip: IPv6Header, ns: NeighborSolicitation, frame_src: bytes | None, now: int
    ) -> None:
        self.counters["ns_in"] += 1
        if ns.target not in self._own6:
            self.counters["ns_not_for_us"] += 1
            return
        source_mac = ns.source_mac
        if ip.src == _UNSPECIFIED6:
            # RFC 4861 7.2.4: duplicate address detection; defend our address by
            # advertising to all nodes, unsolicited.
            if source_mac is not None:
                self._drop("ndp_bad_dad", now)
                return
            na = NeighborAdvertisement(
                ns.target, override=True, options=((NDP_OPT_TARGET_LLADDR, self.mac),)
            )
            self._send_icmp6(
                ns.target, _ALL_NODES, na.emit(ns.target, _ALL_NODES), now, error=False, hops=255
            )
            return
        if source_mac is not None:
            # RFC 4861 7.2.3: the solicitation creates or updates the sender's entry.
            self._learn(ip.src, source_mac, now, create=True)
        dst_mac = source_mac or self.neighbors.lookup(ip.src) or frame_src
        na = NeighborAdvertisement(
            ns.target, solicited=True, override=True, options=((NDP_OPT_TARGET_LLADDR, self.mac),)
        )
        body = na.emit(ns.target, ip.src)
        reply = IPv6Header(ns.target, ip.src, PROTO_ICMPV6, 255).emit(len(body)) + body
        if dst_mac is None:
            self.send_ip(reply, now)
        else:
            self._out.append((dst_mac + self.mac + _ETH_V6, reply))
        self.counters["na_out"] += 1

    def _receive_na(self, ip: IPv6Header, na: NeighborAdvertisement, now: int) -> None:
        self.counters["na_in"] += 1
        mac = na.target_mac
        if mac is None:
            self.counters["na_without_lladdr"] += 1
            return
        # RFC 4861 7.2.5: only an existing entry is updated by an advertisement.
        self._learn(na.target, mac, now, create=False)

    # ----------------------------------------------------------------- ICMP out

    def _single_host(self, addr: bytes) -> bool:
        """``addr`` names one host other than us: an ICMP error or echo reply may go to it.

        RFC 1122 3.2.2: "An ICMP error message MUST NOT be sent as the result of
        receiving ... a datagram whose source address does not define a single
        host -- e.g., a zero address, a loopback address, a broadcast address, a
        multicast address, or a Class E address"; RFC 4443 2.4 (e.6) for ICMPv6
        (the unspecified address, multicast). Answering them would send errors to
        a whole network (a smurf amplifier) or to ourselves over the wire.
        """
        if len(addr) == 4:
            b0 = addr[0]
            return not (
                b0 == 0 or b0 == 127 or b0 >= 224 or addr in self._broadcast4 or addr in self._own4
            )
        return not (
            addr[0] == 0xFF
            or addr in (_V6_UNSPECIFIED, _V6_LOOPBACK)
            or addr[:12] == _V6_V4MAPPED
            or addr in self._own6
        )

    def _icmp_error_allowed(self, now: int) -> bool:
        window = now // 1_000_000
        if window != self._icmp_window:
            self._icmp_window, self._icmp_sent = window, 0
        if self._icmp_sent >= _ICMP_ERRORS_PER_SECOND:
            self.counters["icmp_error_rate_limited"] += 1
            return False
        self._icmp_sent += 1
        return True

    def _send_icmp4_error(self, to: bytes, src: bytes, message: bytes, now: int) -> None:
        if not self._single_host(to):
            self.counters["icmp_error_not_to_single_host"] += 1
            return
        if not self._icmp_error_allowed(now):
            return
        self.counters["icmp_error_out"] += 1
        self.send_ip(IPv4Header(src, to, PROTO_ICMP).emit(len(message)) + message, now)

    def _send_icmp6(
        self, src: bytes, dst: bytes, message: bytes, now: int, *, error: bool, hops: int = 64
    ) -> None:
        if error:
            if not self._single_host(dst):
                self.counters["icmp_error_not_to_single_host"] += 1
                return
            if not self._icmp_error_allowed(now):
                return
            self.counters["icmp_error_out"] += 1
        self.send_ip(IPv6Header(src, dst, PROTO_ICMPV6, hops).emit(len(message)) + message, now)

    def _deliver_icmp_error(self, msg: Icmp4Message | Icmp6Message, now: int) -> None:
        mapped = error_kind(msg)
        if mapped is None:
            self.counters["icmp_ignored"] += 1
            return
        kind, original, mtu = mapped
        # The quoted packet must be one of ours carrying TCP.
        try:
            parse_quoted_tcp(original)
        except MalformedPacket:
            self.counters["icmp_error_not_tcp"] += 1
            return
        self.counters[f"icmp_{kind}"] += 1
        self.endpoint.handle_icmp_error(now, kind=kind, original=original, mtu=mtu)

    # ------------------------------------------------------------------ tracing

    def _drop(self, reason: str, now: int, **fields: Any) -> None:
        self.counters[f"drop.{reason}"] += 1
        if self.tracer is not None:
            self.tracer(
                {
                    "t": now,
                    "ev": "drop",
                    "host": self.name,
                    "layer": "link",
                    "reason": reason,
                    **fields,
                }
            )

    def _trace(self, now: int, ev: str, **fields: Any) -> None:
        if self.tracer is not None:
            self.tracer({"t": now, "ev": ev, "host": self.name, "layer": "link", **fields})


def _fmt(addr: bytes) -> str:
    return str(ipaddress.ip_address(addr))

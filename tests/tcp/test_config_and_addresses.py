"""Configuration limits the RFC fixes, IP fields from the config, and non-unicast addresses."""

from __future__ import annotations

from typing import Any

import pytest

from synack.tcp import Config, Endpoint, State, TimedOut
from synack.wire.ip import IPv4Header, emit_tcp_packet, parse_ip, parse_tcp_packet, str_to_addr
from synack.wire.tcp import SYN, Segment
from tests.tcp.helpers import events, new_conn, out


def test_syn_retries_give_up_after_at_least_three_minutes() -> None:
    # MUST-23: R2 for a SYN "MUST be set large enough to provide retransmission of
    # the SYN segment for at least 3 minutes".
    conn = new_conn(syn_retries=Config().syn_retries)
    conn.connect(0)
    out(conn)
    times = []
    while conn.state is State.SYN_SENT:
        t = conn.next_deadline()
        assert t is not None
        conn.handle_timer(t)
        out(conn, t)
        times.append(t)
    assert times == [x * 1_000_000 for x in (1, 3, 7, 15, 31, 63, 123, 183)]
    assert times[-1] >= 180_000_000
    assert TimedOut("syn_retries") in events(conn)


@pytest.mark.parametrize(
    ("field", "value"),
    [("delayed_ack", 500_000), ("ttl", 0), ("tos", 256), ("mss", 50)],
)
def test_config_rejects_values_the_rfc_forbids(field: str, value: int) -> None:
    kwargs: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=field.split("_")[0]):
        Config(**kwargs)


def test_keepalive_needs_at_least_two_probes() -> None:
    # MUST-29: no single unanswered probe may be taken as a dead connection.
    with pytest.raises(ValueError, match="MUST-29"):
        Config(keepalive=True, keepalive_probes=1)


def test_ttl_and_tos_come_from_the_config() -> None:
    # MUST-49 (TTL) and MUST-48 (Diffserv) are settable per endpoint/connection.
    ep = Endpoint(["10.0.0.1", "fd00::1"], config=Config(ttl=7, tos=0xB8))
    ep.connect("10.0.0.2", 80, 0)
    ep.connect("fd00::2", 80, 0)
    for pkt in ep.packets_to_send(0):
        ip, _ = parse_ip(pkt)
        if isinstance(ip, IPv4Header):
            assert (ip.ttl, ip.tos) == (7, 0xB8)
        else:
            assert (ip.hop_limit, ip.traffic_class) == (7, 0xB8)


def test_diffserv_field_can_change_during_the_connection() -> None:
    # SHLD-21: the application can change the Diffserv field of a live connection
    # (setsockopt IP_TOS): Connection.reconfigure(tos=...), from the next packet on.
    ep = Endpoint(["10.0.0.1"], config=Config(tos=0))
    conn = ep.connect("10.0.0.2", 80, 0)
    (syn,) = ep.packets_to_send(0)
    assert parse_ip(syn)[0].tos == 0  # type: ignore[union-attr]
    conn.reconfigure(1, tos=0x28)
    ep.handle_timer(1_000_000)  # the SYN is retransmitted (RFC 6298: after 1 s)
    (again,) = ep.packets_to_send(1_000_000)
    assert parse_ip(again)[0].tos == 0x28  # type: ignore[union-attr]


@pytest.mark.parametrize("remote", ["224.0.0.1", "255.255.255.255", "0.0.0.0", "ff02::1", "::"])
def test_connect_to_broadcast_or_multicast_is_rejected(remote: str) -> None:
    # MUST-46: an OPEN with a broadcast or multicast foreign address is rejected.
    ep = Endpoint(["10.0.0.1", "fd00::1"])
    with pytest.raises(ValueError, match="unicast"):
        ep.connect(remote, 80, 0)
    assert ep.packets_to_send(0) == []


@pytest.mark.parametrize("source", ["224.0.0.1", "255.255.255.255", "0.0.0.0"])
def test_syn_from_non_unicast_source_is_dropped(source: str) -> None:
    # MUST-63: a SYN from a broadcast or multicast address is not answered.
    ep = Endpoint(["10.0.0.1"])
    ep.listen(80)
    syn = Segment(40000, 80, 1, 0, SYN, 65535)
    ep.receive_packet(emit_tcp_packet(str_to_addr(source), str_to_addr("10.0.0.1"), syn), 0)
    assert ep.packets_to_send(0) == []
    assert ep.connections() == []
    assert ep.counters["drop.bad_source_address"] == 1


def test_unicast_syn_still_gets_syn_ack() -> None:
    ep = Endpoint(["10.0.0.1"])
    ep.listen(80)
    syn = Segment(40000, 80, 1, 0, SYN, 65535)
    ep.receive_packet(emit_tcp_packet(str_to_addr("10.0.0.9"), str_to_addr("10.0.0.1"), syn), 0)
    (reply,) = ep.packets_to_send(0)
    assert parse_tcp_packet(reply)[1].flags == SYN | 0x10

"""The link layer against the kernel: ARP, neighbour discovery and ping over a TAP device."""

from __future__ import annotations

import re

import pytest

from synack.api.socket import Stack
from synack.link.netns import NetnsLab
from tests.interop.conftest import KERNEL, SYNACK, SYNACK6, _require_tools

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]


def _received(output: str) -> int:
    match = re.search(r"(\d+) received", output)
    return int(match.group(1)) if match else 0


def test_kernel_pings_synack_over_ipv4(lab: NetnsLab, stack: Stack) -> None:
    _require_tools("ping")
    result = lab.run(["ping", "-c", "3", "-i", "0.2", "-W", "5", SYNACK], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _received(result.stdout) == 3
    # ARP resolved synack's MAC in the kernel's neighbour table.
    neigh = lab.run(["ip", "neigh", "show", SYNACK], timeout=10).stdout
    assert "02:53:4b:00:00:05" in neigh
    counters = stack.call(lambda: dict(stack.runtime.link.netif.counters))  # type: ignore[attr-defined]
    assert counters["arp_reply_out"] >= 1
    assert counters["icmp_echo_in"] == 3


def test_kernel_pings_synack_over_ipv6(lab: NetnsLab, stack: Stack) -> None:
    _require_tools("ping")
    result = lab.run(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "5", SYNACK6], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _received(result.stdout) == 3
    assert "02:53:4b:00:00:05" in lab.run(["ip", "-6", "neigh", "show", SYNACK6], timeout=10).stdout


def test_large_ping_and_wrong_address_goes_unanswered(lab: NetnsLab, stack: Stack) -> None:
    _require_tools("ping")
    big = lab.run(["ping", "-c", "2", "-i", "0.2", "-s", "1400", "-W", "5", SYNACK], timeout=60)
    assert _received(big.stdout) == 2, big.stdout
    # 10.0.0.9 is on the link but nobody has it: ARP goes unanswered.
    none = lab.run(["ping", "-c", "1", "-W", "1", "10.0.0.9"], timeout=30)
    assert none.returncode != 0
    assert _received(none.stdout) == 0


def test_synack_resolves_the_kernel_with_arp(lab: NetnsLab, stack: Stack) -> None:
    # synack sends the first packet (a SYN to a closed port): it must ARP for the
    # kernel, queue the SYN, then send it and get a RST back.
    from synack.api import socket as ssock

    with pytest.raises(ConnectionRefusedError):
        ssock.create_connection((KERNEL, 9), timeout=30, stack=stack)
    counters = stack.call(lambda: dict(stack.runtime.link.netif.counters))  # type: ignore[attr-defined]
    assert counters["arp_request_out"] >= 1


def test_unresolvable_neighbour_fails_the_connect_in_about_three_seconds(
    lab: NetnsLab, stack: Stack
) -> None:
    # Nobody has 10.0.0.9: three ARP requests one second apart go unanswered
    # (RFC 1122 2.3.2.1, RFC 4861 7.3.3's MAX_MULTICAST_SOLICIT 3 and RETRANS_TIMER
    # 1 s), the queued SYN is dropped and the endpoint hears "host unreachable".
    # Like Linux, connect() then fails with EHOSTUNREACH ("No route to host") at
    # once, rather than after every SYN retransmission.
    import errno
    import time

    from synack.api import socket as ssock

    start = time.monotonic()
    with pytest.raises(OSError) as err:
        ssock.create_connection(("10.0.0.9", 80), timeout=60, stack=stack)
    elapsed = time.monotonic() - start
    assert err.value.errno == errno.EHOSTUNREACH
    assert 2.5 <= elapsed < 30, elapsed  # about 3 s; SYN retries would take minutes
    link_counters = stack.call(lambda: dict(stack.runtime.link.netif.counters))  # type: ignore[attr-defined]
    assert link_counters["neighbor_unresolved"] >= 1
    assert link_counters["arp_request_out"] >= 3
    assert stack.call(lambda: stack.runtime.endpoint.counters["icmp.host_unreachable"]) >= 1


def test_no_route_fails_the_connect_at_once_with_network_unreachable(
    lab: NetnsLab, stack: Stack
) -> None:
    # 192.0.2.1 is on none of synack's networks (10.0.0.5/24) and the stack has no
    # gateway: there is no route. Linux's connect() says ENETUNREACH at once; so
    # does synack, rather than retransmitting SYNs that never leave for ~3 minutes.
    import errno
    import time

    from synack.api import socket as ssock

    start = time.monotonic()
    with pytest.raises(OSError) as err:
        ssock.create_connection(("192.0.2.1", 80), timeout=60, stack=stack)
    assert err.value.errno == errno.ENETUNREACH
    assert time.monotonic() - start < 5
    link_counters = stack.call(lambda: dict(stack.runtime.link.netif.counters))  # type: ignore[attr-defined]
    assert link_counters["drop.no_route"] >= 1
    assert stack.call(lambda: stack.runtime.endpoint.counters["icmp.net_unreachable"]) == 1

"""delete_netns tries again when `ip netns delete` fails for a moment (no namespace left behind)."""

from __future__ import annotations

import pytest

from synack.link import netns


def _fake_ip(monkeypatch: pytest.MonkeyPatch, failures: int) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    state = {"exists": True}

    def ip(*args: str, what: str) -> None:
        calls.append(args)
        if len(calls) <= failures:
            raise netns.NetnsError(f"cannot {what}: Device or resource busy")
        state["exists"] = False

    monkeypatch.setattr(netns, "_ip", ip)
    monkeypatch.setattr(netns, "netns_exists", lambda name: state["exists"])
    monkeypatch.setattr(netns, "_DELETE_PAUSE", 0.0)
    return calls


def test_a_busy_namespace_is_deleted_on_a_later_try(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_ip(monkeypatch, failures=2)
    netns.delete_netns("synack-x", check=True)
    assert calls == [("netns", "delete", "synack-x")] * 3


def test_a_namespace_that_stays_busy_is_reported_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _fake_ip(monkeypatch, failures=100)
    with pytest.raises(netns.NetnsError, match="busy"):
        netns.delete_netns("synack-x", check=True)
    assert 1 < len(calls) < 100
    calls.clear()
    netns.delete_netns("synack-x")  # clean-up code: no exception
    assert len(calls) > 1

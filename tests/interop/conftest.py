"""Fixtures for real-packet tests: a private network namespace with a TAP device in it.

Every test gets its own namespace (unique name), with the kernel's side of the
TAP at 10.0.0.1/24 and fd00::1/64 and synack's stack at 10.0.0.5 and fd00::5.
Nothing is created in the test runner's own namespace, and the namespace is
deleted afterwards, whatever happens.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator

import pytest

from synack.api.socket import Stack
from synack.link.netns import NetnsLab

KERNEL = "10.0.0.1"
SYNACK = "10.0.0.5"
KERNEL6 = "fd00::1"
SYNACK6 = "fd00::5"

_counter = itertools.count()


def _require_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing system tools {missing}: run `make sysdeps` (as root)")


@pytest.fixture
def lab() -> Iterator[NetnsLab]:
    """A fresh namespace (no TAP yet); deleted after the test."""
    if os.geteuid() != 0:
        pytest.fail("interop tests create network namespaces and need root (CI runs as root)")
    _require_tools("ip")
    name = f"synack-t{os.getpid()}-{next(_counter)}"
    namespace = NetnsLab(name)
    namespace.create()
    try:
        yield namespace
    finally:
        namespace.down()


def open_stack(lab: NetnsLab, *, offloads: bool = False, **kwargs: object) -> Stack:
    """synack on a new TAP device inside ``lab``, with the kernel side configured."""
    stack = Stack.tap(
        lab.tap,
        [f"{SYNACK}/24", f"{SYNACK6}/64"],
        netns=lab.name,
        offloads=offloads,
        isn_secret=b"interop" * 4,
        **kwargs,
    )
    try:
        lab.configure()
    except BaseException:
        stack.close()
        raise
    return stack


@pytest.fixture
def stack(lab: NetnsLab) -> Iterator[Stack]:
    """synack's stack on the lab's TAP (no offloads), closed after the test."""
    st = open_stack(lab)
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def lab_tap(lab: NetnsLab) -> NetnsLab:
    """The lab with a persistent TAP and the kernel's addresses, for synack's CLI to attach to."""
    lab.add_persistent_tap()
    return lab

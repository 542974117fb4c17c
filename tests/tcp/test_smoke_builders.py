"""Every state builder reaches its state with the exact segments of RFC 9293."""

from __future__ import annotations

import pytest

from synack.tcp.state import State
from tests.tcp.helpers import BUILDERS


@pytest.mark.parametrize("state", list(BUILDERS))
def test_builder_reaches_state(state: State) -> None:
    assert BUILDERS[state]().state is state

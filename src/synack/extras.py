"""Optional dependencies ("extras"): check for one and say which extra to install.

``pip install synack`` gives the protocol, the simulator, the TAP link and the
command line; heavy or niche features need an extra (``pip install 'synack[plot]'``).
A feature calls :func:`require_extra` before it imports its library, so a missing
extra becomes :class:`MissingExtra` with a one-line message, which the command
line prints as it is (exit status 1) instead of a traceback.
"""

from __future__ import annotations

import importlib.util

__all__ = ["MissingExtra", "require_extra"]


class MissingExtra(ImportError):
    """A feature's optional dependency is not installed; the message names the extra."""

    def __init__(self, module: str, *, extra: str, feature: str) -> None:
        super().__init__(f"{feature} need {module}: pip install 'synack[{extra}]'", name=module)
        self.module = module
        self.extra = extra
        self.feature = feature


def require_extra(module: str, *, extra: str, feature: str) -> None:
    """Raise :class:`MissingExtra` unless ``module`` can be imported.

    ``feature`` is a plural noun phrase for the message: ``require_extra("matplotlib",
    extra="plot", feature="plots")`` fails with "plots need matplotlib: pip install
    'synack[plot]'".
    """
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or a broken entry
        found = False
    if not found:
        raise MissingExtra(module, extra=extra, feature=feature)

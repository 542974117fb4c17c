"""Shared pytest set-up: Hypothesis runs derandomized, so every run is the same."""

from hypothesis import settings

settings.register_profile("synack", derandomize=True, deadline=None, database=None)
settings.load_profile("synack")

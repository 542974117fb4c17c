"""Tests of the congestion-control algorithms and their registry."""

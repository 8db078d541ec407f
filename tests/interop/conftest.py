"""Fixtures for the interop tests: a real docker-registry (tests/helpers/registry.py)."""

from helpers.registry import registry  # noqa: F401

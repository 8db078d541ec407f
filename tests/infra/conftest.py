"""Fixtures of the host-layer tests: real test hosts (tests/helpers/testhosts.py)."""

from __future__ import annotations

from helpers.testhosts import test_hosts  # noqa: F401

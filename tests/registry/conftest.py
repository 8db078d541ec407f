"""Fixtures for the registry tests: real docker-registry processes (see helpers/registry.py)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:  # the project's pytest config puts tests/ on sys.path; be robust without it
    sys.path.insert(0, _TESTS)

from helpers.registry import proxy_registry, registry, tls_registry, token_registry  # noqa: E402, F401

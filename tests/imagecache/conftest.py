"""Fixtures for the image-cache tests: real docker-registry processes (see helpers/registry.py)."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
_TESTS = str(Path(__file__).resolve().parents[1])
for _p in (_TESTS, _HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from helpers.registry import registry  # noqa: E402, F401

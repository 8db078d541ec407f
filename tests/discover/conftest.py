"""Fixtures for discovery tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    root.mkdir()
    return root

"""Delivery tests: real test hosts (tests/helpers/testhosts.py), real containerd on each, the stock registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.registry import start_registry
from helpers.testhosts import test_hosts  # noqa: F401 - the fixture

from deliver.images import Built, build_images


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The test base + app images, built once per module; the seed registry is gone before any delivery,
    so whatever a node pulls comes from the image's own registry."""
    tmp = tmp_path_factory.mktemp("deliver-images")
    with start_registry(tmp / "seed") as reg:
        b = build_images(tmp, reg)
    yield b


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"

"""Shared test configuration. Real-registry fixtures live in tests/helpers/registry.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402
from helpers.cli import Sealer  # noqa: E402
from helpers.registry import proxy_registry, registry, tls_registry, token_registry  # noqa: E402, F401


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    return root


@pytest.fixture
def sealer(store_root: Path) -> Sealer:
    """The real CLI against this test's store (``sealer("images")``, ``sealer.json(...)``, ``sealer.proc(...)``)."""
    return Sealer(store_root)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's docker config, registries.conf or store."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / ".docker"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("SEALER_ROOT", raising=False)
    if "SEALER_REGISTRIES_CONF" not in os.environ:
        conf = home / "registries.conf"   # empty: no mirrors, and never the machine's /etc/containers one
        conf.touch()
        monkeypatch.setenv("SEALER_REGISTRIES_CONF", str(conf))

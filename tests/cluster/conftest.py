"""Shared fixtures for the cluster configuration tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealer.cluster import Cluster, load_clusterfile

GOLDEN = Path(__file__).parent / "golden"
MASTERS = ["192.168.0.2", "192.168.0.3", "192.168.0.4"]
NODES = ["192.168.0.5", "192.168.0.6"]


@pytest.fixture
def cluster() -> Cluster:
    """The sample 3-master / 2-node Clusterfile of the golden tests."""
    return load_clusterfile(GOLDEN / "Clusterfile")


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    """A minimal unpacked cluster image: Metadata (v1.19.8) and an empty etc/."""
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "Metadata").write_text(json.dumps({"version": "v1.19.8", "arch": "amd64"}))
    return root

"""A second, independent check that verify names a *missing* blob: in a registry tree (the data file gone, its
links intact) for a layer, a config and a manifest; and in the store, through `sealer verify`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cache_kit import store_cluster_image, unpack
from helpers.registry import Registry, push_test_image

from sealer import reference
from sealer.digest import Digest
from sealer.distlayout.layout import blob_data_path
from sealer.imagecache.cache import cache_images, verify_registry
from sealer.oci.model import Platform
from sealer.registry import RegistryClient, RegistryOptions
from sealer.store import Store


@pytest.mark.parametrize("what", ["layer 0", "config", "manifest"])
def test_verify_registry_names_a_blob_whose_data_is_gone(registry: Registry, tmp_path: Path, what: str) -> None:
    push_test_image(registry, "solo/app:v1", [50_000], seed=11)
    store = Store(tmp_path / "store")
    res = cache_images([(reference.parse(registry.ref("solo/app:v1")), ["manifests/app.yaml#0"])], store=store,
                       client=RegistryClient(RegistryOptions(use_mirrors=False)),
                       platforms=[Platform.parse("linux/amd64")], workdir=tmp_path, progress=False)
    root = unpack(store, res.layers, tmp_path / "rootfs")
    assert verify_registry(root, res.images) == []
    (img,) = res.images
    man = json.loads((root / blob_data_path(img.digest)).read_bytes())
    gone = {"layer 0": man["layers"][0]["digest"], "config": man["config"]["digest"],
            "manifest": str(img.digest)}[what]
    (root / blob_data_path(Digest(gone))).unlink()
    problems = verify_registry(root, res.images)
    assert problems, "a deleted blob went unnoticed"
    assert any(p.startswith(img.reference) and what in p and gone in p and p.endswith("is missing")
               for p in problems), problems
    # through the CLI: a cluster image one of whose layer blobs is gone from the store
    store_cluster_image(store, "demo/c:v1", res.layers, res.images)
    lost = res.layers[-1].descriptor.digest
    (store.root / "blobs" / "sha256" / lost.hex).unlink()
    p = subprocess.run([sys.executable, "-m", "sealer.cli.main", "--root", str(store.root), "verify", "demo/c:v1",
                        "--json"], capture_output=True, text=True, check=False)
    assert p.returncode != 0
    assert any(str(lost) in x and "missing" in x for x in json.loads(p.stdout)["problems"]), p.stdout + p.stderr

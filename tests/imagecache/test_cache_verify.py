"""verify_registry / verify_image / `sealer verify` name what is missing or corrupt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cache_kit import store_cluster_image, unpack
from helpers.registry import Registry, push_test_image

from sealer import reference
from sealer.carried.verify import verify_image
from sealer.distlayout.layout import blob_data_path, layer_link_path
from sealer.imagecache.cache import CacheResult, cache_images, verify_registry
from sealer.oci.model import Platform
from sealer.registry import RegistryClient, RegistryOptions
from sealer.store import Store

AMD64 = Platform.parse("linux/amd64")


@pytest.fixture
def cached(registry: Registry, tmp_path: Path) -> tuple[Store, CacheResult, Registry]:
    push_test_image(registry, "ns/a:v1", [400_000, 20_000], seed=7)
    push_test_image(registry, "ns/b:v1", [400_000, 30_000], seed=7)   # shares the 400 kB layer
    store = Store(tmp_path / "store")
    refs = [(reference.parse(registry.ref(n)), [f"manifests/app.yaml#{i}"]) for i, n in enumerate(["ns/a:v1",
                                                                                                     "ns/b:v1"])]
    res = cache_images(refs, store=store, client=RegistryClient(RegistryOptions(use_mirrors=False)),
                       platforms=[AMD64], workdir=tmp_path, progress=False)
    return store, res, registry


def _sealer(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sealer.cli.main", "--root", str(root), *args],
                          capture_output=True, text=True, check=False)


def test_verify_image_ok_and_cli(cached: tuple[Store, CacheResult, Registry]) -> None:
    store, res, _ = cached
    store_cluster_image(store, "demo/c:v1", res.layers, res.images)
    rep = verify_image(store, "demo/c:v1")
    assert rep.ok, rep.problems
    assert sorted(c.reference for c in rep.images) == sorted(i.reference for i in res.images)
    p = _sealer(store.root, "verify", "demo/c:v1", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ok"] is True


def test_verify_image_names_missing_layer(cached: tuple[Store, CacheResult, Registry]) -> None:
    store, res, _ = cached
    shared = [x for x in res.layers if len(x.images) == 2]
    assert shared
    store_cluster_image(store, "demo/c:broken", [x for x in res.layers if x not in shared], res.images)
    rep = verify_image(store, "demo/c:broken")
    assert not rep.ok
    assert any("ns/a:v1" in p and "layer 0" in p and "missing" in p for p in rep.problems), rep.problems
    assert any("ns/b:v1" in p for p in rep.problems)
    p = _sealer(store.root, "verify", "demo/c:broken")
    assert p.returncode != 0 and "missing" in p.stderr


def test_verify_registry_names_corrupt_and_missing(cached: tuple[Store, CacheResult, Registry],
                                                   tmp_path: Path) -> None:
    store, res, _ = cached
    root = unpack(store, res.layers, tmp_path / "rootfs")
    assert verify_registry(root, res.images) == []
    a = next(i for i in res.images if i.reference.endswith("ns/a:v1"))
    b = next(i for i in res.images if i.reference.endswith("ns/b:v1"))
    man_a = json.loads((root / blob_data_path(a.digest)).read_bytes())
    layer1 = man_a["layers"][1]["digest"]
    data = root / blob_data_path(reference.parse("x@" + layer1).digest)  # type: ignore[arg-type]
    raw = bytearray(data.read_bytes())
    raw[100] ^= 0xFF
    data.write_bytes(bytes(raw))
    man_b = json.loads((root / blob_data_path(b.digest)).read_bytes())
    cfg_b = reference.parse("x@" + man_b["config"]["digest"]).digest
    assert cfg_b is not None
    (root / layer_link_path("ns/b", cfg_b)).unlink()
    problems = verify_registry(root, res.images)
    assert any(a.reference in p and layer1 in p and "corrupt" in p for p in problems), problems
    assert any(b.reference in p and str(cfg_b) in p and "_layers link" in p for p in problems), problems
    assert len(verify_registry(root)) == 2   # a full scan finds the same two problems

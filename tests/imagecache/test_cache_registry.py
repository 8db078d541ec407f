"""Cache images pulled from a real registry; serve the result with the stock registry; check with skopeo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cache_kit import serve, unpack
from helpers.faultproxy import FaultProxy
from helpers.registry import Registry, push_test_image, skopeo

from sealer import reference
from sealer.errors import NotFoundError, SealerError
from sealer.imagecache.cache import cache_images, verify_registry
from sealer.oci.model import Platform
from sealer.registry import RegistryClient, RegistryOptions
from sealer.store import Store

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")
BLOB_GET = re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$")


def _client() -> RegistryClient:
    return RegistryClient(RegistryOptions(use_mirrors=False))


def _found(host: str, *names: str) -> list[tuple[reference.Reference, list[str]]]:
    return [(reference.parse(f"{host}/{n}"), [f"manifests/imageList:{i + 1}"]) for i, n in enumerate(names)]


def _inspect(reg: Registry, name: str, *extra: str) -> bytes:
    return skopeo("inspect", "--raw", "--tls-verify=false", *extra, f"docker://{reg.ref(name)}").stdout.encode()


def test_cached_registry_serves_identical_digests(registry: Registry, tmp_path: Path) -> None:
    a = push_test_image(registry, "ns/a:v1", [400_000, 300_000], seed=11)
    b = push_test_image(registry, "ns/b:v1", [400_000, 100_000], seed=11)   # shares layer 0 with a
    m = push_test_image(registry, "ns/multi:v1", [150_000], platforms=["linux/amd64", "linux/arm64"], seed=12)
    pinned = push_test_image(registry, "ns/pinned:v1", [120_000], platforms=["linux/amd64", "linux/arm64"],
                             seed=13)
    assert a.manifests[0].layer_digests[0] == b.manifests[0].layer_digests[0]
    store = Store(tmp_path / "store")
    refs = _found(registry.host, "ns/a:v1", "ns/b:v1", "ns/multi:v1", f"ns/pinned:v1@{pinned.digest}")

    res = cache_images(refs, store=store, client=_client(), platforms=[AMD64, ARM64], workdir=tmp_path,
                       progress=False)

    by_ref = {i.reference: i for i in res.images}
    assert str(by_ref[f"{registry.host}/ns/a:v1"].digest) == a.digest
    assert str(by_ref[f"{registry.host}/ns/multi:v1"].digest) == m.digest  # both platforms kept: not trimmed
    assert str(by_ref[f"{registry.host}/ns/pinned:v1@{pinned.digest}"].digest) == pinned.digest
    shared = [layer for layer in res.layers if len(layer.images) == 2]
    assert [layer.images for layer in shared] == [[f"{registry.host}/ns/a:v1", f"{registry.host}/ns/b:v1"]]
    root = unpack(store, res.layers, tmp_path / "rootfs")
    assert verify_registry(root, res.images) == []
    with serve(root, tmp_path / "srv") as cached:
        for img, name in [(a, "ns/a:v1"), (b, "ns/b:v1"), (m, "ns/multi:v1"), (pinned, "ns/pinned:v1")]:
            assert _inspect(cached, name) == _inspect(registry, name) == img.raw
            for man in img.manifests:
                assert _inspect(cached, f"{name.split(':')[0]}@{man.digest}") == man.raw
        assert _inspect(cached, f"ns/pinned@{pinned.digest}") == pinned.raw
        skopeo("copy", "--all", "--src-tls-verify=false", f"docker://{cached.ref('ns/multi:v1')}",
               f"oci:{tmp_path / 'copy'}:x")


def test_tag_pull_trims_index_to_cached_platforms(registry: Registry, tmp_path: Path) -> None:
    m = push_test_image(registry, "ns/multi:v1", [100_000], platforms=["linux/amd64", "linux/arm64"], seed=5)
    store = Store(tmp_path / "store")
    res = cache_images(_found(registry.host, "ns/multi:v1"), store=store, client=_client(), platforms=[ARM64],
                       workdir=tmp_path, progress=False)
    (img,) = res.images
    assert img.platforms == ["linux/arm64"] and str(img.source_digest) == m.digest
    root = unpack(store, res.layers, tmp_path / "rootfs")
    assert verify_registry(root) == []
    with serve(root, tmp_path / "srv") as cached:
        idx = json.loads(_inspect(cached, "ns/multi:v1"))
        assert [c["digest"] for c in idx["manifests"]] == [m.for_platform("linux/arm64").digest]
        arm = m.for_platform("linux/arm64")
        assert _inspect(cached, f"ns/multi@{arm.digest}") == arm.raw
        skopeo("copy", "--override-arch", "arm64", "--src-tls-verify=false", f"docker://{cached.ref('ns/multi:v1')}",
               f"dir:{tmp_path / 'arm'}")
        assert (tmp_path / "arm" / arm.layer_digests[0][7:]).is_file()
        with pytest.raises(RuntimeError):   # amd64 was not cached: the served index does not offer it
            skopeo("copy", "--override-arch", "amd64", "--src-tls-verify=false",
                   f"docker://{cached.ref('ns/multi:v1')}", f"dir:{tmp_path / 'amd'}")


def test_rerun_fetches_only_missing_blobs(registry: Registry, tmp_path: Path) -> None:
    a = push_test_image(registry, "ns/a:v1", [200_000, 50_000], seed=21)
    c = push_test_image(registry, "ns/c:v1", [210_000, 60_000], seed=22)
    store = Store(tmp_path / "store")
    with FaultProxy(registry) as px:
        first = cache_images(_found(px.host, "ns/a:v1"), store=store, client=_client(), platforms=[AMD64],
                             workdir=tmp_path, progress=False)
        n_first = [p for m, p, _ in px.requests if m == "GET" and BLOB_GET.match(p)]
        assert len(n_first) == 3  # config + 2 layers
        px.requests.clear()
        second = cache_images(_found(px.host, "ns/a:v1", "ns/c:v1"), store=store, client=_client(),
                              platforms=[AMD64], workdir=tmp_path, progress=False)
        got = sorted(p.rsplit("/", 1)[1] for m, p, _ in px.requests if m == "GET" and BLOB_GET.match(p))
    man = c.manifests[0]
    assert got == sorted([man.config_digest, *man.layer_digests])  # only c's blobs
    assert sum(man.layer_sizes) < second.fetched_bytes < sum(man.layer_sizes) + 4096  # + c's config
    # a's layer is byte-identical between the two runs
    a_layer = [x for x in first.layers if x.images == [f"{px.host}/ns/a:v1"]][0]
    assert a_layer.descriptor in [x.descriptor for x in second.layers]
    assert a.digest == str([i for i in second.images if i.reference.endswith("ns/a:v1")][0].digest)


def test_missing_image_names_image_and_source(registry: Registry, tmp_path: Path) -> None:
    push_test_image(registry, "ns/a:v1", [1000], seed=1)
    refs = _found(registry.host, "ns/a:v1", "ns/nope:v9")
    with pytest.raises(NotFoundError, match=r"ns/nope:v9 \(found in manifests/imageList:2\)"):
        cache_images(refs, store=Store(tmp_path / "store"), client=_client(), platforms=[AMD64],
                     workdir=tmp_path, progress=False)


def test_wrong_pinned_digest_fails(registry: Registry, tmp_path: Path) -> None:
    push_test_image(registry, "ns/a:v1", [1000], seed=1)
    bad = "sha256:" + "0" * 64
    with pytest.raises(SealerError, match="ns/a:v1@sha256:0000"):
        cache_images(_found(registry.host, f"ns/a:v1@{bad}"), store=Store(tmp_path / "store"), client=_client(),
                     platforms=[AMD64], workdir=tmp_path, progress=False)

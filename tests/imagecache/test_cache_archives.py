"""Offline sources: OCI archives and docker-save tarballs are cached with no registry; the stock registry
serves the result (checked with skopeo)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cache_kit import docker_save_tar, name_layout, serve, tar_dir, unpack
from helpers.registry import skopeo, write_oci_layout

from sealer.errors import ArchiveError
from sealer.imagecache.cache import cache_images, verify_registry
from sealer.oci.model import Platform
from sealer.store import Store

AMD64 = Platform.parse("linux/amd64")


def test_oci_archive_cached_without_registry(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    single = write_oci_layout(layout, "a", [300_000, 4096], seed=1)
    multi = write_oci_layout(layout, "b", [200_000], platforms=["linux/amd64", "linux/arm64"], seed=2)
    name_layout(layout, {"a": "quay.io/acme/single:v1", "b": "docker.io/library/multi:v2"})
    archive = tar_dir(layout, tmp_path / "images.tar")
    store = Store(tmp_path / "store")

    res = cache_images([], store=store, client=None, platforms=[AMD64], workdir=tmp_path,
                       archives=[archive], progress=False)

    by_ref = {i.reference: i for i in res.images}
    assert set(by_ref) == {"quay.io/acme/single:v1", "docker.io/library/multi:v2"}
    assert str(by_ref["quay.io/acme/single:v1"].digest) == single.digest
    # tag-pulled multi-arch image: index trimmed to the cached platform, upstream digest recorded
    m = by_ref["docker.io/library/multi:v2"]
    assert m.platforms == ["linux/amd64"] and str(m.source_digest) == multi.digest
    root = unpack(store, res.layers, tmp_path / "rootfs")
    assert verify_registry(root, res.images) == []
    with serve(root, tmp_path / "srv") as reg:
        raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reg.ref('acme/single:v1')}").stdout
        assert json.loads(raw) == json.loads(single.raw)
        idx = json.loads(skopeo("inspect", "--raw", "--tls-verify=false",
                                f"docker://{reg.ref('library/multi:v2')}").stdout)
        assert [c["digest"] for c in idx["manifests"]] == [multi.for_platform("linux/amd64").digest]
        skopeo("copy", "--src-tls-verify=false", f"docker://{reg.ref('library/multi:v2')}",
               f"dir:{tmp_path / 'out'}")
        assert (tmp_path / "out" / multi.for_platform("linux/amd64").layer_digests[0][7:]).is_file()


def test_docker_save_tarball(tmp_path: Path) -> None:
    arch = tmp_path / "app.tar"
    cfg, diff_ids = docker_save_tar(arch, ["app:1.0", "ghcr.io/acme/app:1.0"],
                                    {"a.txt": b"a" * 5000, "b.txt": b"b" * 7000})
    store = Store(tmp_path / "store")
    res = cache_images([], store=store, client=None, platforms=[AMD64], workdir=tmp_path,
                       archives=[arch], progress=False)
    assert sorted(i.reference for i in res.images) == ["docker.io/library/app:1.0", "ghcr.io/acme/app:1.0"]
    root = unpack(store, res.layers, tmp_path / "rootfs")
    assert verify_registry(root) == []
    with serve(root, tmp_path / "srv") as reg:
        out = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{reg.ref('library/app:1.0')}").stdout)
        assert out["Layers"] == diff_ids  # uncompressed layers: digests are the diff_ids
        cfg_raw = skopeo("inspect", "--config", "--raw", "--tls-verify=false",
                         f"docker://{reg.ref('acme/app:1.0')}").stdout.encode()
        import hashlib
        assert "sha256:" + hashlib.sha256(cfg_raw).hexdigest() == cfg   # image id kept


def test_archive_without_full_name_is_refused(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    write_oci_layout(layout, "v1", [1000], seed=3)
    archive = tar_dir(layout, tmp_path / "x.tar")
    with pytest.raises(ArchiveError, match="not a full image reference|no full image name"):
        cache_images([], store=Store(tmp_path / "store"), client=None, platforms=[AMD64], workdir=tmp_path,
                     archives=[archive], progress=False)

"""Rootfs readers: Kubernetes binaries, the Metadata file, and the images cached under registry/ — the
latter checked against the stock docker-registry serving the fixture's BASE layer."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

import pytest
from helpers.registry import skopeo, start_registry

from interop.fixtures import cached_image, sealer_v08_image
from sealer.interop import RootfsMetadataError, cached_images, is_kube_installer, read_metadata
from sealer.interop.rootfs import CachedImage, RootfsMetadata
from sealer.oci.model import Platform


@pytest.mark.parametrize(("files", "expected"), [
    (["bin/kubeadm", "bin/kubelet"], True),
    (["bin/kubelet"], True),
    (["bin/k3s"], True),
    (["bin/kubectl", "bin/helm"], False),        # clients alone make an app image
    (["kubeadm"], False),                        # not under bin/
    ([], False),
])
def test_is_kube_installer(tmp_path: Path, files: list[str], expected: bool) -> None:
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("#!/bin/sh\n")
    assert is_kube_installer(tmp_path) is expected


def test_kubeadm_as_symlink_counts(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "kubeadm").symlink_to("/nonexistent/kubeadm")
    assert is_kube_installer(tmp_path)


def test_read_metadata(tmp_path: Path) -> None:
    assert read_metadata(tmp_path) is None
    (tmp_path / "Metadata").write_text('{"version": "v1.19.8", "arch": "arm64", "variant": "v8", '
                                       '"kubeVersion": "", "NydusFlag": false, "ClusterRuntime": "k8s"}')
    md = read_metadata(tmp_path)
    assert md == RootfsMetadata("v1.19.8", "arm64", "v8", None, "k8s", md.raw if md else {})
    assert md is not None and md.platform == Platform("linux", "arm64")
    (tmp_path / "Metadata").write_text("[1]")
    with pytest.raises(RootfsMetadataError, match="Metadata: not a JSON object"):
        read_metadata(tmp_path)
    (tmp_path / "Metadata").write_text("{oops")
    with pytest.raises(RootfsMetadataError, match="Metadata: not JSON"):
        read_metadata(tmp_path)


def test_cached_images_nested_repositories_and_missing_blobs(tmp_path: Path) -> None:
    a = cached_image("library/busybox", "1.36")
    b = cached_image("sealer-io/sub/pause", "3.2")
    for img in (a, b):
        for rel, data in img.registry_files().items():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_bytes(data)
    assert cached_images(tmp_path) == [CachedImage("library/busybox", "1.36", a.manifest_digest),
                                       CachedImage("sealer-io/sub/pause", "3.2", b.manifest_digest)]
    # a tag whose manifest blob is gone is not a usable cached image
    md = b.manifest_digest
    (tmp_path / f"registry/docker/registry/v2/blobs/sha256/{md[7:9]}/{md[7:]}/data").unlink()
    assert [c.repository for c in cached_images(tmp_path)] == ["library/busybox"]
    assert cached_images(tmp_path / "nowhere") == []


def test_base_layer_is_served_by_the_stock_registry(tmp_path: Path) -> None:
    """The v0.8 fixture's ``BASE rootfs cache`` layer is a valid distribution tree: docker-registry
    serving it returns the cached image byte for byte."""
    img = sealer_v08_image()
    base = img.for_platform("linux/amd64").layers[-1]
    assert base.kind == "BASE rootfs cache"
    rootfs = tmp_path / "rootfs"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(base.data))) as tf:
        tf.extractall(rootfs, filter="data")
    assert [str(c) for c in cached_images(rootfs)] == [f"library/busybox:1.36@{img.cached.manifest_digest}"]
    work = tmp_path / "reg"
    work.mkdir()
    shutil.move(rootfs / "registry", work / "storage")
    with start_registry(work) as reg:
        raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{reg.ref('library/busybox:1.36')}").stdout
        assert raw.encode() == img.cached.manifest_raw
        skopeo("copy", "--quiet", "--src-tls-verify=false", f"docker://{reg.ref('library/busybox:1.36')}",
               f"oci:{tmp_path / 'out'}:x")   # every blob is served and verifies

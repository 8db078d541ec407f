"""Images a base carries are first-class (issue 20): whatever built a cluster image, the images it carries are
what its layers' ``registry/`` holds. Bases are the sealer v0.8 fixture (tests/interop/fixtures.py, written from
sealer v0.8.6's code), pushed with skopeo to a real docker-registry and pulled/built through the real CLI.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.faultproxy import FaultProxy
from helpers.registry import Registry, skopeo, start_registry

from interop.fixtures import (
    CachedImage,
    SealerImage,
    cached_image,
    cached_index_image,
    sealer_v08_image,
    tar_bytes,
)
from sealer.digest import Digest
from sealer.interop.base_registry import RegistryTree

BASE_TAG = "sealer-io/kubernetes:v1.19.8"


@pytest.fixture
def counted(registry: Registry) -> Iterator[FaultProxy]:
    with FaultProxy(registry) as px:
        yield px


def sealer(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    conf = os.environ.get("SEALER_REGISTRIES_CONF")
    if conf and not Path(conf).exists():
        Path(conf).parent.mkdir(parents=True, exist_ok=True)
        Path(conf).write_text("")
    p = subprocess.run([sys.executable, "-m", "sealer.cli.main", "--root", str(root), *args],
                       capture_output=True, text=True, timeout=300, check=False)
    if check and p.returncode != 0:
        raise AssertionError(f"sealer {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def all_blobs(*images: CachedImage) -> set[str]:
    """Every blob data file the images put under registry/ (manifests, kept children, configs, layers)."""
    return {d for i in images for d in [i.manifest_digest, *i.children, *i.blobs]}


def pull(root: Path, reg: Registry, base: SealerImage, tag: str = BASE_TAG) -> str:
    base.push(reg, tag)
    ref = reg.ref(tag)
    sealer(root, "pull", "--insecure-registry", reg.host, "--platform", "linux/amd64", "-q", ref)
    return ref


def build_on(root: Path, tmp_path: Path, base_ref: str, host: str, images: list[str],
             tag: str = "test/on-base:v1") -> subprocess.CompletedProcess[str]:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Kubefile").write_text(f"FROM {base_ref}\nCOPY imageList manifests/\nCMD kubectl get nodes\n")
    (ctx / "imageList").write_text("".join(i + "\n" for i in images))
    return sealer(root, "build", "-b", "lite", "--insecure-registry", host, "--platform", "linux/amd64",
                  "-t", tag, str(ctx))


def base_digest(root: Path, ref: str) -> str:
    """Hex of the platform manifest the store keeps for ``ref`` (what the carried memo is keyed by)."""
    from sealer.store import Store

    return Store(root).image(ref).descriptor.digest.hex


def label_images(root: Path, ref: str) -> list[dict[str, Any]]:
    doc = json.loads(sealer(root, "inspect", "--json", ref).stdout)
    return json.loads(doc["labels"].get("io.sealer.images") or "null") or doc["cachedImages"]


def _digest(text: str) -> Digest:
    return Digest(text)


# ---- the streamed tree, unit level ---------------------------------------------------------------------------
def _layer(files: dict[str, Any]) -> io.BytesIO:
    return io.BytesIO(tar_bytes(files))


def test_tree_applies_whiteouts_of_each_layer_to_lower_layers_only() -> None:
    a, b, c = cached_image("library/a", "1"), cached_image("library/b", "1"), cached_image("library/c", "1")
    a_layer = next(d for d in a.blobs if a.blobs[d][:1] != b"{")
    b_repo = "registry/docker/registry/v2/repositories/library/b"
    upper = {
        # a deleted blob (overlay whiteout, as sealer's archive writes it)
        a.blob_path(a_layer).rsplit("/", 1)[0] + "/.wh.data": b"",
        # library/b's repository made opaque, then re-created in this same layer: only lower content is hidden
        f"{b_repo}/.wh..wh..opq": b"",
        **{k: v for k, v in b.registry_files().items() if k.startswith(b_repo)},
        **c.registry_files(),
        "Metadata": json.dumps({"version": "v1.22.0", "arch": "amd64"}).encode(),
    }
    old_tag = f"{b_repo}/_manifests/tags/old/current/link"
    tree = RegistryTree(hash_blobs=True)
    tree.add_layer(_layer({**a.registry_files(), **b.registry_files(), old_tag: b.manifest_digest.encode(),
                           "Metadata": b'{"version": "v1.19.8"}'}))
    assert "library/b:old" in [i.name for i in tree.images()]
    tree.add_layer(_layer(upper))
    got = {i.name: i for i in tree.images()}
    assert sorted(got) == ["library/a:1", "library/b:1", "library/c:1"]
    assert got["library/a:1"].problems == [f"library/a:1: blob {a_layer} is missing"]
    assert got["library/b:1"].problems == [] and got["library/c:1"].problems == []
    assert got["library/b:1"].platforms == ["linux/amd64"]
    assert json.loads(tree.metadata or b"")["version"] == "v1.22.0"
    # the opaque marker hid the lower layer's b files that the upper layer did not write again (tag "old")
    assert tree.blob_count() == len(all_blobs(a, b, c)) - 1
    assert all(ok for ok in (tree.blob_state(d)[2] for d in map(_digest, all_blobs(a, b, c) - {a_layer})))


def test_tree_whiteout_of_registry_and_file_replacing_directory() -> None:
    a = cached_image("library/a", "1")
    tree = RegistryTree()
    tree.add_layer(_layer(a.registry_files()))
    tree.add_layer(_layer({".wh.registry": b""}))
    assert tree.images() == [] and tree.file_count == 0
    tree.add_layer(_layer(a.registry_files()))
    assert [i.name for i in tree.images()] == ["library/a:1"]
    tree.add_layer(_layer({"registry/docker/registry/v2/repositories/library/a": b"not a directory"}))
    assert tree.images() == [] and tree.file_count > 0   # blobs remain: content, but no image


def test_tree_hashes_large_blobs_in_chunks() -> None:
    big = bytes(range(256)) * (12 << 12)          # 12 MiB: many read chunks
    good = "sha256:" + hashlib.sha256(big).hexdigest()
    bad = "sha256:" + hashlib.sha256(b"other").hexdigest()
    v2 = "registry/docker/registry/v2/blobs/sha256"
    tree = RegistryTree(hash_blobs=True)
    tree.add_layer(_layer({f"{v2}/{good[7:9]}/{good[7:]}/data": big, f"{v2}/{bad[7:9]}/{bad[7:]}/data": big}))
    assert tree.blob_state(Digest(good)) == (True, len(big), True)
    assert tree.blob_state(Digest(bad)) == (True, len(big), False)
    assert tree.hashed_bytes == 2 * len(big) and tree.docs == {}


def test_directory_and_stream_readers_agree(tmp_path: Path) -> None:
    imgs = [cached_image("library/a", "1"), cached_index_image("library/multi", "2"),
            cached_image("sealer-io/sub/pause", "3.2")]
    files: dict[str, Any] = {}
    for i in imgs:
        files.update(i.registry_files())
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    streamed = RegistryTree()
    streamed.add_layer(_layer(files))
    on_disk = RegistryTree.from_dir(tmp_path / "registry")
    assert [i.to_json() for i in streamed.images()] == [i.to_json() for i in on_disk.images()]
    multi = next(i for i in on_disk.images() if i.repository == "library/multi")
    assert (multi.platforms, multi.absent_platforms, multi.problems) == (["linux/amd64"], ["linux/arm64"], [])


# ---- inspect ---------------------------------------------------------------------------------------------------
def test_inspect_v08_image_lists_its_cached_image_and_kubernetes_version(registry: Registry,
                                                                        tmp_path: Path) -> None:
    pause = cached_image("sealer-io/sub/pause", "3.2")
    base = sealer_v08_image(also_cached=[pause])
    root = tmp_path / "store"
    ref = pull(root, registry, base)
    doc = json.loads(sealer(root, "inspect", "--json", ref).stdout)
    assert doc["format"] == "sealer-v0.8"
    assert doc["kubernetesVersion"] == "v1.19.8" and doc["kubernetesVersionFrom"] == "rootfs Metadata"
    assert doc["cachedImagesFrom"] == "registry/ in the layers"
    got = {i["reference"]: i for i in doc["cachedImages"]}
    assert set(got) == {"library/busybox:1.36", "sealer-io/sub/pause:3.2"}
    assert got["library/busybox:1.36"]["digest"] == base.cached.manifest_digest
    assert got["sealer-io/sub/pause:3.2"]["digest"] == pause.manifest_digest
    assert got["library/busybox:1.36"]["platforms"] == ["linux/amd64"]
    assert got["library/busybox:1.36"]["sources"] == ["registry/ (layer 3)"]   # the BASE rootfs cache layer
    text = sealer(root, "inspect", ref).stdout
    assert "library/busybox:1.36" in text and "v1.19.8" in text
    # v0.8 images record nothing: verify checks what registry/ holds
    v = json.loads(sealer(root, "verify", "--json", ref).stdout)
    assert v["ok"] and v["record"] == "none" and len(v["images"]) == 2
    assert v["blobs"] == len(all_blobs(base.cached, pause))


# ---- lite build on a v0.8 base ---------------------------------------------------------------------------------
def test_lite_build_records_base_images_beside_its_own_and_verify_checks_all(
        registry: Registry, counted: FaultProxy, tmp_path: Path) -> None:
    pause = cached_image("sealer-io/sub/pause", "3.2")
    base = sealer_v08_image(also_cached=[pause])
    root = tmp_path / "store"
    base_ref = pull(root, registry, base)
    new = cached_image("library/newapp", "1.0")
    new.push(registry)
    build_on(root, tmp_path, base_ref, counted.host, [new.reference(counted.host)])
    entries = {e["reference"]: e for e in label_images(root, "test/on-base:v1")}
    assert set(entries) == {"library/busybox:1.36", "sealer-io/sub/pause:3.2", new.reference(counted.host)}
    for name, img in (("library/busybox:1.36", base.cached), ("sealer-io/sub/pause:3.2", pause)):
        assert entries[name]["digest"] == img.manifest_digest
        assert entries[name]["sources"] == [f"base image {base_ref}"]
        assert entries[name]["platforms"] == ["linux/amd64"]
    assert entries[new.reference(counted.host)]["sources"] == ["manifests/imageList:1"]
    doc = json.loads(sealer(root, "inspect", "--json", "test/on-base:v1").stdout)
    annotated = {i["image"] for i in json.loads(doc["annotations"]["sealer.image.container.images"])}
    assert annotated == {"docker.io/library/busybox:1.36", "docker.io/sealer-io/sub/pause:3.2",
                         new.reference(counted.host)}
    assert doc["kubernetesVersion"] == "v1.19.8"

    p = sealer(root, "verify", "test/on-base:v1")
    assert "3 images" in p.stdout and "busybox" in p.stdout and f"base image {base_ref}" in p.stdout
    v = json.loads(sealer(root, "verify", "--json", "test/on-base:v1").stdout)
    assert v["ok"], v["problems"]
    assert len(v["images"]) == 3 and all(i["ok"] for i in v["images"])
    assert v["unrecorded"] == []
    assert v["blobs"] == len(all_blobs(base.cached, pause, new))   # every blob of every image hashed

    # one more level: our image as a base. Its label accounts for its registry/, so its layers are not listed
    (tmp_path / "ctx").rename(tmp_path / "ctx1")
    build_on(root, tmp_path, "test/on-base:v1", counted.host, [], tag="test/on-on-base:v1")
    again = {e["reference"]: e for e in label_images(root, "test/on-on-base:v1")}
    assert set(again) == set(entries)
    assert all(e["sources"] == ["base image docker.io/test/on-base:v1"] for e in again.values())
    memo = root / "cache" / "carried"
    mid = json.loads(sealer(root, "inspect", "--json", "test/on-base:v1").stdout)["digest"]
    assert (memo / f"{base_digest(root, base_ref)}.json").is_file() and not (memo / f"{mid[7:]}.json").exists()
    assert json.loads(sealer(root, "verify", "--json", "test/on-on-base:v1").stdout)["ok"]


@pytest.mark.parametrize("how", ["missing-from-base-layer", "whiteout-in-upper-layer"])
def test_blob_deleted_from_base_registry_fails_verify_naming_image_and_blob(
        how: str, registry: Registry, tmp_path: Path) -> None:
    cached = cached_image()
    layer = next(d for d, data in cached.blobs.items() if data[:1] != b"{")
    if how == "missing-from-base-layer":
        base = sealer_v08_image(cached=cached, drop_blobs=[layer])
    else:   # a later sealer v0.8 build on this image deleted it: overlay whiteout in its BASE rootfs cache layer
        base = sealer_v08_image(cached=cached,
                                upper_files={cached.blob_path(layer).rsplit("/", 1)[0] + "/.wh.data": b""})
    root = tmp_path / "store"
    base_ref = pull(root, registry, base)
    p = build_on(root, tmp_path, base_ref, registry.host, [])
    assert "library/busybox:1.36 is incomplete" in p.stderr + p.stdout
    p = sealer(root, "verify", "test/on-base:v1", check=False)
    assert p.returncode != 0
    assert f"library/busybox:1.36: layer 0 {layer} is missing" in p.stderr
    assert "FAILED library/busybox:1.36" in p.stdout
    assert sealer(root, "verify", base_ref, check=False).returncode != 0   # and the base itself


# ---- registry/ content the record misses ----------------------------------------------------------------------
def test_verify_never_ok_with_zero_images_when_registry_has_content(registry: Registry, tmp_path: Path) -> None:
    """A sealer-py image whose io.sealer.images label is empty while registry/ holds an image, and one whose
    registry/ holds blobs but no image at all."""
    root = tmp_path / "store"
    busybox = cached_image()
    ctx = tmp_path / "ctx"
    for rel, data in busybox.registry_files().items():
        (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
        (ctx / rel).write_bytes(data)
    # rewrite the label afterwards: what an older tool (or a hand edit) leaves behind
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY registry .\n")
    sealer(root, "build", "-b", "lite", "-t", "test/copied:v1", str(ctx))
    recorded = label_images(root, "test/copied:v1")
    assert [(e["reference"], e["sources"]) for e in recorded] == [
        ("library/busybox:1.36", ["registry/ in the rootfs (added by a Kubefile step)"])]
    assert json.loads(sealer(root, "verify", "--json", "test/copied:v1").stdout)["ok"]

    _relabel(root, "test/copied:v1", "test/unrecorded:v1", "[]")
    p = sealer(root, "verify", "test/unrecorded:v1", check=False)
    assert p.returncode != 0
    assert "library/busybox:1.36: in registry/ (layer 0) but not recorded in the label io.sealer.images" in p.stderr
    assert "0 images" not in p.stdout and "1 images" in p.stdout
    v = json.loads(sealer(root, "verify", "--json", "test/unrecorded:v1", check=False).stdout)
    assert v["unrecorded"] == ["library/busybox:1.36"] and v["blobs"] == 3 and not v["ok"]

    # blobs only: nothing to check, so never ok
    blobs_only = {k: v for k, v in busybox.registry_files().items() if "/blobs/" in k}
    ctx2 = tmp_path / "ctx2"
    for rel, data in blobs_only.items():
        (ctx2 / rel).parent.mkdir(parents=True, exist_ok=True)
        (ctx2 / rel).write_bytes(data)
    (ctx2 / "Kubefile").write_text("FROM scratch\nCOPY registry .\n")
    sealer(root, "build", "-b", "lite", "-t", "test/blobs-only:v1", str(ctx2))
    p = sealer(root, "verify", "test/blobs-only:v1", check=False)
    assert p.returncode != 0 and "registry/ holds 3 files but no image" in p.stderr
    del registry


def _relabel(root: Path, src: str, dst: str, images_label: str) -> None:
    """Copy image ``src`` to ``dst`` with another io.sealer.images label (through the store's own API)."""
    from sealer.oci import mediatypes as mt
    from sealer.oci.model import Descriptor, Manifest, canonical_json
    from sealer.store import Store

    store = Store(root)
    img = store.image(src)
    cfg = dict(img.config)
    cfg["config"] = {**cfg["config"], "Labels": {**cfg["config"]["Labels"], "io.sealer.images": images_label}}
    raw_cfg = canonical_json(cfg)
    m = img.manifest
    man = Manifest(config=Descriptor(mt.OCI_CONFIG, store.put_bytes(raw_cfg), len(raw_cfg)), layers=m.layers,
                   annotations={k: v for k, v in (m.annotations or {}).items()
                                if k != "sealer.image.container.images"})
    raw = man.to_bytes()
    store.set_ref(dst, Descriptor(mt.OCI_MANIFEST, store.put_bytes(raw), len(raw)))


# ---- sealer v0.8's registry cache keeps one child of a manifest list --------------------------------------------
def test_v08_manifest_list_with_one_platform_child(registry: Registry, counted: FaultProxy,
                                                   tmp_path: Path) -> None:
    busybox = cached_index_image()      # list: amd64 + arm64; registry/ keeps the amd64 child only
    assert len(json.loads(busybox.manifest_raw)["manifests"]) == 2 and len(busybox.children) == 1
    base = sealer_v08_image(cached=busybox)

    # oracle: the stock docker-registry serves that tree, and the kept platform copies whole
    rootfs = tmp_path / "rootfs"
    with tarfile.open(fileobj=io.BytesIO(tar_bytes(base.for_platform().layers[-1].files))) as tf:
        tf.extractall(rootfs, filter="data")
    work = tmp_path / "reg"
    work.mkdir()
    shutil.move(rootfs / "registry", work / "storage")
    with start_registry(work) as reg:
        src = f"docker://{reg.ref('library/busybox:1.36')}"
        raw = skopeo("inspect", "--tls-verify=false", "--raw", src).stdout
        assert raw.encode() == busybox.manifest_raw
        skopeo("copy", "--quiet", "--src-tls-verify=false", "--override-arch", "amd64", src, f"oci:{tmp_path / 'o'}:x")
        with pytest.raises(RuntimeError):
            skopeo("copy", "--quiet", "--src-tls-verify=false", "--override-arch", "arm64", src,
                   f"oci:{tmp_path / 'o'}:y")

    root = tmp_path / "store"
    base_ref = pull(root, registry, base)
    doc = json.loads(sealer(root, "inspect", "--json", base_ref).stdout)
    (listed,) = doc["cachedImages"]
    assert listed["digest"] == busybox.manifest_digest
    assert listed["platforms"] == ["linux/amd64"] and "problems" not in listed
    assert listed["absentPlatforms"] == ["linux/arm64"]
    assert "(listed, not carried: linux/arm64)" in sealer(root, "inspect", base_ref).stdout

    # a build that needs busybox for linux/amd64 uses the base's copy (the upstream list is whole)
    busybox.push(registry)
    build_on(root, tmp_path, base_ref, counted.host, [busybox.reference(counted.host)])
    blob_gets = [p for m, p, _ in counted.requests if m == "GET" and "/library/busybox/blobs/" in p]
    assert blob_gets == [], "the base's busybox was downloaded again"
    (entry,) = label_images(root, "test/on-base:v1")
    assert entry["digest"] == busybox.manifest_digest and entry["platforms"] == ["linux/amd64"]
    assert f"base image {base_ref}" in entry["sources"] and "manifests/imageList:1" in entry["sources"]
    v = json.loads(sealer(root, "verify", "--json", "test/on-base:v1").stdout)
    assert v["ok"], v["problems"]
    assert v["blobs"] == len(all_blobs(busybox)) == 4

    # the kept child's layer missing: verify names it; the absent arm64 child alone never did
    layer = next(d for d, data in busybox.blobs.items() if data[:1] != b"{")
    broken = sealer_v08_image(cached=busybox, drop_blobs=[layer])
    broken_ref = pull(root, registry, broken, "sealer-io/kubernetes:broken")
    p = sealer(root, "verify", broken_ref, check=False)
    assert p.returncode != 0 and layer in p.stderr and "library/busybox:1.36" in p.stderr
    assert "linux/arm64" not in p.stderr


# ---- sealer v0.9: the annotation is its record ----------------------------------------------------------------
@pytest.mark.parametrize("list_images", [True, False], ids=["annotated", "no-annotation"])
def test_v09_image_inspect_and_verify(list_images: bool, registry: Registry, tmp_path: Path) -> None:
    from interop.fixtures import sealer_v09_image

    base = sealer_v09_image(list_images=list_images)
    root = tmp_path / "store"
    ref = pull(root, registry, base, "sealer-io/kubernetes:v1.22.15")
    doc = json.loads(sealer(root, "inspect", "--json", ref).stdout)
    assert doc["kubernetesVersion"] == "v1.22.15" and doc["kubernetesVersionFrom"] == "rootfs Metadata"
    (listed,) = doc["cachedImages"]
    # named by the annotation when there is one, else by where registry/ keeps it
    assert listed["reference"] == ("docker.io/library/busybox:1.36" if list_images else "library/busybox:1.36")
    assert listed["digest"] == base.cached.manifest_digest
    v = json.loads(sealer(root, "verify", "--json", ref).stdout)
    assert v["ok"], v["problems"]
    assert v["record"] == ("annotation sealer.image.container.images" if list_images else "none")
    assert len(v["images"]) == 1
    assert v["blobs"] == len(all_blobs(base.cached))

"""Helpers for the image-cache tests: unpack cached layers, serve them with the stock registry, make archives."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

from helpers.registry import Registry, start_registry

from sealer.build.layers import open_layer
from sealer.imagecache.model import CachedLayer
from sealer.store import Store
from sealer.tario.extract import extract_layer


def unpack(store: Store, layers: Sequence[CachedLayer], rootfs: Path) -> Path:
    """Apply the layers in order onto ``rootfs``; returns the registry root (``rootfs/registry``)."""
    for layer in layers:
        with open_layer(store, layer.descriptor) as fp:
            extract_layer(fp, rootfs)
    return rootfs / "registry"


def serve(registry_root: Path, workdir: Path) -> Registry:
    """Start the stock docker-registry with ``registry_root`` as its storage root."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.symlink(registry_root, workdir / "storage")
    return start_registry(workdir)


def tar_dir(src: Path, out: Path) -> Path:
    """A tar of the directory ``src`` (an ``oci-archive``)."""
    with tarfile.open(out, "w") as tf:
        for p in sorted(src.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(src)), recursive=False)
    return out


def name_layout(layout: Path, names: dict[str, str]) -> None:
    """Rename ref.name annotations in an OCI layout's index.json (tag -> full reference)."""
    idx = json.loads((layout / "index.json").read_text())
    for m in idx["manifests"]:
        ann = m.get("annotations", {})
        n = ann.get("org.opencontainers.image.ref.name")
        if n in names:
            ann["org.opencontainers.image.ref.name"] = names[n]
    (layout / "index.json").write_text(json.dumps(idx))


def docker_save_tar(out: Path, repo_tags: list[str], layer_files: dict[str, bytes]) -> tuple[str, list[str]]:
    """A legacy ``docker save`` tarball with one image of uncompressed layers (each a tar holding one file).
    Returns (config digest, diff_ids)."""
    layer_tars = []
    for name, data in layer_files.items():
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        layer_tars.append(buf.getvalue())
    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in layer_tars]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cfg_hex = hashlib.sha256(config).hexdigest()
    with tarfile.open(out, "w") as tf:
        def add(name: str, data: bytes) -> None:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        names = []
        for i, t in enumerate(layer_tars):
            add(f"layer{i}/layer.tar", t)
            names.append(f"layer{i}/layer.tar")
        add(f"{cfg_hex}.json", config)
        add("manifest.json", json.dumps([{"Config": f"{cfg_hex}.json", "RepoTags": repo_tags,
                                          "Layers": names}]).encode())
    return "sha256:" + cfg_hex, diff_ids


def store_cluster_image(store: Store, name: str, layers: Sequence[CachedLayer], images: Sequence[object]) -> str:
    """Assemble a minimal cluster image from cached layers (what the lite build does) and tag it; returns
    the manifest digest. ``images`` are ServedImage values recorded in the io.sealer.images label."""
    from sealer.oci import labels
    from sealer.oci import mediatypes as mt
    from sealer.oci.model import Descriptor, canonical_json

    label = json.dumps([{"reference": i.reference, "digest": str(i.digest),  # type: ignore[attr-defined]
                         "platforms": i.platforms} for i in images])  # type: ignore[attr-defined]
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Labels": {labels.LABEL_IMAGES: label}},
              "rootfs": {"type": "layers", "diff_ids": [str(x.diff_id) for x in layers]}}
    cfg = canonical_json(config)
    cfg_d = store.put_bytes(cfg)
    manifest = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                "config": {"mediaType": mt.OCI_CONFIG, "digest": str(cfg_d), "size": len(cfg)},
                "layers": [x.descriptor.to_json() for x in layers]}
    raw = canonical_json(manifest)
    d = store.put_bytes(raw)
    store.set_ref(name, Descriptor(mt.OCI_MANIFEST, d, len(raw)))
    return str(d)


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())

"""Images for the store tests, written as plain OCI JSON and tars here (not with the build), and an independent
reader: index.json and blobs walked with json/hashlib."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from sealer.digest import Digest
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.store import Store


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def put(store: Store, data: bytes) -> Descriptor:
    return Descriptor("", store.put_bytes(data), len(data))


def image(store: Store, layers: list[dict[str, bytes]], *, name: str | None = None, gz: bool = False,
          arch: str = "amd64", label: str | None = None) -> Descriptor:
    """A manifest with one tar (or tar+gzip) layer per dict; tagged ``name`` when given. The config differs
    with the layers unless ``label`` is given (images with one config share their image id)."""
    if label is None:
        label = repr(sorted((k, v) for files in layers for k, v in files.items()))
    ldescs = []
    for files in layers:
        raw = layer_tar(files)
        if gz:
            raw = gzip.compress(raw, mtime=0)
        ldescs.append({"mediaType": mt.OCI_LAYER_GZIP if gz else mt.OCI_LAYER, "digest": str(store.put_bytes(raw)),
                       "size": len(raw)})
    cfg = json.dumps({"architecture": arch, "os": "linux", "config": {"Labels": {"l": label}},
                      "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                      "config": {"mediaType": mt.OCI_CONFIG, "digest": str(store.put_bytes(cfg)), "size": len(cfg)},
                      "layers": ldescs}).encode()
    desc = Descriptor(mt.OCI_MANIFEST, store.put_bytes(man), len(man))
    if name:
        store.set_ref(name, desc)
    return desc


def index_of(store: Store, children: list[tuple[Descriptor, str | None]], name: str | None = None) -> Descriptor:
    manifests: list[dict[str, Any]] = []
    for d, arch in children:
        j: dict[str, Any] = {"mediaType": d.media_type, "digest": str(d.digest), "size": d.size}
        if arch:
            j["platform"] = {"os": "linux", "architecture": arch}
        manifests.append(j)
    raw = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests}).encode()
    desc = Descriptor(mt.OCI_INDEX, store.put_bytes(raw), len(raw))
    if name:
        store.set_ref(name, desc)
    return desc


def config_digest(store: Store, desc: Descriptor) -> Digest:
    return Digest(json.loads(store.blob_path(desc.digest).read_bytes())["config"]["digest"])


def index_names(root: Path) -> dict[str, str]:
    """name -> manifest digest, read from index.json with json."""
    doc = json.loads((root / "index.json").read_text())
    return {m["annotations"][mt.ANNOTATION_REF_NAME]: m["digest"] for m in doc["manifests"]}


def blob_hexes(root: Path) -> set[str]:
    """Every blob file, each checked to hash to its own name."""
    out = set()
    for p in (root / "blobs" / "sha256").iterdir():
        if p.name.startswith("."):      # temp files are not blobs (fsck skips them too)
            continue
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name
        out.add(p.name)
    return out


def reachable(root: Path) -> set[str]:
    """Blobs reachable from index.json, walked with json (not the store's code)."""
    stack = [m["digest"] for m in json.loads((root / "index.json").read_text())["manifests"]]
    seen: set[str] = set()
    while stack:
        d = stack.pop().removeprefix("sha256:")
        if d in seen:
            continue
        seen.add(d)
        try:
            doc = json.loads((root / "blobs" / "sha256" / d).read_bytes())
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and doc.get("schemaVersion") == 2:
            stack += [m["digest"] for m in doc.get("manifests", [])]
            if "config" in doc:
                stack.append(doc["config"]["digest"])
            stack += [x["digest"] for x in doc.get("layers", [])]
    return seen

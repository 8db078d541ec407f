"""Stream a stored image's layers into a :class:`~sealer.interop.base_registry.RegistryTree` (no unpacking),
and remember what an image carries per manifest digest (``STORE/cache/carried/<hex>.json``): layers never
change under a digest, so listing a multi-gigabyte base image is paid once."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sealer.digest import Digest
from sealer.errors import SealerError
from sealer.interop.base_registry import CarriedImage, RegistryTree
from sealer.interop.rootfs import RootfsMetadata, RootfsMetadataError
from sealer.oci.model import Manifest
from sealer.store import Store

log = logging.getLogger(__name__)

MEMO_DIR = "carried"
MEMO_VERSION = 1


class LayerMissing(SealerError):
    """A layer of the image is not in the store."""


def scan_layers(store: Store, manifest: Manifest, *, hash_blobs: bool = False,
                name: str = "image") -> RegistryTree:
    """Apply every layer of ``manifest`` (bottom first) as a stream; only ``registry/`` and ``Metadata`` are
    kept. ``hash_blobs`` hashes every blob under ``registry/`` while streaming."""
    from sealer.compression import decompressed  # here: a memoised scan reads no layer

    tree = RegistryTree(hash_blobs=hash_blobs)
    for n, layer in enumerate(manifest.layers):
        if layer.urls and "foreign" in layer.media_type:
            continue
        if not store.has_blob(layer.digest):
            raise LayerMissing(f"{name}: layer {n} ({layer.digest}) is missing from the store (run `sealer fsck`)")
        with decompressed(store.open_blob(layer.digest), layer.media_type) as fp:
            tree.add_layer(fp, n)
    return tree


@dataclass
class CarriedScan:
    """What one manifest's layers carry."""

    images: list[CarriedImage]
    files: int                        # files under registry/
    kube_version: str | None          # from the rootfs Metadata
    metadata_error: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"version": MEMO_VERSION, "images": [i.to_json() for i in self.images], "files": self.files,
                "kubeVersion": self.kube_version, "metadataError": self.metadata_error, "notes": self.notes}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CarriedScan:
        if d.get("version") != MEMO_VERSION:
            raise ValueError("memo version")
        return cls([CarriedImage.from_json(x) for x in d["images"]], int(d["files"]), d.get("kubeVersion"),
                   d.get("metadataError"), [str(x) for x in d.get("notes") or []])

    @classmethod
    def of_tree(cls, tree: RegistryTree) -> CarriedScan:
        kv, err = None, None
        if tree.metadata is not None:
            try:
                kv = RootfsMetadata.parse(tree.metadata).version
            except RootfsMetadataError as e:
                err = str(e)
        return cls(tree.images(), tree.file_count, kv, err, list(tree.notes))


def carried(store: Store, manifest_digest: Digest, manifest: Manifest, name: str = "image") -> CarriedScan:
    """What the image under ``manifest_digest`` carries (memoised in the store's cache)."""
    memo = store.root / "cache" / MEMO_DIR / f"{manifest_digest.hex}.json"
    try:
        return CarriedScan.from_json(json.loads(memo.read_bytes()))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    scan = CarriedScan.of_tree(scan_layers(store, manifest, name=name))
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(".tmp")
        tmp.write_text(json.dumps(scan.to_json()))
        tmp.replace(memo)
    except OSError as e:   # a read-only store still answers
        log.debug("cannot remember %s: %s", memo, e)
    return scan

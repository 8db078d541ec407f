"""Lay cached images out as cluster-image layers so that unchanged images keep byte-identical layers.

Grouping (deterministic, independent of build order, time and machine):

* one **image layer** per cached reference: its repository links (tag, revisions, ``_layers``) and the data of
  every blob only it uses (manifests, config, layers);
* one **blob layer** per blob of at least :data:`SHARED_MIN` bytes used by two or more images of this build:
  just that blob's ``data`` file, so the layer is a pure function of the blob (content-addressed) and is
  stored, pushed and pulled once however many images share it. Smaller shared blobs (configs, manifests of
  an image cached under two tags) are repeated in each image layer: cheaper than a layer each.

A new version that changes one image changes that image's layer (plus blob layers for any newly shared big
blobs); every other layer keeps its digest, so a registry already holding the old version receives only what
changed. Blobs present in the base image's ``registry/`` are not written again. Every layer is a plain tar
(``application/vnd.oci.image.layer.v1.tar``): cached blobs are already compressed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sealer.digest import Digest
from sealer.distlayout.layout import Entry, image_links, write_layer_tar
from sealer.imagecache.model import CachedLayer
from sealer.imagecache.resolve import Resolved
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.store import Store

SHARED_MIN = 256 << 10


@dataclass
class LayerPlan:
    kind: str                      # "blob" | "image"
    key: str                       # digest (blob layer) or reference (image layer)
    entries: list[Entry] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    created_by: str = ""


def plan_layers(images: Sequence[Resolved], blob_file: Callable[[Digest], Entry],
                present: Callable[[Digest], bool]) -> list[LayerPlan]:
    """Group ``images`` into layers. ``blob_file(d)`` gives the blob's entry (source file in the blob cache);
    ``present(d)`` says a blob is already in a lower layer (base image) and must not be written."""
    users: dict[Digest, set[str]] = defaultdict(set)
    sizes: dict[Digest, int] = {}
    for r in images:
        for d, raw in r.manifests.items():
            users[d].add(str(r.ref))
            sizes[d] = len(raw)
        for d, desc in r.blobs.items():
            users[d].add(str(r.ref))
            sizes[d] = desc.size
    shared = {d for d, u in users.items() if len(u) >= 2 and sizes[d] >= SHARED_MIN and not present(d)}
    plans: list[LayerPlan] = []
    for d in sorted(shared):
        plans.append(LayerPlan("blob", str(d), [blob_file(d)], sorted(users[d]),
                               f"sealer cache blob {d} (shared by {len(users[d])} images)"))
    for r in sorted(images, key=lambda x: str(x.ref)):
        entries = image_links(r.repo, r.tag, r.top, r.manifests.keys(), r.blobs.keys())
        for d in sorted({*r.manifests, *r.blobs}):
            if d not in shared and not present(d):
                entries.append(blob_file(d))
        plans.append(LayerPlan("image", str(r.ref), entries, [str(r.ref)],
                               f"sealer cache image {r.ref} -> {r.repo}@{r.top}"))
    return plans


def _write(store: Store, plan: LayerPlan) -> CachedLayer:
    with store.writer() as w:
        write_layer_tar(w, plan.entries)  # type: ignore[arg-type]
        size = w.size
        digest = w.commit()
    return CachedLayer(Descriptor(mt.OCI_LAYER, digest, size), digest, plan.created_by, plan.images)


def write_layers(store: Store, plans: Sequence[LayerPlan], parallel: int = 2) -> list[CachedLayer]:
    """Write every planned layer into ``store`` (plain tar, so digest == diff_id); order kept."""
    if parallel <= 1 or len(plans) <= 1:
        return [_write(store, p) for p in plans]
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="layer") as pool:
        return list(pool.map(lambda p: _write(store, p), plans))


KEEP_SMALL = 1 << 20   # blobs up to this size (manifests, configs, small layers) stay in the blob cache


def plan_key(plan: LayerPlan) -> str:
    """The identity of a layer's content: every entry's path and content (digest and size, or bytes)."""
    h = hashlib.sha256(b"sealer-cache-layer-v1")
    for e in sorted(plan.entries, key=lambda x: x.path):
        h.update(b"\0" + e.path.encode() + b"\0")
        if e.digest is not None:
            h.update(f"{e.digest}:{e.size}".encode())
        else:
            h.update(hashlib.sha256(e.data or b"").digest())
    return h.hexdigest()


class LayerMemo:
    """``STORE/cache/registry-layers/<plan key>``: the layer an earlier build wrote for exactly these entries.
    Used only while that blob is still in the store (pinned in the caller's lease when used)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._dir = store.root / "cache" / "registry-layers"
        self._dir.mkdir(parents=True, exist_ok=True)

    def get(self, plan: LayerPlan) -> CachedLayer | None:
        try:
            doc = json.loads((self._dir / plan_key(plan)).read_text())
            desc = Descriptor.from_json(doc["descriptor"])
        except Exception:  # noqa: BLE001 - absent or damaged memo: write the layer again
            return None
        if not self._store.adopt(desc.digest) or self._store.blob_size(desc.digest) != desc.size:
            return None
        return CachedLayer(desc, desc.digest, plan.created_by, plan.images)

    def put(self, plan: LayerPlan, layer: CachedLayer) -> None:
        """Written and renamed into place, not fsynced: ``get`` checks what a memo names (the layer blob in the
        store, its size), so a memo lost or torn by a crash only costs writing that layer again."""
        path = self._dir / plan_key(plan)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_bytes(json.dumps({"descriptor": layer.descriptor.to_json()}).encode())
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()


def drop_large(cache: object, digests: set[Digest]) -> None:
    """Remove blob-cache copies of blobs now held by committed layers."""
    blob_path = cache.blob_path  # type: ignore[attr-defined]
    for d in digests:
        with contextlib.suppress(FileNotFoundError):
            blob_path(d).unlink()

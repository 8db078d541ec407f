"""Restore a damaged or missing ``index.json`` (called by ``fsck --repair`` with the store lock held).

1. ``index.json.prev`` (the version before the last change, kept by every index write) when it is readable:
   only the last change is lost.
2. Otherwise the refs are rebuilt from what the blobs prove: every complete image manifest or index that no
   other stored index points at becomes a ref. Names live only in index.json, so a rebuilt ref is named
   ``localhost/recovered:<digest prefix>`` unless the manifest itself carries a ref-name annotation; the
   report says so, and ``sealer tag`` gives the images their names back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from sealer import jsonsafe
from sealer.digest import Digest
from sealer.errors import StoreError
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor, Index, Manifest, ManifestError, Platform, parse_any
from sealer.store.fsutil import atomic_write
from sealer.store.layout import INDEX_BACKUP, MAX_DOC, Store

RECOVERED_REPO = "localhost/recovered"


def index_problem(store: Store) -> str | None:
    """Why index.json cannot be read, or None when it can."""
    try:
        store.refs()
    except StoreError as e:
        return str(e)
    return None


def _doc_type(raw: bytes) -> str | None:
    """The media type of a blob that is an image manifest or index, else None."""
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        doc = jsonsafe.loads(raw, "blob")
    except (ValueError, UnicodeDecodeError, jsonsafe.JSONLimitError):
        return None
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
        return None
    media = doc.get("mediaType")
    if isinstance(media, str) and (mt.is_index(media) or mt.is_manifest(media)):
        return media
    if isinstance(doc.get("manifests"), list):
        return mt.OCI_INDEX
    if isinstance(doc.get("config"), dict) and isinstance(doc.get("layers"), list):
        return mt.OCI_MANIFEST
    return None


def rebuild_refs(store: Store, complete: Callable[[Digest, str], str | None]) -> tuple[list[Descriptor], list[str]]:
    """Descriptors of every complete top-level image in the blobs, and notes on what could not be kept."""
    docs: dict[Digest, tuple[str, Manifest | Index, int]] = {}
    blob_dir = store.root / "blobs" / "sha256"
    for entry in sorted(os.scandir(blob_dir), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file() or entry.stat().st_size > MAX_DOC:
            continue
        try:
            digest = Digest.from_hex(entry.name)
            raw = store.read_blob(digest)
        except Exception:  # noqa: BLE001 - foreign file names and unreadable blobs are not images
            continue
        media = _doc_type(raw)
        if media is None:
            continue
        try:
            docs[digest] = (media, parse_any(raw, media), len(raw))
        except ManifestError:
            continue
    children = {c.digest for _, d, _ in docs.values() if isinstance(d, Index) for c in d.manifests}
    found: list[Descriptor] = []
    notes: list[str] = []
    for digest, (media, doc, size) in docs.items():
        if digest in children:
            continue
        why = complete(digest, media)
        if why:
            notes.append(f"image {digest} not restored: {why}")
            continue
        name = (doc.annotations or {}).get(mt.ANNOTATION_REF_NAME) if isinstance(doc, Manifest) else None
        if not name:
            name = f"{RECOVERED_REPO}:{digest.hex[:12]}"
        plat: Platform | None = None
        found.append(Descriptor(media, digest, size, {mt.ANNOTATION_REF_NAME: name}, plat))
    return found, notes


def restore_index(store: Store, complete: Callable[[Digest, str], str | None]) -> list[str]:
    """Make index.json readable again; returns what was done and what was lost (one line each)."""
    path = store.root / "index.json"
    backup = store.root / INDEX_BACKUP
    lines: list[str] = []
    try:
        raw = backup.read_bytes()
        prev = Index.parse(raw, mt.OCI_INDEX)
    except (OSError, ManifestError):
        prev = None
    found, notes = rebuild_refs(store, complete)
    if prev is not None:
        # the backup is one change behind: images made by that change are added from the blobs
        known = store.referenced_blobs(prev.manifests)
        extra = [d for d in found if d.digest not in known]
        manifests = [*prev.manifests, *extra]
        _keep_damaged(path)
        doc0: dict[str, Any] = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                                "manifests": [d.to_json() for d in manifests]}
        atomic_write(path, json.dumps(doc0, indent=2).encode() + b"\n")
        lines.append(f"restored index.json from {INDEX_BACKUP} ({len(prev.manifests)} image(s)); a name given "
                     "by the last change before the damage may be lost")
        lines += [f"restored {(d.annotations or {})[mt.ANNOTATION_REF_NAME]} ({d.digest}) from the blobs; its name "
                  "was lost (rename with `sealer tag`)" for d in extra]
        return lines
    _keep_damaged(path)
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                           "manifests": [d.to_json() for d in found]}
    atomic_write(path, json.dumps(doc, indent=2).encode() + b"\n")
    lines.append(f"rebuilt index.json from the blobs: {len(found)} image(s) restored; image names were lost "
                 f"(restored as {RECOVERED_REPO}:<digest>, rename with `sealer tag`)")
    for d in found:
        lines.append(f"restored {(d.annotations or {})[mt.ANNOTATION_REF_NAME]} ({d.digest})")
    lines.extend(notes)
    return lines


def _keep_damaged(path: os.PathLike[str] | str) -> None:
    """Keep the damaged index next to the store for inspection (index.json.damaged)."""
    p = os.fspath(path)
    if os.path.exists(p):
        os.replace(p, p + ".damaged")

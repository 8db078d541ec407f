"""Store check and repair: every blob's digest, every reference's completeness, leftovers.

Repair only ever removes what nothing needs: refs whose content is missing or corrupt (they cannot be used),
corrupt blobs (their digest is a lie), stale ingest files and dead leases. A referenced, intact blob is never
deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

from sealer.digest import Digest, sha256_file
from sealer.oci import mediatypes as mt
from sealer.oci.model import Index, Manifest, ManifestError, parse_any
from sealer.store.fsutil import atomic_write
from sealer.store.layout import Store, _owner_alive, _pid_alive
from sealer.store.recover import index_problem, restore_index


@dataclass
class FsckReport:
    blobs_checked: int = 0
    bytes_checked: int = 0
    corrupt_blobs: list[str] = field(default_factory=list)
    broken_refs: list[str] = field(default_factory=list)       # "name: why"
    stale_ingest: list[str] = field(default_factory=list)
    dead_leases: list[str] = field(default_factory=list)
    unreferenced_blobs: int = 0
    repaired: list[str] = field(default_factory=list)
    index_problem: str | None = None                           # index.json missing or unreadable

    @property
    def ok(self) -> bool:
        return not (self.corrupt_blobs or self.broken_refs or self.index_problem)

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["ok"] = self.ok
        return d


def _missing(store: Store, desc_digest: Digest, media_type: str, corrupt: set[str]) -> str | None:
    """Why the image rooted at this descriptor is unusable, or None."""
    stack = [(desc_digest, media_type)]
    seen: set[Digest] = set()
    while stack:
        d, mtype = stack.pop()
        if d in seen:
            continue
        seen.add(d)
        if not store.has_blob(d):
            return f"blob {d} missing"
        if d.hex in corrupt:
            return f"blob {d} corrupt"
        if mt.is_index(mtype) or mt.is_manifest(mtype):
            try:
                doc = parse_any(store.blob_path(d).read_bytes(), mtype)
            except ManifestError as e:
                return f"{d}: {e}"
            if isinstance(doc, Index):
                stack.extend((c.digest, c.media_type) for c in doc.manifests)
            elif isinstance(doc, Manifest):
                stack.append((doc.config.digest, doc.config.media_type))
                stack.extend((x.digest, x.media_type) for x in doc.layers)
    return None


def fsck(store: Store, repair: bool = False, verify_content: bool = True) -> FsckReport:
    rep = FsckReport()
    with store.locked():
        corrupt: set[str] = set()
        blob_dir = store.root / "blobs" / "sha256"
        for p in sorted(blob_dir.iterdir()):
            if p.name.startswith("."):
                continue
            rep.blobs_checked += 1
            try:
                want = Digest.from_hex(p.name)
            except Exception:  # noqa: BLE001 - a foreign file name
                rep.corrupt_blobs.append(p.name)
                corrupt.add(p.name)
                continue
            if verify_content:
                got, n = sha256_file(str(p))
                rep.bytes_checked += n
                if got != want:
                    rep.corrupt_blobs.append(str(want))
                    corrupt.add(want.hex)
        problem = index_problem(store)
        if problem is not None:
            if not repair:
                rep.index_problem = problem
                return rep
            rep.repaired += restore_index(store, lambda d, m: _missing(store, d, m, corrupt))
        refs = store.refs()
        good = []
        for r in refs:
            why = _missing(store, r.descriptor.digest, r.descriptor.media_type, corrupt)
            if why:
                rep.broken_refs.append(f"{r.name}: {why}")
            else:
                good.append(r)
        referenced = store.referenced_blobs([r.descriptor for r in good])
        rep.unreferenced_blobs = sum(1 for p in blob_dir.iterdir() if p.name not in {d.hex for d in referenced})
        for p in (store.root / "ingest").iterdir():
            if not _owner_alive(p.name):
                rep.stale_ingest.append(p.name)
        for f in (store.root / "leases").glob("*.lease"):
            pid = f.name.split("-", 1)[0]
            if not (pid.isdigit() and _pid_alive(int(pid))):
                rep.dead_leases.append(f.name)
        if repair:
            if rep.broken_refs:
                names = {b.split(": ", 1)[0] for b in rep.broken_refs}
                kept = [r.descriptor for r in refs if r.name not in names]
                doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [d.to_json() for d in kept]}
                atomic_write(store.root / "index.json", json.dumps(doc, indent=2).encode() + b"\n")
                rep.repaired += [f"dropped ref {n}" for n in sorted(names)]
            for h in corrupt:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(blob_dir / h)
                    rep.repaired.append(f"removed corrupt blob {h}")
            for name in rep.stale_ingest:
                p = store.root / "ingest" / name
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()
                rep.repaired.append(f"removed ingest/{name}")
            for name in rep.dead_leases:
                with contextlib.suppress(FileNotFoundError):
                    (store.root / "leases" / name).unlink()
    return rep

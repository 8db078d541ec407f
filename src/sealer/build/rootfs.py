"""The working rootfs of a build: materialised lazily from layers, snapshotted around RUN steps."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sealer.build.layers import open_layer
from sealer.oci.model import Descriptor
from sealer.store import Store
from sealer.store.fsutil import force_rmtree
from sealer.tario.extract import extract_layer

Snapshot = dict[str, tuple[int, int, int, int, int]]


@dataclass
class WorkingRootfs:
    """Layers applied so far (``pending`` not yet extracted). Extraction happens only when a step
    needs real files (RUN, discovery); a build whose steps all hit the cache never extracts anything."""

    store: Store
    path: Path
    pending: list[Descriptor] = field(default_factory=list)
    materialized: bool = False

    def add_layer(self, desc: Descriptor) -> None:
        self.pending.append(desc)

    def ensure(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        for desc in self.pending:
            with open_layer(self.store, desc) as fp:
                extract_layer(fp, self.path)
        self.pending.clear()
        self.materialized = True
        return self.path

    def ensure_for_discovery(self) -> Path:
        """What the lite stage reads, without writing the whole rootfs: manifests/, charts/, image-archives/,
        etc/ and Metadata in full; registry/ (the base's cached images: only presence, sizes and the small
        manifest/config/link files are read) and bin/ (only names) with large files as sparse placeholders;
        nothing else. A rootfs already materialised for a RUN is completed instead."""
        if self.materialized:
            return self.ensure()
        self.path.mkdir(parents=True, exist_ok=True)
        for desc in self.pending:
            with open_layer(self.store, desc) as fp:
                extract_layer(fp, self.path, select=_discovery_select)
        self.pending.clear()
        return self.path

    def cleanup(self) -> None:
        force_rmtree(self.path)


FULL_TREES = ("manifests", "charts", "image-archives", "etc", "application")   # application/apps/: sealer v0.9 APP files
SPARSE_TREES = ("registry", "bin")
SPARSE_OVER = 1 << 20


def _discovery_select(rel: str, size: int) -> str:
    top = rel.split("/", 1)[0]
    if top in FULL_TREES or rel == "Metadata":
        return "full"
    if top in SPARSE_TREES:
        return "placeholder" if size > SPARSE_OVER else "full"
    return "skip"


def snapshot(root: Path) -> Snapshot:
    """Record every path's identity and change markers (mode, size, mtime, ctime, inode)."""
    snap: Snapshot = {}
    root_s = str(root)
    for dirpath, dirnames, filenames in os.walk(root_s):
        rel_dir = os.path.relpath(dirpath, root_s)
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            snap[rel] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return snap


def diff(before: Snapshot, after: Snapshot) -> tuple[list[str], list[str]]:
    """Paths added or changed, and top-most paths deleted (as whiteouts)."""
    changed = []
    for rel, sig in after.items():
        old = before.get(rel)
        if old is None or old != sig:
            if old is not None and stat.S_ISDIR(sig[0]) and stat.S_ISDIR(old[0]) and old[0] == sig[0]:
                continue  # a directory whose children changed: children carry the change
            changed.append(rel)
    deleted = sorted(rel for rel in before if rel not in after)
    top: list[str] = []
    for rel in deleted:
        if top and rel.startswith(top[-1] + "/"):
            continue
        top.append(rel)
    # a path whose type changed (file -> dir) is both deleted-and-added: the added entry replaces it
    return sorted(changed), top

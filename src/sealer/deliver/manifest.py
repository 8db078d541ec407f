"""Content-hash manifest of a rootfs: what a host holds, so a re-apply sends only what changed.

``{relative path: "f:<sha256>:<mode>" | "l:<target>" | "d:<mode>"}``; ``registry/`` is left out for hosts
that are not the registry host.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

Manifest = dict[str, str]
REGISTRY_DIR = "registry"


def _hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def build_manifest(root: Path) -> Manifest:
    """Walk ``root`` (symlinks not followed); files are hashed on two threads (hashlib drops the GIL)."""
    entries: Manifest = {}
    files: list[tuple[str, Path, int]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        if rel_dir != ".":
            entries[rel_dir] = f"d:{stat.S_IMODE(base.lstat().st_mode):o}"
        for name in [*sorted(filenames), *[d for d in dirnames if (base / d).is_symlink()]]:
            p = base / name
            rel = p.relative_to(root).as_posix()
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                entries[rel] = f"l:{os.readlink(p)}"
            elif stat.S_ISREG(st.st_mode):
                files.append((rel, p, stat.S_IMODE(st.st_mode)))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for (rel, _p, mode), digest in zip(files, pool.map(lambda t: _hash(t[1]), files), strict=True):
            entries[rel] = f"f:{digest}:{mode:o}"
    return dict(sorted(entries.items()))


def for_host(manifest: Manifest, *, with_registry: bool) -> Manifest:
    if with_registry:
        return manifest
    return {k: v for k, v in manifest.items() if k != REGISTRY_DIR and not k.startswith(REGISTRY_DIR + "/")}


def diff(old: Manifest | None, new: Manifest) -> tuple[list[str], list[str]]:
    """(paths to send, paths to remove): entries new or changed, and entries the host has that ``new`` lacks."""
    old = old or {}
    send = [k for k, v in new.items() if old.get(k) != v]
    remove = [k for k in old if k not in new]
    return send, remove


def digest(manifest: Manifest) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def parse(data: bytes | None) -> Manifest | None:
    if not data:
        return None
    try:
        got = json.loads(data)
    except ValueError:
        return None
    return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else None

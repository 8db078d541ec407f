"""Content-hash manifest of a rootfs: what a host holds, so a re-apply sends only what changed.

``{relative path: "f:<sha256>:<mode>" | "l:<target>" | "d:<mode>"}``; ``registry/`` is left out for hosts
that are not the registry host. A registry blob (``registry/docker/registry/v2/blobs/sha256/<hh>/<hex>/data``)
is content-addressed: its path names its sha256, which the caching that wrote it verified, so it is not
hashed again (most of a rootfs's bytes; the hashing competed with the send for the CPU).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

Manifest = dict[str, str]
REGISTRY_DIR = "registry"
_BLOB = re.compile(r"registry/docker/registry/v2/blobs/sha256/([0-9a-f]{2})/(\1[0-9a-f]{62})/data")


def _hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _walk(root: Path) -> tuple[Manifest, list[tuple[str, Path, int]]]:
    """Directories and symlinks with their manifest values, and the regular files still to hash."""
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
    return entries, files


def entries(root: Path) -> list[str]:
    """The paths a manifest of ``root`` will have, sorted, without hashing anything (a directory walk): what a
    first delivery sends while the manifest is still being hashed."""
    found, files = _walk(root)
    return sorted([*found, *(rel for rel, _p, _m in files)])


def build_manifest(root: Path, *, with_registry: bool = True) -> Manifest:
    """Walk ``root`` (symlinks not followed); files are hashed on two threads (hashlib drops the GIL).
    ``with_registry=False`` leaves ``registry/`` out without hashing it (``for_host`` of the full manifest)."""
    found, files = _walk(root)
    if not with_registry:
        found = {k: v for k, v in found.items() if not in_registry(k)}
        files = [f for f in files if not in_registry(f[0])]
    todo = []
    for rel, p, mode in files:
        if m := _BLOB.fullmatch(rel):
            found[rel] = f"f:{m.group(2)}:{mode:o}"
        else:
            todo.append((rel, p, mode))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for (rel, _p, mode), digest in zip(todo, pool.map(lambda t: _hash(t[1]), todo), strict=True):
            found[rel] = f"f:{digest}:{mode:o}"
    return dict(sorted(found.items()))


def in_registry(path: str) -> bool:
    return path == REGISTRY_DIR or path.startswith(REGISTRY_DIR + "/")


def for_host(manifest: Manifest, *, with_registry: bool) -> Manifest:
    if with_registry:
        return manifest
    return {k: v for k, v in manifest.items() if not in_registry(k)}


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


def split(root: Path, paths: list[str], target: int, most: int) -> list[list[str]]:
    """Cut a list of entries into up to ``most`` groups of about ``target`` bytes each (largest files first, each
    to the lightest group), for parallel streams. Each group carries the directory entries above its files (a
    directory extracted twice is harmless); directories above no file go with the first group."""
    sizes = {}
    dirs = []
    for p in paths:
        st = (root / p).lstat()
        if stat.S_ISDIR(st.st_mode):
            dirs.append(p)
        else:
            sizes[p] = st.st_size if stat.S_ISREG(st.st_mode) else 0
    n = max(1, min(most, -(-sum(sizes.values()) // max(1, target))))
    groups: list[list[str]] = [[] for _ in range(n)]
    load = [0] * n
    for p in sorted(sizes, key=lambda k: -sizes[k]):
        i = load.index(min(load))
        groups[i].append(p)
        load[i] += sizes[p]
    dirset = set(dirs)
    used: set[str] = set()
    for g in groups:
        above = {a for f in g for a in _ancestors(f) if a in dirset}
        used |= above
        g.extend(above)
        g.sort()
    groups[0] = sorted([*groups[0], *(d for d in dirs if d not in used)])
    return [g for g in groups if g]


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]

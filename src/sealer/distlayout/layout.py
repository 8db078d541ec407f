"""The docker-distribution (registry v2) filesystem layout: paths, deterministic layer tars, a directory writer
and a reader.

Layout under a registry storage root (``registry/`` in a cluster image's rootfs)::

    docker/registry/v2/blobs/sha256/<hex[:2]>/<hex>/data
    docker/registry/v2/repositories/<name>/_layers/sha256/<hex>/link                config + layer blobs
    docker/registry/v2/repositories/<name>/_manifests/revisions/sha256/<hex>/link   every manifest (index children too)
    docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link
    docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/index/sha256/<hex>/link

Every ``link`` holds exactly ``sha256:<64 hex>`` (no newline). The stock ``docker-registry`` serves such a tree
as-is. Entries are described as :class:`Entry` values (a relative path plus bytes or a source file) so the same
description can be streamed into a deterministic tar layer or materialised into a directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sealer.digest import Digest
from sealer.errors import ArchiveError
from sealer.tario.write import Content, write_tar

V2 = "docker/registry/v2"
LAYER_PREFIX = "registry"   # where the registry root sits in a cluster image rootfs


# ---- paths (relative to the registry storage root) ---------------------------------------------------------
def blob_data_path(digest: Digest) -> str:
    return f"{V2}/blobs/sha256/{digest.hex[:2]}/{digest.hex}/data"


def repo_dir(repo: str) -> str:
    return f"{V2}/repositories/{repo}"


def layer_link_path(repo: str, digest: Digest) -> str:
    return f"{repo_dir(repo)}/_layers/sha256/{digest.hex}/link"


def revision_link_path(repo: str, digest: Digest) -> str:
    return f"{repo_dir(repo)}/_manifests/revisions/sha256/{digest.hex}/link"


def tag_current_path(repo: str, tag: str) -> str:
    return f"{repo_dir(repo)}/_manifests/tags/{tag}/current/link"


def tag_index_path(repo: str, tag: str, digest: Digest) -> str:
    return f"{repo_dir(repo)}/_manifests/tags/{tag}/index/sha256/{digest.hex}/link"


def link_bytes(digest: Digest) -> bytes:
    return str(digest).encode()


# ---- entries -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One regular file of the layout: ``path`` relative to the registry root; content is ``data`` or the
    file at ``source`` (``size`` bytes, already verified by the caller)."""

    path: str
    data: bytes | None = None
    source: Path | None = None
    size: int = 0
    digest: Digest | None = None      # set for blob data files

    @classmethod
    def link(cls, path: str, digest: Digest) -> Entry:
        b = link_bytes(digest)
        return cls(path, data=b, size=len(b))

    @classmethod
    def blob(cls, digest: Digest, source: Path, size: int) -> Entry:
        return cls(blob_data_path(digest), source=source, size=size, digest=digest)


def image_links(repo: str, tag: str | None, top: Digest, manifests: Iterable[Digest],
                blobs: Iterable[Digest]) -> list[Entry]:
    """The link files that make ``repo`` serve an image: ``manifests`` (top + index children) as revisions,
    ``blobs`` (configs + layers) as layer links, and ``tag`` (when given) pointing at ``top``."""
    out = [Entry.link(revision_link_path(repo, d), d) for d in {top, *manifests}]
    out += [Entry.link(layer_link_path(repo, d), d) for d in set(blobs)]
    if tag:
        out.append(Entry.link(tag_current_path(repo, tag), top))
        out.append(Entry.link(tag_index_path(repo, tag, top), top))
    return out


def _dedup(entries: Iterable[Entry]) -> dict[str, Entry]:
    by_path: dict[str, Entry] = {}
    for e in entries:
        prev = by_path.get(e.path)
        if prev is not None and prev.data is not None and e.data is not None and prev.data != e.data:
            raise ArchiveError(f"write registry layout: two different contents for {e.path}")
        by_path[e.path] = e
    return by_path


# ---- deterministic tar ---------------------------------------------------------------------------------------
def write_layer_tar(out: IO[bytes], entries: Iterable[Entry], prefix: str = LAYER_PREFIX,
                    produce: Callable[[Entry, IO[bytes]], bool] | None = None) -> None:
    """Stream a deterministic tar of ``entries`` under ``prefix/`` (see :func:`sealer.tario.write.write_tar`:
    every parent directory, owners 0/0, mtime 0, fixed modes). ``produce`` may write an entry's verified bytes
    itself (streaming)."""

    def member(e: Entry) -> Content:
        if e.data is not None:
            return Content(len(e.data), data=e.data)
        assert e.source is not None, e.path
        hook = None if produce is None else (lambda o: produce(e, o))
        return Content(e.size, source=e.source, produce=hook)

    write_tar(out, {(f"{prefix}/{path}" if prefix else path): member(e) for path, e in _dedup(entries).items()})


# ---- directory writer --------------------------------------------------------------------------------------
def materialize(root: Path, entries: Iterable[Entry], *, hardlink: bool = False) -> int:
    """Write ``entries`` into the registry root directory ``root``. Blob files are copied (or hard-linked from
    their source when ``hardlink`` and possible); existing blob data is kept. Returns bytes written."""
    written = 0
    for path, e in sorted(_dedup(entries).items()):
        dst = root / path
        dst.parent.mkdir(parents=True, exist_ok=True)
        if e.data is not None:
            tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
            tmp.write_bytes(e.data)
            os.replace(tmp, dst)
            written += len(e.data)
            continue
        assert e.source is not None
        if dst.is_file() and dst.stat().st_size == e.size:
            continue
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
        done = False
        if hardlink:
            with contextlib.suppress(OSError):
                os.link(e.source, tmp)
                done = True
        if not done:
            shutil.copyfile(e.source, tmp)
            written += e.size
        os.replace(tmp, dst)
    return written


# ---- reader ------------------------------------------------------------------------------------------------
class RegistryDir:
    """Read access to a registry storage root on disk."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _link(self, rel: str) -> Digest | None:
        try:
            text = (self.root / rel).read_text().strip()
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            return None
        try:
            return Digest(text)
        except Exception:  # noqa: BLE001 - a corrupt link is reported as missing
            return None

    def tag(self, repo: str, tag: str) -> Digest | None:
        return self._link(tag_current_path(repo, tag))

    def blob_path(self, digest: Digest) -> Path:
        return self.root / blob_data_path(digest)

    def has_blob(self, digest: Digest) -> bool:
        return self.blob_path(digest).is_file()

    def read_blob(self, digest: Digest, limit: int = 16 << 20) -> bytes | None:
        try:
            with open(self.blob_path(digest), "rb") as fp:
                data = fp.read(limit + 1)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return data if len(data) <= limit else None

    def repositories(self) -> list[str]:
        base = self.root / V2 / "repositories"
        out = []
        for dirpath, dirnames, _ in os.walk(base):
            if "_manifests" in dirnames:
                out.append(os.path.relpath(dirpath, base).replace(os.sep, "/"))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("_"))
        return sorted(out)

    def tags(self, repo: str) -> list[str]:
        d = self.root / repo_dir(repo) / "_manifests" / "tags"
        return sorted(p.name for p in d.iterdir() if (p / "current" / "link").is_file()) if d.is_dir() else []

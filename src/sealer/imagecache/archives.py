"""Offline image sources: ``docker save`` tarballs and OCI archives, imported without any registry.

Convention: archives placed under ``image-archives/`` in the build rootfs (``*.tar``, ``*.tar.gz``, ``*.tgz``)
are cached into the cluster image's registry like pulled images (see :data:`ARCHIVE_DIR`). Supported:

* ``docker save`` (legacy: ``manifest.json`` + ``<id>/layer.tar`` + ``<hex>.json``): each ``RepoTags`` entry
  becomes a docker schema 2 manifest synthesised deterministically (layers stay as saved, uncompressed, so
  their digests equal the config's diff_ids). Its digest differs from the registry's original one (docker
  save does not keep manifests); the image config — its image id — is unchanged.
* OCI archives (``skopeo copy ... oci-archive:x.tar:docker.io/library/app:v1``, ``docker save`` ≥ 25,
  ``ctr export``): every ``index.json`` entry named by ``io.containerd.image.name`` or a full
  ``org.opencontainers.image.ref.name`` is cached with its original manifest bytes (digests kept).

An archive is read once, streaming (gzip too): every blob is hashed while it is copied into the blob cache and
verified against its name. Nothing is extracted elsewhere.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sealer import reference
from sealer.digest import CHUNK, Digest, is_digest
from sealer.errors import ArchiveError, DigestError, ReferenceError_
from sealer.oci import mediatypes as mt
from sealer.oci.model import canonical_json
from sealer.reference import Reference
from sealer.registry.options import BlobSink

ARCHIVE_DIR = "image-archives"
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
CONTAINERD_NAME = "io.containerd.image.name"
MAX_JSON = 16 << 20


@dataclass(frozen=True)
class ArchiveImage:
    """One image found in an archive; its manifest (or index) and every blob are in the blob cache."""

    reference: Reference
    digest: Digest
    media_type: str
    raw: bytes
    archive: Path

    @property
    def where(self) -> str:
        return f"{self.archive.name} (image archive)"


def find_archives(rootfs: Path, subdir: str = ARCHIVE_DIR) -> list[Path]:
    """Archives under ``rootfs/subdir`` (sorted; not recursive)."""
    d = rootfs / subdir
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.is_file() and p.name.endswith(ARCHIVE_SUFFIXES))


def _read_small(fp: IO[bytes] | None, what: str) -> bytes:
    if fp is None:
        raise ArchiveError(f"read {what}: not a regular file")
    data = fp.read(MAX_JSON + 1)
    if len(data) > MAX_JSON:
        raise ArchiveError(f"read {what}: larger than {MAX_JSON} bytes")
    return data


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as e:
        raise ArchiveError(f"read {what}: not JSON: {e}") from None


def _copy_in(fp: IO[bytes], sink: BlobSink, expected: Digest | None) -> tuple[Digest, int, bytes]:
    """Stream ``fp`` into ``sink`` (verifying ``expected``); returns digest, size and the first 4 bytes."""
    head = b""
    if expected is not None and sink.has_blob(expected):
        n = 0
        while b := fp.read(CHUNK):
            head = head or b[:4]
            n += len(b)
        return expected, n, head
    w = sink.writer()
    try:
        while b := fp.read(CHUNK):
            head = head or b[:4]
            w.write(b)
        n = int(w.size)
        return w.commit(expected), n, head
    except BaseException:
        w.abort()
        raise


@dataclass
class _Blob:
    digest: Digest
    size: int
    head: bytes


def _parse_name(text: str, archive: Path, what: str) -> Reference:
    if "/" not in text:
        raise ArchiveError(f"read image archive {archive}: {what} {text!r} is not a full image reference "
                           f"(want e.g. docker.io/library/app:v1)")
    try:
        return reference.parse(text)
    except ReferenceError_ as e:
        raise ArchiveError(f"read image archive {archive}: {what}: {e}") from None


def import_archive(path: Path, sink: BlobSink) -> list[ArchiveImage]:
    """Copy every blob of the archive at ``path`` into ``sink`` and return its named images."""
    members: dict[str, _Blob] = {}
    links: dict[str, str] = {}
    docs: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r|*") as tf:
            for m in tf:
                name = posixpath.normpath(m.name.lstrip("./")) if m.name not in (".", "./") else ""
                if m.issym() or m.islnk():
                    target = m.linkname if m.islnk() else posixpath.normpath(
                        posixpath.join(posixpath.dirname(name), m.linkname))
                    links[name] = target
                    continue
                if not m.isreg():
                    continue
                fp = tf.extractfile(m)
                if name in ("manifest.json", "index.json", "oci-layout", "repositories"):
                    docs[name] = _read_small(fp, f"{path}:{name}")
                    continue
                assert fp is not None
                expected = None
                if name.startswith("blobs/sha256/"):
                    hexpart = name.rsplit("/", 1)[1]
                    if not is_digest("sha256:" + hexpart):
                        continue
                    expected = Digest.from_hex(hexpart)
                try:
                    d, n, head = _copy_in(fp, sink, expected)
                except DigestError as e:
                    raise DigestError(f"read image archive {path}: {name}: {e}") from None
                members[name] = _Blob(d, n, head)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ArchiveError(f"read image archive {path}: {e}") from None

    def blob(name: str) -> _Blob:
        seen = 0
        while name in links and seen < 40:
            name, seen = links[name], seen + 1
        b = members.get(name)
        if b is None:
            raise ArchiveError(f"read image archive {path}: {name} is missing")
        return b

    if "index.json" in docs:
        return _oci_images(path, docs["index.json"], sink, docs.get("manifest.json"))
    if "manifest.json" in docs:
        return _docker_images(path, docs["manifest.json"], sink, blob)
    raise ArchiveError(f"read image archive {path}: neither a docker save tarball (manifest.json) "
                       f"nor an OCI archive (index.json)")


def _read_cached(sink: BlobSink, digest: Digest) -> bytes:
    path = getattr(sink, "blob_path", None)
    if path is None:
        raise ArchiveError("read blob: sink cannot read back")
    with open(path(digest), "rb") as fp:
        return _read_small(fp, str(digest))


def _oci_images(path: Path, index_raw: bytes, sink: BlobSink, docker_manifest: bytes | None) -> list[ArchiveImage]:
    index = _json(index_raw, f"{path}:index.json")
    entries = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(entries, list):
        raise ArchiveError(f"read image archive {path}: index.json has no manifests list")
    # docker >= 25 writes RepoTags in manifest.json next to an OCI layout; use them as names when present
    repo_tags: dict[str, list[str]] = {}
    if docker_manifest:
        for item in _json(docker_manifest, f"{path}:manifest.json") or []:
            cfg = str(item.get("Config", ""))
            repo_tags.setdefault(cfg.rsplit("/", 1)[-1], []).extend(item.get("RepoTags") or [])
    out: list[ArchiveImage] = []
    for i, e in enumerate(entries):
        ann = e.get("annotations") or {}
        try:
            digest = Digest(str(e.get("digest")))
        except DigestError:
            raise ArchiveError(f"read image archive {path}: index.json entry {i} has no valid digest") from None
        if not sink.has_blob(digest):
            raise ArchiveError(f"read image archive {path}: manifest {digest} is missing from blobs/")
        raw = _read_cached(sink, digest)
        media_type = str(e.get("mediaType") or json.loads(raw).get("mediaType") or mt.OCI_MANIFEST)
        names = [n for n in (ann.get(CONTAINERD_NAME),) if n]
        ref_name = ann.get(mt.ANNOTATION_REF_NAME)
        if not names and ref_name and "/" in ref_name:
            names.append(ref_name)
        if not names and mt.is_manifest(media_type):
            cfg = json.loads(raw).get("config", {}).get("digest", "")
            names = list(repo_tags.get(str(cfg).removeprefix("sha256:"), []))
        if not names:
            raise ArchiveError(f"read image archive {path}: index.json entry {i} ({digest}) has no full image "
                               f"name (annotation {CONTAINERD_NAME} or {mt.ANNOTATION_REF_NAME} "
                               f"like docker.io/library/app:v1)")
        for n in names:
            out.append(ArchiveImage(_parse_name(n, path, "image name"), digest, media_type, raw, path))
    return out


def _docker_images(path: Path, manifest_raw: bytes, sink: BlobSink, blob: Any) -> list[ArchiveImage]:
    items = _json(manifest_raw, f"{path}:manifest.json")
    if not isinstance(items, list):
        raise ArchiveError(f"read image archive {path}: manifest.json is not a list")
    out: list[ArchiveImage] = []
    for i, item in enumerate(items):
        cfg = blob(str(item.get("Config", "")))
        layers = []
        for name in item.get("Layers") or []:
            b = blob(str(name))
            gz = b.head[:2] == b"\x1f\x8b"
            layers.append({"mediaType": mt.DOCKER_LAYER_GZIP if gz else DOCKER_LAYER_TAR,
                           "size": b.size, "digest": str(b.digest)})
        manifest = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
                    "config": {"mediaType": mt.DOCKER_CONFIG, "size": cfg.size, "digest": str(cfg.digest)},
                    "layers": layers}
        raw = canonical_json(manifest)
        digest = Digest.of_bytes(raw)
        if not sink.has_blob(digest):
            w = sink.writer()
            w.write(raw)
            w.commit(digest, len(raw))
        tags = item.get("RepoTags") or []
        if not tags:
            raise ArchiveError(f"read image archive {path}: image {i} has no RepoTags (docker save it by name)")
        for t in tags:
            out.append(ArchiveImage(reference.parse(str(t)), digest, mt.DOCKER_MANIFEST, raw, path))
    return out


def import_archives(paths: Sequence[Path], sink: BlobSink) -> list[ArchiveImage]:
    """Import every archive; later archives win when two name the same reference."""
    by_ref: dict[str, ArchiveImage] = {}
    for p in paths:
        for img in import_archive(Path(p), sink):
            by_ref[str(img.reference)] = img
    return [by_ref[k] for k in sorted(by_ref)]

"""Resolve what to cache for each image: the manifests to serve and the blobs they need.

Multi-platform policy:

* An image pulled **by tag** whose top manifest is an index keeps only the children for the requested platforms.
  When that drops children, a trimmed index is written (same JSON, fewer ``manifests``): the cached registry
  serves it for the tag, so every manifest it can serve is complete. The upstream digest is recorded as
  ``source_digest``. Nothing dropped → the original bytes and digest are kept.
* An image pinned **by digest** (``name@sha256:…``, with or without tag) keeps its exact bytes and therefore
  every child manifest of its index, complete (all platforms): a digest cannot be served trimmed.
* A plain manifest is cached as it is; its platform is read from its config.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sealer.digest import Digest
from sealer.errors import DigestError, UnsupportedError
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor, Index, Manifest, ManifestError, Platform, parse_any
from sealer.reference import Reference
from sealer.registry.options import BlobSink


class ImageProvider(Protocol):
    """Where images come from (a registry through the client, or imported archives)."""

    def manifest(self, ref: Reference) -> tuple[bytes, str]:
        """Raw bytes and media type of the manifest ``ref.identifier`` names (digest when pinned)."""
        ...

    def blob(self, ref: Reference, desc: Descriptor, sink: BlobSink) -> None:
        """Stream the blob into ``sink`` (verified on commit)."""
        ...


def repository_name(ref: Reference) -> str:
    """Where ``ref`` sits in the cached registry: its path without the registry host, the name a node asks
    for through a mirror (``docker.io/library/nginx`` → ``library/nginx``, ``quay.io/a/b`` → ``a/b``)."""
    return ref.path


@dataclass
class Resolved:
    """One image to cache: ``top`` is what the cached registry serves for it."""

    ref: Reference
    sources: list[str]
    repo: str
    tag: str | None
    top: Digest
    top_media_type: str
    source_digest: Digest
    manifests: dict[Digest, bytes] = field(default_factory=dict)     # top + children, raw bytes
    blobs: dict[Digest, Descriptor] = field(default_factory=dict)    # configs + layers
    configs: list[Digest] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    origin: str = "registry"

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.manifests.values()) + sum(d.size for d in self.blobs.values())


def _verify(raw: bytes, want: Digest, what: str) -> None:
    got = Digest.of_bytes(raw)
    if got != want:
        raise DigestError(f"verify {what}: manifest digest is {got}, want {want}")


def _trim(raw: bytes, keep: list[Descriptor], all_: Sequence[Descriptor]) -> bytes:
    if len(keep) == len(all_):
        return raw
    doc = json.loads(raw)
    wanted = {str(d.digest) for d in keep}
    doc["manifests"] = [m for m in doc["manifests"] if m.get("digest") in wanted]
    return json.dumps(doc, indent=2).encode()


def _select(index: Index, platforms: Sequence[Platform], ref: Reference) -> list[Descriptor]:
    keep: list[Descriptor] = []
    for p in platforms:
        hits = [d for d in index.manifests if d.platform and d.platform.matches(p)
                and mt.is_manifest(d.media_type or mt.OCI_MANIFEST)]
        if not hits:
            have = ", ".join(str(d.platform) for d in index.manifests if d.platform) or "none"
            raise ManifestError(f"select platform {p} of {ref}: not in its index (has {have})")
        if hits[0] not in keep:
            keep.append(hits[0])
    # keep the index order so the trimmed index reads like the original
    return [d for d in index.manifests if d in keep]


def resolve(source: ImageProvider, ref: Reference, sources: list[str], platforms: Sequence[Platform],
            origin: str = "registry") -> Resolved:
    raw, media_type = source.manifest(ref)
    if ref.digest is not None:
        _verify(raw, ref.digest, str(ref))
    source_digest = Digest.of_bytes(raw)
    doc = parse_any(raw, media_type or None)
    media_type = doc.media_type
    manifests: dict[Digest, bytes] = {}
    children: list[tuple[Descriptor, Manifest]] = []
    plats: list[str] = []
    if isinstance(doc, Index):
        keep = list(doc.manifests) if ref.digest is not None else _select(doc, platforms, ref)
        for d in keep:
            if mt.is_index(d.media_type):
                raise UnsupportedError(f"cache {ref}: nested index {d.digest} is not supported")
            craw, ctype = source.manifest(ref.with_digest(d.digest))
            _verify(craw, d.digest, f"{ref} child {d.digest}")
            children.append((d, Manifest.parse(craw, ctype or d.media_type or None)))
            manifests[d.digest] = craw
            if d.platform:
                plats.append(str(d.platform))
        raw = _trim(raw, keep, doc.manifests)
    else:
        children.append((Descriptor(media_type, source_digest, len(raw)), doc))
    top = Digest.of_bytes(raw)
    manifests[top] = raw
    r = Resolved(ref=ref, sources=list(sources), repo=repository_name(ref), tag=ref.tag, top=top,
                 top_media_type=media_type, source_digest=source_digest, manifests=manifests,
                 platforms=plats, origin=origin)
    for _, m in children:
        r.configs.append(m.config.digest)
        r.blobs[m.config.digest] = m.config
        for layer in m.layers:
            if layer.urls and "foreign" in layer.media_type:
                continue  # non-distributable layers are never served by registries
            r.blobs[layer.digest] = layer
    return r


def platform_of_config(raw: bytes) -> str | None:
    try:
        cfg = json.loads(raw)
        p = Platform.from_json({"os": cfg.get("os", "linux"), "architecture": cfg.get("architecture", "amd64"),
                                "variant": cfg.get("variant")})
        return str(p)
    except (ValueError, AttributeError, TypeError):
        return None

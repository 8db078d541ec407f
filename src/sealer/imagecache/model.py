"""Value types of image caching (the ``io.sealer.images`` label itself is owned by :mod:`sealer.oci.labels`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sealer.digest import Digest
from sealer.errors import SealerError
from sealer.oci.model import Descriptor


@dataclass
class ServedImage:
    """One image served by the cached registry.

    ``reference`` is the fully normalised reference as discovered; ``digest`` is what the cached registry serves
    for it (equal to the upstream digest unless the index was trimmed to the cached platforms: see
    ``source_digest``); ``repository``/``tag`` are where it sits in the registry layout.
    """

    reference: str
    digest: Digest
    media_type: str
    platforms: list[str]
    size: int
    sources: list[str]
    repository: str = ""
    tag: str | None = None
    source_digest: Digest | None = None
    origin: str = "registry"            # registry | archive:<file> | base

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "digest": str(self.digest), "mediaType": self.media_type,
                "platforms": list(self.platforms), "size": self.size, "sources": list(self.sources),
                "repository": self.repository, "tag": self.tag,
                "sourceDigest": str(self.source_digest) if self.source_digest else None, "origin": self.origin}


@dataclass
class CachedLayer:
    """A layer of the cluster image holding cached images (plain tar; already a blob in the store)."""

    descriptor: Descriptor
    diff_id: Digest
    created_by: str
    images: list[str]


@dataclass
class CacheResult:
    layers: list[CachedLayer]
    images: list[ServedImage]
    fetched_bytes: int
    reused_bytes: int
    warnings: list[str] = field(default_factory=list)


class CacheError(SealerError):
    """An image could not be cached (the message names it and where it was discovered)."""

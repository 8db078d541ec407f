"""Image sources for caching: a registry (through :class:`sealer.registry.client.RegistryClient`) and imported
image archives (served from the blob cache)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sealer.errors import NotFoundError
from sealer.imagecache.archives import ArchiveImage
from sealer.imagecache.fetch import BlobCache
from sealer.oci.model import Descriptor, media_type_of
from sealer.reference import Reference
from sealer.registry.options import BlobSink

if TYPE_CHECKING:
    from sealer.registry.client import RegistryClient


class RegistrySource:
    """Adapts the registry client: ``get_manifest(ref)`` and ``fetch_blob(ref, desc, sink)``."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def manifest(self, ref: Reference) -> tuple[bytes, str]:
        raw, media_type, _ = self.client.get_manifest(ref)
        return raw, media_type or media_type_of(raw)

    def blob(self, ref: Reference, desc: Descriptor, sink: BlobSink) -> None:
        self.client.fetch_blob(ref, desc, sink)


class ArchiveSource:
    """Serves images imported from archives; every blob is already in the blob cache."""

    def __init__(self, images: list[ArchiveImage], cache: BlobCache) -> None:
        self.by_name = {_key(i.reference): i for i in images}
        self.cache = cache

    def find(self, ref: Reference) -> ArchiveImage | None:
        img = self.by_name.get(_key(ref))
        if img is None and ref.digest is not None:
            for i in self.by_name.values():
                if i.reference.repository == ref.repository and i.digest == ref.digest:
                    return i
        return img

    def manifest(self, ref: Reference) -> tuple[bytes, str]:
        if ref.digest is not None and self.cache.has_blob(ref.digest):
            raw = self.cache.read_blob(ref.digest)
            img = self.find(ref)
            mtype = img.media_type if img is not None and img.digest == ref.digest else media_type_of(raw)
            return raw, mtype
        img = self.find(ref)
        if img is None:
            raise NotFoundError(f"read {ref}: not in any image archive")
        return img.raw, img.media_type

    def blob(self, ref: Reference, desc: Descriptor, sink: BlobSink) -> None:
        if not self.cache.has_blob(desc.digest):
            raise NotFoundError(f"read blob {desc.digest} of {ref}: not in its image archive")


def _key(ref: Reference) -> str:
    return f"{ref.repository}:{ref.tag or 'latest'}"

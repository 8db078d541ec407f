"""Pull a cluster image from a registry into the local store, and push one back.

Blobs move concurrently (bounded by ``max_parallel``); a lease keeps them from gc while the pull runs;
manifests are stored after their blobs and the ref is set last, so nothing partial is ever visible.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TypeVar

from sealer import reference
from sealer.digest import Digest
from sealer.errors import RegistryError
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor, Index, Manifest, ManifestError, Platform, parse_any
from sealer.reference import Reference
from sealer.registry.client import RegistryClient, by_digest, select_platform
from sealer.registry.options import ProgressLike, RegistryOptions
from sealer.store.layout import Store, StoredRef

T = TypeVar("T")


def run_parallel(fns: list[Callable[[], T]], max_parallel: int) -> list[T]:
    """Run ``fns`` on a bounded pool; wait for all, then raise the first error (in submission order)."""
    if not fns:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(fns)))) as pool:
        futures = [pool.submit(f) for f in fns]
        for f in futures:
            f.exception()
    return [f.result() for f in futures]


def _blobs_of(manifests: list[Manifest]) -> list[Descriptor]:
    seen: dict[Digest, Descriptor] = {}
    for m in manifests:
        for d in (m.config, *m.layers):
            seen.setdefault(d.digest, d)
    return list(seen.values())


def pull(store: Store, ref: str, options: RegistryOptions | None = None, *, platform: Platform | None = None,
         all_platforms: bool = False, progress: ProgressLike | None = None) -> StoredRef:
    """Pull ``ref`` into ``store`` and tag it there. One platform (``platform`` or this host's) unless
    ``all_platforms``, in which case the whole index is kept."""
    r = reference.parse(ref)
    options = options or RegistryOptions()
    with RegistryClient(options, progress) as client, store.lease() as lease:
        raw, media, digest = client.get_manifest(r)
        top = Descriptor(media, digest, len(raw))
        try:
            doc = parse_any(raw, media)
            docs: list[tuple[Descriptor, bytes, Manifest]] = []
            if isinstance(doc, Index):
                children = [d for d in doc.manifests if mt.is_manifest(d.media_type)] if all_platforms \
                    else [select_platform(doc, platform)]
                for c in children:
                    craw, cmedia, _ = client.get_manifest(by_digest(r, c.digest))
                    docs.append((c, craw, Manifest.parse(craw, c.media_type or cmedia)))
            else:
                docs.append((top, raw, doc))
        except ManifestError as e:
            raise RegistryError(f"pull {r}: {e}") from None
        blobs = _blobs_of([m for _, _, m in docs])
        for b in blobs:
            lease.add(b.digest)
        def fetch(b: Descriptor) -> Callable[[], Digest]:
            return lambda: client.fetch_blob(r, b, store)

        run_parallel([fetch(b) for b in blobs], options.max_parallel)
        for d, craw, _ in docs:
            lease.add(d.digest)
            store.put_bytes(craw, d.digest)
        if isinstance(doc, Index) and all_platforms:
            store.put_bytes(raw, digest)
            target = top
        else:
            target = docs[0][0]
            target = Descriptor(target.media_type, target.digest, target.size, None, target.platform)
        name = str(r)
        store.set_ref(name, target)
        return StoredRef(store.normalize(name), target)


def push(store: Store, ref: str, dest: str | None = None, options: RegistryOptions | None = None,
         progress: ProgressLike | None = None) -> Digest:
    """Push the stored image ``ref`` to ``dest`` (default: its own name). Returns the manifest digest."""
    src = store.resolve(ref)
    target = reference.parse(dest or src.name)
    source_name: Reference | None = None
    try:
        source_name = reference.parse(src.name)
    except Exception:  # noqa: BLE001 - a name we cannot mount from is fine
        source_name = None
    options = options or RegistryOptions()
    top_raw = store.read_blob(src.descriptor.digest)
    try:
        doc = parse_any(top_raw, src.descriptor.media_type)
        children: list[tuple[Descriptor, bytes, Manifest]] = []
        if isinstance(doc, Index):
            for c in doc.manifests:
                craw = store.read_blob(c.digest)
                children.append((c, craw, Manifest.parse(craw, c.media_type)))
            manifests = [m for _, _, m in children]
        else:
            manifests = [doc]
    except ManifestError as e:
        raise RegistryError(f"push {src.name}: {e}") from None
    with RegistryClient(options, progress) as client:
        blobs = _blobs_of(manifests)

        def upload(b: Descriptor) -> Callable[[], bool]:
            def opener() -> IO[bytes]:
                return store.open_blob(b.digest)
            return lambda: client.push_blob(target, b, opener, source_name)

        run_parallel([upload(b) for b in blobs], options.max_parallel)
        for c, craw, _ in children:
            client.put_manifest(by_digest(target, c.digest), craw, c.media_type or mt.OCI_MANIFEST)
        return client.put_manifest(target, top_raw, src.descriptor.media_type)

"""Cache every discovered image into the cluster image's ``registry/`` (docker-distribution layout), as layers.

    result = cache_images(found.images, store=store, client=client, platforms=[Platform.parse("linux/amd64")],
                          workdir=tmp, reuse_dirs=[rootfs / "registry"], archives=find_archives(rootfs))
    # result.layers: plain-tar layers (already blobs in ``store``) to append to the cluster image, in order
    # result.images: what the cached registry serves (record them in the io.sealer.images label)

Pipeline: normalise requests → import image archives (offline sources) → reuse images already complete in the
base image's ``registry/`` → resolve manifests (concurrently) → fetch missing blobs (concurrently, streamed,
verified) into the blob cache ``STORE/cache/registry-blobs`` → plan and write deterministic layers
(see :mod:`sealer.imagecache.layers`) → check that every image is complete. Nothing is tagged in the
store: a failed run leaves only verified blobs (for resuming) and unreferenced layer blobs (for gc).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sealer.digest import Digest, sha256_file
from sealer.distlayout.layout import Entry, RegistryDir, blob_data_path, materialize
from sealer.imagecache.archives import ARCHIVE_DIR, find_archives, import_archives
from sealer.imagecache.fetch import BlobCache, BlobJob, CountingSink, blob_cache, fetch_all, fetch_one, rewrap
from sealer.imagecache.layers import KEEP_SMALL, LayerMemo, drop_large, plan_layers, write_layers
from sealer.imagecache.model import (
    CachedLayer,
    CacheError,
    CacheResult,
    ServedImage,
)
from sealer.imagecache.resolve import ImageProvider, Resolved, platform_of_config, repository_name, resolve
from sealer.imagecache.sources import ArchiveSource, RegistrySource
from sealer.imagecache.stream import CannotStream, stream_layer
from sealer.imagecache.verify import VerifyReport, inspect_dir_image, verify_registry
from sealer.oci.model import Platform, host_platform
from sealer.progress import CacheReporter, LogCacheReporter
from sealer.reference import Reference
from sealer.store import Store

ARCHIVES_DIR = ARCHIVE_DIR
log = logging.getLogger(__name__)

__all__ = [
    "ARCHIVES_DIR", "CacheError", "CacheResult", "ServedImage", "CachedLayer", "VerifyReport",
    "cache_images", "cache_to_dir", "find_archives", "repository_name", "verify_registry",
]


class _Request:
    def __init__(self, ref: Reference, sources: list[str]) -> None:
        self.ref = ref
        self.sources = sources

    @property
    def where(self) -> str:
        shown = ", ".join(self.sources[:3]) + (f" (+{len(self.sources) - 3} more)" if len(self.sources) > 3 else "")
        return f"{self.ref} (found in {shown})" if shown else str(self.ref)


def _requests(items: Iterable[Any]) -> list[_Request]:
    merged: dict[str, _Request] = {}
    for it in items:
        if isinstance(it, Reference):
            ref, srcs = it, []
        elif isinstance(it, tuple):
            ref, srcs = it[0], [str(s) for s in it[1]]
        else:  # FoundImage
            ref, srcs = it.reference, [str(s) for s in it.sources]
        key = str(ref)
        if key in merged:
            merged[key].sources += [s for s in srcs if s not in merged[key].sources]
        else:
            merged[key] = _Request(ref, list(srcs))
    return [merged[k] for k in sorted(merged)]


def _from_base(dirs: Sequence[RegistryDir], req: _Request, want: Sequence[str] | None = None) -> ServedImage | None:
    repo = repository_name(req.ref)
    for d in dirs:
        if req.ref.tag and d.tag(repo, req.ref.tag) is None:
            continue
        c = inspect_dir_image(d.root, str(req.ref), repo, req.ref.tag, req.ref.digest, want_platforms=want)
        if not c.problems and c.digest is not None:
            return ServedImage(str(req.ref), c.digest, c.media_type, c.platforms, c.size, req.sources,
                               repo, req.ref.tag, c.digest, "base")
    return None


def _check_conflicts(images: Sequence[Resolved]) -> None:
    seen: dict[tuple[str, str], Resolved] = {}
    for r in images:
        if not r.tag:
            continue
        other = seen.setdefault((r.repo, r.tag), r)
        if other is not r and other.top != r.top:
            raise CacheError(f"cache {r.ref}: {other.ref} is a different image with the same name "
                             f"{r.repo}:{r.tag} in the cached registry (the registry host is not part of it)")


def _verify_blobs(cache: BlobCache, digests: Sequence[Digest], parallel: int) -> None:
    """Re-hash blobs taken from an earlier build's blob cache (disks rot; ours never serves corrupt data)."""
    def one(d: Digest) -> Digest | None:
        got, _ = sha256_file(str(cache.blob_path(d)))
        if got != d:
            cache.blob_path(d).unlink(missing_ok=True)
            return d
        return None
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        bad = [d for d in pool.map(one, digests) if d is not None]
    if bad:
        raise CacheError(f"verify blob cache {cache.root}: {len(bad)} corrupt blob(s) removed "
                         f"({', '.join(d.short for d in bad[:5])}); run the build again to refetch them")


def _resolve_all(reqs: Sequence[_Request], pick: Any, platforms: Sequence[Platform],
                 parallel: int) -> list[Resolved]:
    def one(req: _Request) -> Resolved:
        source, origin = pick(req)
        try:
            return resolve(source, req.ref, req.sources, platforms, origin)
        except Exception as e:  # noqa: BLE001 - re-raised with the image and its sources
            raise rewrap(e, f"cache {req.where}") from e
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="resolve") as pool:
        return list(pool.map(one, reqs))


def cache_images(references: Sequence[Any], *, store: Store, client: Any | None,
                 platforms: Sequence[Platform] = (), workdir: Path | None = None,
                 reuse_dirs: Sequence[Path] = (), archives: Sequence[Path] = (), max_parallel: int = 8,
                 progress: CacheReporter | None = None) -> CacheResult:
    """Cache ``references`` (FoundImage list, ``(Reference, [source, ...])`` pairs or References) as layers in
    ``store``. See the module docstring; raises a SealerError naming the image and where it was found."""
    platforms = list(platforms) or [host_platform()]
    prog = progress or LogCacheReporter()
    cache = blob_cache(store.root)
    sink = CountingSink(cache, prog.add_bytes)
    before: set[Digest] = set()  # blobs already in the blob cache: re-verified before use
    reqs, arch_source = _with_archives(_requests(references), archives, cache)
    base_dirs = [RegistryDir(Path(d)) for d in reuse_dirs if Path(d).is_dir()]
    from_base, todo = _split_base(reqs, base_dirs, arch_source, [str(p) for p in platforms])

    registry = RegistrySource(client) if client is not None else None

    def pick(req: _Request) -> tuple[ImageProvider, str]:
        ai = arch_source.find(req.ref)
        if ai is not None:
            return arch_source, f"archive:{ai.archive.name}"
        if registry is None:
            raise CacheError("no registry client and no image archive provides it")
        return registry, "registry"

    resolved = _resolve_all(todo, pick, platforms, max_parallel)
    _check_conflicts(resolved)
    for r in resolved:
        for d, raw in r.manifests.items():
            if not cache.has_blob(d):
                cache.put_bytes(raw, d)

    def in_base(d: Digest) -> bool:
        return any(b.has_blob(d) for b in base_dirs)

    # Layers are planned before fetching (sizes come from the descriptors) and each one is written as soon as
    # every blob it holds is in the blob cache, so layer writes overlap with the remaining downloads.
    sizes: dict[Digest, int] = {}
    for r in resolved:
        sizes.update({d: len(raw) for d, raw in r.manifests.items()})
        sizes.update({d: desc.size for d, desc in r.blobs.items()})
    plans = plan_layers(resolved, lambda d: Entry.blob(d, cache.blob_path(d), sizes[d]), in_base)
    problems = _check_plan(resolved, plans, in_base)
    if problems:
        raise CacheError("cache images: incomplete plan:\n  " + "\n  ".join(problems))
    # A layer is a pure function of its entries: one made by an earlier build (memo, blob still in the store)
    # is reused as is, and the large blobs only it holds are not fetched again.
    memo = LayerMemo(store)
    ready: dict[int, CachedLayer] = {}
    for i, plan in enumerate(plans):
        memo_hit = memo.get(plan)
        if memo_hit is not None:
            ready[i] = memo_hit
    open_blobs = {e.digest for i, p in enumerate(plans) if i not in ready for e in p.entries if e.digest}
    skip_fetch = {d for d, n in sizes.items() if n > KEEP_SMALL and d not in open_blobs}

    jobs, need, reused = _fetch_jobs(resolved, pick, cache, in_base, skip_fetch, before)
    remaining = {str(r.ref): {d for d in r.blobs if d in jobs} for r in resolved}
    prog.start(len(reqs), sum(j.desc.size for j in jobs.values()))
    for b in from_base:
        prog.image_done(b.reference, "(in base image)")
    for ref, left in remaining.items():
        if not left:
            prog.image_done(ref)

    _verify_blobs(cache, sorted(before - {d for d in before if in_base(d)}), max(1, min(4, max_parallel)))
    # Large blobs from a registry are streamed straight into their layer (written once); the rest go through the
    # blob cache first. A layer the stream cannot finish is fetched into the blob cache and written from there.
    streamable = {d: j for d, j in jobs.items() if j.desc.size > KEEP_SMALL and isinstance(j.source, RegistrySource)}
    small_jobs = [j for d, j in jobs.items() if d not in streamable]
    results: dict[int, CachedLayer] = dict(ready)

    def done(job: BlobJob) -> None:
        for ref in need.get(job.digest, ()):
            left = remaining[ref]
            left.discard(job.digest)
            if not left:
                prog.image_done(ref)

    # Small blobs (configs, small layers) download on their own pool, all requested at once, while each layer's
    # thread streams its large blobs: the tar writer waits for a small blob only when it reaches that entry.
    # No barrier between images; a small blob two layers hold is fetched once.
    small = {j.digest: j for j in small_jobs}
    claims: dict[Digest, Future[None]] = {}
    claims_lock = threading.Lock()
    small_pool = ThreadPoolExecutor(max_workers=max(1, max_parallel), thread_name_prefix="small")

    def fetch_small_one(d: Digest) -> None:
        fetch_one(small[d], sink)
        done(small[d])

    def claim(d: Digest) -> Future[None]:
        with claims_lock:
            fut = claims.get(d)
            if fut is None:
                fut = claims[d] = small_pool.submit(fetch_small_one, d)
            return fut

    def one(i: int) -> tuple[int, CachedLayer]:
        plan = plans[i]
        futs = {e.digest: claim(e.digest) for e in plan.entries if e.digest in small}
        mine = {e.digest: streamable[e.digest] for e in plan.entries if e.digest in streamable}

        def until_cached(d: Digest) -> None:
            if d in futs:
                futs[d].result()
        try:
            layer = stream_layer(store, plan, mine, prog.add_bytes, until_cached)
        except CannotStream as e:
            log.info("%s: %s; its blobs go through the blob cache", plan.created_by, e)
            for f in futs.values():
                f.result()
            fetch_all(mine.values(), sink, 1)
            layer = write_layers(store, [plan], parallel=1)[0]
        for f in futs.values():
            f.result()
        for job in mine.values():
            done(job)
        memo.put(plan, layer)  # right away, overlapping other layers (a memo is checked against the store on use)
        return i, layer

    try:
        # largest layers first (longest-processing-time order): the last layers to finish are small ones, so the
        # end of the stage does not wait on one big stream running alone
        pending = sorted((i for i in range(len(plans)) if i not in ready),
                         key=lambda i: (-sum(e.size for e in plans[i].entries), i))
        with small_pool, ThreadPoolExecutor(max_workers=max(1, max_parallel), thread_name_prefix="layer") as pool:
            try:
                # the layer threads start first (each claims its own small blobs), then every other small blob
                # is requested: those of the queued layers, and those no layer to write holds (configs of
                # reused layers, for the platform list)
                written = pool.map(one, pending)
                rest_futs = [claim(e.digest) for i in pending for e in plans[i].entries if e.digest in small]
                rest_futs += [claim(d) for d in sorted(small)]
                for i, layer in written:
                    results[i] = layer
                for f in rest_futs:
                    f.result()
            except BaseException:
                small_pool.shutdown(wait=False, cancel_futures=True)  # first failure: fetch nothing more
                raise
        images = _cached_images(resolved, cache) + from_base
        layers = [results[i] for i in range(len(plans))]
    finally:
        prog.close()
    # The layers now hold the large blobs durably; their blob-cache copies go before the kernel writes them back.
    drop_large(cache, {e.digest for p in plans for e in p.entries if e.digest and sizes.get(e.digest, 0) > KEEP_SMALL})
    images.sort(key=lambda i: i.reference)
    fetched = sum(j.desc.size for j in jobs.values())
    return CacheResult(layers, images, fetched, reused)


def _with_archives(reqs: list[_Request], archives: Sequence[Path],
                   cache: BlobCache) -> tuple[list[_Request], ArchiveSource]:
    """Import the image archives into the blob cache; their images are requested too. Sorted by reference."""
    arch_images = import_archives(list(archives), cache) if archives else []
    known = {str(r.ref) for r in reqs}
    for ai in arch_images:
        if str(ai.reference) not in known:
            reqs.append(_Request(ai.reference, [ai.where]))
    reqs.sort(key=lambda r: str(r.ref))
    return reqs, ArchiveSource(arch_images, cache)


def _split_base(reqs: Sequence[_Request], base_dirs: Sequence[RegistryDir], arch_source: ArchiveSource,
                want: Sequence[str] | None = None) -> tuple[list[ServedImage], list[_Request]]:
    """The images complete in the base image's registry/ (not taken from an archive), and the rest."""
    from_base: list[ServedImage] = []
    todo: list[_Request] = []
    for req in reqs:
        hit = _from_base(base_dirs, req, want) if arch_source.find(req.ref) is None else None
        if hit is not None:
            from_base.append(hit)
        else:
            todo.append(req)
    return from_base, todo


def _fetch_jobs(resolved: Sequence[Resolved], pick: Callable[[_Request], tuple[ImageProvider, str]],
                cache: BlobCache, in_base: Callable[[Digest], bool], skip_fetch: set[Digest],
                before: set[Digest]) -> tuple[dict[Digest, BlobJob], dict[Digest, set[str]], int]:
    """The blobs to download (one job per digest), which images wait for each, and the bytes reused instead
    (in the base image, in a reused layer, or already in the blob cache: those are added to ``before``)."""
    jobs: dict[Digest, BlobJob] = {}
    need: dict[Digest, set[str]] = defaultdict(set)
    reused = 0
    for r in resolved:
        source, _ = pick(_Request(r.ref, r.sources))
        for d, desc in r.blobs.items():
            if in_base(d) or d in skip_fetch:
                reused += desc.size if d not in jobs and d not in need else 0
                continue
            if cache.has_blob(d):
                if d not in before and d not in jobs:
                    before.add(d)
                    reused += desc.size
                continue
            need[d].add(str(r.ref))
            jobs.setdefault(d, BlobJob(d, desc, source, r.ref, _Request(r.ref, r.sources).where))
    return jobs, need, reused


def _cached_images(resolved: Sequence[Resolved], cache: BlobCache) -> list[ServedImage]:
    out = []
    for r in resolved:
        plats = list(r.platforms)
        if not plats:
            for c in r.configs:
                p = platform_of_config(cache.read_blob(c))
                if p and p not in plats:
                    plats.append(p)
        out.append(ServedImage(str(r.ref), r.top, r.top_media_type, plats, r.size, r.sources, r.repo, r.tag,
                               r.source_digest, r.origin))
    return out


def _check_plan(resolved: Sequence[Resolved], plans: Sequence[Any], in_base: Any) -> list[str]:
    """Every manifest and blob of every image is written by some layer or present in the base."""
    written = {e.path for p in plans for e in p.entries}
    problems = []
    for r in resolved:
        for d in [*r.manifests, *r.blobs]:
            if blob_data_path(d) not in written and not in_base(d):
                problems.append(f"{r.ref}: blob {d} is in no layer")
    return problems


def cache_to_dir(references: Sequence[Any], root: Path, *, store: Store, client: Any | None,
                 platforms: Sequence[Platform] = (), max_parallel: int = 8, progress: CacheReporter | None = None,
                 archives: Sequence[Path] = ()) -> list[ServedImage]:
    """Cache images straight into a registry directory ``root`` (no layers): for benchmarks and tools.
    Blob files are hard-linked from the blob cache when on the same filesystem."""
    platforms = list(platforms) or [host_platform()]
    prog = progress or LogCacheReporter()
    cache = blob_cache(store.root)
    sink = CountingSink(cache, prog.add_bytes)
    reqs = _requests(references)
    arch_images = import_archives(list(archives), cache) if archives else []
    arch_source = ArchiveSource(arch_images, cache)
    registry = RegistrySource(client) if client is not None else None

    def pick(req: _Request) -> tuple[ImageProvider, str]:
        if arch_source.find(req.ref) is not None:
            return arch_source, "archive"
        if registry is None:
            raise CacheError("no registry client and no image archive provides it")
        return registry, "registry"

    resolved = _resolve_all(reqs, pick, platforms, max_parallel)
    _check_conflicts(resolved)
    jobs: dict[Digest, BlobJob] = {}
    for r in resolved:
        for d, raw in r.manifests.items():
            if not cache.has_blob(d):
                cache.put_bytes(raw, d)
        src, _ = pick(_Request(r.ref, r.sources))
        for d, desc in r.blobs.items():
            jobs.setdefault(d, BlobJob(d, desc, src, r.ref, _Request(r.ref, r.sources).where))
    prog.start(len(resolved), sum(j.desc.size for j in jobs.values() if not cache.has_blob(j.digest)))
    try:
        fetch_all(jobs.values(), sink, max_parallel)
        plans = plan_layers(resolved, lambda d: Entry.blob(d, cache.blob_path(d), cache.blob_size(d)),
                            lambda d: False)
        materialize(root, [e for p in plans for e in p.entries], hardlink=True)
        for r in resolved:
            prog.image_done(str(r.ref))
    finally:
        prog.close()
    return _cached_images(resolved, cache)


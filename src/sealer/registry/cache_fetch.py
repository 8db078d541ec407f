"""Fetch blobs concurrently into the content-addressed blob cache, counting bytes for the progress display.

The blob cache is a store of its own under ``STORE/cache/registry-blobs`` (an OCI layout whose ``index.json``
stays empty): every blob is streamed to ``ingest/``, hashed while written and renamed into ``blobs/`` only once
verified, so a failed or interrupted build keeps exactly the complete blobs and a rerun fetches the rest.
Deleting the directory is always safe (it only costs refetching).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealer.digest import Digest
from sealer.errors import SealerError
from sealer.oci.model import Descriptor
from sealer.reference import Reference
from sealer.registry.cache_resolve import ImageSource
from sealer.store import Store

BLOB_CACHE_DIR = "cache/registry-blobs"


def blob_cache(store_root: Path) -> Store:
    return Store(Path(store_root) / BLOB_CACHE_DIR)


class _CountingWriter:
    def __init__(self, inner: Any, on_bytes: Callable[[int], None]) -> None:
        self._inner = inner
        self._on_bytes = on_bytes

    def write(self, data: bytes) -> int:
        n = int(self._inner.write(data))
        self._on_bytes(len(data))
        return n

    @property
    def size(self) -> int:
        return int(self._inner.size)

    @property
    def digest(self) -> Digest:
        d: Digest = self._inner.digest
        return d

    def commit(self, expected: Digest | None = None, size: int | None = None) -> Digest:
        d: Digest = self._inner.commit(expected, size)
        return d

    def abort(self, keep: bool = False) -> None:
        self._inner.abort(keep)

    def __enter__(self) -> _CountingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)


class CountingSink:
    """A BlobSink over the blob cache that reports every byte written."""

    def __init__(self, cache: Store, on_bytes: Callable[[int], None]) -> None:
        self.cache = cache
        self._on_bytes = on_bytes

    def has_blob(self, digest: Digest) -> bool:
        return self.cache.has_blob(digest)

    def writer(self, key: str | None = None, resume: bool = False) -> _CountingWriter:
        return _CountingWriter(self.cache.writer(key, resume), self._on_bytes)

    def blob_path(self, digest: Digest) -> Path:
        return self.cache.blob_path(digest)


@dataclass(frozen=True)
class BlobJob:
    digest: Digest
    desc: Descriptor
    source: ImageSource
    ref: Reference
    where: str            # "REF (found in ...)" for error messages


def fetch_all(jobs: Iterable[BlobJob], sink: CountingSink, max_parallel: int,
              on_done: Callable[[BlobJob], None] | None = None) -> None:
    """Fetch every job's blob into ``sink`` with at most ``max_parallel`` transfers at once.

    The first failure stops scheduling new transfers, lets running ones finish (their verified blobs stay for a
    rerun) and is raised naming the image and where it was discovered."""
    todo = [j for j in jobs if not sink.has_blob(j.digest)]
    if not todo:
        return

    def one(job: BlobJob) -> BlobJob:
        if not sink.has_blob(job.digest):
            job.source.blob(job.ref, job.desc, sink)
            if not sink.has_blob(job.digest):
                raise SealerError(f"fetch blob {job.digest} of {job.where}: source did not store it")
        if on_done is not None:
            on_done(job)
        return job

    with ThreadPoolExecutor(max_workers=max(1, max_parallel), thread_name_prefix="fetch") as pool:
        futures: dict[Future[BlobJob], BlobJob] = {pool.submit(one, j): j for j in todo}
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            for f in pending:
                f.cancel()
            wait(pending)
            f = failed[0]
            job = futures[f]
            exc = f.exception()
            assert exc is not None
            raise rewrap(exc, f"cache {job.where}: fetch blob {job.digest.short}") from exc


def rewrap(exc: BaseException, prefix: str) -> SealerError:
    """The same error class (so AuthError stays an AuthError) with ``prefix`` naming image and place."""
    msg = f"{prefix}: {exc}"
    if isinstance(exc, SealerError):
        try:
            new = type(exc)(msg)
            if str(new) == msg:
                return new
        except TypeError:
            pass
    return SealerError(msg)

"""Fetch blobs concurrently into the content-addressed blob cache, counting bytes for the progress display.

The blob cache lives under ``STORE/cache/registry-blobs`` (``blobs/sha256/<hex>`` + ``ingest/``): every blob is
streamed to ``ingest/``, hashed while written and renamed into ``blobs/`` only once verified, so a failed or
interrupted build keeps exactly the complete blobs and a rerun fetches the rest. It is a cache: files are not
fsynced (the layers written into the store are), and blobs left by an earlier run are re-hashed before use, so
a crash can cost a refetch, never a corrupt layer. Deleting the directory is always safe.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealer.digest import Digest
from sealer.errors import DigestError, SealerError, StoreError
from sealer.imagecache.resolve import ImageProvider
from sealer.oci.model import Descriptor
from sealer.reference import Reference
from sealer.store.ingest import IngestWriter

BLOB_CACHE_DIR = "cache/registry-blobs"


class BlobCache:
    """Content-addressed, verified blob files (a BlobSink for the registry client)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.root / "ingest").mkdir(parents=True, exist_ok=True)

    def blob_path(self, digest: Digest) -> Path:
        return self.root / "blobs" / "sha256" / digest.hex

    def has_blob(self, digest: Digest) -> bool:
        return self.blob_path(digest).is_file()

    def blob_size(self, digest: Digest) -> int:
        return self.blob_path(digest).stat().st_size

    def writer(self, key: str | None = None, resume: bool = False) -> IngestWriter:
        """Not fsynced: this is a cache, and blobs left by an earlier run are re-hashed before use."""
        return IngestWriter(self.root / "ingest" / (key or f"w-{os.getpid()}-{uuid.uuid4().hex}"), self.blob_path,
                            resume=resume, durable=False)

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> Digest:
        d = Digest.of_bytes(data)
        if expected is not None and d != expected:
            raise DigestError(f"write blob: digest is {d}, want {expected}")
        if not self.has_blob(d):
            with self.writer() as w:
                w.write(data)
                w.commit(d, len(data))
        return d

    def read_blob(self, digest: Digest, limit: int = 16 << 20) -> bytes:
        try:
            with open(self.blob_path(digest), "rb") as fp:
                data = fp.read(limit + 1)
        except FileNotFoundError:
            raise StoreError(f"read blob {digest}: not in the blob cache {self.root}") from None
        if len(data) > limit:
            raise StoreError(f"read blob {digest}: larger than {limit} bytes")
        if Digest.of_bytes(data) != digest:
            self.blob_path(digest).unlink(missing_ok=True)
            raise DigestError(f"read blob {digest}: corrupt in the blob cache (removed; run again)")
        return data


def blob_cache(store_root: Path) -> BlobCache:
    return BlobCache(Path(store_root) / BLOB_CACHE_DIR)


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

    def __init__(self, cache: BlobCache, on_bytes: Callable[[int], None]) -> None:
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
    source: ImageProvider
    ref: Reference
    where: str            # "REF (found in ...)" for error messages


def fetch_one(job: BlobJob, sink: CountingSink) -> None:
    """Fetch one job's blob into ``sink`` on this thread (nothing to do when it is there already); an error
    names the image and where it was discovered."""
    if sink.has_blob(job.digest):
        return
    try:
        job.source.blob(job.ref, job.desc, sink)
        if not sink.has_blob(job.digest):
            raise SealerError(f"fetch blob {job.digest} of {job.where}: source did not store it")
    except Exception as e:  # noqa: BLE001 - same class, image and place named
        raise rewrap(e, f"cache {job.where}: fetch blob {job.digest.short}") from e


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

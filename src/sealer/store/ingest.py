"""One blob streamed into an ingest file, hashed as it is written, verified and renamed into place on commit.

Used by the store (durable: fsync, publish under the store lock so gc keeps the blob) and by caches that
trade durability for speed (no fsync; they re-verify what an earlier run left).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sealer.digest import CHUNK, Digest
from sealer.errors import DigestError
from sealer.store.fsutil import fsync_dir

# Durable writers ask the kernel to start writing back every WRITEBACK_STEP bytes as soon as they are written
# (Linux's ``posix_fadvise(DONTNEED)`` starts the writeback of a range's dirty pages without waiting for it; it
# drops only pages already clean, and these are not, so the file stays cached), so the fsync on commit waits only
# for the last step instead of for the whole file (measured, stdlib pipeline of 12 parallel 16 MiB downloads:
# 0.33 s with a plain fsync at the end, 0.29–0.30 s with early writeback, 0.29–0.31 s with no fsync at all).
WRITEBACK_STEP = 8 << 20

# publish(digest, install): make the verified blob visible; ``install`` renames (or drops a duplicate).
Publisher = Callable[[Digest, Callable[[], None]], None]


def _direct(_: Digest, install: Callable[[], None]) -> None:
    install()


class IngestWriter:
    def __init__(self, path: Path, blob_path: Callable[[Digest], Path], *, resume: bool = False,
                 durable: bool = True, publish: Publisher = _direct) -> None:
        self.path = path
        self._blob_path = blob_path
        self._durable = durable
        self._publish = publish
        self._h = hashlib.sha256()
        self.size = 0
        mode = "r+b" if resume and path.exists() else "wb"
        self._fp: IO[bytes] = open(path, mode)  # noqa: SIM115 - closed in commit/abort
        if mode == "r+b":
            while b := self._fp.read(CHUNK):
                self._h.update(b)
                self.size += len(b)
        self._done = False
        self._written_back = self.size  # bytes up to here were handed to the kernel's writeback

    def write(self, data: bytes) -> int:
        self._h.update(data)
        self._fp.write(data)
        self.size += len(data)
        if self._durable and self.size - self._written_back >= WRITEBACK_STEP:
            self._start_writeback()
        return len(data)

    def _start_writeback(self) -> None:
        """Start the kernel writing back what was written since the last step (advice only: never fails)."""
        if hasattr(os, "posix_fadvise"):
            self._fp.flush()
            with contextlib.suppress(OSError):
                os.posix_fadvise(self._fp.fileno(), self._written_back, self.size - self._written_back,
                                 os.POSIX_FADV_DONTNEED)
        self._written_back = self.size

    def flush(self) -> None:
        """Writers stacked on top (gzip) flush; durability comes from ``commit``."""

    @property
    def digest(self) -> Digest:
        return Digest.from_hex(self._h.copy().hexdigest())

    def commit(self, expected: Digest | None = None, size: int | None = None) -> Digest:
        got = self.digest
        if self._durable:
            self._fp.flush()
            os.fsync(self._fp.fileno())
        self._fp.close()
        if size is not None and self.size != size:
            self.abort()
            raise DigestError(f"write blob {expected or got}: got {self.size} bytes, want {size}")
        if expected is not None and got != expected:
            self.abort()
            raise DigestError(f"write blob: digest is {got}, want {expected}")
        dst = self._blob_path(got)

        def install() -> None:
            if dst.exists():
                os.unlink(self.path)
            else:
                os.replace(self.path, dst)

        self._publish(got, install)
        self._done = True
        if self._durable:
            # after the publisher's lock is released (parallel commits share the journal commit); before
            # returning, so the caller never refers to a blob whose name a crash could lose. A duplicate's
            # name may still be on its way to disk from the other writer: synced here too.
            fsync_dir(dst.parent)
        return got

    def abort(self, keep: bool = False) -> None:
        if not self._fp.closed:
            self._fp.close()
        if not keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        self._done = True

    def __enter__(self) -> IngestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()

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

    def write(self, data: bytes) -> int:
        self._h.update(data)
        self._fp.write(data)
        self.size += len(data)
        return len(data)

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
                if self._durable:
                    fsync_dir(dst.parent)

        self._publish(got, install)
        self._done = True
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

"""Write a layer (a set of paths under a directory, plus whiteouts) into the store as a blob.

The tar stream is hashed uncompressed (diff_id) and, after gzip (isal, deterministic header), hashed again
while it streams into the store's ingest file (digest). Nothing is held in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from sealer.compression import decompressed, gzip_writer
from sealer.digest import Digest
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.progress import TaskReporter, task
from sealer.store import Store
from sealer.store.fsutil import atomic_write
from sealer.tario.write import write_entries, write_tree


@dataclass(frozen=True)
class WrittenLayer:
    descriptor: Descriptor
    diff_id: Digest


class _Tee:
    """A write-only file object that hashes what passes and forwards it."""

    def __init__(self, sink: Any, rep: TaskReporter | None = None) -> None:
        self._sink = sink
        self._h = hashlib.sha256()
        self.size = 0
        self._rep = rep

    def write(self, data: bytes) -> int:
        self._h.update(data)
        self.size += len(data)
        if self._rep is not None:
            self._rep.advance(len(data))
        self._sink.write(data)
        return len(data)

    def flush(self) -> None:
        pass

    @property
    def digest(self) -> Digest:
        return Digest.from_hex(self._h.hexdigest())


def write_layer(store: Store, root: str | os.PathLike[str], paths: Iterable[str] | None,
                whiteouts: Iterable[str] = (), *, compress: bool = True,
                opaque_dirs: Iterable[str] = ()) -> WrittenLayer:
    """Tar ``paths`` (relative to ``root``; None = all) into a new layer blob in ``store``."""
    with store.writer() as w, task("writing layer") as rep:
        if compress:
            gz = gzip_writer(w)
            tee = _Tee(gz, rep)
            write_tree(tee, root, paths, whiteouts, opaque_dirs=opaque_dirs)
            gz.close()
            media_type = mt.OCI_LAYER_GZIP
        else:
            tee = _Tee(w, rep)
            write_tree(tee, root, paths, whiteouts, opaque_dirs=opaque_dirs)
            media_type = mt.OCI_LAYER
        size = w.size
        digest = w.commit()
    return WrittenLayer(Descriptor(media_type, digest, size), tee.digest)


def open_layer(store: Store, desc: Descriptor) -> IO[bytes]:
    """Open a stored layer for reading as an uncompressed tar stream."""
    return decompressed(store.open_blob(desc.digest), desc.media_type)


def write_entries_layer(store: Store, entries: dict[str, str | None]) -> WrittenLayer:
    """A gzip layer from explicit entries (archive path -> source path), e.g. a COPY from the context."""
    with store.writer() as w, task("copying") as rep:
        gz = gzip_writer(w)
        tee = _Tee(gz, rep)
        write_entries(tee, entries)
        gz.close()
        size = w.size
        digest = w.commit()
    return WrittenLayer(Descriptor(mt.OCI_LAYER_GZIP, digest, size), tee.digest)


def layer_diff_id(store: Store, desc: Descriptor) -> Digest:
    """sha256 of the uncompressed layer (for configs that lack rootfs.diff_ids); memoised in the store."""
    memo = store.root / "cache" / "diffids" / desc.digest.hex
    try:
        return Digest(memo.read_text().strip())
    except (OSError, ValueError, Exception):  # noqa: BLE001 - absent or damaged memo: recompute
        pass
    h = hashlib.sha256()
    with open_layer(store, desc) as fp:
        while b := fp.read(1 << 20):
            h.update(b)
    got = Digest.from_hex(h.hexdigest())
    memo.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(memo, str(got).encode())
    return got

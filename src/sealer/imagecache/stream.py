"""Large blobs streamed straight from the registry into the cached-image layer being written.

The blob bytes are written once (into the layer's ingest file) and read once (off the socket), hashed twice on
the way: against the blob's digest and as part of the layer's. While few streams run, the blob hash runs on a
helper thread so the two hashes of one stream use two cores (hashlib releases the GIL for buffers this large);
once the streams alone keep every core busy, each stream hashes both on its own thread, as the helper's queue
and thread switches then cost more than they give (measured: the cache stage of 12 parallel 16 MiB streams on
2 cores, 0.46 s with a helper per stream, 0.41 s without). Anything the stream cannot handle — a download
that must restart from zero after bytes were already written, a mirror switch mid-blob — aborts that layer; the
caller then fetches its blobs into the blob cache and writes the layer from there (the general path).
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Mapping
from typing import IO

from sealer.digest import Digest
from sealer.distlayout.layout import Entry, write_layer_tar
from sealer.errors import DigestError, SealerError
from sealer.imagecache.fetch import BlobJob, rewrap
from sealer.imagecache.layers import LayerPlan
from sealer.imagecache.model import CachedLayer
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.store import Store


class CannotStream(SealerError):
    """The download would have to start over after bytes went into the layer."""


HASH_QUEUE = 16   # chunks (<= 1 MiB each) queued for the blob hash: bounds memory per stream


class _Hasher:
    """SHA-256 of a byte stream on its own thread: ``feed`` queues a chunk (bytes are immutable, so the writer
    goes on at once), ``hexdigest`` waits for the queue to drain. ``stop`` ends the thread without a result."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._q: queue.Queue[bytes | None] = queue.Queue(HASH_QUEUE)
        self._hex: str | None = None
        self._t = threading.Thread(target=self._run, name="blob-hash", daemon=True)
        self._t.start()

    def _run(self) -> None:
        while (b := self._q.get()) is not None:
            self._h.update(b)

    def feed(self, data: bytes) -> None:
        self._q.put(bytes(data) if not isinstance(data, bytes) else data)

    def hexdigest(self) -> str:
        if self._hex is None:
            self._q.put(None)
            self._t.join()
            self._hex = self._h.hexdigest()
        return self._hex

    def stop(self) -> None:
        if self._t.is_alive():
            self._q.put(None)
            self._t.join()


class _InlineHasher:
    """SHA-256 on the calling thread (the same interface as :class:`_Hasher`)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def feed(self, data: bytes) -> None:
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()

    def stop(self) -> None:
        pass


class _Streams:
    """How many blob streams are running in this process: a stream gets a helper hash thread only when it and
    the streams already running leave a core for each of their two hashes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0

    def _cores(self) -> int:
        return os.cpu_count() or 1

    def hasher(self) -> _Hasher | _InlineHasher:
        with self._lock:
            self.running += 1
            threaded = self.running * 2 <= self._cores()
        return _Hasher() if threaded else _InlineHasher()

    def release(self) -> None:
        with self._lock:
            self.running -= 1


STREAMS = _Streams()


class _BlobInLayer:
    """A BlobWriterLike that appends one blob's bytes to the layer stream, verifying them."""

    def __init__(self, out: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self._out = out
        self._on_bytes = on_bytes
        self._h = STREAMS.hasher()
        self._released = False
        self.size = 0

    def _release(self) -> None:
        if not self._released:
            self._released = True
            STREAMS.release()

    def write(self, data: bytes) -> int:
        self._h.feed(data)
        self._out.write(data)
        self.size += len(data)
        self._on_bytes(len(data))
        return len(data)

    def flush(self) -> None:
        pass

    @property
    def digest(self) -> Digest:
        """Final once read: the blob is complete when its digest is asked for (commit)."""
        hexdigest = self._h.hexdigest()
        self._release()
        return Digest.from_hex(hexdigest)

    def commit(self, expected: Digest | None = None, size: int | None = None) -> Digest:
        got = self.digest
        if size is not None and self.size != size:
            raise DigestError(f"stream blob {expected or got}: got {self.size} bytes, want {size}")
        if expected is not None and got != expected:
            raise DigestError(f"stream blob: digest is {got}, want {expected}")
        return got

    def abort(self, keep: bool = False) -> None:
        self._h.stop()
        self._release()


class _LayerSink:
    """A BlobSink for one blob: hands out a writer into the layer; a second writer is allowed only while
    nothing has been written yet (e.g. a mirror that answered 404)."""

    def __init__(self, out: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self._out = out
        self._on_bytes = on_bytes
        self._current: _BlobInLayer | None = None

    def has_blob(self, digest: Digest) -> bool:
        return False

    def writer(self, key: str | None = None, resume: bool = False) -> _BlobInLayer:
        if self._current is not None:
            self._current.abort()  # the caller starts over: the old writer's hash thread and slot go now
            if self._current.size:
                raise CannotStream("the download restarted after bytes were written into the layer")
        self._current = _BlobInLayer(self._out, self._on_bytes)
        return self._current


def stream_layer(store: Store, plan: LayerPlan, streamed: Mapping[Digest, BlobJob],
                 on_bytes: Callable[[int], None],
                 until_cached: Callable[[Digest], None] | None = None) -> CachedLayer:
    """Write ``plan`` as a layer; blobs in ``streamed`` come from their source as the tar is written, every
    other blob from its blob-cache file. ``until_cached(d)``, when given, is called before such a file is read
    (it waits for a fetch still running, so small blobs download while the large ones stream)."""

    def produce(ent: Entry, out: IO[bytes]) -> bool:
        job = streamed.get(ent.digest) if ent.digest is not None else None
        if job is None:
            if until_cached is not None and ent.digest is not None:
                until_cached(ent.digest)
            return False
        try:
            job.source.blob(job.ref, job.desc, _LayerSink(out, on_bytes))
        except CannotStream:
            raise
        except Exception as e:  # noqa: BLE001 - name the image and where it was found, keep the class
            raise rewrap(e, f"cache {job.where}: fetch blob {job.digest.short}") from e
        return True

    with store.writer() as w:
        write_layer_tar(w, plan.entries, produce=produce)  # type: ignore[arg-type]
        size = w.size
        digest = w.commit()
    return CachedLayer(Descriptor(mt.OCI_LAYER, digest, size), digest, plan.created_by, plan.images)

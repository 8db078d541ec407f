"""A tar (optionally gzip) stream of a directory, produced on a thread and consumed as async chunks.

The tree is never held in memory: a bounded queue of ~1 MiB chunks sits between the tar writer and the
channel, so a slow host slows the reader of the local files and nothing piles up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tarfile
import threading
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from typing import Any

from isal import isal_zlib

CHUNK = 1 << 20
QUEUE_CHUNKS = 8
GZIP_LEVEL = 1  # isal level 1: several hundred MB/s; registry blobs inside a rootfs are mostly gzip already


class _Cancelled(Exception):
    pass


class _Sink:
    """File-like target of tarfile: buffers to CHUNK, compresses, hands chunks to the event loop."""

    def __init__(self, put: Callable[[bytes], None], compress: bool, on_bytes: Callable[[int], None] | None):
        self._put = put
        self._buf = bytearray()
        self._z: Any = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 31) if compress else None
        self._on_bytes = on_bytes

    def write(self, data: bytes) -> int:
        self._buf += data
        if len(self._buf) >= CHUNK:
            self._flush()
        return len(data)

    def _flush(self) -> None:
        raw = bytes(self._buf)
        self._buf.clear()
        if not raw:
            return
        if self._on_bytes is not None:
            self._on_bytes(len(raw))
        out = self._z.compress(raw) if self._z is not None else raw
        if out:
            self._put(out)

    def close(self) -> None:
        self._flush()
        if self._z is not None:
            tail = self._z.flush()
            if tail:
                self._put(tail)


def _entries(root: Path, files: Sequence[str] | None) -> list[str]:
    """Relative paths in a stable order, parents before children (directories included)."""
    if files is not None:
        out = []
        for f in files:
            rel = os.path.normpath(f)
            if rel.startswith("..") or os.path.isabs(rel) or rel == ".":
                raise ValueError(f"put_tree: {f!r} is not a relative path inside {root}")
            out.append(rel)
        return out
    names: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for d in dirnames:
            names.append(os.path.normpath(os.path.join(rel_dir, d)))
        for f in sorted(filenames):
            names.append(os.path.normpath(os.path.join(rel_dir, f)))
    return names


def _write_tar(root: Path, files: Sequence[str] | None, sink: _Sink, stop: threading.Event) -> None:
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tar:  # type: ignore[call-overload]
        tar.copybufsize = CHUNK
        for rel in _entries(root, files):
            if stop.is_set():
                raise _Cancelled()
            full = root / rel
            info = tar.gettarinfo(str(full), arcname=rel)
            if info is None:  # a socket: nothing a host could use
                continue
            info.uname = info.gname = ""
            if info.isreg():
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    sink.close()


async def tar_chunks(root: Path, files: Sequence[str] | None = None, *, compress: bool = True,
                     on_bytes: Callable[[int], None] | None = None) -> AsyncGenerator[bytes, None]:
    """Yield the bytes of a tar of ``root`` (or only ``files``, paths relative to it), gzip when ``compress``.
    ``on_bytes`` gets the count of each uncompressed chunk as the tar is written."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(QUEUE_CHUNKS)
    stop = threading.Event()

    def put(item: bytes | BaseException | None) -> None:
        if stop.is_set():
            raise _Cancelled()
        fut = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while True:  # wait for room, but notice when the consumer went away
            try:
                fut.result(timeout=0.5)
                return
            except TimeoutError:
                if stop.is_set():
                    fut.cancel()
                    raise _Cancelled() from None

    def work() -> None:
        try:
            _write_tar(root, files, _Sink(put, compress, on_bytes), stop)
            put(None)
        except _Cancelled:
            pass
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            with contextlib.suppress(_Cancelled):
                put(e)

    thread = threading.Thread(target=work, name="sealer-tar", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not queue.empty():  # unblock a producer waiting for room
            queue.get_nowait()
        await asyncio.to_thread(thread.join, 5)

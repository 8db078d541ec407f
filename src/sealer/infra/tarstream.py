"""A tar (optionally gzip) stream of a directory, as async chunks, never held in memory.

GNU ``tar -c`` runs as a local subprocess (C speed, and no Python tar writer competing with the SSH event loop
for the GIL); its output is read in ~1 MiB chunks, gzip-compressed with isal on a worker thread when asked.
Back-pressure is the pipe: when the host is slow, ``tar`` blocks on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from typing import Any

from isal import isal_zlib

from sealer.errors import SealerError

CHUNK = 1 << 20
GZIP_LEVEL = 1  # isal level 1: several hundred MB/s; registry blobs inside a rootfs are mostly gzip already
# tar's record: 256 blocks of 512 bytes = 128 KiB per read/write instead of the default 10 KiB, on both ends of a
# stream: about a fifth less CPU for tar | ssh | sshd | tar per GiB (perf, bench/deliver.py); an archive is padded
# to a whole record, so not bigger
BLOCKING_FACTOR = 256


class LocalTarError(SealerError):
    """The local side of a tree copy failed (a file vanished or is unreadable)."""


def _checked(root: Path, files: Sequence[str]) -> list[str]:
    out = []
    for f in files:
        rel = os.path.normpath(f)
        if rel.startswith("..") or os.path.isabs(rel) or rel == ".":
            raise ValueError(f"put_tree: {f!r} is not a relative path inside {root}")
        out.append(rel)
    return out


def tar_command(root: Path, files: Sequence[str] | None) -> list[str]:
    args = ["tar", "-c", "--numeric-owner", "--sort=name", "-b", str(BLOCKING_FACTOR), "-f", "-", "-C", str(root)]
    if files is None:
        return [*args, "."]
    return [*args, "--no-recursion", "--null", "--verbatim-files-from", "-T", "-"]


async def tar_chunks(root: Path, files: Sequence[str] | None = None, *, compress: bool = True,
                     on_bytes: Callable[[int], None] | None = None) -> AsyncGenerator[bytes, None]:
    """Yield the bytes of a tar of ``root`` (or only the entries ``files``, paths relative to it, not
    recursing into directories), gzip when ``compress``. ``on_bytes`` gets the count of each uncompressed
    chunk. Raises :class:`LocalTarError` when ``tar`` fails."""
    listing = None if files is None else b"".join(p.encode() + b"\0" for p in _checked(root, files))
    proc = await asyncio.create_subprocess_exec(
        *tar_command(root, files), stdin=asyncio.subprocess.PIPE if listing is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout, proc.stderr

    async def feed_listing() -> None:
        assert proc.stdin is not None and listing is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(listing)
            await proc.stdin.drain()
        proc.stdin.close()

    feeder = asyncio.create_task(feed_listing()) if listing is not None else None
    errors = asyncio.create_task(stderr.read())
    z: Any = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 31) if compress else None
    finished = False
    try:
        while True:
            buf = bytearray()
            while len(buf) < CHUNK:
                part = await stdout.read(CHUNK - len(buf))
                if not part:
                    break
                buf += part
            if not buf:
                break
            if on_bytes is not None:
                on_bytes(len(buf))
            if z is None:
                yield bytes(buf)
            else:
                out = await asyncio.to_thread(z.compress, bytes(buf))
                if out:
                    yield out
        code = await proc.wait()
        message = (await errors).decode(errors="replace").strip()
        if code != 0:
            raise LocalTarError(f"tar of {root} failed (exit {code}): {message[-2000:]}")
        if z is not None:
            yield z.flush()
        finished = True
    finally:
        if not finished and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            while await stdout.read(CHUNK):  # wait() also waits for the pipes to close (3.11)
                pass
            await proc.wait()
        for t in (feeder, errors):
            if t is not None and not t.done():
                t.cancel()

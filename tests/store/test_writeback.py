"""Durable blob writes hand each written step to the kernel's writeback as they go (so the commit's fsync waits
only for the tail); cache writes, which are never fsynced, do not. The blob is the same either way."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sealer.imagecache.fetch import BlobCache
from sealer.store import Store
from sealer.store.ingest import WRITEBACK_STEP

CHUNK = 1 << 20


def _advice(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int, int]]:
    calls: list[tuple[int, int, int, int]] = []
    real = os.posix_fadvise

    def record(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((fd, offset, length, advice))
        real(fd, offset, length, advice)
    monkeypatch.setattr(os, "posix_fadvise", record)
    return calls


def _write(writer: object, total: int) -> tuple[str, int]:
    data = os.urandom(CHUNK)
    h = hashlib.sha256()
    for _ in range(total // CHUNK):
        writer.write(data)  # type: ignore[attr-defined]
        h.update(data)
    return "sha256:" + h.hexdigest(), total


def test_durable_writer_starts_writeback_step_by_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _advice(monkeypatch)
    store = Store(tmp_path / "store")
    total = 2 * WRITEBACK_STEP + 3 * CHUNK
    with store.writer() as w:
        digest, size = _write(w, total)
        fd = w._fp.fileno()
        ranges = [(off, n) for f, off, n, adv in calls if f == fd and adv == os.POSIX_FADV_DONTNEED]
        got = w.commit()
    assert ranges == [(0, WRITEBACK_STEP), (WRITEBACK_STEP, WRITEBACK_STEP)], \
        "each full step is handed over once, in order, none before it is written"
    assert str(got) == digest and store.blob_size(got) == size
    with open(store.blob_path(got), "rb") as fp:
        h = hashlib.sha256()
        while b := fp.read(CHUNK):
            h.update(b)
    assert "sha256:" + h.hexdigest() == digest


def test_cache_writer_gives_no_writeback_advice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _advice(monkeypatch)
    cache = BlobCache(tmp_path / "cache")
    with cache.writer() as w:
        digest, size = _write(w, 2 * WRITEBACK_STEP)
        got = w.commit()
    assert calls == []
    assert str(got) == digest and cache.blob_size(got) == size

"""COPY never brings anything from outside the build context into a layer: ``..``, absolute sources, symlinks,
symlinked parent directories, and a directory swapped for a symlink while the build runs (TOCTOU)."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tarfile
import threading
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from sealer.build.context import plan_copy
from sealer.build.layers import write_entries_layer
from sealer.errors import ArchiveError, BuildError
from sealer.kubefile import Copy, parse
from sealer.store.layout import Store
from sealer.tario.write import write_entries

from .conftest import Sealer


def _copy(text: str) -> Copy:
    kf = parse(f"FROM scratch\n{text}\n".encode(), "Kubefile")
    step = kf.steps[-1]
    assert isinstance(step, Copy)
    return step


def _layout(tmp: Path) -> tuple[Path, Path, bytes]:
    """ctx/ with data/sub/f*.txt; outside/ with the same names holding a secret marker."""
    marker = f"OUTSIDE-SECRET-{uuid.uuid4().hex}".encode()
    ctx, outside = tmp / "ctx", tmp / "outside"
    (ctx / "data" / "sub").mkdir(parents=True)
    outside.mkdir()
    for i in range(40):
        (ctx / "data" / "sub" / f"f{i}.txt").write_bytes(b"inside %d\n" % i)
        (outside / f"f{i}.txt").write_bytes(marker + b" %d\n" % i)
    (ctx / "ok.txt").write_text("ok\n")
    return ctx, outside, marker


def store_leaks(root: Path, marker: bytes) -> list[str]:
    """Every file under the store (gzip blobs decompressed) that holds ``marker``."""
    hits = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                data = Path(p).read_bytes()
            except OSError:
                continue
            if data[:2] == b"\x1f\x8b":
                with contextlib.suppress(OSError, EOFError, zlib.error):
                    data = gzip.decompress(data)
            if marker in data:
                hits.append(p)
    return hits


@pytest.mark.parametrize("instr,setup", [
    ("COPY ../outside/f1.txt .", None),
    ("COPY data/../../outside/f1.txt .", None),
    ("COPY {outside}/f1.txt .", None),
    ("COPY link.txt .", ("link.txt", "{outside}/f1.txt")),
    ("COPY rel.txt .", ("rel.txt", "../outside/f1.txt")),
    ("COPY dirlink/f1.txt .", ("dirlink", "{outside}")),              # symlinked parent directory
    ("COPY dirlink .", ("dirlink", "{outside}")),
    ("COPY dirlink/ .", ("dirlink", "../outside")),
    ("COPY */f1.txt .", ("dirlink", "{outside}")),                   # glob through a symlinked dir
    ("COPY data .", ("data/sub/esc", "{outside}")),                  # symlink inside a copied dir
    ("COPY data .", ("data/sub/esc", "../../../outside/f1.txt")),
    ("COPY . .", ("data/esc", "../../outside")),
])
def test_copy_escape_is_refused(tmp_path: Path, instr: str, setup: tuple[str, str] | None) -> None:
    ctx, outside, marker = _layout(tmp_path)
    if setup is not None:
        os.symlink(setup[1].format(outside=outside), ctx / setup[0])
    with pytest.raises(BuildError) as e:
        plan_copy(_copy(instr.format(outside=outside)), str(ctx))
    assert e.value.line == 2


def test_copy_escape_through_the_cli_leaves_no_trace(tmp_path: Path, sealer: Sealer) -> None:
    ctx, outside, marker = _layout(tmp_path)
    os.symlink(outside, ctx / "dirlink")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY ok.txt .\nCOPY dirlink/f1.txt .\n")
    r = sealer("build", "-b", "lite", "-t", "esc:v1", str(ctx), ok=False)
    assert r.exit_code != 0 and "outside the build context" in r.output and "Kubefile:3" in r.output
    assert store_leaks(sealer.root, marker) == []


def test_symlink_inside_context_is_kept_as_a_link(tmp_path: Path) -> None:
    ctx, _, _ = _layout(tmp_path)
    os.symlink("../ok.txt", ctx / "data" / "okl")
    plan = plan_copy(_copy("COPY data etc"), str(ctx))
    assert plan.entries["etc/data/okl"] == str(ctx.resolve() / "data" / "okl")


def test_parent_swapped_after_planning_is_refused(tmp_path: Path) -> None:
    """The deterministic TOCTOU: plan, then swap a directory for a symlink to outside, then write the layer."""
    ctx, outside, marker = _layout(tmp_path)
    store = Store(tmp_path / "store")
    plan = plan_copy(_copy("COPY data files"), str(ctx))
    os.rename(ctx / "data" / "sub", ctx / "data" / "sub.real")
    os.symlink(outside, ctx / "data" / "sub")
    with pytest.raises(ArchiveError, match="replaced while the layer was written"):
        write_entries_layer(store, plan.entries)
    assert store_leaks(store.root, marker) == []


def test_file_swapped_for_symlink_after_planning_is_not_followed(tmp_path: Path) -> None:
    ctx, outside, marker = _layout(tmp_path)
    store = Store(tmp_path / "store")
    plan = plan_copy(_copy("COPY data files"), str(ctx))
    victim = ctx / "data" / "sub" / "f3.txt"
    victim.unlink()
    os.symlink(outside / "f3.txt", victim)
    with contextlib.suppress(ArchiveError):  # a symlink entry is acceptable: its target is not read
        write_entries_layer(store, plan.entries)
    assert store_leaks(store.root, marker) == []


class _SwapMidWrite(io.RawIOBase):
    """The layer's output sink (a test instrument, not a stand-in for anything of ours): it collects the tar
    stream, and the moment the header of ``trigger`` is written — entries before it already in the stream,
    entries after it not yet opened — it runs ``swap``. So the swap lands during the layer write, every time."""

    def __init__(self, trigger: str, swap: Callable[[], None]) -> None:
        self.trigger, self.swap = trigger.encode(), swap
        self.data = bytearray()
        self.swapped_after = -1   # bytes already in the layer when the swap landed

    def write(self, b: bytes) -> int:   # type: ignore[override]
        if self.swapped_after < 0 and len(b) == tarfile.BLOCKSIZE and b[:100].rstrip(b"\0") == self.trigger:
            self.swapped_after = len(self.data)
            self.swap()
        self.data += b
        return len(b)

    def names(self) -> list[str]:
        with tarfile.open(fileobj=io.BytesIO(bytes(self.data) + b"\0" * 1024), mode="r:") as tf:
            try:
                return [m.name for m in tf]
            except tarfile.ReadError:
                return []


@pytest.mark.parametrize("swap_what", ["directory", "file"])
def test_swap_landing_mid_layer_write_is_refused(tmp_path: Path, swap_what: str) -> None:
    """Deterministic TOCTOU: data/sub (or data/sub/f7.txt) becomes a symlink to outside/ while the layer is
    being written, after earlier entries of the same directory were already streamed."""
    ctx, outside, marker = _layout(tmp_path)
    plan = plan_copy(_copy("COPY data files"), str(ctx))
    sub = ctx.resolve() / "data" / "sub"

    def swap() -> None:
        if swap_what == "directory":
            os.rename(sub, sub.with_name("sub.real"))
            os.symlink(outside, sub)
        else:
            (sub / "f7.txt").unlink()
            os.symlink(outside / "f7.txt", sub / "f7.txt")

    sink = _SwapMidWrite("files/data/sub/f5.txt", swap)
    if swap_what == "directory":
        with pytest.raises(ArchiveError, match="replaced while the layer was written"):
            write_entries(sink, plan.entries)
    else:   # the swapped leaf is taken as what it now is, a symlink; its target is never read
        write_entries(sink, plan.entries)
        with tarfile.open(fileobj=io.BytesIO(bytes(sink.data)), mode="r:") as tf:
            f7 = tf.getmember("files/data/sub/f7.txt")
        assert f7.issym() and not f7.isreg()
    assert sink.swapped_after > 0, "the swap did not land during the layer write"
    assert "files/data/sub/f0.txt" in sink.names(), "entries before the swap were streamed"
    assert marker not in bytes(sink.data)


def _swapper(ctx: Path, outside: Path, stop: threading.Event, swaps: list[int]) -> None:
    """Swaps data/sub for a symlink to outside/ and back, as fast as it can (no timing assumptions: the
    deterministic cases are in test_swap_landing_mid_layer_write_is_refused)."""
    sub, real = ctx / "data" / "sub", ctx / "data" / "sub.real"
    n = 0
    while not stop.is_set():
        try:
            os.rename(sub, real)
            os.symlink(outside, sub)
            os.sched_yield()
            os.unlink(sub)
            os.rename(real, sub)
            n += 1
        except OSError:
            pass
        os.sched_yield()
    if os.path.islink(sub):
        os.unlink(sub)
    if real.exists():
        os.rename(real, sub)
    swaps.append(n)


def swap_during_builds(tmp_path: Path, sealer: Sealer, builds: int) -> tuple[int, int, int, list[str]]:
    """Builds while a thread swaps data/sub for a symlink to outside.
    Returns (succeeded, failed, failed because the swap was caught while the layer was written, leaks)."""
    ctx, outside, marker = _layout(tmp_path)
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY data files\nCOPY ok.txt .\n")
    stop = threading.Event()
    swaps: list[int] = []
    t = threading.Thread(target=_swapper, args=(ctx, outside, stop, swaps), daemon=True)
    t.start()
    ok = failed = at_write = 0
    try:
        for i in range(builds):
            r = sealer("build", "-q", "-b", "lite", "--no-cache", "-t", f"race{i}:v1", str(ctx), ok=False)
            if r.exit_code == 0:
                ok += 1
            else:
                failed += 1
                assert "Error:" in r.output, r.output
                at_write += "write layer:" in r.output
    finally:
        stop.set()
        t.join(10)
    assert swaps and swaps[0] > 0
    return ok, failed, at_write, store_leaks(sealer.root, marker)


def test_symlink_swap_during_builds_never_leaks(tmp_path: Path, sealer: Sealer) -> None:
    ok, failed, _, leaks = swap_during_builds(tmp_path, sealer, 12)
    assert leaks == []
    assert ok + failed == 12

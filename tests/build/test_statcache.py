"""The context's stat cache (sealer.build.statcache): a no-op rebuild does not read the context again, and it never
serves a stale digest -- content changed in place with size and mtime kept is seen (ctime), so are a rename and a
mode change; a touched-but-unchanged file still hits the layer cache; a damaged cache file is ignored; concurrent
builds of one context both succeed."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from sealer.build import statcache
from sealer.build.context import plan_copy
from sealer.build.statcache import StatCache
from sealer.kubefile import Copy, parse
from sealer.store.layout import Store

from .conftest import SEALER, Sealer
from .test_build import layer_members

ALL = 2   # cached steps of a no-op rebuild: the COPY and the image-caching stage (0 once the COPY changed)
SETTLE = statcache.RACY_NS / 1e9 + 0.1   # files written just now are "racy": read again until they settle


def _context(tmp: Path, ignore: str | None = None) -> Path:
    ctx = tmp / "ctx"
    (ctx / "data" / "sub").mkdir(parents=True)
    (ctx / "data" / "a.txt").write_bytes(b"alpha-1\n")
    (ctx / "data" / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    (ctx / "data" / "skip.log").write_text("noise 1\n")
    if ignore is not None:
        (ctx / ".sealerignore").write_text(ignore)
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY data .\n")
    time.sleep(SETTLE)
    return ctx


def _build(sealer: Sealer, ctx: Path, tag: str) -> tuple[str, int]:
    """(digest of the COPY layer, cached steps)."""
    doc = sealer.json("build", "-q", "-b", "lite", "-t", tag, str(ctx))
    return doc["layers"][0]["digest"], doc["cachedSteps"]


def _stat_files(root: Path) -> list[Path]:
    return sorted((root / "cache" / "context-stat").glob("*.json"))


def _recorded(root: Path) -> dict[str, statcache.Entry]:
    (f,) = _stat_files(root)
    return statcache._load(f)


def test_content_changed_keeping_size_and_mtime_is_seen(tmp_path: Path, sealer: Sealer) -> None:
    ctx = _context(tmp_path)
    a = ctx / "data" / "a.txt"
    first, _ = _build(sealer, ctx, "s:v1")
    assert str(a) in _recorded(sealer.root), "the settled file's digest is recorded"
    again, cached = _build(sealer, ctx, "s:v2")
    assert (again, cached) == (first, ALL)
    st = a.stat()
    time.sleep(0.05)
    with open(a, "r+b") as f:          # same size, in place (same inode), mtime put back
        f.write(b"alpha-2\n")
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
    st2 = a.stat()
    assert (st2.st_size, st2.st_mtime_ns, st2.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)
    assert st2.st_ctime_ns != st.st_ctime_ns
    changed, cached = _build(sealer, ctx, "s:v3")
    assert changed != first and cached == 0, "the change is seen through the inode's ctime"
    members = layer_members(Store(sealer.root), sealer.json("inspect", "s:v3")["layers"][0])
    assert "data/a.txt" in members


def test_rename_and_mode_change_make_new_layers(tmp_path: Path, sealer: Sealer) -> None:
    ctx = _context(tmp_path)
    first, _ = _build(sealer, ctx, "s:v1")
    os.rename(ctx / "data" / "a.txt", ctx / "data" / "c.txt")
    renamed, cached = _build(sealer, ctx, "s:v2")
    assert renamed != first and cached == 0
    (ctx / "data" / "c.txt").chmod(0o755)
    moded, cached = _build(sealer, ctx, "s:v3")
    assert moded not in (first, renamed) and cached == 0
    doc = sealer.json("inspect", "s:v3")
    members = layer_members(Store(sealer.root), doc["layers"][0])
    assert members["data/c.txt"].mode & 0o777 == 0o755, list(members)


def test_touched_but_unchanged_file_hits_the_layer_cache(tmp_path: Path, sealer: Sealer) -> None:
    ctx = _context(tmp_path)
    first, _ = _build(sealer, ctx, "s:v1")
    before = _recorded(sealer.root)[str(ctx / "data" / "a.txt")]
    later = time.time_ns() + 5_000_000_000
    os.utime(ctx / "data" / "a.txt", ns=(later, later))
    again, cached = _build(sealer, ctx, "s:v2")
    assert (again, cached) == (first, ALL), "content decides: same bytes, same layer"
    # the touched file was read again; its mtime is in the future (racy), so it is not recorded until it settles
    assert before is not None and str(ctx / "data" / "a.txt") not in _recorded(sealer.root)


def test_sealerignore_still_applies(tmp_path: Path, sealer: Sealer) -> None:
    ctx = _context(tmp_path, ignore="data/*.log\n")
    first, _ = _build(sealer, ctx, "s:v1")
    assert "data/skip.log" not in layer_members(Store(sealer.root), sealer.json("inspect", "s:v1")["layers"][0])
    assert str(ctx / "data" / "skip.log") not in _recorded(sealer.root)
    (ctx / "data" / "skip.log").write_text("noise 2, longer\n")
    again, cached = _build(sealer, ctx, "s:v2")
    assert (again, cached) == (first, ALL), "an ignored file does not key the layer"
    (ctx / ".sealerignore").write_text("")
    now, cached = _build(sealer, ctx, "s:v3")
    assert now != first and cached == 0
    assert "data/skip.log" in layer_members(Store(sealer.root), sealer.json("inspect", "s:v3")["layers"][0])


def test_a_damaged_stat_cache_is_ignored_never_trusted(tmp_path: Path, sealer: Sealer) -> None:
    ctx = _context(tmp_path)
    first, _ = _build(sealer, ctx, "s:v1")
    (f,) = _stat_files(sealer.root)
    good = f.read_bytes()
    head, _, body = good.partition(b"\n")
    doc = json.loads(body)
    for e in doc["entries"].values():
        e[6] = "0" * 64                       # forged digests ...
    forged_body = json.dumps(doc).encode()
    forged_sum = statcache._MAGIC + statcache.hashlib.sha256(forged_body).hexdigest().encode()
    bad_entry = json.dumps({"entries": {str(ctx / "data" / "a.txt"): ["x"] * 8}}).encode()
    damaged = [
        b"\x00garbage",
        good[: len(good) // 2],                                     # torn
        head + b"\n" + forged_body,                                 # ... behind the old checksum
        statcache._MAGIC + statcache.hashlib.sha256(bad_entry).hexdigest().encode() + b"\n" + bad_entry,
    ]
    for n, data in enumerate(damaged, start=2):
        f.write_bytes(data)
        again, cached = _build(sealer, ctx, f"s:v{n}")
        assert (again, cached) == (first, ALL), f"damaged file #{n - 2} was trusted"
        assert f.read_bytes() != data and statcache._load(f), "the file is rewritten valid"
    # the control: a forged file with a valid checksum IS trusted (so the checks above can fail)
    f.write_bytes(forged_sum + b"\n" + forged_body)
    _, cached = _build(sealer, ctx, "s:forged")
    assert cached == 0, "a forged digest keys another layer: the COPY is made again"


def test_no_cache_reads_everything_and_rmi_prune_drops_the_stat_cache(tmp_path: Path, sealer: Sealer) -> None:
    ctx = _context(tmp_path)
    _build(sealer, ctx, "s:v1")
    (f,) = _stat_files(sealer.root)
    head, _, body = f.read_bytes().partition(b"\n")
    doc = json.loads(body)
    for e in doc["entries"].values():
        e[6] = "0" * 64                       # a stale digest --no-cache must not use
    forged = json.dumps(doc).encode()
    f.write_bytes(statcache._MAGIC + statcache.hashlib.sha256(forged).hexdigest().encode() + b"\n" + forged)
    sealer("build", "-q", "--no-cache", "-b", "lite", "-t", "s:v2", str(ctx))
    assert all(e[6] != "0" * 64 for e in _recorded(sealer.root).values()), "--no-cache read and re-recorded"
    _, cached = _build(sealer, ctx, "s:v3")
    assert cached == ALL
    sealer("rmi", "--prune", "s:v1", "s:v2", "s:v3")
    assert not _stat_files(sealer.root)


def test_plan_reads_only_what_changed(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    kf = parse(b"FROM scratch\nCOPY data .\n", "Kubefile")
    step = kf.steps[-1]
    assert isinstance(step, Copy)
    cache_dir = tmp_path / "stat"
    s1 = StatCache.for_context(cache_dir, str(ctx))
    p1 = plan_copy(step, str(ctx), s1)
    s1.save()
    assert (s1.reads, s1.hits) == (3, 0)
    s2 = StatCache.for_context(cache_dir, str(ctx))
    p2 = plan_copy(step, str(ctx), s2)
    assert (s2.reads, s2.hits, p2.content_hash) == (0, 3, p1.content_hash)
    (ctx / "data" / "a.txt").write_bytes(b"alpha-2\n")   # just written: read, and not recorded (racy)
    s3 = StatCache.for_context(cache_dir, str(ctx))
    p3 = plan_copy(step, str(ctx), s3)
    s3.save()
    assert (s3.reads, s3.hits) == (1, 2) and p3.content_hash != p1.content_hash
    s4 = StatCache.for_context(cache_dir, str(ctx))
    plan_copy(step, str(ctx), s4)
    assert (s4.reads, s4.hits) == (1, 2), "a racy file is read again until it settles"
    # a file swapped for another inode with the same size and mtime is read again
    a = ctx / "data" / "a.txt"
    time.sleep(SETTLE)
    s5 = StatCache.for_context(cache_dir, str(ctx))
    plan_copy(step, str(ctx), s5)
    s5.save()
    st = a.stat()
    (ctx / "data" / "new").write_bytes(b"alpha-3\n")
    os.utime(ctx / "data" / "new", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(ctx / "data" / "new", a)
    s6 = StatCache.for_context(cache_dir, str(ctx))
    p6 = plan_copy(step, str(ctx), s6)
    assert s6.reads == 1 and p6.content_hash != p3.content_hash


def test_concurrent_builds_of_one_context_both_succeed(tmp_path: Path, sealer: Sealer) -> None:
    ctx = _context(tmp_path)
    for i in range(20):
        (ctx / "data" / "sub" / f"f{i}").write_bytes(os.urandom(50_000))
    time.sleep(SETTLE)
    env = dict(os.environ, SEALER_ROOT=str(sealer.root))
    procs = [subprocess.Popen([*SEALER, "build", "-q", "--json", "-b", "lite", "-t", f"s:p{i}", str(ctx)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    digests = {json.loads(o)["layers"][0]["digest"] for o, _ in outs}
    assert len(digests) == 1
    recorded = _recorded(sealer.root)
    assert len(recorded) == 23
    again, cached = _build(sealer, ctx, "s:v3")
    assert (again, cached) == (digests.pop(), ALL)


def test_a_file_swapped_after_its_lstat_is_never_recorded(tmp_path: Path) -> None:
    """Between the plan's lstat() and the read, the path may be swapped: for another file (read, not recorded),
    a symlink (refused, nothing followed) or a fifo (refused, no hang)."""
    a, outside = tmp_path / "a", tmp_path / "outside"
    a.write_bytes(b"one\n")
    outside.write_bytes(b"SECRET\n")
    time.sleep(SETTLE)
    st = os.lstat(a)
    s = StatCache(tmp_path / "stat.json")
    (tmp_path / "b").write_bytes(b"two\n")
    os.replace(tmp_path / "b", a)                 # another inode, same size
    got = s.digest(str(a), st)
    assert got == statcache.hashlib.sha256(b"two\n").hexdigest() and str(a) not in s.entries and not s.new
    a.unlink()
    a.symlink_to(outside)
    with pytest.raises(OSError):
        s.digest(str(a), st)
    a.unlink()
    os.mkfifo(a)
    with pytest.raises(OSError):
        s.digest(str(a), st)
    assert not s.entries

"""The stat cache's file and its trust rules (build/statcache.py), in process: what is recorded, what is read
again, what a damaged file does. Digests are checked against hashlib over the file's bytes."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from sealer.build import statcache
from sealer.build.statcache import RACY_NS, StatCache, settled, stat_key


def settle(p: Path) -> os.stat_result:
    """Move the file's mtime and ctime more than RACY_NS into the past (ctime: by waiting is too slow, so the
    read time is what the test moves instead; see _read_later)."""
    old = time.time_ns() - 5 * RACY_NS
    os.utime(p, ns=(old, old))
    return os.lstat(p)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads happen 3 s after now: every existing timestamp is settled (the racy rule stays what it is)."""
    real = time.time_ns
    monkeypatch.setattr(statcache.time, "time_ns", lambda: real() + 3 * RACY_NS)


def test_settled_is_strictly_older_than_one_granularity() -> None:
    key = (1, 100, 200, 1, 0o100644, 1)
    assert settled(key, 200 + RACY_NS + 1)
    assert not settled(key, 200 + RACY_NS)
    assert not settled((1, 300, 200, 1, 0, 1), 200 + RACY_NS + 1)     # the larger of mtime and ctime counts
    assert not settled((1, 100, 300, 1, 0, 1), 200 + RACY_NS + 1)


def test_stat_key_fields(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_text("abc")
    st = os.lstat(p)
    assert stat_key(st) == (3, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode, st.st_dev)


def test_recorded_digest_is_reused_until_the_stat_changes(tmp_path: Path, later: None) -> None:
    p = tmp_path / "f"
    p.write_text("one")
    c = StatCache()
    assert c.digest(str(p), os.lstat(p)) == sha(p)
    assert (c.reads, c.hits) == (1, 0)
    assert c.digest(str(p), os.lstat(p)) == sha(p)
    assert (c.reads, c.hits) == (1, 1)
    p.write_text("two")                 # same size, new ctime
    assert c.digest(str(p), os.lstat(p)) == sha(p) == hashlib.sha256(b"two").hexdigest()
    assert (c.reads, c.hits) == (2, 1)


def test_racy_entry_is_not_recorded(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_text("fresh")               # its ctime is now: within RACY_NS of the read
    c = StatCache(tmp_path / "c.json")
    assert c.digest(str(p), os.lstat(p)) == sha(p)
    assert c.digest(str(p), os.lstat(p)) == sha(p)
    assert (c.reads, c.hits) == (2, 0) and c.new == {} and c.dropped == {str(p)}
    c.save()
    assert not (tmp_path / "c.json").exists() or StatCache(tmp_path / "c.json").entries == {}


def test_file_changed_since_its_lstat_is_not_recorded(tmp_path: Path, later: None) -> None:
    p = tmp_path / "f"
    p.write_text("old")
    st = os.lstat(p)
    p.write_text("new content")
    c = StatCache()
    assert c.digest(str(p), st) == hashlib.sha256(b"new content").hexdigest()
    assert c.new == {} and str(p) in c.dropped


def test_not_a_regular_file_any_more_is_an_os_error(tmp_path: Path) -> None:
    import errno
    p = tmp_path / "f"
    p.write_text("x")
    st = os.lstat(p)
    os.unlink(p)
    os.mkfifo(p)
    with pytest.raises(OSError, match="no longer a regular file") as e:
        StatCache().digest(str(p), st)
    assert (e.value.errno, e.value.strerror, e.value.filename) == (errno.EINVAL, "no longer a regular file", str(p))
    os.unlink(p)
    os.symlink("/etc/hostname", p)
    with pytest.raises(OSError):
        StatCache().digest(str(p), st)


def test_save_and_load_round_trip_with_checksum(tmp_path: Path, later: None) -> None:
    files = []
    for n in "abc":
        p = tmp_path / n
        p.write_text(n * 3)
        os.utime(p, ns=(0 if n == "a" else 10**18, 0 if n == "a" else 10**18))   # mtime 0 and mtime != ctime
        files.append(p)
    path = tmp_path / "cache" / "context-stat" / "ctx.json"      # parents are created
    c = StatCache(path)
    for p in files:
        c.digest(str(p), os.lstat(p))
    c.save()
    assert c.new == {} and c.dropped == set()
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n")
    assert head == b"sealer-statcache 1 " + hashlib.sha256(body).hexdigest().encode()
    entries = json.loads(body)["entries"]
    assert {k: v[6] for k, v in entries.items()} == {str(p): sha(p) for p in files}
    c2 = StatCache(path)
    assert set(c2.entries) == {str(p) for p in files}
    for p in files:
        assert c2.digest(str(p), os.lstat(p)) == sha(p)
    assert (c2.hits, c2.reads) == (3, 0)
    assert StatCache(path, trust=False).entries == {}
    mtime = path.stat().st_mtime_ns
    c2.save()                                              # nothing new: the file is not rewritten
    assert path.stat().st_mtime_ns == mtime


def test_save_merges_with_concurrent_writers_and_forgets_dropped(tmp_path: Path, later: None) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("a")
    b.write_text("b")
    path = tmp_path / "c.json"
    one, two = StatCache(path), StatCache(path)
    one.digest(str(a), os.lstat(a))
    one.digest(str(b), os.lstat(b))
    one.save()
    st_b = os.lstat(b)
    b.write_text("B!")
    two.digest(str(b), st_b)                              # changed since its lstat: dropped, not recorded
    assert two.dropped == {str(b)}
    two.save()
    assert set(StatCache(path).entries) == {str(a)}


def test_newer_reading_wins_on_merge(tmp_path: Path, later: None) -> None:
    a = tmp_path / "a"
    a.write_text("a")
    path = tmp_path / "c.json"
    first = StatCache(path)
    first.digest(str(a), os.lstat(a))
    second = StatCache(path)
    second.digest(str(a), os.lstat(a))
    second.save()
    saved = StatCache(path).entries[str(a)][7]
    first.save()                                          # an older reading does not replace a newer one
    assert StatCache(path).entries[str(a)][7] == saved > first.entries[str(a)][7] - 1


def test_entries_are_bounded_oldest_dropped(tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "MAX_ENTRIES", 2)
    path = tmp_path / "c.json"
    c = StatCache(path)
    for n in "cba":                                        # read in this order: a is the newest reading
        p = tmp_path / n
        p.write_text(n)
        c.digest(str(p), os.lstat(p))
        time.sleep(0.002)
    c.save()
    assert set(StatCache(path).entries) == {str(tmp_path / "b"), str(tmp_path / "a")}


def _old_context_files(d: Path, ages: list[int]) -> None:
    """``d/old<i>.json`` for each entry of ``ages``, used at ``ages[i] * RACY_NS`` (a larger number: more recent)."""
    d.mkdir()
    for i, age in enumerate(ages):
        (d / f"old{i}.json").write_text("{}")
        os.utime(d / f"old{i}.json", ns=(age * RACY_NS, age * RACY_NS))


def test_context_files_are_bounded_least_recent_removed(tmp_path: Path, later: None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "MAX_CONTEXTS", 3)
    d = tmp_path / "cache"
    _old_context_files(d, [9, 8, 7, 6])   # old3 is the least recent
    (d / "other.txt").write_text("not a cache file")
    p = tmp_path / "f"
    p.write_text("f")
    c = StatCache.for_context(d, str(tmp_path))
    c.digest(str(p), os.lstat(p))
    c.save()
    assert c.path is not None
    left = sorted(x.name for x in d.iterdir() if not x.name.endswith(".lock"))
    assert left == sorted(["old0.json", "old1.json", c.path.name, "other.txt"])
    assert c.path.name == hashlib.sha256(os.path.realpath(tmp_path).encode()).hexdigest()[:32] + ".json"
    assert StatCache.for_context(d, str(tmp_path)).entries            # trusted by default
    assert StatCache.for_context(d, str(tmp_path), trust=False).entries == {}   # --no-cache


def test_at_the_bound_the_least_recent_context_file_goes(tmp_path: Path, later: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "MAX_CONTEXTS", 3)
    d = tmp_path / "cache"
    _old_context_files(d, [1, 2, 3])
    p = tmp_path / "f"
    p.write_text("f")
    c = StatCache(d / "mine.json")
    c.digest(str(p), os.lstat(p))
    c.save()
    assert sorted(x.name for x in d.glob("*.json")) == ["mine.json", "old1.json", "old2.json"]


@pytest.mark.parametrize("damage", [
    b"", b"garbage", b"sealer-statcache 1 " + b"0" * 64 + b"\n{}",
    "entries not a dict", "bad digest", "negative size", "not a regular file", "short entry", "float field",
])
def test_damaged_files_are_ignored(tmp_path: Path, damage: object, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "c.json"
    good = [3, 1, 1, 1, 0o100644, 1, "a" * 64, 5]
    entries: object = {"/x": good}
    if damage == "entries not a dict":
        entries = [good]
    elif damage == "bad digest":
        entries = {"/x": good[:6] + ["A" * 64, 5]}
    elif damage == "negative size":
        entries = {"/x": [-1, *good[1:]]}
    elif damage == "not a regular file":
        entries = {"/x": good[:4] + [0o040755] + good[5:]}
    elif damage == "short entry":
        entries = {"/x": good[:7]}
    elif damage == "float field":
        entries = {"/x": [3.0, *good[1:]]}
    if isinstance(damage, bytes):
        raw = damage
    else:
        body = json.dumps({"entries": entries}).encode()
        raw = b"sealer-statcache 1 " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
    path.write_bytes(raw)
    with caplog.at_level("WARNING", logger="sealer.build.statcache"):
        assert StatCache(path).entries == {}
    why = {b"": "not a stat cache file", b"garbage": "not a stat cache file", "entries not a dict": "entries",
           "bad digest": "bad entry for '/x'", "negative size": "bad entry for '/x'"}.get(damage, "")  # type: ignore[call-overload]
    if isinstance(damage, bytes) and damage.startswith(b"sealer-statcache"):
        why = "checksum mismatch"
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == [f"ignoring the damaged build stat cache {path} ({why}); the context is read again"] if why else \
        len(msgs) == 1 and msgs[0].startswith(f"ignoring the damaged build stat cache {path} (bad entry for '/x')")
    body = json.dumps({"entries": {"/x": good}}).encode()
    path.write_bytes(b"sealer-statcache 1 " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    assert StatCache(path).entries == {"/x": tuple(good)}


def test_oversized_file_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = [3, 1, 1, 1, 0o100644, 1, "a" * 64, 5]
    body = json.dumps({"entries": {"/x": good}}).encode()
    raw = b"sealer-statcache 1 " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
    path = tmp_path / "c.json"
    path.write_bytes(raw)
    monkeypatch.setattr(statcache, "MAX_FILE_BYTES", len(raw))
    assert StatCache(path).entries == {"/x": tuple(good)}
    monkeypatch.setattr(statcache, "MAX_FILE_BYTES", len(raw) - 1)
    assert StatCache(path).entries == {}


def test_lock_file_sits_beside_the_cache_file(tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "f"
    p.write_text("f")
    before = {x.name for x in tmp_path.iterdir()}
    c = StatCache(tmp_path / "cache" / "c.json")
    c.digest(str(p), os.lstat(p))
    c.save()
    assert sorted(x.name for x in (tmp_path / "cache").iterdir()) == ["c.json", "c.json.lock"]
    assert {x.name for x in tmp_path.iterdir()} == before | {"cache"}


def test_save_failure_never_fails_the_build(tmp_path: Path, later: None) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache directory should be")
    p = tmp_path / "f"
    p.write_text("f")
    c = StatCache(blocker / "sub" / "c.json")
    c.digest(str(p), os.lstat(p))
    c.save()                                               # logged, not raised
    assert not (blocker / "sub").exists()


def test_file_written_while_it_is_read_is_not_recorded(tmp_path: Path, later: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that appends while the digest is being read (the stat before the read matched): the digest read
    is returned for this build but not recorded, so the next build reads the file again and sees the new bytes.
    The concurrent writer is made deterministic by appending from the first read() of the file."""
    p = tmp_path / "f"
    p.write_bytes(b"A" * 3_000_000)
    st = settle(p)
    real_fdopen = os.fdopen

    class AppendOnFirstRead:
        def __init__(self, inner: object) -> None:
            self.inner = inner
            self.appended = False

        def __enter__(self) -> AppendOnFirstRead:
            return self

        def __exit__(self, *exc: object) -> None:
            self.inner.close()  # type: ignore[attr-defined]

        def read(self, n: int) -> bytes:
            data: bytes = self.inner.read(n)  # type: ignore[attr-defined]
            if not self.appended:
                self.appended = True
                with open(p, "ab") as w:
                    w.write(b"B" * 10)
            return data

    monkeypatch.setattr(statcache.os, "fdopen", lambda *a, **k: AppendOnFirstRead(real_fdopen(*a, **k)))
    c = StatCache()
    c.digest(str(p), st)
    assert str(p) not in c.entries and str(p) in c.dropped, "changed during the read: not trusted next time"
    monkeypatch.setattr(statcache.os, "fdopen", real_fdopen)
    assert c.digest(str(p), os.lstat(p)) == sha(p), "the next reading sees the appended bytes"
    assert c.reads == 2

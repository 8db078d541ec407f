"""save/load (store/archive.py), fsck (store/fsck.py) and export-rootfs (store/export.py), judged by the standard
tarfile, json and hashlib reads of tests/store/kit.py; a failed load or export must leave nothing behind."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sealer.digest import Digest
from sealer.errors import ArchiveError, DigestError, ImageNotFound, StoreError
from sealer.oci import mediatypes as mt
from sealer.store import Store
from sealer.store.archive import LoadLimits, _file_size, load, save
from sealer.store.export import export_rootfs_atomic
from sealer.store.fsck import fsck

from .kit import blob_hexes, image, index_names, reachable

LIB = "docker.io/library/"


@pytest.fixture
def src(tmp_path: Path) -> Store:
    s = Store(tmp_path / "src")
    image(s, [{"a": b"A" * 3000}, {"b": b"b"}], name="app:v1", gz=True)
    image(s, [{"c": b"c"}], name="other:v2")
    image(s, [{"unsaved": b"u"}], name="unsaved")
    return s


def saved(store: Store, *refs: str) -> bytes:
    out = io.BytesIO()
    store_names = save(store, list(refs), out)
    assert store_names == [store.resolve(r).name for r in refs]
    return out.getvalue()


def members(raw: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf if m.isreg()}  # type: ignore[union-attr]


def test_save_writes_an_oci_layout_of_the_chosen_images(src: Store) -> None:
    raw = saved(src, "app:v1", "other:v2")
    got = members(raw)
    assert json.loads(got["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    idx = json.loads(got["index.json"])
    assert idx["schemaVersion"] == 2 and idx["mediaType"] == mt.OCI_INDEX
    names = {m["annotations"][mt.ANNOTATION_REF_NAME]: m["digest"] for m in idx["manifests"]}
    assert names == {k: v for k, v in index_names(src.root).items() if "unsaved" not in k}
    blobs = {n.removeprefix("blobs/sha256/") for n in got if n.startswith("blobs/")}
    for h in blobs:
        assert hashlib.sha256(got[f"blobs/sha256/{h}"]).hexdigest() == h
    assert blobs == {d.hex for d in src.referenced_blobs([src.resolve(n).descriptor for n in names])}
    assert len(blobs) == 4 + 3
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        assert all(m.mode == 0o644 for m in tf if m.isreg())


def test_load_round_trip_into_an_empty_store(src: Store, tmp_path: Path) -> None:
    raw = saved(src, "app:v1", "other:v2")
    dst = Store(tmp_path / "dst")
    assert load(dst, io.BytesIO(raw)) == [LIB + "app:v1", LIB + "other:v2"]
    assert index_names(dst.root) == {k: v for k, v in index_names(src.root).items() if "unsaved" not in k}
    assert blob_hexes(dst.root) == reachable(dst.root)
    assert list((dst.root / "ingest").iterdir()) == []
    assert load(dst, io.BytesIO(raw)) == [LIB + "app:v1", LIB + "other:v2"]     # again: idempotent
    f = tmp_path / "a.tar"
    f.write_bytes(raw)
    with open(f, "rb") as fp:
        assert _file_size(fp) == len(raw)
        assert load(Store(tmp_path / "dst2"), fp) == [LIB + "app:v1", LIB + "other:v2"]


def test_file_size_only_for_regular_files(tmp_path: Path) -> None:
    assert _file_size(io.BytesIO(b"x")) is None
    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb") as fp:
            assert _file_size(fp) is None
    finally:
        os.close(w)


def _tar(entries: list[tuple[str, bytes]], extra: list[tarfile.TarInfo] = ()) -> bytes:  # type: ignore[assignment]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        for ti in extra:
            tf.addfile(ti)
    return buf.getvalue()


def _layout(src: Store, ref: str = "app:v1") -> list[tuple[str, bytes]]:
    return list(members(saved(src, ref)).items())


def _assert_unchanged(dst: Store) -> None:
    assert dst.refs() == []
    assert list((dst.root / "blobs" / "sha256").iterdir()) == []
    assert list((dst.root / "ingest").iterdir()) == []


def _edit_index(entries: list[tuple[str, bytes]], fn: object) -> list[tuple[str, bytes]]:
    out = []
    for n, d in entries:
        if n == "index.json":
            doc = json.loads(d)
            fn(doc)  # type: ignore[operator]
            d = json.dumps(doc).encode()
        out.append((n, d))
    return out


def _blob_names(entries: list[tuple[str, bytes]]) -> list[str]:
    return [n for n, _ in entries if n.startswith("blobs/sha256/")]


def test_hostile_or_broken_archives_change_nothing(src: Store, tmp_path: Path) -> None:
    good = _layout(src)
    blobs = _blob_names(good)
    ann = mt.ANNOTATION_REF_NAME
    link = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    cases: list[tuple[bytes, type[Exception], str]] = [
        (b"", ArchiveError, "not a tar archive"),
        (_tar([n for n in good if n[0] != "index.json"]), ArchiveError,
         r"^load: the archive has no index.json \(is it an OCI layout saved by `sealer save`\?\)$"),
        (_tar(good + [("index.json", b"{}")]), ArchiveError, "^load: duplicate index.json in the archive$"),
        (_tar(good + [("etc/passwd", b"x")]), ArchiveError, "unexpected entry 'etc/passwd'"),
        (_tar(good, [link]), ArchiveError, "is not a regular file"),
        (_tar(good + [(blobs[0], dict(good)[blobs[0]])]), ArchiveError, "duplicate entry"),
        (_tar([(n, (d[:-1] + b"X") if n == blobs[0] else d) for n, d in good]), DigestError, "the archive is corrupt"),
        (_tar([n for n in good if n[0] != blobs[0]]), ArchiveError, "is missing from the archive"),
        (_tar(_edit_index(good, lambda doc: doc["manifests"][0].pop("annotations"))), ArchiveError, f"has no {ann}"),
        (_tar(_edit_index(good, lambda doc: doc["manifests"][0]["annotations"].update({ann: "Bad Name!"}))),
         ArchiveError, "image name 'Bad Name!'"),
        (_tar(_edit_index(good, lambda doc: doc.update(manifests=[]))), ArchiveError,
         "^load: the archive holds no image$"),
        (_tar(_edit_index(good, lambda doc: doc["manifests"][0].update(size=1))), ArchiveError,
         "its descriptor says 1"),
        (_tar(_edit_index(good, lambda doc: doc.update(manifests=7))), ArchiveError, "index.json"),
        (_tar([("../escape", b"x")] + good), ArchiveError, "'..'"),
        (_tar(good)[:3000], ArchiveError, "corrupt or truncated|truncated"),
    ]
    for i, (raw, exc, why) in enumerate(cases):
        dst = Store(tmp_path / f"dst{i}")
        with pytest.raises(exc, match=why):
            load(dst, io.BytesIO(raw))
        _assert_unchanged(dst)


def test_a_manifest_that_is_not_one_is_refused(src: Store, tmp_path: Path) -> None:
    good = _layout(src)
    bogus = b'{"schemaVersion": 2, "mediaType": "' + mt.OCI_MANIFEST.encode() + b'", "config": 5}'
    h = hashlib.sha256(bogus).hexdigest()
    entries = [(n, d) for n, d in good if n.startswith("blobs/")] + [("blobs/sha256/" + h, bogus)]
    entries = _edit_index(entries + [("index.json", dict(good)["index.json"])],
                          lambda doc: doc["manifests"][0].update(digest="sha256:" + h, size=len(bogus)))
    dst = Store(tmp_path / "d")
    with pytest.raises(ArchiveError, match=f"load: sha256:{h}: "):
        load(dst, io.BytesIO(_tar(entries)))
    _assert_unchanged(dst)


def test_missing_blob_named_with_its_type(src: Store, tmp_path: Path) -> None:
    good = _layout(src)
    layer = json.loads(src.read_blob(src.resolve("app:v1").descriptor.digest))["layers"][0]["digest"]
    entries = [(n, d) for n, d in good if n != "blobs/sha256/" + layer.removeprefix("sha256:")]
    with pytest.raises(ArchiveError, match=f"^load: blob {layer} \\({re.escape(mt.OCI_LAYER_GZIP)}\\) is missing"):
        load(Store(tmp_path / "d"), io.BytesIO(_tar(entries)))


def test_load_checks_every_image_past_blobs_shared_between_them(tmp_path: Path) -> None:
    s = Store(tmp_path / "s")
    from .kit import index_of
    both = image(s, [{"m": b"only here"}, {"s": b"shared"}], arch="amd64")
    shared = image(s, [{"s": b"shared"}], arch="arm64")
    index_of(s, [(both, "amd64"), (shared, "arm64")], name="multi")
    gone = json.loads(s.read_blob(both.digest))["layers"][0]["digest"].removeprefix("sha256:")
    entries = [(n, d) for n, d in members(saved(s, "multi")).items() if n != "blobs/sha256/" + gone]
    dst = Store(tmp_path / "d")
    with pytest.raises(ArchiveError, match=f"blob sha256:{gone} .* is missing"):
        load(dst, io.BytesIO(_tar(entries)))
    _assert_unchanged(dst)


def test_load_of_blobs_larger_than_a_read_chunk(tmp_path: Path) -> None:
    s = Store(tmp_path / "s")
    image(s, [{"big": os.urandom(3 << 20)}], name="big")
    dst = Store(tmp_path / "d")
    assert load(dst, io.BytesIO(saved(s, "big"))) == [LIB + "big:latest"]
    assert blob_hexes(dst.root) == reachable(dst.root) == blob_hexes(s.root)


def test_directories_and_oci_layout_entries_are_accepted(src: Store, tmp_path: Path) -> None:
    good = _layout(src)
    dirs = [tarfile.TarInfo(n) for n in ("./", "blobs", "blobs/sha256", "extra")]
    for d in dirs:
        d.type = tarfile.DIRTYPE
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for d in dirs:                                   # directories first, as `tar -C layout .` writes them
            tf.addfile(d)
        for name, data in good:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    dst = Store(tmp_path / "d")
    assert load(dst, io.BytesIO(buf.getvalue())) == [LIB + "app:v1"]


def test_truncated_compressed_archive(src: Store, tmp_path: Path) -> None:
    import gzip
    gz = gzip.compress(saved(src, "app:v1"))
    dst = Store(tmp_path / "d")
    with pytest.raises(ArchiveError, match="^load: corrupt or truncated archive: "):
        load(dst, io.BytesIO(gz[: len(gz) - 200]))
    _assert_unchanged(dst)


@pytest.mark.parametrize("exc", [OSError(5, "Input/output error"), EOFError("stream ended")])
def test_a_failing_source_is_an_archive_error(src: Store, tmp_path: Path, exc: Exception) -> None:
    raw = saved(src, "app:v1")

    class Failing(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            if self.tell() >= 2048:
                raise exc
            return super().read(512)                       # a slow source: 512 bytes at a time

    dst = Store(tmp_path / "d")
    with pytest.raises(ArchiveError, match=f"^load: corrupt or truncated archive: .*{exc.args[-1]}"):
        load(dst, Failing(raw))
    _assert_unchanged(dst)


def test_missing_blob_of_unknown_type(src: Store, tmp_path: Path) -> None:
    good = _layout(src)
    man = json.loads(dict(good)["index.json"])["manifests"][0]["digest"].removeprefix("sha256:")
    entries = _edit_index([(n, d) for n, d in good if n != "blobs/sha256/" + man],
                          lambda doc: doc["manifests"][0].pop("mediaType"))
    with pytest.raises(ArchiveError, match=rf"^load: blob sha256:{man} \(unknown type\) is missing from the archive$"):
        load(Store(tmp_path / "d"), io.BytesIO(_tar(entries)))


def test_our_disk_refusing_writes_is_a_store_error(src: Store, tmp_path: Path) -> None:
    """A write refused by our own disk (here EPERM: the load directory made immutable mid-load) is reported as
    the store's problem, naming the file, not as a corrupt archive."""
    dst = Store(tmp_path / "d")
    locked: list[Path] = []

    class Locking(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            if not locked:
                for p in (dst.root / "ingest").iterdir():
                    if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode != 0:
                        if os.environ.get("CI"):
                            pytest.fail("chattr +i is not supported on this filesystem")
                        pytest.skip("chattr +i is not supported on this filesystem")
                    locked.append(p)
            return super().read(n)

    try:
        with pytest.raises(StoreError) as e:
            load(dst, Locking(saved(src, "app:v1")))
    finally:
        for p in locked:
            subprocess.run(["chattr", "-i", str(p)], check=True)
    assert len(locked) == 1
    assert re.match(rf"^load: write {re.escape(str(locked[0]))}/[0-9a-f]{{64}}: ", str(e.value)), str(e.value)
    assert not isinstance(e.value, ArchiveError)
    assert dst.refs() == [] and list((dst.root / "blobs" / "sha256").iterdir()) == []
    import shutil
    shutil.rmtree(locked[0])      # it could not be removed while immutable; gc would take it once we exit


def test_a_load_in_progress_is_named_for_its_process(src: Store, tmp_path: Path) -> None:
    """The temp directory of a running load sits in ingest/ under this process's pid, so gc and fsck keep it."""
    from sealer.store.layout import _owner_alive
    dst = Store(tmp_path / "d")
    seen: list[list[str]] = []

    class Watching(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            seen.append(os.listdir(dst.root / "ingest"))
            return super().read(n)

    load(dst, Watching(saved(src, "app:v1")))
    names = {n for listing in seen for n in listing}
    assert names and all(n.startswith(f"load-{os.getpid()}-") and _owner_alive(n) for n in names)
    assert os.listdir(dst.root / "ingest") == []


def test_save_keeps_the_images_annotations(tmp_path: Path) -> None:
    s = Store(tmp_path / "s")
    a = image(s, [{"a": b"a"}])
    from sealer.oci.model import Descriptor
    s.set_ref("annotated", Descriptor(a.media_type, a.digest, a.size, {"org.example/k": "v"}))
    idx = json.loads(members(saved(s, "annotated"))["index.json"])
    assert idx["manifests"][0]["annotations"] == {"org.example/k": "v", mt.ANNOTATION_REF_NAME: LIB + "annotated:latest"}


def test_load_limits(src: Store, tmp_path: Path) -> None:
    good = _layout(src)
    raw = _tar(good)
    n = len(good)
    total = sum(len(d) for _, d in good)
    assert load(Store(tmp_path / "ok"), io.BytesIO(raw), LoadLimits(max_entries=n, max_bytes=total)) == [LIB + "app:v1"]
    dst = Store(tmp_path / "n")
    with pytest.raises(ArchiveError, match=f"more than {n - 1} entries"):
        load(dst, io.BytesIO(raw), LoadLimits(max_entries=n - 1))
    _assert_unchanged(dst)
    dst = Store(tmp_path / "b")
    with pytest.raises(ArchiveError, match=f"more than {total - 1} bytes"):
        load(dst, io.BytesIO(raw), LoadLimits(max_bytes=total - 1))
    _assert_unchanged(dst)


def test_huge_index_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sealer.store.archive as archive
    index = b'{"manifests": []}'
    monkeypatch.setattr(archive, "MAX_DOC", len(index) - 1)
    dst = Store(tmp_path / "d")
    with pytest.raises(ArchiveError, match="^load: index.json too large$"):
        load(dst, io.BytesIO(_tar([("index.json", index)])))
    monkeypatch.setattr(archive, "MAX_DOC", len(index))         # exactly the limit: read (and found empty)
    with pytest.raises(ArchiveError, match="^load: the archive holds no image$"):
        load(dst, io.BytesIO(_tar([("index.json", index)])))


# ---- fsck ------------------------------------------------------------------------------------------------------

def _dead_pid() -> str:
    return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_fsck_of_a_healthy_store(src: Store) -> None:
    rep = fsck(src)
    n = len(list((src.root / "blobs" / "sha256").iterdir()))
    assert rep.ok and rep.blobs_checked == n and rep.unreferenced_blobs == 0
    assert rep.bytes_checked == sum(p.stat().st_size for p in (src.root / "blobs" / "sha256").iterdir())
    assert (rep.corrupt_blobs, rep.broken_refs, rep.stale_ingest, rep.dead_leases, rep.repaired) == ([],) * 5
    j = rep.to_json()
    assert j["ok"] is True and j["blobs_checked"] == n
    assert fsck(src, verify_content=False).bytes_checked == 0


def test_fsck_finds_corrupt_and_missing_blobs_and_repair_drops_only_broken_refs(src: Store) -> None:
    blobs = src.root / "blobs" / "sha256"
    app = json.loads(src.read_blob(src.resolve("app:v1").descriptor.digest))
    other = json.loads(src.read_blob(src.resolve("other:v2").descriptor.digest))
    corrupt = app["layers"][1]["digest"].removeprefix("sha256:")
    missing = other["config"]["digest"].removeprefix("sha256:")
    (blobs / corrupt).write_bytes(b"flipped")
    os.unlink(blobs / missing)
    (blobs / "foreign").write_text("x")
    (blobs / "0-foreign").write_text("x")          # sorts before every digest: the check goes on past it
    (blobs / ".hidden-temp").write_text("x")
    dead = _dead_pid()
    (src.root / "ingest" / f"w-{dead}-x").write_text("x")
    (src.root / "ingest" / f"load-{dead}-d").mkdir()
    (src.root / "ingest" / f"w-{os.getpid()}-live").write_text("x")
    (src.root / "leases" / f"{dead}-a.lease").write_text("")
    (src.root / "leases" / "odd.lease").write_text("")
    (src.root / "leases" / f"{os.getpid()}-b.lease").write_text("")
    (src.root / "leases" / f"{os.getpid()}-c-d.lease").write_text("")
    rep = fsck(src)
    assert not rep.ok
    assert sorted(rep.corrupt_blobs) == sorted(["0-foreign", "foreign", f"sha256:{corrupt}"])
    assert sorted(rep.broken_refs) == sorted([f"{LIB}app:v1: blob sha256:{corrupt} corrupt",
                                              f"{LIB}other:v2: blob sha256:{missing} missing"])
    assert sorted(rep.stale_ingest) == sorted([f"w-{dead}-x", f"load-{dead}-d"])
    assert sorted(rep.dead_leases) == sorted([f"{dead}-a.lease", "odd.lease"])
    assert rep.repaired == []
    unsaved = json.loads(src.read_blob(src.resolve("unsaved").descriptor.digest))
    good = {src.resolve("unsaved").descriptor.digest.hex, unsaved["config"]["digest"][7:],
            *(x["digest"][7:] for x in unsaved["layers"])}
    assert rep.unreferenced_blobs == len({p.name for p in blobs.iterdir()} - good)   # broken images' blobs too
    assert (blobs / corrupt).exists()                                 # a check changes nothing
    rep = fsck(src, repair=True)
    assert set(index_names(src.root)) == {LIB + "unsaved:latest"}
    assert not (blobs / corrupt).exists()
    assert f"removed corrupt blob {corrupt}" in rep.repaired and "removed corrupt blob foreign" in rep.repaired
    assert "removed corrupt blob 0-foreign" in rep.repaired
    assert f"dropped ref {LIB}app:v1" in rep.repaired and f"dropped ref {LIB}other:v2" in rep.repaired
    assert sorted(p.name for p in (src.root / "ingest").iterdir()) == [f"w-{os.getpid()}-live"]
    assert sorted(p.name for p in (src.root / "leases").iterdir()) == [f"{os.getpid()}-b.lease",
                                                                       f"{os.getpid()}-c-d.lease"]
    assert f"removed ingest/w-{dead}-x" in rep.repaired and f"removed ingest/load-{dead}-d" in rep.repaired
    doc = json.loads((src.root / "index.json").read_text())
    assert doc["schemaVersion"] == 2 and doc["mediaType"] == mt.OCI_INDEX
    os.unlink(blobs / ".hidden-temp")
    after = fsck(src)
    assert after.ok and after.unreferenced_blobs == len(blob_hexes(src.root) - reachable(src.root)) > 0


def test_fsck_reports_a_damaged_index_and_repair_restores_it(src: Store) -> None:
    names = index_names(src.root)
    (src.root / "index.json").write_text("{torn")
    rep = fsck(src)
    assert not rep.ok and rep.index_problem is not None and "index.json" in rep.index_problem
    assert rep.broken_refs == [] and rep.to_json()["ok"] is False
    rep = fsck(src, repair=True)
    assert rep.ok and rep.repaired[0].startswith("restored index.json from index.json.prev")
    got = index_names(src.root)
    # index.json.prev predates the last tag: that image comes back from the blobs under a recovered name
    assert sorted(got.values()) == sorted(names.values())
    assert {k for k in got if k in names} == {LIB + "app:v1", LIB + "other:v2"}


def test_fsck_walks_indexes_past_blobs_seen_twice(tmp_path: Path) -> None:
    s = Store(tmp_path)
    from .kit import index_of
    both = image(s, [{"m": b"only here"}, {"s": b"shared"}], arch="amd64")
    shared = image(s, [{"s": b"shared"}], arch="arm64")
    index_of(s, [(both, "amd64"), (shared, "arm64")], name="multi")
    assert fsck(s).ok
    gone = json.loads(s.read_blob(both.digest))["layers"][0]["digest"]
    os.unlink(s.root / "blobs" / "sha256" / gone.removeprefix("sha256:"))
    assert fsck(s).broken_refs == [f"{LIB}multi:latest: blob {gone} missing"]


def test_fsck_finds_a_missing_child_manifest_of_an_index(tmp_path: Path) -> None:
    s = Store(tmp_path)
    from .kit import index_of
    amd = image(s, [{"a": b"a"}])
    arm = image(s, [{"b": b"b"}], arch="arm64")
    index_of(s, [(amd, "amd64"), (arm, "arm64")], name="multi")
    os.unlink(s.blob_path(arm.digest))
    assert fsck(s).broken_refs == [f"{LIB}multi:latest: blob {arm.digest} missing"]


def test_fsck_broken_manifest_json(tmp_path: Path) -> None:
    s = Store(tmp_path)
    d = s.put_bytes(b"not json")
    from sealer.oci.model import Descriptor
    s.set_ref("bad", Descriptor(mt.OCI_MANIFEST, d, 8))
    image(s, [{"a": b"a"}], name="good")
    rep = fsck(s)
    assert len(rep.broken_refs) == 1 and rep.broken_refs[0].startswith(f"{LIB}bad:latest: {d}: ")
    rep = fsck(s, repair=True)
    assert f"dropped ref {LIB}bad:latest" in rep.repaired and set(index_names(s.root)) == {LIB + "good:latest"}


def test_fsck_rebuilds_a_lost_index_with_complete_images_only(tmp_path: Path) -> None:
    s = Store(tmp_path)
    ok = image(s, [{"a": b"a"}], name="ok")
    broken = image(s, [{"b": b"b"}], name="broken")
    layer = json.loads(s.read_blob(broken.digest))["layers"][0]["digest"]
    os.unlink(s.root / "blobs" / "sha256" / layer.removeprefix("sha256:"))
    (s.root / "index.json").write_text("{torn")
    os.unlink(s.root / "index.json.prev")
    rep = fsck(s, repair=True)
    assert list(index_names(s.root).values()) == [str(ok.digest)]
    assert not any(r.startswith("dropped ref") for r in rep.repaired)         # never restored in the first place
    assert any(str(broken.digest) in r for r in rep.repaired)


# ---- export-rootfs ---------------------------------------------------------------------------------------------

def _listing(p: Path) -> list[str]:
    return sorted(str(x.relative_to(p)) for x in p.rglob("*"))


def test_export_into_a_new_directory(src: Store, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    img = export_rootfs_atomic(src, "app:v1", dest)
    assert img.name == LIB + "app:v1"
    assert _listing(dest) == ["a", "b"] and (dest / "a").read_bytes() == b"A" * 3000
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_export_into_an_existing_empty_directory_keeps_its_mode(src: Store, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    os.chmod(dest, 0o711)
    export_rootfs_atomic(src, "other:v2", dest)
    assert _listing(dest) == ["c"] and stat.S_IMODE(dest.stat().st_mode) == 0o711


def test_export_refusals_create_nothing(src: Store, tmp_path: Path) -> None:
    before = {p.name for p in tmp_path.iterdir()}
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    with pytest.raises(StoreError, match="directory is not empty"):
        export_rootfs_atomic(src, "app:v1", full)
    f = tmp_path / "file"
    f.write_text("f")
    with pytest.raises(StoreError, match="exists and is not a directory"):
        export_rootfs_atomic(src, "app:v1", f)
    (tmp_path / "emptydir").mkdir()
    os.symlink(tmp_path / "emptydir", tmp_path / "link")
    with pytest.raises(StoreError, match="exists and is not a directory"):
        export_rootfs_atomic(src, "app:v1", tmp_path / "link")
    with pytest.raises(StoreError, match="does not exist"):
        export_rootfs_atomic(src, "app:v1", tmp_path / "no" / "dest")
    with pytest.raises(ImageNotFound):
        export_rootfs_atomic(src, "missing", tmp_path / "new")
    assert {p.name for p in tmp_path.iterdir()} == before | {"full", "file", "emptydir", "link"}
    assert _listing(full) == ["x"] and list((tmp_path / "emptydir").iterdir()) == []


def test_failed_export_leaves_nothing(tmp_path: Path) -> None:
    s = Store(tmp_path / "s")
    desc = image(s, [{"ok": b"1", "d/x": b"2"}], name="bad")
    man = json.loads(s.read_blob(desc.digest))
    hostile = io.BytesIO()
    with tarfile.open(fileobj=hostile, mode="w") as tf:
        ti = tarfile.TarInfo("zz/../../escape")
        tf.addfile(ti, io.BytesIO(b""))
    raw = hostile.getvalue()
    man["layers"].append({"mediaType": mt.OCI_LAYER, "digest": str(s.put_bytes(raw)), "size": len(raw)})
    mraw = json.dumps(man).encode()
    from sealer.oci.model import Descriptor
    s.set_ref("bad", Descriptor(mt.OCI_MANIFEST, s.put_bytes(mraw), len(mraw)))
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ArchiveError):
        export_rootfs_atomic(s, "bad", tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ArchiveError):
        export_rootfs_atomic(s, "bad", empty)
    assert list(empty.iterdir()) == []
    assert Digest.of_bytes(mraw).hex in blob_hexes(s.root)

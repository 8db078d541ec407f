"""The store's layout, refs, resolution, reachability and gc (store/layout.py), judged by reading index.json and
the blob files directly (tests/store/kit.py) and by hashlib, not by the store's own readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sealer.digest import Digest
from sealer.errors import DigestError, ImageNotFound, StoreError
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor, Platform
from sealer.store import Store
from sealer.store.layout import INDEX_BACKUP, _owner_alive, _pid_alive

from .kit import blob_hexes, config_digest, image, index_names, index_of, reachable

LIB = "docker.io/library/"


def test_new_store_layout(tmp_path: Path) -> None:
    Store(tmp_path / "s")
    root = tmp_path / "s"
    assert json.loads((root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert json.loads((root / "index.json").read_text()) == {"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                                                             "manifests": []}
    for d in ("blobs/sha256", "ingest", "leases", "cache"):
        assert (root / d).is_dir()
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0", "kept": true}')
    Store(root)
    assert json.loads((root / "oci-layout").read_text())["kept"] is True    # an existing layout is not rewritten


def test_read_only_open_creates_nothing(tmp_path: Path) -> None:
    s = Store(tmp_path / "none", create=False)
    assert s.refs() == [] and not (tmp_path / "none").exists()
    with pytest.raises(ImageNotFound):
        s.resolve("x")
    Store(tmp_path / "real")
    image(Store(tmp_path / "real"), [{"a": b"a"}], name="x:1")
    assert [r.name for r in Store(tmp_path / "real", create=False).refs()] == [LIB + "x:1"]
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    Store(tmp_path / "half", create=False)
    assert (tmp_path / "half" / "index.json").exists() and (tmp_path / "half" / "blobs" / "sha256").is_dir()


def test_store_with_blobs_but_no_index_is_not_reset(tmp_path: Path) -> None:
    s = Store(tmp_path)
    image(s, [{"a": b"a"}], name="x:1")
    os.unlink(tmp_path / "index.json")
    s2 = Store(tmp_path)
    assert not (tmp_path / "index.json").exists()
    with pytest.raises(StoreError, match="missing, but the store holds blobs; run `sealer fsck --repair`"):
        s2.refs()
    (tmp_path / "index.json").write_text("{not json")
    with pytest.raises(StoreError, match="index.json: .*; run `sealer fsck --repair` to restore it"):
        s2.refs()


def test_blobs_are_content_addressed(tmp_path: Path) -> None:
    s = Store(tmp_path)
    d = s.put_bytes(b"hello")
    assert d == Digest.of_bytes(b"hello")
    assert (tmp_path / "blobs" / "sha256" / d.hex).read_bytes() == b"hello"
    assert s.has_blob(d) and s.blob_size(d) == 5 and s.read_blob(d) == b"hello"
    with s.open_blob(d) as f:
        assert f.read() == b"hello"
    assert s.put_bytes(b"hello", d) == d
    with pytest.raises(DigestError, match="want"):
        s.put_bytes(b"other", d)
    d2, n = s.put_blob([b"ab", b"cd"])
    assert (d2, n) == (Digest.of_bytes(b"abcd"), 4)
    assert s.put_blob([b"never read"], d2) == (d2, 4)            # present: adopted, not rewritten
    with pytest.raises(DigestError, match="got 3 bytes, want 2"):
        s.put_blob([b"xyz"], Digest.of_bytes(b"xy"), 2)
    assert not s.has_blob(Digest.of_bytes(b"xy"))
    assert blob_hexes(tmp_path) == {d.hex, d2.hex}
    assert list((tmp_path / "ingest").iterdir()) == []


def test_put_blob_verifies_the_expected_digest(tmp_path: Path) -> None:
    s = Store(tmp_path)
    with pytest.raises(DigestError):
        s.put_blob([b"xz"], Digest.of_bytes(b"xy"), 2)
    assert not s.has_blob(Digest.of_bytes(b"xz")) and not s.has_blob(Digest.of_bytes(b"xy"))


def test_resumable_writer_and_leased_commits(tmp_path: Path) -> None:
    s = Store(tmp_path)
    w = s.writer("partial")
    w.write(b"abc")
    w.abort(keep=True)
    assert (tmp_path / "ingest" / "partial").read_bytes() == b"abc"
    with s.lease() as lease:
        w2 = s.writer("partial", resume=True)
        w2.write(b"def")
        d = w2.commit()
        assert lease.path.read_text() == f"{d}\n"               # committed blobs are pinned at once
    assert d == Digest.of_bytes(b"abcdef") and s.read_blob(d) == b"abcdef"
    w3 = s.writer("fresh")
    w3.write(b"x")
    assert w3.commit() == Digest.of_bytes(b"x")
    w4 = s.writer("again")
    w4.write(b"old")
    w4.abort(keep=True)
    w5 = s.writer("again")                                       # not resumed unless asked: starts empty
    w5.write(b"new")
    assert w5.commit() == Digest.of_bytes(b"new")


def test_store_files_live_in_its_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    s = Store(tmp_path / "s")
    image(s, [{"a": b"a"}], name="x")
    assert (tmp_path / "s" / "index.lock").exists()                 # the lock of index.json changes
    assert {p.name for p in tmp_path.iterdir()} == before | {"s"}


def test_index_json_alone_marks_a_store(tmp_path: Path) -> None:
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    Store(tmp_path / "idx", create=False)
    assert (tmp_path / "idx" / "oci-layout").exists() and (tmp_path / "idx" / "blobs" / "sha256").is_dir()


def test_temp_files_in_blobs_are_not_blobs(tmp_path: Path) -> None:
    (tmp_path / "blobs" / "sha256").mkdir(parents=True)
    (tmp_path / "blobs" / "sha256" / ".partial").write_text("x")
    Store(tmp_path)
    assert json.loads((tmp_path / "index.json").read_text())["manifests"] == []


def test_missing_large_and_corrupt_blobs(tmp_path: Path) -> None:
    s = Store(tmp_path)
    gone = Digest.of_bytes(b"gone")
    for call in (lambda: s.blob_size(gone), lambda: s.open_blob(gone), lambda: s.read_blob(gone)):
        with pytest.raises(StoreError, match=f"read blob {gone}: not in the store"):
            call()
    d = s.put_bytes(b"0123456789")
    assert s.read_blob(d, limit=10) == b"0123456789"
    with pytest.raises(StoreError, match="larger than 9 bytes"):
        s.read_blob(d, limit=9)
    (tmp_path / "blobs" / "sha256" / d.hex).write_bytes(b"9876543210")
    with pytest.raises(DigestError, match="does not match its digest"):
        s.read_blob(d)


def test_set_ref_writes_index_and_keeps_the_previous_one(tmp_path: Path) -> None:
    s = Store(tmp_path)
    a = image(s, [{"a": b"a"}], name="app:v1")
    assert index_names(tmp_path) == {LIB + "app:v1": str(a.digest)}
    first = (tmp_path / "index.json").read_bytes()
    b = image(s, [{"b": b"b"}], name="docker.io/library/app:v1")     # same name: replaced
    assert index_names(tmp_path) == {LIB + "app:v1": str(b.digest)}
    assert (tmp_path / INDEX_BACKUP).read_bytes() == first
    image(s, [{"c": b"c"}], name="other")
    assert set(index_names(tmp_path)) == {LIB + "app:v1", LIB + "other:latest"}
    doc = json.loads((tmp_path / "index.json").read_text())
    assert doc["schemaVersion"] == 2 and doc["mediaType"] == mt.OCI_INDEX
    assert [m["mediaType"] for m in doc["manifests"]] == [mt.OCI_MANIFEST] * 2
    backup = (tmp_path / INDEX_BACKUP).read_bytes()
    (tmp_path / "index.json").write_text("damaged")
    with pytest.raises(StoreError, match="fsck --repair"):
        s.set_ref("third", b)                                        # never written over a damaged index
    assert (tmp_path / INDEX_BACKUP).read_bytes() == backup and (tmp_path / "index.json").read_text() == "damaged"


def test_set_ref_checks(tmp_path: Path) -> None:
    s = Store(tmp_path)
    a = image(s, [{"a": b"a"}])
    b = image(s, [{"b": b"b"}])
    with pytest.raises(StoreError, match=f"tag app@{b.digest}: the digest does not match the image"):
        s.set_ref(f"app@{b.digest}", a)
    s.set_ref(f"app:v2@{a.digest}", a)
    s.set_ref(f"plain@{a.digest}", a)
    assert index_names(tmp_path) == {LIB + "app:v2": str(a.digest), f"{LIB}plain@{a.digest}": str(a.digest)}
    missing = Descriptor(mt.OCI_MANIFEST, Digest.of_bytes(b"nope"), 4)
    with pytest.raises(StoreError, match=f"tag {LIB}x:latest: manifest {missing.digest} is not in the store"):
        s.set_ref("x", missing)
    assert LIB + "x:latest" not in index_names(tmp_path)


def test_ref_annotations_and_platform_are_kept(tmp_path: Path) -> None:
    s = Store(tmp_path)
    a = image(s, [{"a": b"a"}])
    s.set_ref("x", Descriptor(a.media_type, a.digest, a.size, {"k": "v"}, Platform("linux", "arm64")))
    m = json.loads((tmp_path / "index.json").read_text())["manifests"][0]
    assert m["annotations"] == {"k": "v", mt.ANNOTATION_REF_NAME: LIB + "x:latest"}
    assert m["platform"] == {"architecture": "arm64", "os": "linux"}
    assert m["size"] == a.size
    r = s.refs()[0]
    assert (r.name, r.descriptor.digest, r.descriptor.size) == (LIB + "x:latest", a.digest, a.size)


def test_remove_ref(tmp_path: Path) -> None:
    s = Store(tmp_path)
    a = image(s, [{"a": b"a"}], name="a")
    image(s, [{"b": b"b"}], name="b")
    got = s.remove_ref("a:latest")
    assert got.digest == a.digest
    assert set(index_names(tmp_path)) == {LIB + "b:latest"}
    with pytest.raises(ImageNotFound, match=f"remove a: no such image in {tmp_path}"):
        s.remove_ref("a")


def test_refs_skip_unnamed_entries(tmp_path: Path) -> None:
    s = Store(tmp_path)
    a = image(s, [{"a": b"a"}], name="a")
    doc = json.loads((tmp_path / "index.json").read_text())
    doc["manifests"].append({"mediaType": mt.OCI_MANIFEST, "digest": str(a.digest), "size": a.size})
    doc["manifests"].append({"mediaType": mt.OCI_MANIFEST, "digest": str(a.digest), "size": a.size,
                             "annotations": {mt.ANNOTATION_REF_NAME: ""}})
    (tmp_path / "index.json").write_text(json.dumps(doc))
    assert [r.name for r in s.refs()] == [LIB + "a:latest"]


def test_resolve_by_name_digest_and_id_prefix(tmp_path: Path) -> None:
    s = Store(tmp_path)
    a = image(s, [{"a": b"a"}], name="app:v1")
    b = image(s, [{"b": b"b"}], name="app:v2")
    assert s.resolve("app:v1").descriptor.digest == a.digest
    assert s.resolve(LIB + "app:v2").descriptor.digest == b.digest
    assert s.resolve(f"app@{a.digest}").descriptor.digest == a.digest
    assert s.resolve(f"app:v2@{b.digest}").name == LIB + "app:v2"
    with pytest.raises(StoreError, match=f"app:v1 is {a.digest}, not {b.digest}"):
        s.resolve(f"app:v1@{b.digest}")
    with pytest.raises(ImageNotFound, match=f"^resolve other@{a.digest}: no such image in {tmp_path} "):
        s.resolve(f"other@{a.digest}")
    with pytest.raises(ImageNotFound):
        s.resolve(f"app:v9@{a.digest}")
    cfg = config_digest(s, a)
    for key in (cfg.hex, cfg.hex[:12], "sha256:" + cfg.hex[:8], a.digest.hex[:10]):
        assert s.resolve(key).descriptor.digest == a.digest, key
    with pytest.raises(ImageNotFound, match=f"resolve {cfg.hex[:3]}: no such image in {tmp_path}"):
        s.resolve(cfg.hex[:3])
    unique4 = next(h[:4] for h in (cfg.hex, a.digest.hex) if sum(
        x.startswith(h[:4]) for x in (cfg.hex, a.digest.hex, config_digest(s, b).hex, b.digest.hex)) == 1)
    assert s.resolve(unique4).descriptor.digest == a.digest          # 4 hex digits are enough
    with pytest.raises(ImageNotFound):
        s.resolve("Not A Name!")
    with pytest.raises(ImageNotFound):
        s.resolve("zzzz")


def test_resolve_ambiguous_prefix(tmp_path: Path) -> None:
    s = Store(tmp_path)
    one = image(s, [{"same": b"1"}], name="same1", label="same")
    two = image(s, [{"same": b"2"}], name="same2", label="same")
    cfg = config_digest(s, one)
    assert cfg == config_digest(s, two) and one.digest != two.digest    # one config: one image id, two images
    with pytest.raises(StoreError, match=f"resolve {cfg.hex[:8]}: ambiguous image id prefix"):
        s.resolve(cfg.hex[:8])
    assert s.resolve(one.digest.hex[:12]).descriptor.digest == one.digest


def test_resolve_by_id_skips_unreadable_images(tmp_path: Path) -> None:
    s = Store(tmp_path)
    a = image(s, [{"a": b"a"}], name="good")
    gone = image(s, [{"g": b"g"}], name="gone")
    layer = Digest(json.loads(s.read_blob(a.digest))["layers"][0]["digest"])
    s.set_ref("not-a-manifest", Descriptor(mt.OCI_MANIFEST, layer, s.blob_size(layer)))
    os.unlink(s.blob_path(gone.digest))
    assert s.resolve(config_digest(s, a).hex[:10]).descriptor.digest == a.digest


def test_referenced_blobs_past_a_blob_shared_by_two_images(tmp_path: Path) -> None:
    s = Store(tmp_path)
    both = image(s, [{"m": b"only here"}, {"s": b"shared"}], arch="amd64")
    shared = image(s, [{"s": b"shared"}], arch="arm64")
    index_of(s, [(both, "amd64"), (shared, "arm64")], name="multi")
    only = json.loads(s.read_blob(both.digest))["layers"][0]["digest"]
    assert Digest(only) in s.referenced_blobs()
    assert {d.hex for d in s.referenced_blobs()} == reachable(tmp_path)


def test_resolve_two_names_of_one_image_by_id_is_not_ambiguous(tmp_path: Path) -> None:
    s = Store(tmp_path)
    a = image(s, [{"a": b"a"}], name="one")
    s.set_ref("two", a)
    assert s.resolve(config_digest(s, a).hex[:6]).descriptor.digest == a.digest


def test_image_id_and_platform_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = Store(tmp_path)
    amd = image(s, [{"a": b"amd"}], arch="amd64")
    arm = image(s, [{"a": b"arm"}], arch="arm64")
    idx = index_of(s, [(amd, "amd64"), (arm, "arm64")], name="multi")
    assert s.image_id(idx) == config_digest(s, amd)
    assert s.image_id(amd) == config_digest(s, amd)
    img = s.image("multi", Platform("linux", "arm64"))
    assert img.descriptor.digest == arm.digest and img.index_descriptor is not None
    assert img.index_descriptor.digest == idx.digest and img.name == LIB + "multi:latest"
    assert img.config["architecture"] == "arm64"
    with pytest.raises(StoreError, match=r"no linux/s390x image; it has linux/amd64, linux/arm64 \(choose one"):
        s.image("multi", Platform("linux", "s390x"))
    import sealer.store.layout as layout
    monkeypatch.setattr(layout, "host_platform", lambda: Platform("linux", "arm64"))
    assert s.image("multi").descriptor.digest == arm.digest
    single = index_of(s, [(amd, None)], name="single")
    assert s.image("single", Platform("linux", "s390x")).descriptor.digest == amd.digest
    empty = index_of(s, [], name="empty")
    assert s.image_id(empty) == empty.digest
    plain = s.image(s.resolve("multi"), Platform("linux", "amd64"))
    assert str(plain.manifest.layers[0].digest) == json.loads(s.read_blob(amd.digest))["layers"][0]["digest"]
    assert single.digest != empty.digest
    assert s.image("multi", Platform("linux", "amd64")).index_descriptor is not None
    lone = image(s, [{"lone": b"1"}], name="lone")
    assert s.image("lone").index_descriptor is None and s.image("lone").descriptor.digest == lone.digest
    unnamed_many = index_of(s, [(amd, None), (arm, None)])
    with pytest.raises(StoreError, match=f"{unnamed_many.digest}: no linux/s390x image; it has none"):
        s.image_at(unnamed_many, platform=Platform("linux", "s390x"))


def test_export_rootfs_applies_layers_in_order(tmp_path: Path) -> None:
    s = Store(tmp_path / "s")
    image(s, [{"a": b"1", "gone": b"g", "d/x": b"x"}, {"a": b"2", ".wh.gone": b"", "d/y": b"y"}], name="x", gz=True)
    img = s.export_rootfs("x", tmp_path / "out" / "deep")
    out = tmp_path / "out" / "deep"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["a", "d", "d/x", "d/y"]
    assert (out / "a").read_bytes() == b"2"
    assert len(img.manifest.layers) == 2


def test_export_rootfs_of_a_chosen_platform(tmp_path: Path) -> None:
    s = Store(tmp_path / "s")
    amd = image(s, [{"arch": b"amd64"}], arch="amd64")
    arm = image(s, [{"arch": b"arm64"}], arch="arm64")
    index_of(s, [(amd, "amd64"), (arm, "arm64")], name="multi")
    img = s.export_rootfs("multi", tmp_path / "arm", Platform("linux", "arm64"))
    assert img.descriptor.digest == arm.digest and (tmp_path / "arm" / "arch").read_bytes() == b"arm64"
    from sealer.store.export import export_rootfs_atomic
    for dest in (tmp_path / "new", tmp_path / "empty"):
        if dest.name == "empty":
            dest.mkdir()
        img = export_rootfs_atomic(s, "multi", dest, Platform("linux", "arm64"))
        assert img.descriptor.digest == arm.digest and (dest / "arch").read_bytes() == b"arm64"


def test_referenced_blobs_walks_indexes_manifests_configs_and_layers(tmp_path: Path) -> None:
    s = Store(tmp_path)
    amd = image(s, [{"a": b"amd"}, {"b": b"b"}])
    arm = image(s, [{"a": b"arm"}])
    idx = index_of(s, [(amd, "amd64"), (arm, "arm64")], name="multi")
    image(s, [{"z": b"z"}], name="single")
    got = {d.hex for d in s.referenced_blobs()}
    assert got == reachable(tmp_path) and len(got) == 1 + 4 + 3 + 3   # index; amd: manifest, config, 2 layers; arm; single
    assert {d.hex for d in s.referenced_blobs([arm])} == reachable(tmp_path) - {
        h for h in reachable(tmp_path) if h not in {arm.digest.hex, config_digest(s, arm).hex,
                                                      json.loads(s.read_blob(arm.digest))["layers"][0]["digest"][7:]}}
    os.unlink(s.blob_path(arm.digest))                  # missing manifest: its digest listed, nothing below
    assert arm.digest in s.referenced_blobs([idx])
    assert config_digest(s, amd) in s.referenced_blobs([idx])
    layer = Digest(json.loads(s.read_blob(amd.digest))["layers"][0]["digest"])
    not_a_manifest = Descriptor(mt.OCI_MANIFEST, layer, s.blob_size(layer))
    assert s.referenced_blobs([not_a_manifest]) == {layer}   # unparsable: listed itself, nothing below, no error
    assert config_digest(s, amd) in s.referenced_blobs([amd, not_a_manifest])    # and the walk goes on


def test_gc_removes_only_unreachable_blobs(tmp_path: Path) -> None:
    s = Store(tmp_path)
    image(s, [{"a": b"a"}], name="keep")
    image(s, [{"b": b"bbbb"}], name="drop")
    (tmp_path / "blobs" / "sha256" / "not-a-digest").write_text("foreign")
    s.remove_ref("drop")
    want_kept = reachable(tmp_path)
    all_blobs = {p.name for p in (tmp_path / "blobs" / "sha256").iterdir()} - {"not-a-digest"}
    freed = sum((tmp_path / "blobs" / "sha256" / h).stat().st_size for h in all_blobs - want_kept)
    assert s.gc() == (len(all_blobs - want_kept), freed)
    assert {p.name for p in (tmp_path / "blobs" / "sha256").iterdir()} == want_kept | {"not-a-digest"}
    assert s.gc() == (0, 0)


def test_gc_keeps_leased_blobs_of_live_processes(tmp_path: Path) -> None:
    s = Store(tmp_path)
    with s.lease() as lease:
        d = s.put_bytes(b"in flight")
        s.adopt(d)
        e = Digest.of_bytes(b"not here")
        assert s.adopt(e) is False
        lines = lease.path.read_text().splitlines()
        assert lines == [str(d), str(e)]                 # each digest once
        assert s.gc() == (0, 0) and s.has_blob(d)
    assert not lease.path.exists()
    with s.lease() as gone:
        os.unlink(gone.path)                            # someone cleaned leases/ meanwhile: release still works
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    (tmp_path / "leases" / f"{dead.stdout.strip()}-x.lease").write_text(str(d) + "\n")
    (tmp_path / "leases" / "junk.lease").write_text(str(d) + "\n")
    (tmp_path / "leases" / "0-group.lease").write_text(str(d) + "\n")      # pid 0 is no process
    (tmp_path / "leases" / f"{os.getpid()}-live.lease").write_text("garbage line\n")
    assert s.gc() == (1, len(b"in flight"))
    assert sorted(p.name for p in (tmp_path / "leases").iterdir()) == [f"{os.getpid()}-live.lease"]
    kept = s.put_bytes(b"kept by a live lease with dashes in its name")
    kept1 = s.put_bytes(b"kept by pid 1")
    (tmp_path / "leases" / f"{os.getpid()}-a-b.lease").write_text(str(kept) + "\n")
    (tmp_path / "leases" / "1-init.lease").write_text(str(kept1) + "\n")   # pid 1 is alive
    assert s.gc() == (0, 0) and s.has_blob(kept) and s.has_blob(kept1)


def test_install_verified(tmp_path: Path) -> None:
    s = Store(tmp_path)
    f = tmp_path / "ingest" / "f"
    f.write_bytes(b"data")
    d = Digest.of_bytes(b"data")
    with s.lease() as lease:
        s.install_verified(f, d)
        assert lease.path.read_text() == f"{d}\n"
    assert s.read_blob(d) == b"data" and not f.exists()
    f.write_bytes(b"data")
    s.install_verified(f, d)
    assert not f.exists() and s.read_blob(d) == b"data"


def test_gc_removes_stale_ingest_of_dead_owners(tmp_path: Path) -> None:
    s = Store(tmp_path)
    ing = tmp_path / "ingest"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    old = time.time() - 7200
    for name in (f"w-{dead}-a", f"w-{os.getpid()}-b", "foreign", f"load-{dead}-dir"):
        p = ing / name
        if name.startswith("load"):
            p.mkdir()
            (p / "inner").write_text("x")
        else:
            p.write_text("x")
        os.utime(p, (old, old))
    (ing / f"w-{dead}-recent").write_text("x")
    s.gc()
    assert sorted(p.name for p in ing.iterdir()) == sorted([f"w-{os.getpid()}-b", f"w-{dead}-recent"])
    s.gc(ingest_grace=0)
    assert sorted(p.name for p in ing.iterdir()) == [f"w-{os.getpid()}-b"]


def test_pid_and_owner_liveness() -> None:
    assert _pid_alive(os.getpid()) and _pid_alive(1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert not _pid_alive(int(dead))
    assert _owner_alive(f"w-{os.getpid()}-x") and not _owner_alive(f"w-{dead}-x")
    assert not _owner_alive("nodash") and not _owner_alive("w-notapid")
    assert _owner_alive(f"w-{os.getpid()}") and not _owner_alive(f"w-{dead}")

"""RUN-layer diffs (build/rootfs.py): what a RUN changed and deleted, judged by applying the resulting whiteouts with
a plain walk in this file (OCI rules), and the lazy rootfs materialisation."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from store.kit import layer_tar

from sealer.build.rootfs import SPARSE_OVER, WorkingRootfs, _discovery_select, diff, snapshot
from sealer.digest import Digest
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.store import Store


def _files(root: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, n), root))
    return out


def _apply_whiteouts(lower: set[str], deleted: list[str]) -> set[str]:
    """OCI: a whiteout of ``p`` hides ``p`` and everything below it."""
    return {p for p in lower if not any(p == d or p.startswith(d + "/") for d in deleted)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "rootfs"
    for rel in ("d/top.txt", "d/sub/deep.txt", "d/sub/subsub/x", "keep/gone.txt", "keep/stay.txt", "e/sub/y",
                "e/z", "dx/file", "mode/f"):
        p = r / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    (r / "d" / "empty").mkdir()
    return r


def test_deleted_directories_become_top_most_whiteouts(root: Path) -> None:
    before = snapshot(root)
    shutil.rmtree(root / "d")
    os.unlink(root / "keep" / "gone.txt")
    shutil.rmtree(root / "e" / "sub")
    changed, deleted = diff(before, snapshot(root))
    assert deleted == ["d", "e/sub", "keep/gone.txt"]
    assert changed == []
    lower = set(before)
    assert _apply_whiteouts(lower, deleted) == _files(root)
    assert "dx/file" in _files(root)          # 'd' is not a prefix of 'dx'


def test_sibling_with_a_common_prefix_is_its_own_whiteout(root: Path) -> None:
    before = snapshot(root)
    shutil.rmtree(root / "d")
    shutil.rmtree(root / "dx")
    changed, deleted = diff(before, snapshot(root))
    assert deleted == ["d", "dx"]


def test_added_and_changed_paths(root: Path) -> None:
    before = snapshot(root)
    (root / "new").mkdir()
    (root / "new" / "f").write_text("n")
    (root / "keep" / "stay.txt").write_text("changed content, new size")
    os.chmod(root / "mode", 0o700)                 # a directory's own mode changed: it is a change
    (root / "e" / "added").write_text("a")         # e's children changed, e itself only in mtime: not listed
    changed, deleted = diff(before, snapshot(root))
    assert changed == ["e/added", "keep/stay.txt", "mode", "new", "new/f"]
    assert deleted == []


def test_same_size_rewrite_and_type_change_are_changes(root: Path) -> None:
    before = snapshot(root)
    os.utime(root / "keep" / "stay.txt", ns=(1, 1))
    os.unlink(root / "e" / "z")
    (root / "e" / "z").mkdir()
    changed, deleted = diff(before, snapshot(root))
    assert changed == ["e/z", "keep/stay.txt"]
    assert deleted == []


def test_snapshot_records_lstat_of_every_path(root: Path) -> None:
    os.symlink("/nonexistent", root / "dangling")
    snap = snapshot(root)
    st = os.lstat(root / "dangling")
    assert snap["dangling"] == (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    st = os.lstat(root / "d" / "sub" / "subsub" / "x")
    assert snap["d/sub/subsub/x"] == (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    assert set(snap) == _files(root)


@pytest.mark.parametrize(("rel", "size", "want"), [
    ("manifests/a.yaml", 10, "full"), ("charts/c/Chart.yaml", SPARSE_OVER * 9, "full"),
    ("image-archives/x.tar", 5, "full"), ("etc/kubeadm.yml", 1, "full"), ("application/apps/a", 1, "full"),
    ("Metadata", 100, "full"), ("registry/docker/x", SPARSE_OVER, "full"), ("registry/blob", SPARSE_OVER + 1,
                                                                             "placeholder"),
    ("bin/kubelet", SPARSE_OVER + 1, "placeholder"), ("bin/small", 3, "full"), ("registry", 0, "full"),
    ("rootfs/x", 1, "skip"), ("Kubefile", 1, "skip"), ("Metadata/x", 1, "skip"), ("manifestsx/a", 1, "skip"),
])
def test_discovery_selection(rel: str, size: int, want: str) -> None:
    assert _discovery_select(rel, size) == want


def _layer(store: Store, files: dict[str, bytes]) -> Descriptor:
    raw = layer_tar(files)
    return Descriptor(mt.OCI_LAYER, store.put_bytes(raw), len(raw))


def test_working_rootfs_extracts_lazily_in_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    w = WorkingRootfs(store, tmp_path / "builds" / "b1" / "work")   # parents created on demand
    w.add_layer(_layer(store, {"a": b"1", "b": b"b"}))
    w.add_layer(_layer(store, {"a": b"2", ".wh.b": b""}))
    assert not w.path.exists() and not w.materialized
    assert w.ensure() == w.path
    assert w.materialized and w.pending == []
    assert _files(w.path) == {"a"} and (w.path / "a").read_bytes() == b"2"
    w.add_layer(_layer(store, {"c": b"3"}))
    assert w.ensure_for_discovery() == w.path        # materialised already: the rootfs is completed in full
    assert _files(w.path) == {"a", "c"} and w.pending == []
    w.cleanup()
    assert not w.path.exists()


def test_discovery_extracts_only_what_the_lite_stage_reads(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    w = WorkingRootfs(store, tmp_path / "builds" / "b1" / "work")   # parents created on demand
    big = b"B" * (SPARSE_OVER + 1)
    w.add_layer(_layer(store, {"manifests/m.yaml": b"m", "bin/big": big, "rootfs/x": b"x", "Metadata": b"{}"}))
    assert w.ensure_for_discovery() == w.path
    assert not w.materialized and w.pending == []
    assert w.ensure_for_discovery() == w.path          # again, nothing pending: the directory exists already
    assert _files(w.path) == {"manifests", "manifests/m.yaml", "bin", "bin/big", "Metadata"}
    assert (w.path / "bin" / "big").stat().st_size == len(big)
    assert (w.path / "bin" / "big").read_bytes() == b"\0" * len(big)
    assert Digest.of_bytes((w.path / "manifests/m.yaml").read_bytes()) == Digest.of_bytes(b"m")

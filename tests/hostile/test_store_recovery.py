"""Issue 16 item 8: a garbage, empty or missing index.json never makes the store lose data: commands fail
with a clear error naming `fsck --repair`, gc refuses to delete, fsck --repair restores the previous good
version (index.json.prev) or rebuilds the refs the blobs prove, and says what was lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .craft import put_image

SEALER = [sys.executable, "-m", "sealer.cli.main"]


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SEALER, "--root", str(root), *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def blobs(root: Path) -> set[str]:
    return {p.name for p in (root / "blobs" / "sha256").iterdir()}


def names(root: Path) -> list[str]:
    r = run(root, "images", "--json")
    assert r.returncode == 0, r.stderr
    return sorted(x["name"] for x in json.loads(r.stdout))


@pytest.mark.parametrize("damage", [b"", b"{garbage", b"[]", b'{"schemaVersion": 2, "manifests": 7}'])
def test_damaged_index_is_restored_from_previous_version(store_root: Path, damage: bytes) -> None:
    put_image(store_root, "one:v1")
    put_image(store_root, "two:v1", labels={"x": "2"})
    before = blobs(store_root)
    assert (store_root / "index.json.prev").exists()
    (store_root / "index.json").write_bytes(damage)
    r = run(store_root, "images")
    assert r.returncode == 1 and "fsck --repair" in r.stderr and "Internal error" not in r.stderr
    g = run(store_root, "gc")
    assert g.returncode == 1 and "index.json" in g.stderr
    assert blobs(store_root) == before, "gc deleted blobs while the index was unreadable"
    f = run(store_root, "fsck")
    assert f.returncode == 1 and "index.json" in f.stdout
    fr = run(store_root, "fsck", "--repair")
    assert fr.returncode == 0, fr.stdout + fr.stderr
    assert "restored index.json from index.json.prev" in fr.stdout
    got = names(store_root)
    # the backup is one change behind: one:v1 by name, two:v1 back from the blobs under a recovered name
    assert "docker.io/library/one:v1" in got
    assert any(n.startswith("localhost/recovered:") for n in got), got
    assert blobs(store_root) == before
    assert (store_root / "index.json.damaged").read_bytes() == damage


def test_deleted_index_and_backup_rebuilds_from_blobs(store_root: Path) -> None:
    put_image(store_root, "one:v1")
    put_image(store_root, "two:v1", labels={"x": "2"})
    before = blobs(store_root)
    (store_root / "index.json").unlink()
    (store_root / "index.json.prev").unlink()
    f = run(store_root, "fsck")
    assert f.returncode == 1 and "store is consistent" not in f.stdout and "missing" in f.stdout
    assert not (store_root / "index.json").exists(), "a read created an empty index over the blobs"
    g = run(store_root, "gc")
    assert g.returncode == 1 and "fsck --repair" in g.stderr
    assert blobs(store_root) == before
    fr = run(store_root, "fsck", "--repair")
    assert fr.returncode == 0, fr.stdout + fr.stderr
    assert "rebuilt index.json from the blobs: 2 image(s) restored; image names were lost" in fr.stdout
    got = names(store_root)
    assert len(got) == 2 and all(n.startswith("localhost/recovered:") for n in got)
    assert run(store_root, "inspect", got[0]).returncode == 0
    assert run(store_root, "fsck").returncode == 0
    n = run(store_root, "gc")
    assert n.returncode == 0 and blobs(store_root) == before


def test_incomplete_image_is_reported_not_restored(store_root: Path) -> None:
    put_image(store_root, "one:v1")
    desc = put_image(store_root, "two:v1", labels={"x": "2"})
    man = json.loads((store_root / "blobs" / "sha256" / desc.digest.hex).read_bytes())
    (store_root / "blobs" / "sha256" / man["config"]["digest"].split(":")[1]).unlink()
    (store_root / "index.json").unlink()
    (store_root / "index.json.prev").unlink()
    fr = run(store_root, "fsck", "--repair")
    assert f"image {desc.digest} not restored: blob" in fr.stdout
    assert names(store_root) and len(names(store_root)) == 1

"""kill -9 in the middle of writing a large layer: the store stays consistent and usable."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sealer.digest import Digest, sha256_file
from sealer.store import Store

from .conftest import Sealer


def _ingest_bytes(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root / "ingest"):
        for f in files:
            if f.startswith("w-"):
                with contextlib.suppress(FileNotFoundError):
                    total += os.path.getsize(os.path.join(dirpath, f))
    return total


def test_kill9_during_large_layer_write(tmp_path: Path, sealer: Sealer) -> None:
    small = tmp_path / "small"
    small.mkdir()
    (small / "a.txt").write_text("a\n")
    (small / "Kubefile").write_text("FROM scratch\nCOPY a.txt .\nCMD echo hi\n")
    sealer("build", "-b", "lite", "-t", "before:v1", str(small))
    sealer("tag", "before:v1", "before:v2")
    index_before = json.loads((sealer.root / "index.json").read_text())

    big = tmp_path / "big"
    big.mkdir()
    (big / "Kubefile").write_text("FROM scratch\nRUN head -c 700M /dev/urandom > big.bin\n")
    env = dict(os.environ, SEALER_ROOT=str(sealer.root))
    p = subprocess.Popen([sys.executable, "-m", "sealer.cli.main", "build", "-q", "-b", "lite", "-t", "big:v1",
                          str(big)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    deadline = time.monotonic() + 120
    killed_mid_layer = False
    try:
        while time.monotonic() < deadline and p.poll() is None:
            if _ingest_bytes(sealer.root) > 20 << 20:   # the layer blob is being written
                os.killpg(p.pid, signal.SIGKILL)
                killed_mid_layer = True
                break
            time.sleep(0.01)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    assert killed_mid_layer, "the build finished before it could be killed mid-layer"

    # every earlier image is still listed and inspectable; index.json is intact
    assert json.loads((sealer.root / "index.json").read_text()) == index_before
    names = {i["name"] for i in sealer.json("images")}
    assert names == {"docker.io/library/before:v1", "docker.io/library/before:v2"}
    sealer("inspect", "before:v2")
    # every referenced blob is present and matches its digest
    store = Store(sealer.root)
    for d in store.referenced_blobs():
        got, _ = sha256_file(str(store.blob_path(d)))
        assert got == d
    # no blob in blobs/ has a wrong name (a torn write never reached blobs/)
    for name in os.listdir(sealer.root / "blobs" / "sha256"):
        assert sha256_file(str(sealer.root / "blobs" / "sha256" / name))[0] == Digest.from_hex(name)
    # gc clears the dead build's leftovers, and a new build succeeds
    store.gc(ingest_grace=0)
    assert _ingest_bytes(sealer.root) == 0
    (small / "b.txt").write_text("b\n")
    (small / "Kubefile").write_text("FROM scratch\nCOPY a.txt b.txt .\n")
    sealer("build", "-b", "lite", "-t", "after:v1", str(small))
    assert "docker.io/library/after:v1" in {i["name"] for i in sealer.json("images")}

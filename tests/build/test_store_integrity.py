"""fsck finds corruption and repairs without touching intact images; concurrent writers keep the store whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sealer.store import Store
from sealer.store.fsck import fsck

from .conftest import Sealer


def _ctx(tmp: Path, name: str, payload: str) -> Path:
    ctx = tmp / name
    ctx.mkdir()
    (ctx / "f.txt").write_text(payload)
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY f.txt .\nRUN cp f.txt g.txt\nCMD echo hi\n")
    return ctx


def test_fsck_detects_and_repairs_only_what_is_broken(tmp_path: Path, sealer: Sealer) -> None:
    sealer("build", "-b", "lite", "-t", "good:v1", str(_ctx(tmp_path, "a", "a")))
    sealer("build", "-b", "lite", "-t", "bad:v1", str(_ctx(tmp_path, "b", "b")))
    store = Store(sealer.root)
    assert fsck(store).ok
    good = store.referenced_blobs([store.resolve("good:v1").descriptor])
    bad_only = store.referenced_blobs([store.resolve("bad:v1").descriptor]) - good
    victim = sorted(bad_only, key=str)[0]
    p = store.blob_path(victim)
    p.chmod(0o644)
    p.write_bytes(b"tampered")
    (sealer.root / "ingest" / "w-999999999-dead").write_bytes(b"partial")
    r = sealer("fsck", ok=False)
    assert r.exit_code == 1 and "corrupt blob" in r.output and "bad:v1" in r.output
    r = sealer("fsck", "--repair", "--json", ok=False)
    assert r.exit_code == 0, r.output
    rep = fsck(store)
    assert rep.ok and not rep.stale_ingest
    assert {i["name"] for i in sealer.json("images")} == {"docker.io/library/good:v1"}
    for d in good:
        assert store.has_blob(d), "an intact image's blob was deleted"
    sealer("export-rootfs", "good:v1", str(tmp_path / "out"))


def test_concurrent_builds_load_tag_and_rmi(tmp_path: Path, sealer: Sealer) -> None:
    base = _ctx(tmp_path, "base", "base")
    sealer("build", "-b", "lite", "-t", "keep:v1", str(base))
    sealer("build", "-b", "lite", "-t", "victim:v1", str(_ctx(tmp_path, "victim", "victim")))
    archive = tmp_path / "x.tar"
    other = Sealer(tmp_path / "other")
    other("build", "-b", "lite", "-t", "loaded:v1", str(_ctx(tmp_path, "ld", "loaded")))
    other("save", "-o", str(archive), "loaded:v1")
    env = dict(os.environ, SEALER_ROOT=str(sealer.root))
    cmd = [sys.executable, "-m", "sealer.cli.main"]
    jobs = []
    for i in range(2):
        jobs.append(subprocess.Popen([*cmd, "build", "-q", "-b", "lite", "-t", f"par{i}:v1",
                                      str(_ctx(tmp_path, f"p{i}", f"payload {i}" * 1000))], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    jobs.append(subprocess.Popen([*cmd, "load", "-i", str(archive)], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE))
    jobs.append(subprocess.Popen([*cmd, "rmi", "victim:v1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    script = "; ".join(f"{' '.join(cmd)} tag keep:v1 keep:t{j} && {' '.join(cmd)} gc >/dev/null"
                       for j in range(5))
    jobs.append(subprocess.Popen(["bash", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for j in jobs:
        out, err = j.communicate(timeout=240)
        assert j.returncode == 0, err.decode()
    names = {i["name"] for i in sealer.json("images")}
    want = {"docker.io/library/keep:v1", "docker.io/library/par0:v1", "docker.io/library/par1:v1",
            "docker.io/library/loaded:v1"} | {f"docker.io/library/keep:t{j}" for j in range(5)}
    assert want <= names and "docker.io/library/victim:v1" not in names
    rep = fsck(Store(sealer.root))
    assert rep.ok, rep.to_json()
    for n in want:
        sealer("inspect", n)

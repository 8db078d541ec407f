"""`make demo`'s script runs end to end offline and shows the built images, inspect, verify and the pulls."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_demo_script_end_to_end(tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, PY=sys.executable, SEALER=str(bindir / "sealer"), TMPDIR=str(tmp))
    env.pop("SEALER_REGISTRIES_CONF", None)
    p = subprocess.run(["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    out = p.stdout + p.stderr
    images = out.split("==> sealer images", 1)[1].split("==>", 1)[0]
    assert "docker.io/library/demo-cluster" in images and "docker.io/library/kubernetes" in images
    assert "v1.19.8" in images
    inspect = out.split("==> sealer inspect", 1)[1].split("==> sealer verify", 1)[0]
    assert "Cached images (6)" in inspect and "kubernetes: v1.19.8" in inspect
    assert out.count("pulled ") >= 6          # every cached image pulled back from the stock registry
    assert "(4/4 steps cached" in out          # the rebuild came from the cache
    assert "pulled through the mirror on" in out  # delivered to two test hosts; a node pulled a cached image
    assert "kind: InitConfiguration" in out and "/var/run/dockershim.sock" in out
    assert list(tmp.iterdir()) == []           # the demo removed its temp dir (and stopped its registry)

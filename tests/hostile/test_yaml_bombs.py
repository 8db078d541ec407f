"""Issue 16 item 4: billion-laughs YAML in a Clusterfile, in an image's etc/registry_config.yaml, in a COPY'd
registry_config.yaml and in a template's rendered output is refused quickly by the budgeted loader, naming the
file; duplicate keys are refused too."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from helpers.hostile_text import BILLION_LAUGHS

SEALER = [sys.executable, "-m", "sealer.cli.main"]
GOLDEN = Path(__file__).parent.parent / "cluster" / "golden" / "Clusterfile"
BOMB_MSG = "alias expansion exceeds"


def run(tmp_path: Path, *args: str, cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    r = subprocess.run([*SEALER, "--root", str(tmp_path / "store"), *args], capture_output=True, text=True,
                       timeout=120, cwd=cwd, env=dict(os.environ))
    return r, time.monotonic() - t0


def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "Metadata").write_text('{"version": "v1.19.8", "arch": "amd64"}')
    return root


def test_clusterfile_bomb(tmp_path: Path) -> None:
    cf = tmp_path / "Clusterfile"
    # the bomb in front of a valid Clusterfile, in the same document's keys and as a separate document
    cf.write_text(BILLION_LAUGHS + "---\n" + GOLDEN.read_text())
    r, took = run(tmp_path, "kubeadm-config", str(rootfs(tmp_path)), "-f", str(cf))
    assert r.returncode == 1, r.stderr
    assert str(cf) in r.stderr and BOMB_MSG in r.stderr
    assert took < 30
    embedded = tmp_path / "Clusterfile2"  # the bomb inside spec, one valid-looking document
    indented = "".join("    " + ln + "\n" for ln in BILLION_LAUGHS.splitlines())
    embedded.write_text(GOLDEN.read_text().replace("spec:\n", "spec:\n  bombs:\n" + indented, 1))
    r, took = run(tmp_path, "kubeadm-config", str(rootfs(tmp_path)), "-f", str(embedded))
    assert r.returncode == 1 and BOMB_MSG in r.stderr and str(embedded) in r.stderr, r.stderr
    assert took < 30


def test_registry_config_bomb_in_image_rootfs(tmp_path: Path) -> None:
    root = rootfs(tmp_path)
    (root / "etc" / "registry_config.yaml").write_text(BILLION_LAUGHS)
    r, took = run(tmp_path, "registry-proxy-config", str(root))
    assert r.returncode == 1, r.stderr
    assert "registry_config.yaml" in r.stderr and BOMB_MSG in r.stderr
    assert took < 30


def test_copied_registry_config_bomb_fails_the_build(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "registry_config.yaml").write_text(BILLION_LAUGHS)
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY registry_config.yaml etc/\n")
    r, took = run(tmp_path, "build", "-b", "lite", "-t", "bomb:v1", str(ctx))
    assert r.returncode == 1, r.stderr
    assert "registry_config.yaml" in r.stderr and BOMB_MSG in r.stderr
    assert took < 60
    images, _ = run(tmp_path, "images", "--json")
    assert images.stdout.strip() == "[]"


def test_rendered_template_bomb(tmp_path: Path) -> None:
    root = rootfs(tmp_path)
    (root / "etc" / "kubeadm-init.yaml.tmpl").write_text(
        BILLION_LAUGHS + "apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n")
    r, took = run(tmp_path, "kubeadm-config", str(root), "-f", str(GOLDEN))
    assert r.returncode == 1, r.stderr
    assert "kubeadm-init.yaml.tmpl" in r.stderr and BOMB_MSG in r.stderr
    assert took < 30


def test_duplicate_kind_key_is_refused(tmp_path: Path) -> None:
    cf = tmp_path / "Clusterfile"
    cf.write_text(GOLDEN.read_text().replace("kind: Cluster\n", "kind: Cluster\nkind: Cluster\n", 1))
    r, _ = run(tmp_path, "kubeadm-config", str(rootfs(tmp_path)), "-f", str(cf))
    assert r.returncode == 1
    assert "duplicate key 'kind'" in r.stderr and str(cf) in r.stderr

"""FROM an image in the local store; multi-platform builds produce an index."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import Sealer


def test_from_local_image_keeps_base_layers_and_cmds_first(tmp_path: Path, sealer: Sealer) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "Metadata").write_text(json.dumps({"version": "v1.19.8", "arch": "amd64"}))
    (base / "Kubefile").write_text("FROM scratch\nCOPY Metadata .\nCMD echo base-first\n")
    sealer("build", "-b", "lite", "-t", "kubernetes:v1.19.8", str(base))
    app = tmp_path / "app"
    app.mkdir()
    (app / "recommended.yaml").write_text("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n")
    (app / "Kubefile").write_text(
        "FROM kubernetes:v1.19.8\nCOPY recommended.yaml manifests\nCMD kubectl apply -f manifests/recommended.yaml\n")
    sealer("build", "-b", "lite", "-t", "my-cluster:v1.19.9", str(app))
    b = sealer.json("inspect", "kubernetes:v1.19.8")
    a = sealer.json("inspect", "my-cluster:v1.19.9")
    assert a["cmds"] == ["echo base-first", "kubectl apply -f manifests/recommended.yaml"]
    assert [x["digest"] for x in a["layers"][: len(b["layers"])]] == [x["digest"] for x in b["layers"]]
    assert a["kubernetesVersion"] == "v1.19.8"
    rootfs = tmp_path / "rootfs"
    sealer("export-rootfs", "my-cluster:v1.19.9", str(rootfs))
    assert (rootfs / "Metadata").exists() and (rootfs / "manifests" / "recommended.yaml").exists()
    # the Kubefile in the rootfs is the last build's
    assert (rootfs / "Kubefile").read_text().startswith("FROM kubernetes:v1.19.8")


def test_multi_platform_build_is_an_index(tmp_path: Path, sealer: Sealer) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a").write_text("a")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY a .\n")
    sealer("build", "-b", "lite", "--platform", "linux/amd64,linux/arm64", "-t", "multi:v1", str(ctx))
    raw = subprocess.check_output(["skopeo", "inspect", "--raw", f"oci:{sealer.root}:docker.io/library/multi:v1"])
    idx = json.loads(raw)
    assert idx["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert sorted(m["platform"]["architecture"] for m in idx["manifests"]) == ["amd64", "arm64"]
    arm = sealer.json("inspect", "--platform", "linux/arm64", "multi:v1")
    assert arm["platform"] == "linux/arm64" and arm["platforms"] == ["linux/amd64", "linux/arm64"]
    info = json.loads(subprocess.check_output(
        ["skopeo", "--override-arch", "arm64", "inspect", f"oci:{sealer.root}:docker.io/library/multi:v1"]))
    assert info["Architecture"] == "arm64"

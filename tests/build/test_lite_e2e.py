"""Lite build end to end: imageList + manifests + a chart → cached into the image's registry/ layers →
served back by the stock docker-registry from the unpacked rootfs, checked with skopeo."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from helpers.faultproxy import FaultProxy
from helpers.registry import Registry, push_test_image, skopeo, start_registry

from sealer.cli.main import cli

CHART = """apiVersion: v2
name: web
version: 0.1.0
appVersion: "1.0"
"""
VALUES = """image:
  repository: {host}/apps/web
  tag: v2
sidecar:
  enabled: true
  image: {host}/apps/sidecar:v1
"""
DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  template:
    spec:
      containers:
      - name: web
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        imagePullPolicy: IfNotPresent
      {{- if .Values.sidecar.enabled }}
      - name: sidecar
        image: {{ .Values.sidecar.image }}
      {{- end }}
"""


def sealer(root: Path, *args: str, ok: bool = True) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)
    if ok:
        assert r.exit_code == 0, r.output
    return r.stdout if ok else r.output


def make_context(tmp: Path, host: str, extra_list: str = "") -> Path:
    ctx = tmp / "ctx"
    (ctx / "web" / "templates").mkdir(parents=True, exist_ok=True)
    (ctx / "web" / "Chart.yaml").write_text(CHART)
    (ctx / "web" / "values.yaml").write_text(VALUES.format(host=host))
    (ctx / "web" / "templates" / "deploy.yaml").write_text(DEPLOY)
    (ctx / "imageList").write_text(f"# images the app needs\n{host}/library/busybox:1.36\n{extra_list}")
    (ctx / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: j}\nspec:\n  jobTemplate:\n    spec:\n      template:\n"
        f"        spec:\n          initContainers:\n          - name: i\n            image: {host}/tools/multi:v1\n"
        "          containers:\n          - name: c\n            image: " + host + "/library/busybox:1.36\n")
    (ctx / "Kubefile").write_text(
        "FROM scratch\nCOPY imageList manifests\nCOPY job.yaml manifests\nCOPY web charts\n"
        "CMD helm install web charts/web\nCMD kubectl apply -f manifests/job.yaml\n")
    return ctx


def seed(reg: Registry) -> dict[str, str]:
    imgs = {
        "library/busybox:1.36": push_test_image(reg, "library/busybox:1.36", [200_000], seed=1),
        "apps/web:v2": push_test_image(reg, "apps/web:v2", [300_000, 100_000], seed=2),
        "apps/sidecar:v1": push_test_image(reg, "apps/sidecar:v1", [150_000], seed=3),
        "tools/multi:v1": push_test_image(reg, "tools/multi:v1", [120_000], seed=4,
                                          platforms=["linux/amd64", "linux/arm64"]),
        "extra/late:v1": push_test_image(reg, "extra/late:v1", [250_000, 10_000], seed=5),
    }
    return {k: v.digest if hasattr(v, "digest") else "" for k, v in imgs.items()}


def manifest_digest(reg_url_ref: str, *args: str) -> str:
    out = skopeo("inspect", "--raw", *args, reg_url_ref).stdout.encode()
    import hashlib

    return "sha256:" + hashlib.sha256(out).hexdigest()


def test_lite_build_caches_all_sources_and_stock_registry_serves_them(tmp_path: Path) -> None:
    src = start_registry(tmp_path / "src")
    served = None
    try:
        seed(src)
        root = tmp_path / "store"
        ctx = make_context(tmp_path, src.host)
        sealer(root, "build", "-q", "-b", "lite", "--platform", "linux/amd64,linux/arm64", "-t", "app:v1", str(ctx))
        doc = json.loads(sealer(root, "inspect", "--json", "app:v1"))
        cached = {i["reference"]: i for i in doc["cachedImages"]}
        want = {f"{src.host}/{n}" for n in ("library/busybox:1.36", "apps/web:v2", "apps/sidecar:v1", "tools/multi:v1")}
        assert set(cached) == want
        assert doc["cmds"] == ["helm install web charts/web", "kubectl apply -f manifests/job.yaml"]
        # the sources of each image are remembered
        assert any("imageList" in s for s in cached[f"{src.host}/library/busybox:1.36"]["sources"])
        assert any("charts/web" in s for s in cached[f"{src.host}/apps/web:v2"]["sources"])
        # unpack the rootfs and serve its registry/ with the stock registry
        rootfs = tmp_path / "rootfs"
        sealer(root, "export-rootfs", "app:v1", str(rootfs))
        assert (rootfs / "registry" / "docker" / "registry" / "v2").is_dir()
        served = _serve(tmp_path / "served", rootfs / "registry")
        (tmp_path / "pulled").mkdir()
        for ref, info in cached.items():
            path = ref.split("/", 1)[1]
            src_digest = manifest_digest(f"docker://{ref}", "--tls-verify=false")
            got = manifest_digest(f"docker://{served.host}/{path}", "--tls-verify=false")
            assert got == src_digest == info["digest"], ref
            out = tmp_path / "pulled" / re.sub(r"[^a-z0-9]", "_", path)
            archs = ["amd64", "arm64"] if "multi" in ref else ["amd64"]
            for arch in archs:
                skopeo("copy", "--quiet", "--src-tls-verify=false", "--override-arch", arch,
                       f"docker://{served.host}/{path}", f"dir:{out}-{arch}")
                assert (Path(f"{out}-{arch}") / "manifest.json").exists()
        assert sorted(cached[f"{src.host}/tools/multi:v1"]["platforms"]) == ["linux/amd64", "linux/arm64"]
        # `sealer verify` agrees
        assert "ok" in sealer(root, "verify", "app:v1")
    finally:
        if served is not None:
            served.stop()
        src.stop()


def test_rebuild_after_adding_one_image_fetches_only_its_blobs(tmp_path: Path) -> None:
    src = start_registry(tmp_path / "src")
    counter = FaultProxy(src)   # no faults: a counting proxy in front of the real registry
    try:
        seed(src)
        root = tmp_path / "store"
        ctx = make_context(tmp_path, counter.host)
        sealer(root, "build", "-q", "-b", "lite", "-t", "app:v1", str(ctx))
        first = [p for m, p, _ in counter.requests if m == "GET" and "/blobs/" in p]
        assert len(first) >= 5
        mark = len(counter.requests)
        (ctx / "imageList").write_text((ctx / "imageList").read_text() + f"{counter.host}/extra/late:v1\n")
        out = json.loads(sealer(root, "build", "-q", "--json", "-b", "lite", "-t", "app:v2", str(ctx)))
        blob_gets = [p for m, p, _ in counter.requests[mark:] if m == "GET" and "/blobs/" in p]
        late = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{src.host}/extra/late:v1").stdout)
        want = {late["config"]["digest"], *(x["digest"] for x in late["layers"])}
        assert {p.rsplit("/", 1)[1] for p in blob_gets} == want, blob_gets
        assert all("/extra/late/" in p for p in blob_gets)
        refs = {i["reference"] for i in out["images"]}
        assert f"{counter.host}/extra/late:v1" in refs and len(refs) == 5
    finally:
        counter.stop()
        src.stop()


def _serve(workdir: Path, registry_dir: Path) -> Registry:
    """The stock registry with the image's registry/ directory as its storage root."""
    import os

    workdir.mkdir(parents=True, exist_ok=True)
    os.symlink(registry_dir, workdir / "storage")
    return start_registry(workdir)

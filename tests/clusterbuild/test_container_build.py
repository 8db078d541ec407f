"""`sealer build -b container` with a real Docker engine (started by the test in its own mount namespace): two node
containers made from the mmdebstrap node image, the base delivered into them over SSH, a RUN that pulls an image no
manifest names, and every container and volume gone afterwards — also when a RUN fails half-way."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.dockerd import Dockerd, dockerd  # noqa: F401 - the fixture
from helpers.registry import Registry

from clusterbuild.test_existing_hosts import KUBECTL, PULL, REPO, _env, app_context, sealer, upstream  # noqa: F401
from sealer.infra.providers.container import LABEL, docker_client

SEALER = [sys.executable, "-m", "sealer.cli.main"]
CACHE = Path(os.environ.get("SEALER_TEST_CACHE", "/var/tmp/sealer-test-cache"))
KUBEADM = """#!/bin/bash
# TEST FIXTURE — not Kubernetes. Stands in for kubeadm inside node containers (which have no Python packages):
# records its argv, checks the config it is given has no unrendered template, prints a join command on init.
mkdir -p /var/lib/sealer/fixture
echo "$*" >> /var/lib/sealer/fixture/kubeadm.log
config=""; prev=""
for a in "$@"; do [ "$prev" = "--config" ] && config=$a; prev=$a; done
if [ -n "$config" ] && grep -q '{{' "$config"; then echo "unrendered template in $config" >&2; exit 1; fi
case "$1" in
  init) echo "kubeadm join apiserver.cluster.local:6443 --token abcdef.0123456789abcdef \\\\"
        echo "  --discovery-token-ca-cert-hash sha256:$(printf '%064d' 7)";;
  join) echo "This node has joined the cluster";;
esac
"""


def base_context(tmp: Path) -> Path:
    """A base whose fixtures run inside a node container: bash only, and the image ships its registry."""
    ctx = tmp / "cbase-ctx"
    (ctx / "bin").mkdir(parents=True)
    (ctx / "Metadata").write_text(json.dumps({"version": "v1.25.0", "arch": "amd64"}))
    (ctx / "bin" / "kubeadm").write_text(KUBEADM)
    (ctx / "bin" / "kubectl").write_text(KUBECTL)
    (ctx / "bin" / "kubelet").write_text("#!/bin/sh\n# TEST FIXTURE — not Kubernetes.\nexit 0\n")
    shutil.copy("/usr/bin/docker-registry", ctx / "bin" / "registry")  # docker-distribution, as the image's own
    for f in (ctx / "bin").iterdir():
        f.chmod(0o755)
    shutil.copytree(REPO / "examples" / "base" / "scripts", ctx / "scripts")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY Metadata .\nCOPY bin .\nCOPY scripts .\n")
    return ctx


def _addresses() -> str:
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0)
    return f"127.0.{140 + worker}.21-127.0.{140 + worker}.24"


def _build(tmp: Path, reg: Registry, d: Dockerd, ctx: Path, tag: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **_env(tmp, reg), "XDG_CACHE_HOME": str(CACHE / "xdg")}
    return subprocess.run([*SEALER, "--root", str(tmp / "store"), "build", "-b", "container", "-t", tag,
                           "--docker-host", d.url, "--node-addresses", _addresses(), "--no-default-upstreams",
                           str(ctx)], env=env, capture_output=True, text=True, timeout=1200)


@pytest.fixture
def base(tmp_path: Path, upstream: Registry) -> Path:  # noqa: F811
    sealer(tmp_path / "store", "build", "-q", "-b", "lite", "-t", "cb-base:v1", str(base_context(tmp_path)),
           env=_env(tmp_path, upstream))
    return tmp_path / "store"


def test_container_build_captures_and_removes_everything(tmp_path: Path, upstream: Registry,  # noqa: F811
                                                         dockerd: Dockerd, base: Path) -> None:  # noqa: F811
    ctx = app_context(tmp_path, "app", f"{PULL} docker.io/library/operand:1 >/dev/null && echo ran > marker")
    r = _build(tmp_path, upstream, dockerd, ctx, "c-app:v1")
    assert r.returncode == 0, r.stderr[-4000:]
    info = json.loads(sealer(base, "inspect", "c-app:v1", "--json", env=_env(tmp_path, upstream)))
    images = {i["reference"]: i for i in info["cachedImages"]}
    assert set(images) == {"docker.io/library/nginx:1.25", "docker.io/library/operand:1"}
    master0 = _addresses().split("-")[0]
    assert f"pulled by node {master0}" in " ".join(str(s) for s in images["docker.io/library/operand:1"]["sources"])
    sealer(base, "verify", "c-app:v1", env=_env(tmp_path, upstream))
    client = docker_client(dockerd.url)
    assert client.containers.list(all=True, filters={"label": LABEL}) == []
    assert client.volumes.list(filters={"label": LABEL}) == []
    assert client.networks.list(filters={"label": LABEL}) == []


def test_failing_run_removes_every_container(tmp_path: Path, upstream: Registry,  # noqa: F811
                                             dockerd: Dockerd, base: Path) -> None:  # noqa: F811
    ctx = app_context(tmp_path, "app", "echo failing on purpose; exit 3")
    r = _build(tmp_path, upstream, dockerd, ctx, "c-fail:v1")
    assert r.returncode == 1 and "exit code 3" in r.stderr
    client = docker_client(dockerd.url)
    assert client.containers.list(all=True, filters={"label": LABEL}) == []
    assert client.volumes.list(filters={"label": LABEL}) == []

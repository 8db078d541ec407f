"""A cluster build on existing hosts (real sshd test hosts, real containerd, the stock registry as the image's
registry and as pull-through caches): a RUN step makes master0 pull an image no manifest names, and the built
image carries it, with the node that pulled it; lite parity of the file layers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.registry import Registry, push_test_image, start_registry
from helpers.testhosts import TestHost, test_hosts  # noqa: F401 - the fixture

from sealer.cli.main import cli

HERE = Path(__file__).parent
REPO = HERE.parents[1]
FIXTURE_LOG = "/var/lib/sealer/fixture"
KUBECTL = """#!/bin/bash
# TEST FIXTURE — not Kubernetes. Stands in for kubectl: records its argv to /var/lib/sealer/fixture/kubectl.log;
# `get pods -A -o json` answers with the pods listed in /var/lib/sealer/fixture/pods.json (default: one ready pod).
mkdir -p /var/lib/sealer/fixture
printf '%s\\t%s\\n' "$*" "${KUBECONFIG:-}" >> /var/lib/sealer/fixture/kubectl.log
if [ "$1 $2" = "get pods" ]; then
  cat /var/lib/sealer/fixture/pods.json 2>/dev/null || echo '{"items": [{"metadata": {"namespace": "kube-system",
    "name": "etcd-0"}, "status": {"phase": "Running", "containerStatuses": [{"ready": true}]}}]}'
fi
"""
WEB = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
"""
PULL = "ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d"


def sealer(root: Path, *args: str, env: dict[str, str]) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def base_context(tmp: Path) -> Path:
    ctx = tmp / "base-ctx"
    (ctx / "bin").mkdir(parents=True)
    (ctx / "Metadata").write_text(json.dumps({"version": "v1.25.0", "arch": "amd64"}))
    (ctx / "bin" / "kubeadm").write_text(f"#!{sys.executable}\n" +
                                          (REPO / "tests" / "deliver" / "kubeadm_fixture.py").read_text())
    (ctx / "bin" / "kubelet").write_text((REPO / "tests" / "deliver" / "simple_fixture.sh").read_text()
                                         .replace("NAME", "kubelet"))
    (ctx / "bin" / "kubectl").write_text(KUBECTL)
    for f in (ctx / "bin").iterdir():
        f.chmod(0o755)
    import shutil

    shutil.copytree(REPO / "examples" / "base" / "scripts", ctx / "scripts")
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY Metadata .\nCOPY bin .\nCOPY scripts .\n")
    return ctx


def app_context(tmp: Path, name: str, run: str) -> Path:
    ctx = tmp / name
    (ctx / "manifests").mkdir(parents=True)
    (ctx / "manifests" / "web.yaml").write_text(WEB)
    (ctx / "Kubefile").write_text(
        f"FROM cb-base:v1\nCOPY manifests .\nRUN {run}\nCMD kubectl apply -f manifests/web.yaml\n")
    return ctx


def clusterfile(path: Path, master: TestHost, node: TestHost) -> Path:
    path.write_text(f"""apiVersion: sealer.io/v2
kind: Cluster
metadata: {{name: unused}}
spec:
  ssh: {{pk: "{master.ssh_config.pkey}"}}
  containerRuntime: {{type: containerd}}
  hosts:
    - ips: [{master.address}]
      roles: [master]
    - ips: [{node.address}]
      roles: [node]
""")
    return path


@pytest.fixture
def upstream(tmp_path: Path) -> Registry:
    """A registry standing in for docker.io (images at their docker.io paths), reachable from every host."""
    with start_registry(tmp_path / "dockerio") as reg:
        push_test_image(reg, "library/nginx:1.25", [30_000], seed=1)
        push_test_image(reg, "library/operand:1", [40_000], seed=2)
        yield reg


def _env(tmp: Path, reg: Registry) -> dict[str, str]:
    conf = tmp / "registries.conf"
    conf.write_text(f'[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n'
                    f'[[registry.mirror]]\nlocation = "{reg.host}"\ninsecure = true\n')
    return {"SEALER_REGISTRIES_CONF": str(conf), "SEALER_STATE_DIR": str(tmp / "state"),
            "SOURCE_DATE_EPOCH": "1700000000"}


def test_run_step_pull_is_captured_with_its_node(tmp_path: Path, upstream: Registry, test_hosts) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    m0, n1 = test_hosts(2)
    env = _env(tmp_path, upstream)
    root = tmp_path / "store"
    sealer(root, "build", "-q", "-b", "lite", "-t", "cb-base:v1", str(base_context(tmp_path)), env=env)
    ctx = app_context(tmp_path, "app", f"{PULL} docker.io/library/operand:1 >/dev/null && echo ran > run-marker")
    out = sealer(root, "build", "-b", "container", "--no-default-upstreams", "--clusterfile", str(clusterfile(tmp_path / "CF", m0, n1)),
                 "-t", "cb-app:v1", str(ctx), env=env)
    assert "captured docker.io/library/operand:1" in out
    for phase in ("provision", "deliver", "build", "settle", "collect", "teardown"):
        assert f"{phase} took" in out, phase

    info = json.loads(sealer(root, "inspect", "cb-app:v1", "--json", env=env))
    images = {i["reference"]: i for i in info["cachedImages"]}
    assert set(images) == {"docker.io/library/nginx:1.25", "docker.io/library/operand:1"}
    operand_sources = " ".join(str(s) for s in images["docker.io/library/operand:1"]["sources"])
    assert f"pulled by node {m0.address}" in operand_sources
    assert "manifests/web.yaml" in " ".join(str(s) for s in images["docker.io/library/nginx:1.25"]["sources"])
    assert info["buildType"] == "container"
    verify = json.loads(sealer(root, "verify", "cb-app:v1", "--json", env=env))
    assert {i["reference"] for i in verify["images"]} >= set(images)

    # lite discovery of the same context does not see the operand: only the cluster did
    found = json.loads(sealer(root, "find-images", str(ctx), "--json", env=env))
    assert [i["image"] for i in found] == ["docker.io/library/nginx:1.25"]

    # the RUN ran on master0 and its file came back as the RUN's layer
    rootfs = tmp_path / "rootfs"
    sealer(root, "export-rootfs", "cb-app:v1", str(rootfs), env=env)
    assert (rootfs / "run-marker").read_text() == "ran\n"
    assert not (rootfs / "etc" / "registry_config.yaml").exists(), "the build cluster's proxy config stays out"
    # the CMD ran on master0 against the cluster, with the image's kubectl and the cluster's kubeconfig
    assert "apply -f manifests/web.yaml\t/etc/kubernetes/admin.conf" in m0.read(f"{FIXTURE_LOG}/kubectl.log")
    # torn down: the hosts are as a `delete --all` leaves them
    for h in (m0, n1):
        assert h.exec("ls /var/lib/sealer/data", check=False).stdout.strip() == ""
        assert "sea.hub" not in h.read("/etc/hosts")
        assert not [p for p in h.processes() if "docker-registry" in p or "registry serve" in p]


def test_file_layers_match_a_lite_build(tmp_path: Path, upstream: Registry, test_hosts) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    m0, n1 = test_hosts(2)
    env = _env(tmp_path, upstream)
    root = tmp_path / "store"
    sealer(root, "build", "-q", "-b", "lite", "-t", "cb-base:v1", str(base_context(tmp_path)), env=env)
    ctx = app_context(tmp_path, "app", "mkdir -p out && echo made > out/file && rm -f Metadata.bak")
    sealer(root, "build", "-q", "-b", "lite", "-t", "lite:v1", str(ctx), env=env)
    sealer(root, "build", "-q", "-b", "container", "--no-default-upstreams", "--clusterfile", str(clusterfile(tmp_path / "CF", m0, n1)),
           "-t", "cluster:v1", str(ctx), env=env)

    def layers(ref: str) -> list[tuple[str, str]]:
        info = json.loads(sealer(root, "inspect", ref, "--json", env=env))
        return [(str(x["instruction"]), str(x["digest"])) for x in info["layers"]
                if str(x["instruction"]).startswith(("COPY", "RUN", "base layer", "sealer: Kubefile"))]

    lite, cluster = layers("lite:v1"), layers("cluster:v1")
    assert lite == cluster, "COPY and RUN layers are byte-identical whichever build type made them"
    assert [by for by, _ in cluster if by.startswith("RUN")] == [
        "RUN mkdir -p out && echo made > out/file && rm -f Metadata.bak"]

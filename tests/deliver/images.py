"""The test cluster images: a base whose bin/kubeadm, kubelet, kubectl are TEST FIXTURES (not Kubernetes) and
whose scripts are examples/base/scripts (sealer's contract), and a lite-built app image FROM it caching images
from a local docker-registry that stands in for docker.io, quay.io and registry.k8s.io (registries.conf mirrors).
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from helpers.registry import Registry, push_test_image

from sealer.cli.main import cli

HERE = Path(__file__).parent
REPO = HERE.parents[1]
VERSION = "v1.25.0"
BASE = "deliver-base:v1"
APP = "deliver-app:v1"
# images the app caches, by their original names (what nodes pull), and where the seed registry holds them
APP_IMAGES = ["docker.io/library/nginx:1.25", "quay.io/acme/tool:v1"]
CORE_IMAGES = [f"registry.k8s.io/{n}:{VERSION}" for n in ("kube-apiserver", "kube-controller-manager",
                                                          "kube-scheduler", "kube-proxy")] + [
    "registry.k8s.io/pause:3.8", "registry.k8s.io/etcd:3.5.4-0", "registry.k8s.io/coredns/coredns:v1.9.3"]
TEMPLATE = "host={{.HostIP}} registry={{.RegistryURL}} pods={{.PodCIDR}} master0={{.Master0}} mine={{.MyVar}}\n"
FIXTURE_LOG = "/var/lib/sealer/fixture"


def sealer(root: Path, *args: str, env: dict[str, str] | None = None, ok: bool = True) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], env=env, catch_exceptions=False)
    if ok:
        assert r.exit_code == 0, r.output
    return r.output


def _repo_path(ref: str) -> str:
    """Where the seed registry keeps ``ref``: ``<domain-ish prefix>/<path>:<tag>``."""
    domain, rest = ref.split("/", 1)
    return f"{domain.split('.')[0]}/{rest}"


def seed(reg: Registry) -> None:
    for i, ref in enumerate(APP_IMAGES + CORE_IMAGES):
        push_test_image(reg, _repo_path(ref), [20_000 + i], seed=100 + i)


def registries_conf(reg: Registry, path: Path) -> Path:
    text = ""
    for domain in ("docker.io", "quay.io", "registry.k8s.io"):
        text += (f'[[registry]]\nprefix = "{domain}"\nlocation = "{domain}"\n'
                 f'[[registry.mirror]]\nlocation = "{reg.host}/{domain.split(".")[0]}"\ninsecure = true\n\n')
    path.write_text(text)
    return path


def base_context(tmp: Path) -> Path:
    ctx = tmp / "base-ctx"
    (ctx / "bin").mkdir(parents=True)
    (ctx / "etc").mkdir()
    (ctx / "Metadata").write_text(json.dumps({"version": VERSION, "arch": "amd64"}))
    kubeadm = ctx / "bin" / "kubeadm"
    kubeadm.write_text(f"#!{sys.executable}\n" + (HERE / "kubeadm_fixture.py").read_text())
    for name in ("kubelet", "kubectl"):
        (ctx / "bin" / name).write_text((HERE / "simple_fixture.sh").read_text().replace("NAME", name))
    for f in (ctx / "bin").iterdir():
        f.chmod(0o755)
    shutil.copytree(REPO / "examples" / "base" / "scripts", ctx / "scripts")
    (ctx / "etc" / "app.conf.tmpl").write_text(TEMPLATE)
    (ctx / "Kubefile").write_text(
        "FROM scratch\nCOPY Metadata .\nCOPY bin .\nCOPY scripts .\nCOPY etc .\n"
        f"CMD echo base-first \"$(command -v kubectl)\" \"$KUBECONFIG\" >> {FIXTURE_LOG}/cmds.log\n")
    return ctx


def app_context(tmp: Path) -> Path:
    ctx = tmp / "app-ctx"
    ctx.mkdir()
    (ctx / "imageList").write_text("\n".join(APP_IMAGES + CORE_IMAGES) + "\n")
    (ctx / "Kubefile").write_text(
        f"FROM {BASE}\nCOPY imageList manifests\n"
        "CMD kubectl apply -f manifests/imageList\n"
        f"CMD echo app-second >> {FIXTURE_LOG}/cmds.log\n")
    return ctx


@dataclass
class Built:
    root: Path
    base: str
    app: str


def build_images(tmp: Path, reg: Registry) -> Built:
    seed(reg)
    conf = registries_conf(reg, tmp / "registries.conf")
    root = tmp / "store"
    env = {"SEALER_REGISTRIES_CONF": str(conf)}
    sealer(root, "build", "-q", "-b", "lite", "-t", BASE, str(base_context(tmp)), env=env)
    sealer(root, "build", "-q", "-b", "lite", "-t", APP, str(app_context(tmp)), env=env)
    return Built(root, BASE, APP)


def build_proxy_image(built: Built, upstream: Registry, ctx: Path, tag: str, domain: str) -> None:
    """``tag``: the test base plus an ``etc/registry_config.yaml`` proxying ``domain`` to ``upstream``."""
    ctx.mkdir()
    (ctx / "registry_config.yaml").write_text(
        f"proxy:\n  remoteregistries:\n    - url: {upstream.url}\n      domain: {domain}\n")
    (ctx / "Kubefile").write_text(f"FROM {built.base}\nCOPY registry_config.yaml ./etc\n")
    sealer(built.root, "build", "-q", "-b", "lite", "-t", tag, str(ctx))

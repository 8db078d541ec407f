"""Build semantics of sealer v0.9 instructions (``-b lite``, no registry needed: FROM scratch / a local image).

ENV recorded in the extension and the config and given to RUN; ARG and --build-arg; LABEL/KUBEVERSION/CNI
labels; apps inherited from the FROM image (APPENV/APPCMDS/LAUNCH may name them); helm type detection; an
app without a type needs APPCMDS; an http:// APP source is downloaded (a server on 127.0.0.1).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sealer.cli.main import cli
from sealer.store import Store


def sealer(root: Path, *args: str, ok: bool = True) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)
    if ok:
        assert r.exit_code == 0, r.output
    else:
        assert r.exit_code != 0, r.output
    return r.output


def ctx_with(tmp: Path, name: str, files: dict[str, str]) -> Path:
    ctx = tmp / name
    for rel, text in files.items():
        p = ctx / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return ctx


def ext_and_config(root: Path, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
    img = Store(root).image(ref)
    return json.loads((img.manifest.annotations or {})["sealer.image.extension"]), img.config


def test_env_arg_label_kubeversion_and_run(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ctx = ctx_with(tmp_path, "c1", {
        "Kubefile": 'ARG VER=1\nFROM scratch\nARG VER\nENV GREETING="hello world" MODE=${VER}\n'
                    'LABEL "cluster.alpha.sealer.io/cluster-runtime-type"="kubernetes"\nKUBEVERSION ">=1.20.0"\n'
                    'RUN echo "$GREETING/$MODE/$VER" > out.txt\nCMDS ["kubectl get ns"]\n'})
    sealer(root, "build", "-q", "-b", "lite", "-t", "e:v1", "--build-arg", "VER=7", str(ctx))
    ext, cfg = ext_and_config(root, "e:v1")
    assert ext["env"] == {"GREETING": "hello world", "MODE": "7"}
    assert ext["launch"] == {"cmds": ["kubectl get ns"]}
    assert cfg["config"]["Env"] == ["GREETING=hello world", "MODE=7"]
    labels = cfg["config"]["Labels"]
    assert labels["cluster.alpha.sealer.io/cluster-runtime-type"] == "kubernetes"
    assert labels["app.alpha.sealer.io/supported-kube-version"] == ">=1.20.0"
    out = tmp_path / "rootfs"
    Store(root).export_rootfs("e:v1", out)
    assert (out / "out.txt").read_text() == "hello world/7/7\n"


def test_apps_inherited_from_base(tmp_path: Path) -> None:
    root = tmp_path / "store"
    base = ctx_with(tmp_path, "base", {
        "Kubefile": "FROM scratch\nCNI calico local://calico.sh\nLAUNCH [\"calico\"]\n",
        "calico.sh": "kubectl apply -f tigera.yaml\n"})
    sealer(root, "build", "-q", "-b", "lite", "-t", "base:v1", str(base))
    ext, cfg = ext_and_config(root, "base:v1")
    assert ext["applications"] == [{"name": "calico", "type": "shell", "files": ["calico.sh"], "version": "v1"}]
    assert cfg["config"]["Labels"]["cluster.alpha.sealer.io/kube-cni-calico"] == "true"
    child = ctx_with(tmp_path, "child", {
        "Kubefile": "FROM base:v1\nAPP web local://chart\nAPPENV calico POOL=10.0.0.0/16\n"
                    "LAUNCH [\"calico\", \"web\"]\n",
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "chart/values.yaml": "image: nginx\n",
        "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"})
    sealer(root, "build", "-q", "-b", "lite", "-t", "child:v1", str(child))
    ext, _ = ext_and_config(root, "child:v1")
    assert ext["applications"] == [
        {"name": "calico", "type": "shell", "files": ["calico.sh"], "version": "v1", "env": {"POOL": "10.0.0.0/16"}},
        {"name": "web", "type": "helm", "files": ["web"], "version": "v1"}]
    assert ext["launch"] == {"app_names": ["calico", "web"]}
    doc = json.loads(sealer(root, "inspect", "--json", "child:v1"))
    assert [s["command"] for s in doc["launch"]["plan"]] == [
        "bash application/apps/calico/calico.sh", "helm upgrade --install web application/apps/web/"]
    # an app neither here nor in the base
    bad = ctx_with(tmp_path, "bad", {"Kubefile": "FROM base:v1\nLAUNCH [\"calico\", \"nope\"]\n"})
    out = sealer(root, "build", "-q", "-b", "lite", "-t", "bad:v1", str(bad), ok=False)
    assert "Kubefile:2: LAUNCH: app 'nope' does not exist in the image; apps defined: calico" in out


def test_app_without_type_needs_appcmds(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ctx = ctx_with(tmp_path, "c", {"Kubefile": "FROM scratch\nAPP x local://a.txt\n", "a.txt": "x\n"})
    out = sealer(root, "build", "-q", "-b", "lite", "-t", "x:v1", str(ctx), ok=False)
    assert "Kubefile:2: APP x: no app type detected" in out and "APPCMDS x" in out


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[str]:
    served = tmp_path / "served"
    served.mkdir()
    (served / "remote.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: r}\n")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(served), **kw)

        def log_message(self, *a: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)


def test_remote_app_source(tmp_path: Path, http_dir: str) -> None:
    root = tmp_path / "store"
    ctx = ctx_with(tmp_path, "c", {"Kubefile": f"FROM scratch\nAPP r {http_dir}/remote.yaml\nLAUNCH r\n"})
    sealer(root, "build", "-q", "-b", "lite", "-t", "r:v1", str(ctx))
    ext, _ = ext_and_config(root, "r:v1")
    assert ext["applications"] == [{"name": "r", "type": "kube", "files": ["remote.yaml"], "version": "v1"}]
    out = tmp_path / "rootfs"
    Store(root).export_rootfs("r:v1", out)
    assert "kind: Namespace" in (out / "application/apps/r/remote.yaml").read_text()
    missing = ctx_with(tmp_path, "m", {"Kubefile": f"FROM scratch\nAPP r {http_dir}/nope.yaml\n"})
    msg = sealer(root, "build", "-q", "-b", "lite", "-t", "m:v1", str(missing), ok=False)
    assert "Kubefile:2: APP: download" in msg and "nope.yaml" in msg
    with_secret = http_dir.replace("http://", "http://user:s3cret@")
    secret = ctx_with(tmp_path, "s", {"Kubefile": f"FROM scratch\nAPP r {with_secret}/nope.yaml\n"})
    msg = sealer(root, "build", "-q", "-b", "lite", "-t", "s:v1", str(secret), ok=False)
    assert "APP: download http://***@127.0.0.1" in msg and "s3cret" not in msg

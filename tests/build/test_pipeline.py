"""Whole pipelines through the CLI: a private base pulled with a stored login; version dedup on push."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers.faultproxy import FaultProxy
from helpers.registry import Registry, push_test_image, start_registry

from sealer.cli.main import cli


def run(root: Path, *args: str, ok: bool = True, input: str | None = None) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], input=input, catch_exceptions=False)
    if ok:
        assert r.exit_code == 0, r.output
    else:
        assert r.exit_code != 0, r.output
    return r.output


def test_from_private_base_needs_login_and_keeps_base_cmds(tls_registry: Registry, tmp_path: Path) -> None:
    reg = tls_registry
    assert reg.ca is not None and reg.password
    ca = str(reg.ca.cert)
    builder = tmp_path / "builder"
    base = tmp_path / "base"
    base.mkdir()
    (base / "Metadata").write_text(json.dumps({"version": "v1.19.8", "arch": "amd64"}))
    (base / "Kubefile").write_text("FROM scratch\nCOPY Metadata .\nCMD kubeadm init\n")
    run(builder, "build", "-q", "-b", "lite", "-t", f"{reg.host}/sealer-io/kubernetes:v1.19.8", str(base))
    run(builder, "login", reg.host, "-u", "alice", "--password-stdin", "--ca-cert", ca, input=reg.password + "\n")
    run(builder, "push", "-q", "--ca-cert", ca, f"{reg.host}/sealer-io/kubernetes:v1.19.8")

    # a second user on a fresh store and a fresh HOME: the base is private
    user = tmp_path / "user"
    app = tmp_path / "app"
    app.mkdir()
    (app / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (app / "Kubefile").write_text(f"FROM {reg.host}/sealer-io/kubernetes:v1.19.8\nCOPY a.yaml manifests\n"
                                  "CMD kubectl apply -f manifests/a.yaml\n")
    auth = tmp_path / "user-auth.json"
    out = run(user, "build", "-q", "-b", "lite", "--authfile", str(auth), "--ca-cert", ca, "-t", "app:v1", str(app),
              ok=False)
    assert "401" in out or "auth" in out.lower() or "credentials" in out.lower(), out
    assert reg.password not in out
    assert json.loads(run(user, "images", "--json")) == []
    run(user, "login", reg.host, "-u", "alice", "-p", reg.password, "--authfile", str(auth), "--ca-cert", ca)
    run(user, "build", "-q", "-b", "lite", "--authfile", str(auth), "--ca-cert", ca, "-t", "app:v1", str(app))
    doc = json.loads(run(user, "inspect", "--json", "app:v1"))
    assert doc["cmds"] == ["kubeadm init", "kubectl apply -f manifests/a.yaml"]
    assert doc["kubernetesVersion"] == "v1.19.8"
    assert reg.password not in json.dumps(doc)


def _uploaded(proxy: FaultProxy, start: int) -> int:
    total = 0
    for method, _path, headers in proxy.requests[start:]:
        if method in ("PUT", "PATCH", "POST"):
            lower = {k.lower(): v for k, v in headers.items()}
            total += int(lower.get("content-length", "0") or 0)
    return total


def test_new_version_changing_one_image_pushes_little(registry: Registry, tmp_path: Path) -> None:
    names = []
    for i in range(20):
        sizes = [300_000, 40_000 + i * 1000] if i < 8 else [60_000 + i * 2000]
        push_test_image(registry, f"app/img{i}:v1", sizes, seed=200 if i < 8 else 200 + i)
        names.append(f"{registry.host}/app/img{i}:v1")
    changed = push_test_image(registry, "app/img12:v2", [1_000_000], seed=999)
    changed_size = sum(changed.manifests[0].layer_sizes)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY imageList manifests\n")
    root = tmp_path / "store"
    (ctx / "imageList").write_text("\n".join(names) + "\n")
    run(root, "build", "-q", "-b", "lite", "-t", "cluster:v1", str(ctx))
    (ctx / "imageList").write_text("\n".join(n.replace("img12:v1", "img12:v2") for n in names) + "\n")
    run(root, "build", "-q", "-b", "lite", "-t", "cluster:v2", str(ctx))
    with start_registry(tmp_path / "target") as target:
        counter = FaultProxy(target)
        try:
            mark = len(counter.requests)
            run(root, "push", "-q", "cluster:v1", f"{counter.host}/ops/cluster:v1")
            first = _uploaded(counter, mark)
            mark = len(counter.requests)
            run(root, "push", "-q", "cluster:v2", f"{counter.host}/ops/cluster:v2")
            second = _uploaded(counter, mark)
        finally:
            counter.stop()
    assert first > 20 * 40_000
    assert second < 1.5 * changed_size, (second, changed_size, first)

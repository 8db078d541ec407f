"""`sealer run` of an image with sealer v0.9 applications (APP + LAUNCH) on real test hosts: the apps are
launched in order with the image's fixture kubectl/helm/bash recording the calls; `--apps` selects; an image
whose KUBEVERSION the cluster does not satisfy is refused before any host is touched. Plus the pure rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.testhosts import TestHost

from deliver.images import FIXTURE_LOG, Built, sealer
from sealer.apps import LaunchStep
from sealer.deliver.errors import DeliveryError
from sealer.deliver.launch import launch_commands, step_line

RECORDER = """#!/bin/bash
# TEST FIXTURE — not NAME. Records "NAME argv (cwd)" to /var/lib/sealer/fixture/launch.log, in call order.
mkdir -p /var/lib/sealer/fixture
echo "NAME $* ($(basename "$PWD")) APP_MODE=${APP_MODE:-}" >> /var/lib/sealer/fixture/launch.log
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {k: v}\n"


def app_context(tmp: Path, base: str, extra: str = "") -> Path:
    ctx = tmp / "apps-ctx"
    (ctx / "chart" / "templates").mkdir(parents=True)
    (ctx / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    (ctx / "chart" / "values.yaml").write_text("{}\n")  # sealer: a chart root has Chart.yaml, values.yaml, templates
    (ctx / "chart" / "templates" / "cm.yaml").write_text(CONFIGMAP.replace("web", "from-chart"))
    (ctx / "web.yaml").write_text(CONFIGMAP)
    (ctx / "setup.sh").write_text("echo setup-ran >> /var/lib/sealer/fixture/launch.log\n")
    (ctx / "bin").mkdir()
    for name in ("kubectl", "helm"):
        (ctx / "bin" / name).write_text(RECORDER.replace("NAME", name))
        (ctx / "bin" / name).chmod(0o755)
    (ctx / "Kubefile").write_text(
        f"FROM {base}\nCOPY bin .\nENV APP_MODE=prod\n"
        "APP web local://web.yaml\nAPP chart local://chart\nAPP setup local://setup.sh\n"
        f"{extra}LAUNCH [\"web\", \"chart\"]\n")
    return ctx


def launch_log(h: TestHost) -> list[str]:
    r = h.exec(f"cat {FIXTURE_LOG}/launch.log", check=False)
    return [line for line in r.stdout.splitlines() if line.strip()]


def test_run_launches_apps_in_order_and_apps_selects(built: Built, test_hosts, state_dir: Path,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    m0, n1 = test_hosts(2)
    sealer(built.root, "build", "-q", "-b", "lite", "-t", "apps:v1", str(app_context(tmp_path, built.base)))
    key = str(m0.ssh_config.pkey)
    sealer(built.root, "run", "apps:v1", "-m", m0.address, "-n", n1.address, "--pk", key,
           "-e", "MyVar=x", "--state-dir", str(state_dir), "--cluster-name", "apps1")
    assert launch_log(m0) == [
        "kubectl apply -f application/apps/web/web.yaml (rootfs) APP_MODE=prod",
        "helm upgrade --install chart application/apps/chart/ (rootfs) APP_MODE=prod",
    ]
    assert launch_log(n1) == [], "apps are launched on master0 only"
    sealer(built.root, "delete", "--all", "--force", "--cluster-name", "apps1", "--state-dir", str(state_dir))
    m0.exec(f"rm -f {FIXTURE_LOG}/launch.log")

    sealer(built.root, "run", "apps:v1", "-m", m0.address, "--pk", key, "--apps", "setup,web", "-e", "MyVar=x",
           "--state-dir", str(state_dir), "--cluster-name", "apps2")
    assert launch_log(m0) == ["setup-ran",
                              "kubectl apply -f application/apps/web/web.yaml (rootfs) APP_MODE=prod"]


def test_kubeversion_outside_the_cluster_is_refused(built: Built, test_hosts, state_dir: Path,  # type: ignore[no-untyped-def]
                                                    tmp_path: Path) -> None:
    (m0,) = test_hosts(1)
    ctx = app_context(tmp_path, built.base, "KUBEVERSION >=1.27.0\n")
    sealer(built.root, "build", "-q", "-b", "lite", "-t", "apps:v127", str(ctx))
    out = sealer(built.root, "run", "apps:v127", "-m", m0.address, "--pk", str(m0.ssh_config.pkey),
                 "-e", "MyVar=x", "--state-dir", str(state_dir), ok=False)
    assert "supports Kubernetes >=1.27.0" in out and "v1.25.0" in out
    assert m0.exec("ls /var/lib/sealer/data", check=False).stdout.strip() == "", "no host was touched"


EXT = {"applications": [{"name": "a", "type": "kube", "files": ["a.yaml"]},
                        {"name": "b", "type": "shell", "files": ["b.sh"], "env": {"X": "1 2"}}],
       "launch": {"app_names": ["a"]}, "env": {"G": "g"}}


def test_launch_rules() -> None:
    # the image's own CMDs win when it has them; --cmds replaces them after the base's
    assert launch_commands(["base", "own"], ["base"], EXT) == ["base", "own"]
    assert launch_commands(["base", "own"], ["base"], EXT, cmds=["mine"]) == ["base", "mine"]
    # no CMDs: the LAUNCH apps; --apps chooses (after the base's CMDs)
    assert launch_commands([], [], EXT) == ["(export G=g; kubectl apply -f application/apps/a/a.yaml)"]
    assert launch_commands(["base"], ["base"], EXT, apps=["b"]) == [
        "base", "(export G=g; export X='1 2'; bash application/apps/b/b.sh)"]
    with pytest.raises(DeliveryError, match="app nope is not in the image"):
        launch_commands([], [], EXT, apps=["nope"])
    with pytest.raises(DeliveryError, match="has no applications"):
        launch_commands(["x"], [], None, apps=["a"])
    assert launch_commands(["x"], [], None) == ["x"]
    assert step_line(LaunchStep(command="./run", app="a", kind="appcmds", cwd="application/apps/a")) == \
        "cd application/apps/a && ./run"


def test_v093_app_configs_run_as_the_apps_commands() -> None:
    """sealer v0.9.3 keeps APPCMDS in launch.appConfigs (a51d0ec0:pkg/define/image/v1/sealer_image.go:112-130);
    delivery runs them instead of the app's default kubectl/helm/bash steps, as v2app.go does."""
    import json as _json

    from sealer.deliver.launch import extension_of

    doc = {"buildClient": {"sealerVersion": "v0.9.3", "buildahVersion": "v1.27.1"}, "schemaVersion": "v1alpha1",
           "type": "app-installer",
           "applications": [{"name": "mysql", "type": "helm", "files": ["mysql"]},
                            {"name": "web", "type": "kube", "files": ["web.yaml"]}],
           "launch": {"app_names": ["mysql", "web"],
                      "appConfigs": [{"appName": "mysql", "launch": {"cmds": ["helm install my mysql -n db"]}}]}}
    ext = extension_of({"annotations": {"sealer.image.extension": _json.dumps(doc)}})
    assert ext is not None
    assert launch_commands([], [], ext) == [
        "cd application/apps/mysql && helm install my mysql -n db",
        "kubectl apply -f application/apps/web/web.yaml"]
    with pytest.raises(DeliveryError, match="launch.appConfigs must be a list"):
        extension_of({"annotations": {"sealer.image.extension": _json.dumps(
            {**doc, "launch": {"appConfigs": {"x": 1}}})}})

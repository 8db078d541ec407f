"""Every Kubefile of sealer's build test fixtures (tests/kubefile/fixtures/sealer, copied from sealerio/sealer
f4f89c5 test/suites/build/fixtures) builds with ``-b lite``; its ``sealer.image.extension`` is what sealer's Go
types give (checked against the JSON schema of those structs and field by field), and ``inspect --json``
shows the applications and the launch plan.

A local registry stands in for the images the contexts name: ``docker.io/`` is rewritten to it in the
test's copy of each context.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from helpers.registry import Registry, push_test_image
from interop.sealer_schema import CONTAINER_IMAGES, IMAGE_EXTENSION

from sealer.apps import launch_plan
from sealer.cli.main import cli
from sealer.oci.model import Platform
from sealer.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "sealer"
APP_INSTALLER = "app-installer"


def run(root: Path, *args: str) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.fixture()
def images(registry: Registry) -> Registry:
    for name in ("library/busybox:latest", "library/nginx:alpine"):
        push_test_image(registry, name, [2048], platforms=["linux/amd64", "linux/arm64"], seed=len(name))
    return registry


def context(tmp_path: Path, name: str, reg: Registry) -> Path:
    ctx = tmp_path / name
    shutil.copytree(FIXTURES / name, ctx)
    for f in ctx.rglob("*"):
        if f.is_file() and f.suffix in (".yaml", "") and f.name != "Kubefile":
            f.write_text(f.read_text().replace("docker.io/", f"{reg.host}/"))
    return ctx


def extension(root: Path, ref: str, platform: str | None = None) -> dict[str, Any]:
    img = Store(root).image(ref, Platform.parse(platform) if platform else None)
    doc: dict[str, Any] = json.loads((img.manifest.annotations or {})["sealer.image.extension"])
    jsonschema.validate(doc, IMAGE_EXTENSION)
    return doc


def rootfs_files(root: Path, ref: str, tmp: Path, platform: str | None = None) -> set[str]:
    dest = tmp / f"rootfs-{ref.replace(':', '-')}-{(platform or 'host').replace('/', '-')}"
    Store(root).export_rootfs(ref, dest, Platform.parse(platform) if platform else None)
    return {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}


def test_build_with_appcmds(images: Registry, tmp_path: Path) -> None:
    ctx = context(tmp_path, "build_with_appcmds", images)
    root = tmp_path / "store"
    run(root, "build", "-q", "-b", "lite", "-t", "appcmds:v1", str(ctx))
    ext = extension(root, "appcmds:v1")
    assert ext["type"] == APP_INSTALLER and ext["schemaVersion"] == "v1alpha1"
    apps = {a["name"]: a for a in ext["applications"]}
    assert apps == {
        "yamlapp": {"name": "yamlapp", "type": "kube", "files": ["/a.yaml", "/b.yaml", "/c.yaml"], "version": "v1"},
        "shellapp": {"name": "shellapp", "type": "shell", "files": ["/a.sh", "/b.sh", "/c.sh"], "version": "v1"},
        "mixedapp": {"name": "mixedapp", "version": "v1", "cmds": ["kubectl apply -f app.yaml"]},
    }
    assert [list(a) for a in ext["applications"]][0] == ["name", "type", "files", "version"]   # Go field order
    assert ext["launch"] == {"app_names": ["mixedapp", "shellapp"]}
    files = rootfs_files(root, "appcmds:v1", tmp_path)
    assert {"application/apps/yamlapp/a.yaml", "application/apps/shellapp/c.sh", "application/apps/mixedapp/install.sh",
            "application/apps/mixedapp/app.yaml"} <= files
    doc = json.loads(run(root, "inspect", "--json", "appcmds:v1"))
    assert [s["command"] for s in doc["launch"]["plan"]] == [
        "kubectl apply -f app.yaml", "bash application/apps/shellapp/a.sh", "bash application/apps/shellapp/b.sh",
        "bash application/apps/shellapp/c.sh"]
    assert doc["launch"]["plan"][0]["cwd"] == "application/apps/mixedapp"
    # the app's nginx image is found in application/apps/ and cached; sealer.image.container.images names the app
    assert any("nginx" in i["reference"] for i in doc["cachedImages"])
    listed = json.loads(doc["annotations"]["sealer.image.container.images"])
    assert {(c["image"].split("/", 1)[1], c.get("appName")) for c in listed} == {("library/nginx:alpine", "mixedapp")}
    jsonschema.validate(listed, CONTAINER_IMAGES)


def test_build_with_cmds(images: Registry, tmp_path: Path) -> None:
    ctx = context(tmp_path, "build_with_cmds", images)
    root = tmp_path / "store"
    run(root, "build", "-q", "-b", "lite", "-t", "cmds:v1", str(ctx))
    ext = extension(root, "cmds:v1")
    assert "applications" not in ext
    assert ext["launch"] == {"cmds": ["kubectl apply -f manifests/app.yaml"]}
    doc = json.loads(run(root, "inspect", "--json", "cmds:v1"))
    assert doc["launch"]["plan"] == [{"app": None, "kind": "cmds", "cwd": ".", "env": {},
                                      "command": "kubectl apply -f manifests/app.yaml"}]
    assert {i["reference"].split("/", 1)[1] for i in doc["cachedImages"]} == {"library/busybox:latest",
                                                                             "library/nginx:alpine"}


def test_build_with_launch(images: Registry, tmp_path: Path) -> None:
    ctx = context(tmp_path, "build_with_launch", images)
    root = tmp_path / "store"
    run(root, "build", "-q", "-b", "lite", "-t", "launch:v1", str(ctx))
    ext = extension(root, "launch:v1")
    assert ext["applications"] == [{"name": "myapp", "type": "kube", "files": ["app.yaml"], "version": "v1"}]
    assert ext["launch"] == {"app_names": ["myapp"]}
    assert "application/apps/myapp/app.yaml" in rootfs_files(root, "launch:v1", tmp_path)
    doc = json.loads(run(root, "inspect", "--json", "launch:v1"))
    assert [s["command"] for s in doc["launch"]["plan"]] == ["kubectl apply -f application/apps/myapp/app.yaml"]
    assert [s.command for s in launch_plan(ext, [])] == []


def test_build_with_imagelist_flag(images: Registry, tmp_path: Path) -> None:
    ctx = context(tmp_path, "build_with_imagelist_flag", images)
    root = tmp_path / "store"
    out = json.loads(run(root, "build", "-q", "--json", "-b", "lite", "-t", "il:v1",
                         "--image-list", str(ctx / "imagelist"), str(ctx)))
    assert [i["reference"].split("/", 1)[1] for i in out["images"]] == ["library/busybox:latest"]
    assert extension(root, "il:v1")["launch"] == {}
    ignored = tmp_path / "ignored"
    ignored.write_text(f"{images.host}/library/busybox:latest\n")
    out = json.loads(run(root, "build", "-q", "--json", "-b", "lite", "-t", "il:v2", "--image-list",
                         str(ctx / "imagelist"), "--ignored-image-list", str(ignored), str(ctx)))
    assert out["images"] == []


def test_build_with_multi_arch(images: Registry, tmp_path: Path) -> None:
    ctx = context(tmp_path, "build_with_multi_arch", images)
    root = tmp_path / "store"
    run(root, "build", "-q", "-b", "lite", "-t", "ma:v1", "--platform", "linux/amd64,linux/arm64",
        "--image-list", str(ctx / "imagelist"), str(ctx))
    doc = json.loads(run(root, "inspect", "--json", "ma:v1"))
    assert sorted(doc["platforms"]) == ["linux/amd64", "linux/arm64"]
    for arch, other in (("amd64", "arm64"), ("arm64", "amd64")):
        files = rootfs_files(root, "ma:v1", tmp_path, f"linux/{arch}")
        # only this platform's binary (COPY of a directory: see docs/kubefile.md on where it lands)
        assert any(f.startswith("bin/") and f.endswith(f"/i_am_{arch}") for f in files), sorted(files)
        assert not any(f.endswith(f"i_am_{other}") for f in files)
        assert "application/apps/myapp/app.yaml" in files
        ext = extension(root, "ma:v1", f"linux/{arch}")
        assert ext["launch"] == {"app_names": ["myapp"]}
        one = json.loads(run(root, "inspect", "--json", "--platform", f"linux/{arch}", "ma:v1"))
        assert one["cachedImages"] and all(i["platforms"] == [f"linux/{arch}"] for i in one["cachedImages"]), one["cachedImages"]

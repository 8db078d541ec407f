"""``--deep`` candidates are confirmed with a manifest HEAD on a real registry before they are cached."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers.registry import Registry, push_test_image

from sealer.cli.main import cli
from sealer.discover import discover
from sealer.discover.resolve import confirm_extended
from sealer.registry import RegistryClient

from ._util import write


def context(reg: Registry, ctx: Path) -> None:
    push_test_image(reg, "app/web:v1", [2000], seed=31)
    push_test_image(reg, "app/helper:v1.0.0", [1500], seed=32)
    write(ctx / "manifests/app.yaml", f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web}}
        spec:
          template:
            spec:
              containers:
              - name: web
                image: {reg.host}/app/web:v1
                args: ["--helper-image={reg.host}/app/helper:v1.0.0"]
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: tools}}
        data:
          ghost: "{reg.host}/app/ghost:v9.9.9"
        """)


def test_confirm_extended_drops_the_missing_one(registry: Registry, tmp_path: Path) -> None:
    context(registry, tmp_path)
    result = discover(tmp_path, deep=True)
    assert len(result.images) == 3
    with RegistryClient() as client:
        warnings = confirm_extended(result, client)
    h = registry.host
    assert [str(f.reference) for f in result.images] == [f"{h}/app/helper:v1.0.0", f"{h}/app/web:v1"]
    assert [str(f.reference) for f in result.unresolved] == [f"{h}/app/ghost:v9.9.9"]
    [warning] = warnings
    assert f"not caching deep candidate {h}/app/ghost:v9.9.9: no such manifest at {h} (HTTP 404)" in warning
    assert "found at manifests/app.yaml#2 ConfigMap/tools data.ghost (extended)" in warning


def test_unreachable_registry_is_a_warning_too(tmp_path: Path) -> None:
    write(tmp_path / "manifests/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
          "data: {a: '127.0.0.1:9/x/y:v1', b: '127.0.0.1:9/x/z:v2'}\n")
    result = discover(tmp_path, deep=True)
    with RegistryClient() as client:
        warnings = confirm_extended(result, client)
    assert result.images == [] and len(warnings) == 2
    assert all("registry unreachable" in w for w in warnings)


def test_find_images_resolve(registry: Registry, tmp_path: Path) -> None:
    context(registry, tmp_path)
    r = CliRunner().invoke(cli, ["find-images", "--deep", "--json", str(tmp_path)])
    assert len(json.loads(r.stdout)) == 3
    r = CliRunner().invoke(cli, ["find-images", "--deep", "--resolve", "--json", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert sorted(d["image"] for d in json.loads(r.stdout)) == [
        f"{registry.host}/app/helper:v1.0.0", f"{registry.host}/app/web:v1"]
    assert f"warning: not caching deep candidate {registry.host}/app/ghost:v9.9.9" in r.stderr


def test_build_caches_confirmed_candidates_and_warns_about_the_rest(registry: Registry, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    context(registry, ctx)
    write(ctx / "Kubefile", "FROM scratch\nCOPY manifests .\n")
    store = str(tmp_path / "store")
    r = CliRunner().invoke(cli, ["--root", store, "build", "-q", "--json", "-b", "lite", "--deep", "-t", "x:v1",
                                 str(ctx)])
    assert r.exit_code == 0, r.output
    h = registry.host
    assert sorted(i["reference"] for i in json.loads(r.stdout)["images"]) == [f"{h}/app/helper:v1.0.0",
                                                                               f"{h}/app/web:v1"]
    assert f"WARNING: not caching deep candidate {h}/app/ghost:v9.9.9: no such manifest" in r.stderr
    assert "manifests/app.yaml#2 ConfigMap/tools" in r.stderr

    # an explicit source that does not exist still fails the build
    write(ctx / "manifests/imageList", f"{h}/app/missing:v1\n")
    r = CliRunner().invoke(cli, ["--root", store, "build", "-q", "-b", "lite", "--deep", "-t", "x:v2", str(ctx)])
    assert r.exit_code != 0
    assert f"{h}/app/missing:v1" in r.stderr

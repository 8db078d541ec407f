"""Every failure of a run is reported, each with its chart or file and the engine's message; one exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sealer.cli.main import cli
from sealer.discover import DiscoveryErrors, discover

from ._util import make_chart, write

REQUIRED = """
apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  containers: [{name: c, image: '{{ required "alpha.host is required" .Values.alpha.host }}'}]
"""
FAIL = """
{{- if not .Values.beta.enabled }}{{ fail "beta: set beta.enabled=true, beta cannot run without it" }}{{ end }}
"""
SCHEMA = """
{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
 "required": ["gammaToken"], "properties": {"gammaToken": {"type": "string"}}}
"""


def three_charts(root: Path) -> None:
    make_chart(root / "charts", "alpha", values="alpha: {}\n", templates={"pod.yaml": REQUIRED})
    make_chart(root / "charts", "beta", values="beta: {enabled: false}\n", templates={"x.yaml": FAIL})
    gamma = make_chart(root / "charts", "gamma")
    write(gamma / "values.schema.json", SCHEMA)


def check_three(text: str) -> None:
    assert "alpha.host is required" in text
    assert "beta: set beta.enabled=true" in text
    assert "gammaToken" in text
    for chart in ("charts/alpha", "charts/beta", "charts/gamma"):
        assert chart in text


def test_three_charts_needing_a_value_three_errors(rootfs: Path) -> None:
    three_charts(rootfs)
    write(rootfs / "manifests/bad.yaml", "a: [\n")
    write(rootfs / "manifests/good.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
          "spec: {containers: [{name: c, image: busybox}]}\n")
    with pytest.raises(DiscoveryErrors) as e:
        discover(rootfs)
    assert len(e.value.errors) == 4
    assert [(x.file, x.line) for x in e.value.errors][0] == ("manifests/bad.yaml", 2)
    assert sorted(x.file or "" for x in e.value.errors[1:]) == ["charts/alpha", "charts/beta", "charts/gamma"]
    check_three(str(e.value))


def test_find_images_prints_all_and_exits_once(rootfs: Path) -> None:
    three_charts(rootfs)
    r = CliRunner().invoke(cli, ["find-images", str(rootfs)])
    assert r.exit_code == 1
    check_three(r.stderr)
    assert r.stderr.count("Error:") == 1


def test_lite_build_prints_three_errors_in_one_run(rootfs: Path, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    three_charts(ctx)
    write(ctx / "Kubefile", "FROM scratch\nCOPY charts .\n")
    r = CliRunner().invoke(cli, ["--root", str(tmp_path / "store"), "build", "-q", "-b", "lite", "-t", "x:v1",
                                 str(ctx)])
    assert r.exit_code == 1, r.output
    check_three(r.stderr)
    assert "3 problems found" in r.stderr


def test_one_failure_is_reported_as_itself(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "alpha", values="alpha: {}\n", templates={"pod.yaml": REQUIRED})
    make_chart(rootfs / "charts", "ok")
    with pytest.raises(Exception) as e:
        discover(rootfs)
    assert not isinstance(e.value, DiscoveryErrors)
    assert "alpha.host is required" in str(e.value)


def test_every_bad_image_list_line_is_reported(rootfs: Path) -> None:
    write(rootfs / "manifests/imageList", "ok:1\nNOT VALID\nnginx:1.25\nAlso Bad\n")
    make_chart(rootfs / "charts", "alpha", values="alpha: {}\n", templates={"pod.yaml": REQUIRED})
    with pytest.raises(DiscoveryErrors) as e:
        discover(rootfs)
    assert [(x.file, x.line) for x in e.value.errors] == [
        ("manifests/imageList", 2), ("manifests/imageList", 4), ("charts/alpha", None)]

"""Charts rendered by the real Helm engine (helm-python-sdk): defaults, overrides, archives, errors."""

from __future__ import annotations

import time
from pathlib import Path

import helm_python
import pytest

from sealer.discover import discover
from sealer.errors import DiscoveryError

from ._util import make_chart, write


def refs(root: Path, **kw: object) -> list[str]:
    return [str(r) for r in discover(root, **kw).references()]  # type: ignore[arg-type]


def test_chart_default_values_and_source(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "web")
    (img,) = discover(rootfs).images
    assert str(img.reference) == "docker.io/library/nginx:1.25"
    assert str(img.sources[0]) == "charts/web (values default) web/templates/deployment.yaml#1 Deployment/web container main"


def test_values_override_by_directory_or_chart_name(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "web")
    write(rootfs / "charts/web.values.yaml", "image: nginx:1.27\n")
    (img,) = discover(rootfs).images
    assert str(img.reference) == "docker.io/library/nginx:1.27"
    assert "(values charts/web.values.yaml)" in str(img.sources[0])


def test_packaged_chart_and_override_named_after_chart(tmp_path: Path, rootfs: Path) -> None:
    src = make_chart(tmp_path / "src", "redis", values="image: redis:7\n")
    (rootfs / "charts").mkdir()
    archive = helm_python.package(src, destination=rootfs / "charts")
    assert archive.endswith("redis-0.1.0.tgz")
    assert refs(rootfs) == ["docker.io/library/redis:7"]
    write(rootfs / "charts/redis.values.yaml", "image: redis:7.2\n")
    assert refs(rootfs) == ["docker.io/library/redis:7.2"]


def test_subcharts_and_hooks_render_tests_kept_apart(rootfs: Path) -> None:
    chart = make_chart(rootfs / "charts", "app", chart_extra="dependencies:\n- {name: db, version: 0.1.0}\n",
                       templates={"deployment.yaml": _DEPLOY, "hook.yaml": _HOOK, "test.yaml": _TEST})
    make_chart(chart / "charts", "db", values="image: postgres:16\n")
    result = discover(rootfs)
    assert [str(r) for r in result.references()] == [
        "docker.io/library/busybox:1.36", "docker.io/library/nginx:1.25", "docker.io/library/postgres:16"]
    assert [str(f.reference) for f in result.helm_tests] == ["docker.io/curlimages/curl:8"]
    with_tests = discover(rootfs, include_helm_tests=True)
    assert "docker.io/curlimages/curl:8" in [str(r) for r in with_tests.references()]


def test_missing_dependency_fails_with_chart_name(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "app", chart_extra="dependencies:\n- {name: redis, version: 1.x, repository: "
               "https://charts.example.com}\n")
    with pytest.raises(DiscoveryError) as e:
        discover(rootfs)
    assert "render chart app" in str(e.value) and "missing in charts/ directory: redis" in str(e.value)
    assert e.value.file == "charts/app"


def test_render_failure_carries_helm_message(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "broken", templates={"x.yaml": "{{ required \"set .Values.password\" .Values.password }}"})
    with pytest.raises(DiscoveryError, match=r"render chart broken: .*set \.Values\.password"):
        discover(rootfs)


def test_rendered_invalid_yaml_names_chart_and_template(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "bad", templates={"x.yaml": "a: [\n"})
    with pytest.raises(DiscoveryError, match=r"template bad/templates/x.yaml rendered invalid YAML"):
        discover(rootfs)


def test_looping_template_is_stopped_by_timeout(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "loop", templates={
        "x.yaml": "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}"})
    make_chart(rootfs / "charts", "fine")
    start = time.monotonic()
    with pytest.raises(DiscoveryError, match="timed out after 2s"):
        discover(rootfs, chart_timeout=2, parallel=2)
    assert time.monotonic() - start < 15


def test_kube_version_reaches_capabilities(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "kv", templates={"x.yaml": _DEPLOY.replace(
        "{{ .Values.image }}", "nginx:{{ .Capabilities.KubeVersion.Minor }}")})
    assert refs(rootfs, kube_version="v1.29.4") == ["docker.io/library/nginx:29"]


def test_hip_0015_annotation_with_condition(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "ann", values="image: nginx:1.25\nexporter: {enabled: false}\nsidecar: {enabled: true}\n",
               chart_extra="""
annotations:
  helm.sh/images: |
    - name: exporter
      image: quay.io/x/exporter:1
      condition: exporter.enabled
    - name: sidecar
      image: quay.io/x/sidecar:1
      condition: sidecar.enabled
    - name: always
      image: quay.io/x/always:1
""")
    assert refs(rootfs) == ["docker.io/library/nginx:1.25", "quay.io/x/always:1", "quay.io/x/sidecar:1"]
    write(rootfs / "charts/ann.values.yaml", "exporter: {enabled: true}\n")
    assert "quay.io/x/exporter:1" in refs(rootfs)


def test_images_lock_is_extended(rootfs: Path) -> None:
    chart = make_chart(rootfs / "charts", "bn")
    write(chart / "images.lock", "apiVersion: v0\nkind: ImagesLock\nimages:\n"
          "- {name: exporter, image: 'docker.io/bitnami/exporter:1.0', chart: bn}\n")
    assert refs(rootfs) == ["docker.io/library/nginx:1.25"]
    deep = {str(f.reference): f.extended for f in discover(rootfs, deep=True).images}
    assert deep == {"docker.io/library/nginx:1.25": False, "docker.io/bitnami/exporter:1.0": True}


def test_charts_render_in_parallel_and_results_are_deterministic(rootfs: Path) -> None:
    for i in range(6):
        make_chart(rootfs / "charts", f"c{i}", values=f"image: quay.io/x/c{i}:1\n")
    one = refs(rootfs, parallel=1)
    many = refs(rootfs, parallel=3)
    assert one == many == [f"quay.io/x/c{i}:1" for i in range(6)]


_DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: "{{ .Release.Name }}"}
spec: {template: {spec: {containers: [{name: main, image: "{{ .Values.image }}"}]}}}
"""
_HOOK = """
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {"helm.sh/hook": "pre-install,pre-upgrade"}
spec: {template: {spec: {containers: [{name: m, image: "busybox:1.36"}]}}}
"""
_TEST = """
apiVersion: v1
kind: Pod
metadata:
  name: "{{ .Release.Name }}-test"
  annotations: {"helm.sh/hook": test}
spec: {containers: [{name: t, image: "curlimages/curl:8"}]}
"""

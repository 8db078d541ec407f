"""Table tests per source: imageList, manifests (every pod-template place), ignore list, deep mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealer.discover import discover, images_from_yaml_text
from sealer.errors import DiscoveryError

from ._util import write

POD = "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}\n"


def _strict(text: str) -> list[str]:
    return sorted(raw for raw, _src, ext in images_from_yaml_text(text, "m.yaml") if not ext)


def _deep(text: str) -> list[str]:
    return sorted(raw for raw, _src, ext in images_from_yaml_text(text, "m.yaml", deep=True) if ext)


WORKLOADS = {
    "pod": POD.format(spec="  containers: [{name: a, image: 'nginx:1.25'}]"),
    "deployment": """
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers: [{name: a, image: nginx:1.25}]
""",
    "cronjob": """
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: c}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: a, image: nginx:1.25}]
""",
    "custom resource embedding a pod template": """
apiVersion: example.com/v1
kind: Workflow
metadata: {name: w}
spec:
  podTemplate:
    spec:
      containers: [{name: a, image: nginx:1.25}]
""",
    "kind List": """
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: ds}
  spec: {template: {spec: {containers: [{name: a, image: nginx:1.25}]}}}
""",
    "DeploymentList": """
apiVersion: apps/v1
kind: DeploymentList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d}
  spec: {template: {spec: {containers: [{name: a, image: nginx:1.25}]}}}
""",
    "json": '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},'
            ' "spec": {"containers": [{"name": "a", "image": "nginx:1.25"}]}}',
    "merge key": """
x-base: &base {containers: [{name: a, image: nginx:1.25}]}
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {<<: *base}
""",
}


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_kinds(name: str) -> None:
    assert _strict(WORKLOADS[name]) == ["nginx:1.25"]


@pytest.mark.parametrize("field,expected", [
    ("  initContainers: [{name: i, image: busybox}]\n  containers: [{name: a, image: nginx}]", ["busybox", "nginx"]),
    ("  containers: [{name: a, image: nginx}]\n  ephemeralContainers: [{name: e, image: 'debug:1'}]",
     ["debug:1", "nginx"]),
    ("  containers: [{name: a, image: nginx}]\n  volumes: [{name: v, image: {reference: 'quay.io/x/data:1'}}]",
     ["nginx", "quay.io/x/data:1"]),
    ("  containers: [{name: a, image: 'r.io/a/b:1.0@sha256:" + "a" * 64 + "'}]",
     ["r.io/a/b:1.0@sha256:" + "a" * 64]),
])
def test_pod_spec_fields(field: str, expected: list[str]) -> None:
    assert _strict(POD.format(spec=field)) == expected


@pytest.mark.parametrize("text", [
    # keys that merely end in "image", imagePullPolicy, CRD schemas, non-Kubernetes YAML
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {image: 'nginx:1', parameter.image: 'x:1'}\n",
    POD.format(spec="  containers: [{name: a, imagePullPolicy: Always}]"),
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: c}\nspec:\n"
    "  versions: [{schema: {openAPIV3Schema: {properties: {containers: {type: array, items: {properties:"
    " {image: {type: string}}}}}}}}]\n",
    "services:\n  web:\n    image: nginx:1.25\n",  # docker-compose: not Kubernetes
    "containers: [{name: a, image: nginx}]\n",        # no apiVersion/kind
    POD.format(spec="  containers: [{name: a, image: 42}]"),
])
def test_never_invented(text: str) -> None:
    assert _strict(text) == []


def test_source_names_document_kind_and_container(rootfs: Path) -> None:
    write(rootfs / "manifests/app.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\n"
          + WORKLOADS["deployment"].lstrip())
    write(rootfs / "manifests/sub/dir/more.yml", POD.format(spec="  containers: [{name: x, image: nginx:1.25}]"))
    (img,) = discover(rootfs).images
    assert str(img.reference) == "docker.io/library/nginx:1.25"
    assert [str(s) for s in img.sources] == ["manifests/app.yaml#2 Deployment/d container a",
                                             "manifests/sub/dir/more.yml#1 Pod/p container x"]
    assert img.sources[0].line == 11 and not img.extended


def test_unrendered_template_in_manifest_is_skipped_with_warning(rootfs: Path) -> None:
    write(rootfs / "manifests/t.yaml", POD.format(spec="  containers: [{name: a, image: '{{ .Values.x }}'}]"))
    result = discover(rootfs)
    assert result.images == []
    assert any("unrendered" in w for w in result.warnings)


def test_image_list(rootfs: Path) -> None:
    write(rootfs / "manifests/imageList", """
        # comment
          nginx:1.25
        quay.io/a/b@sha256:%s   # trailing comment

        docker.io/library/nginx:1.25
    """ % ("b" * 64))
    result = discover(rootfs)
    assert [str(r) for r in result.references()] == ["docker.io/library/nginx:1.25", "quay.io/a/b@sha256:" + "b" * 64]
    assert [str(s) for s in result.images[0].sources] == ["manifests/imageList:2", "manifests/imageList:5"]
    assert result.images[0].raw == "nginx:1.25"


def test_image_list_invalid_reference_names_line(rootfs: Path) -> None:
    write(rootfs / "manifests/imageList", "nginx\nNot A Ref\n")
    with pytest.raises(DiscoveryError) as e:
        discover(rootfs)
    assert e.value.file == "manifests/imageList" and e.value.line == 2
    assert str(e.value).startswith("manifests/imageList:2:")


def test_dedup_keeps_tag_and_digest_and_all_sources(rootfs: Path) -> None:
    digest = "sha256:" + "c" * 64
    write(rootfs / "manifests/imageList", f"nginx:1.25@{digest}\nnginx:1.25\n")
    write(rootfs / "manifests/a.yaml", POD.format(spec=f"  containers: [{{name: a, image: 'docker.io/nginx:1.25@{digest}'}}]"))
    refs = [str(r) for r in discover(rootfs).references()]
    assert refs == ["docker.io/library/nginx:1.25", f"docker.io/library/nginx:1.25@{digest}"]
    found = discover(rootfs).images[1]
    assert len(found.sources) == 2


def test_ignore_list_and_parameter(rootfs: Path) -> None:
    write(rootfs / "manifests/imageList", "nginx:1.25\nnginx:1.26\nbusybox:1\nquay.io/x/y:2\n")
    write(rootfs / "manifests/imageList.ignore", "# not wanted\nnginx\n")
    result = discover(rootfs, ignore=["quay.io/x/y:2"])
    assert [str(r) for r in result.references()] == ["docker.io/library/busybox:1"]
    assert sorted(str(f.reference) for f in result.ignored) == [
        "docker.io/library/nginx:1.25", "docker.io/library/nginx:1.26", "quay.io/x/y:2"]
    with pytest.raises(DiscoveryError, match="ignore image"):
        discover(rootfs, ignore=["Bad Ref"])


DEEP_CASES = {
    "operator arg": ("  containers: [{name: a, image: op:1, args: ['--reloader=quay.io/p/reloader:v0.93.0',"
                     " '--port=8080', '--svc=kube-system/kubelet']}]", ["quay.io/p/reloader:v0.93.0"]),
    "flag then value": ("  containers: [{name: a, image: op:1, args: ['--engine-image', 'longhornio/engine:v1.5.1']}]",
                        ["longhornio/engine:v1.5.1"]),
    "env image": ("  containers: [{name: a, image: op:1, env: [{name: CSI_PROVISIONER_IMAGE, value: 'csi/provisioner:v3'},"
                  " {name: OPERATOR_VERSION, value: 'v1.2.3'}]}]", ["csi/provisioner:v3"]),
}


@pytest.mark.parametrize("name", sorted(DEEP_CASES))
def test_deep_pod_strings(name: str) -> None:
    spec, expected = DEEP_CASES[name]
    assert _deep(POD.format(spec=spec)) == expected


def test_deep_configmaps_and_custom_resources() -> None:
    text = """
apiVersion: v1
kind: ConfigMap
metadata: {name: images}
data:
  plugin: "quay.io/cephcsi/cephcsi:v3.17.0"
  url: "https://github.com/org/repo"
  group: "rbac.authorization.k8s.io/v1"
  note: "see docs.example.com/guide for details"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata: {name: helper}
    spec:
      containers: [{name: h, image: busybox}]
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: p}
spec:
  image: quay.io/prometheus/prometheus:v2.54.0
  version: v2.54.0
  imagePullPolicy: IfNotPresent
"""
    assert _deep(text) == ["busybox", "quay.io/cephcsi/cephcsi:v3.17.0", "quay.io/prometheus/prometheus:v2.54.0"]
    assert _strict(text) == []


def test_deep_result_marks_extended(rootfs: Path) -> None:
    write(rootfs / "manifests/a.yaml", POD.format(
        spec="  containers: [{name: a, image: 'quay.io/x/op:1', args: ['--side=quay.io/x/side:1', '--me=quay.io/x/op:1']}]"))
    assert [str(r) for r in discover(rootfs).references()] == ["quay.io/x/op:1"]
    deep = {str(f.reference): f.extended for f in discover(rootfs, deep=True).images}
    assert deep == {"quay.io/x/op:1": False, "quay.io/x/side:1": True}


def test_settings_file_enables_deep(rootfs: Path) -> None:
    write(rootfs / "manifests/a.yaml", POD.format(
        spec="  containers: [{name: a, image: 'quay.io/x/op:1', args: ['--side=quay.io/x/side:1']}]"))
    write(rootfs / "manifests/.sealer-discover.yaml", "deep: true\n")
    assert len(discover(rootfs).images) == 2
    write(rootfs / "manifests/.sealer-discover.yaml", "deeep: true\n")
    with pytest.raises(DiscoveryError, match="unknown key 'deeep'"):
        discover(rootfs)

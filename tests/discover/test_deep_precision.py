"""``--deep`` proposes only strings that can be images, joins split fields, and reads duplicate keys as Kubernetes."""

from __future__ import annotations

from pathlib import Path

from sealer.discover import discover, images_from_yaml_text

from ._util import write

NOT_IMAGES = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: harbor-trivy
  labels: {eks.amazonaws.com/compute-type: ec2, image: nginx}
  annotations: {eks.amazonaws.com/role-arn: "x"}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: trivy}}
  template:
    spec:
      nodeSelector: {eks.amazonaws.com/compute-type: ec2}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - {key: eks.amazonaws.com/compute-type, operator: NotIn, values: [fargate]}
      topologySpreadConstraints:
      - {topologyKey: topology.kubernetes.io/zone, maxSkew: 1, whenUnsatisfiable: DoNotSchedule}
      containers:
      - name: trivy
        image: goharbor/trivy-adapter-photon:v2.12.0
        env:
        - name: SCANNER_TRIVY_DB_REPOSITORY
          value: mirror.gcr.io/aquasec/trivy-db,ghcr.io/aquasecurity/trivy-db
        - name: SCANNER_TRIVY_JAVA_DB_REPOSITORY
          value: mirror.gcr.io/aquasec/trivy-java-db
        - {name: KEY, value: eks.amazonaws.com/compute-type}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: csr}
rules:
- apiGroups: [certificates.k8s.io]
  resources: [signers]
  resourceNames: [beta.eks.amazonaws.com/app-serving]
  verbs: [approve]
---
apiVersion: v1
kind: Role
metadata: {name: odd}
rules:
- resourceNames: [quay.io/not/an-image:v1]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: launcher}
data:
  launcher.py: |
    def run(name, tag):
        image=f"{name}:{tag}"
        other = "{}:{}".format(name, tag)
        third = "%s/%s:%s" % (registry, name, tag)
        return client.run(image=image)
  script.sh: 'docker pull ${REGISTRY}/app:v1.2.3 && echo $(IMAGE)'
  one-line: image=f"{name}:{tag}"
  real: 'helper: quay.io/example/helper:v1.0.0'
"""


def test_deep_reports_no_non_image_strings() -> None:
    found = sorted(raw for raw, _src, ext in images_from_yaml_text(NOT_IMAGES, "m.yaml", deep=True))
    assert found == ["goharbor/trivy-adapter-photon:v2.12.0", "quay.io/example/helper:v1.0.0"]


SPLIT = """
apiVersion: example.com/v1
kind: Database
metadata: {name: db}
spec:
  image: {repository: quay.io/example/db-node, tag: "15.4"}
  backup:
    image: {registry: registry.example.com, repository: tools/backup, tag: v2.1.0}
  proxy:
    image:
      repository: example/proxy
      tag: 1.2.3
      digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  exporter:
    image: {name: quay.io/example/exporter, version: 0.15.0}
  monitor: {repository: quay.io/example/monitor, tag: 15.4}
  plugins:
  - {name: quay.io/example/plugin, version: 1.0.0}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: values}
data:
  values.yaml: |
    sidecar:
      image:
        registry: docker.io
        repository: bitnami/os-shell
        tag: 12-debian-12-r30
"""


def test_split_fields_are_joined_wherever_they_appear() -> None:
    found = sorted(raw for raw, _src, ext in images_from_yaml_text(SPLIT, "m.yaml", deep=True))
    assert found == [
        "docker.io/bitnami/os-shell:12-debian-12-r30",
        "example/proxy:1.2.3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "quay.io/example/db-node:15.4",
        "quay.io/example/exporter:0.15.0",
        "quay.io/example/monitor:15.4",
        "quay.io/example/plugin",  # a name with a version is not an image's tag outside an image key
        "registry.example.com/tools/backup:v2.1.0",
    ]


def test_split_fields_through_discover(rootfs: Path) -> None:
    write(rootfs / "manifests/db.yaml", SPLIT)
    result = discover(rootfs, deep=True)
    refs = [str(f.reference) for f in result.images]
    assert "quay.io/example/db-node:15.4" in refs
    assert "quay.io/example/db-node:latest" not in refs
    db = next(f for f in result.images if str(f.reference) == "quay.io/example/db-node:15.4")
    assert db.extended and db.sources[0].line == 5 and "Database/db spec.image.repository" in str(db.sources[0])


DUPLICATE = """
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: busybox:1.35
    image: busybox:1.36
"""


def test_duplicate_image_key_last_wins_with_a_warning(rootfs: Path) -> None:
    write(rootfs / "manifests/p.yaml", DUPLICATE)
    for deep in (False, True):
        result = discover(rootfs, deep=deep)
        assert [str(f.reference) for f in result.images] == ["docker.io/library/busybox:1.36"]
        assert any("manifests/p.yaml:8: Pod/p container c has the key image more than once; the last one is used"
                   in w for w in result.warnings), result.warnings

"""Every Helm test hook (`test`, `test-success`, `test-failure`, also inside a comma list) is kept apart, with a
small chart written here and rendered by the real Helm engine (no corpus needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealer.discover import discover

from ._util import make_chart

_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: "{{{{ .Release.Name }}}}-{name}"
  annotations:
    "helm.sh/hook": {hook}
spec:
  containers:
  - name: t
    image: {image}
"""

HOOKS = {
    "test": "example.com/hooks/plain-test:1",
    "test-success": "example.com/hooks/success:1",
    "test-failure": "example.com/hooks/failure:1",
    "pre-install, test-success": "example.com/hooks/listed:1",
}
NOT_TESTS = {"pre-install": "example.com/hooks/pre-install:1", "post-upgrade": "example.com/hooks/post-upgrade:1"}


def _templates(hooks: dict[str, str]) -> dict[str, str]:
    return {f"hook{i}.yaml": _POD.format(name=f"h{i}", hook=f'"{hook}"', image=image)
            for i, (hook, image) in enumerate(hooks.items())}


def test_every_helm_test_hook_kind_is_kept_apart(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "hooked", values="image: nginx:1.25\n",
               templates={"deployment.yaml": _DEPLOY, **_templates({**HOOKS, **NOT_TESTS})})
    result = discover(rootfs)
    refs = {str(r) for r in result.references()}
    tests = {str(f.reference) for f in result.helm_tests}
    assert tests == set(HOOKS.values())
    assert refs == {"docker.io/library/nginx:1.25", *NOT_TESTS.values()}, "non-test hooks are ordinary images"
    with_tests = {str(r) for r in discover(rootfs, include_helm_tests=True).references()}
    assert with_tests == refs | set(HOOKS.values())


@pytest.mark.parametrize("hook", ["test-success", "test-failure"])
def test_a_chart_with_only_that_hook_caches_no_test_image(rootfs: Path, hook: str) -> None:
    make_chart(rootfs / "charts", "one", templates={"deployment.yaml": _DEPLOY,
                                                    "t.yaml": _POD.format(name="t", hook=hook, image="busybox:1")})
    result = discover(rootfs)
    assert [str(r) for r in result.references()] == ["docker.io/library/nginx:1.25"]
    assert [str(f.reference) for f in result.helm_tests] == ["docker.io/library/busybox:1"]


_DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: "{{ .Release.Name }}"}
spec:
  template:
    spec:
      containers:
      - name: main
        image: "{{ .Values.image }}"
"""

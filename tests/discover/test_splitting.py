"""Document splitting as Kubernetes (manifests/) and Helm (rendered charts) do it.

Cases ported from upstream tests:
- apimachinery: github.com/kubernetes/apimachinery @ eed236ceee2c19c2753a3d93ac0631dc20750454,
  pkg/util/yaml/decoder_test.go (TestDecodeYAML, TestDecodeYAMLSeparatorValidation, the YAML cases of
  TestYAMLOrJSONDecoder); the reader is YAMLReader.Read in pkg/util/yaml/decoder.go (same commit).
- Helm 3: github.com/helm/helm @ 3cef2ed6675c710e961750ac3701d977bef73f6b, pkg/releaseutil/manifest_test.go
  (TestSplitManifest); SplitManifests at 50e95be68e123bfc1999f8516db67a8fa423accc, pkg/releaseutil/manifest.go.
- Helm 4: github.com/helm/helm @ e9b85e4de16ad45805843fb121748018cf89094b, pkg/release/v1/util/manifest_test.go
  (TestSplitManifests, file last changed in 82be04d7f2881f59b3a85483eb248417e1d18fc3). That HEAD splits with
  ``(?m)^---[ \\t]*`` and trims only the left side; the engine we render with (Helm 4.2.3) still uses the Helm 3
  regex. Both cut at the same places, so pieces are compared without trailing whitespace (the block-scalar
  chomping cases of that test are about trailing whitespace only and are not ported).
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from sealer.discover import discover
from sealer.discover.safeyaml import load_plain, parse_document
from sealer.discover.splitting import helm_documents, kubernetes_documents
from sealer.errors import DiscoveryError

from ._util import make_chart, write

DATA = Path(__file__).parent / "data"


def kube(text: str) -> list[object]:
    """What ``kubectl apply`` decodes from ``text``: one value per document (None for an empty one)."""
    out: list[object] = []
    for piece in kubernetes_documents(io.BytesIO(text.encode()), "t.yaml"):
        node = parse_document(piece.text, "t.yaml", line_offset=piece.line - 1)
        out.append(None if node is None else load_plain(piece.text, "t.yaml"))
    return out


def helm(text: str) -> list[str]:
    return [str(p.text).rstrip() for p in helm_documents(text)]


# ---- apimachinery YAMLReader ----------------------------------------------------------------------------

def test_apimachinery_decode_yaml() -> None:  # TestDecodeYAML
    assert kube("---\nstuff: 1\n\n---   \n  ") == [{"stuff": 1}, None]


def test_apimachinery_separator_validation() -> None:  # TestDecodeYAMLSeparatorValidation
    text = ("---\nstuff: 1\n---    # Make sure termination happen with inline comment\nstuff: 2\n---\nstuff: 3\n"
            "--- Make sure uncommented content results YAMLSyntaxError\n\n ")
    pieces = kubernetes_documents(io.BytesIO(text.encode()), "t.yaml")
    assert load_plain(next(pieces).text, "t") == {"stuff": 1}
    assert load_plain(next(pieces).text, "t") == {"stuff": 2}
    with pytest.raises(DiscoveryError, match="invalid Yaml document separator: Make sure uncommented") as e:
        next(pieces)
    assert e.value.line == 7


@pytest.mark.parametrize("text,expected", [  # the YAML cases of TestYAMLOrJSONDecoder
    ("", []),
    (" \na: b", [{"a": "b"}]),
    ("foo: bar\n---\nbaz: biz", [{"foo": "bar"}, {"baz": "biz"}]),
    ("---\nfoo: bar\n--- # with Comment\nbaz: biz", [{"foo": "bar"}, {"baz": "biz"}]),
    ("foo:\n  field: bar\n---\nbaz:\n  field: biz", [{"foo": {"field": "bar"}}, {"baz": {"field": "biz"}}]),
    ("foo: bar\n---\n", [{"foo": "bar"}]),
    ("foo: bar\n---", [{"foo": "bar"}]),
    ("foo: bar\n", [{"foo": "bar"}]),
    ('{"foo": "bar"}\n---\n{baz: biz}', [{"foo": "bar"}, {"baz": "biz"}]),
    ('{"foo": "bar"}\n---\na: b', [{"foo": "bar"}, {"a": "b"}]),
    ('{"foo": "bar"}    \n---\na: b', [{"foo": "bar"}, {"a": "b"}]),
    ('{foo: bar}\n---\n{"baz": "biz"}', [{"foo": "bar"}, {"baz": "biz"}]),
    ('{\n  "foo": "bar"\n}\n---\n{\n  baz: biz\n}', [{"foo": "bar"}, {"baz": "biz"}]),
])
def test_apimachinery_yaml_or_json_decoder_cases(text: str, expected: list[object]) -> None:
    assert kube(text) == expected


@pytest.mark.parametrize("text", ["foo: bar\n--", "foo: bar\n-", '{"foo": "bar"}\n{"baz": "biz"}\n---\n{qux: zrb}'])
def test_apimachinery_error_cases(text: str) -> None:
    with pytest.raises(DiscoveryError):
        kube(text)


def test_kubernetes_rule_on_comment_glued_to_separator_and_crlf() -> None:
    assert kube("a: 1\n---# comment\nb: 2\r\n---\r\nc: 3\r\n") == [{"a": 1}, {"b": 2}, {"c": 3}]
    with pytest.raises(DiscoveryError, match="separator: apiVersion: v1"):
        kube("a: 1\n---apiVersion: v1\n")
    with pytest.raises(DiscoveryError, match="separator: -"):
        kube("a: 1\n----\nb: 2\n")


def test_kubernetes_pieces_keep_their_first_line() -> None:
    pieces = list(kubernetes_documents(io.BytesIO(b"# head\n---\n---\n\na: 1\n---\nb: 2\n"), "t"))
    assert [(p.number, p.line) for p in pieces] == [(1, 1), (2, 4), (3, 7)]


# ---- Helm SplitManifests ---------------------------------------------------------------------------------

POD = ('apiVersion: v1\nkind: Pod\nmetadata:\n  name: finding-nemo,\n  annotations:\n    "helm.sh/hook": test\n'
       "spec:\n  containers:\n  - name: nemo-test\n    image: fake-image\n    cmd: fake-command")


def cm(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}"


@pytest.mark.parametrize("text,expected", [
    ("\n\n---\n" + POD + "\n", [POD]),                                      # Helm 3 TestSplitManifest, Helm 4 case 1
    ("", []),                                                             # empty input
    ("  \n\n  \n", []),                                                   # whitespace only
    ("---\n" + cm("cm1") + "\n---\n  \n", [cm("cm1")]),                   # whitespace-only doc after separator
    ("\n" + cm("test") + "\n", [cm("test")]),                             # single doc no separator
    ("\n" + cm("cm1") + "\n---\n" + cm("cm2") + "\n", [cm("cm1"), cm("cm2")]),          # two docs
    ("\n---" + cm("cm1") + "\n", [cm("cm1")]),                            # leading glued separator (---apiVersion)
    ("\n" + cm("cm1") + "\n---" + cm("cm2") + "\n", [cm("cm1"), cm("cm2")]),            # mid-content glued
    ("\n---" + cm("cm1") + "\n---" + cm("cm2") + "\n---" + cm("cm3") + "\n",            # multiple glued
     [cm("cm1"), cm("cm2"), cm("cm3")]),
    ("\n" + cm("cm1") + "\n---\n" + cm("cm2") + "\n---" + cm("cm3") + "\n",             # mixed glued and proper
     [cm("cm1"), cm("cm2"), cm("cm3")]),
])
def test_helm_split_manifests_cases(text: str, expected: list[str]) -> None:
    assert helm(text) == expected


def test_helm_rule_on_comment_glued_to_separator_and_indented_dashes() -> None:
    assert helm("a: 1\n---# Permission to approve\nb: 2\n") == ["a: 1", "# Permission to approve\nb: 2"]
    assert helm("a: |\n  x\n  ---\n  y\n") == ["a: |\n  x\n  ---\n  y"]  # not at a line start: no split


def test_helm_pieces_keep_their_first_line() -> None:
    pieces = list(helm_documents("\n# Source: x\na: 1\n---\n\n\nb: 2\n---c: 3\n"))
    assert [(p.number, p.line) for p in pieces] == [(1, 2), (2, 7), (3, 8)]


# ---- through discovery -----------------------------------------------------------------------------------

GLUED_TEMPLATE = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
---
{{- if true -}}
# Permission to approve things
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - {name: main, image: "{{ .Values.image }}"}
{{- end }}
"""


def test_chart_rendering_separator_glued_to_comment(rootfs: Path) -> None:
    """The cert-manager case, in a chart written for the test: the text Helm installs has ``---# ...``."""
    make_chart(rootfs / "charts", "glued", templates={"rbac.yaml": GLUED_TEMPLATE})
    result = discover(rootfs)
    assert [str(f.reference) for f in result.images] == ["docker.io/library/nginx:1.25"]
    assert "glued/templates/rbac.yaml#2 Deployment/web" in str(result.images[0].sources[0])


def test_manifest_separator_glued_to_comment(rootfs: Path) -> None:
    write(rootfs / "manifests/app.yaml", """
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: sa}
        ---# the workload
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers: [{name: c, image: "busybox:1.36"}]
        """)
    result = discover(rootfs)
    assert [str(f.reference) for f in result.images] == ["docker.io/library/busybox:1.36"]
    assert str(result.images[0].sources[0]).startswith("manifests/app.yaml#2 Pod/p")
    assert result.images[0].sources[0].line == 9


def test_manifest_glued_content_is_refused_like_kubectl(rootfs: Path) -> None:
    write(rootfs / "manifests/app.yaml", "kind: A\napiVersion: v1\n---apiVersion: v1\nkind: B\n")
    with pytest.raises(DiscoveryError, match="invalid Yaml document separator") as e:
        discover(rootfs)
    assert (e.value.file, e.value.line) == ("manifests/app.yaml", 3)


def test_line_numbers_count_from_the_start_of_the_stream(rootfs: Path) -> None:
    write(rootfs / "manifests/m.yaml", "a: 1\n---\nb: 2\n---\n# c\nkey: 'unterminated\n")
    with pytest.raises(DiscoveryError, match="parse YAML") as e:
        discover(rootfs)
    assert e.value.line == 7
    make_chart(rootfs / "charts", "bad", templates={"t.yaml": "a: 1\n---\nb: 2\n---\nc: [\n"})
    (rootfs / "manifests/m.yaml").unlink()
    with pytest.raises(DiscoveryError, match=r"t.yaml rendered invalid YAML \(line 6\)"):
        discover(rootfs)


def test_current_cert_manager_chart(rootfs: Path) -> None:
    """Upstream cert-manager chart at 2d0d7f7f (see data/cert-manager/SOURCE.txt): Helm installs it, so do we."""
    shutil.copytree(DATA / "cert-manager", rootfs / "charts/cert-manager")
    text = (rootfs / "charts/cert-manager/templates/rbac.yaml").read_text()
    assert "---\n\n{{- if not .Values.disableAutoApproval -}}\n\n# Permission to approve" in text
    result = discover(rootfs)
    assert sorted(str(f.reference) for f in result.images) == [
        f"quay.io/jetstack/cert-manager-{c}:v0.0.0" for c in ("cainjector", "controller", "startupapicheck", "webhook")]

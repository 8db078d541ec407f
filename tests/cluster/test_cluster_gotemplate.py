"""Go text/template semantics through the real Go engine (Helm's tpl), and its error mapping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sealer.cluster import Cluster, GoTemplateEngine, build_variables
from sealer.cluster.template_fields import root_field_refs
from sealer.cluster.templates import BOOTSTRAP, CLUSTER, JOIN, default_template
from sealer.errors import ClusterConfigError


@pytest.fixture(scope="module")
def engine() -> Iterator[GoTemplateEngine]:
    with GoTemplateEngine() as e:
        yield e


DATA = {"A": "alpha", "Master": "", "Empty": [], "L": ["x", "y", "z"]}


@pytest.mark.parametrize(("template", "expected"), [
    ("a\n  {{- .A -}}  \nb", "aalphab"),                    # both trims eat newlines and spaces
    ("a\n  {{ .A -}}\n  b", "a\n  alphab"),                  # right trim only
    ("a \n{{- .A }} \nb", "aalpha \nb"),                     # left trim only
    ("{{- /* a comment */ -}}\n  x", "x"),                    # trimmed comment
    ("{{ range .L }}[{{ . }}]{{ end }}", "[x][y][z]"),
    ("{{ range $i, $v := .L }}{{ $i }}={{ $v }};{{ end }}", "0=x;1=y;2=z;"),
    ("{{ range .Empty }}x{{ else }}none{{ end }}", "none"),
    ("{{ if .Master }}master{{ else }}node{{ end }}", "node"),
    ("{{ if .A }}yes{{ else if .Master }}m{{ end }}", "yes"),
    ("{{ with .A }}<{{ . }}>{{ end }}", "<alpha>"),
    ("{{ $x := .A }}{{ $x }}-{{ len .L }}-{{ index .L 1 }}", "alpha-3-y"),
    ('{{ printf "%s/%d" .A 32 }}', "alpha/32"),
    ('{{ "{{ .Nope }}" }}', "{{ .Nope }}"),                  # strings are not field reads
    ("{{/* .Nope */}}ok", "ok"),                             # neither are comments
    ("{{ .A | upper }}", "ALPHA"),                           # sprig (Helm's superset) is available
    ("{{ range .L }}{{ $.A }}{{ end }}", "alphaalphaalpha"),
    ('{{ define "t" }}<{{ .Zed }}>{{ end }}{{ template "t" (dict "Zed" .A) }}', "<alpha>"),
])
def test_go_semantics(engine: GoTemplateEngine, template: str, expected: str) -> None:
    assert engine.render(template, DATA, name="t.tmpl") == expected


def test_range_over_certsans_in_the_cluster_template(engine: GoTemplateEngine, cluster: Cluster) -> None:
    variables = build_variables(cluster, "192.168.0.2", image_version="v1.19.8")
    out = engine.render(default_template(CLUSTER).text, variables.data(), name=CLUSTER)
    block = out.split("  certSANs:\n", 1)[1].split("  extraArgs:", 1)[0]
    assert block == "".join(f"  - {s}\n" for s in variables.values["CertSANS"])
    assert variables.values["CertSANS"] == ["127.0.0.1", "apiserver.cluster.local", "192.168.0.2", "192.168.0.3",
                                            "192.168.0.4", "10.103.97.2"]


@pytest.mark.parametrize(("host", "endpoint", "control_plane"), [
    ("192.168.0.3", "192.168.0.2:6443", True),   # a joining master talks to master0
    ("192.168.0.5", "10.103.97.2:6443", False),  # a node talks to the VIP
])
def test_if_master_on_master_and_node(engine: GoTemplateEngine, cluster: Cluster, host: str, endpoint: str,
                                      control_plane: bool) -> None:
    data = build_variables(cluster, host, image_version="v1.19.8").data()
    boot = engine.render(default_template(BOOTSTRAP).text, data, name=BOOTSTRAP)
    assert f"  bootstrapToken:\n    apiServerEndpoint: {endpoint}\n    token: " in boot
    join = engine.render(default_template(JOIN).text, data, name=JOIN)
    if control_plane:
        assert join.startswith(f"kind: JoinConfiguration\ncontrolPlane:\n  localAPIEndpoint:\n    advertiseAddress: "
                               f"{host}\n    bindPort: 6443\nnodeRegistration:\n")
    else:
        assert join.startswith("kind: JoinConfiguration\nnodeRegistration:\n")


@pytest.mark.parametrize(("template", "line", "fragment"), [
    ("a: 1\nb: {{ .Mastr }}\n", 2, 'map has no entry for key "Mastr"; did you mean .Master?'),
    ("x\n\n{{ if .Zzz }}y{{ end }}", 3, 'map has no entry for key "Zzz"'),
    ("{{ range .L }}\n{{ $.Nope }}{{ end }}", 2, 'no entry for key "Nope"'),
    ("{{ range .Empty }}x{{ else }}\n{{ .Nope }}{{ end }}", 2, 'no entry for key "Nope"'),  # else: outer dot
    ("{{ .A | default .Gone }}", 1, 'no entry for key "Gone"'),
])
def test_missing_variable_is_an_error_not_empty(engine: GoTemplateEngine, template: str, line: int,
                                                fragment: str) -> None:
    with pytest.raises(ClusterConfigError) as e:
        engine.render(template, DATA, name="kubeadm-init.yaml.tmpl")
    assert e.value.file == "kubeadm-init.yaml.tmpl"
    assert e.value.line == line
    assert fragment in str(e.value)


@pytest.mark.parametrize(("template", "line", "fragment"), [
    ("a\nb\n{{ if .A }}\n", 4, "parse template: unexpected EOF"),
    ("a\n\n  {{ .A | nope }}", 3, 'parse template: function "nope" not defined'),
    ("ok\n{{ end }}", 2, "parse template: unexpected {{end}}"),
    ("x\n{{ .A.B }}", 2, "execute template: can't evaluate field B"),    # Go's own error below a variable
    ("{{ range .L }}\n{{ .Name }}{{ end }}", 2, "can't evaluate field Name"),
])
def test_template_errors_name_file_and_line(engine: GoTemplateEngine, template: str, line: int,
                                            fragment: str) -> None:
    with pytest.raises(ClusterConfigError) as e:
        engine.render(template, DATA, name="kubeadm-join-config.yaml.tmpl")
    assert str(e.value).startswith(f"kubeadm-join-config.yaml.tmpl:{line}: ")
    assert fragment in str(e.value)


def test_field_scanner_follows_dot() -> None:
    refs = root_field_refs('{{ .A }}\n{{ range .L }}{{ .Elem }}{{ $.B }}{{ else }}{{ .C }}{{ end }}'
                           '{{ with .D }}{{ .E }}{{ end }}{{ (index .L 0).F }}{{ define "x" }}{{ .G }}{{ end }}')
    assert [(r.name, r.line) for r in refs] == [("A", 1), ("L", 2), ("B", 2), ("C", 2), ("D", 2), ("L", 2)]

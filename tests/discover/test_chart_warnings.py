"""Nothing silent: library charts and charts that render no workload are warnings (errors with --strict)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sealer.cli.main import cli
from sealer.discover import DiscoveryError, discover
from sealer.discover.chartnotes import banner_lines

from ._util import DEPLOYMENT, make_chart, write

NOTES = """
{{- if not .Values.host }}
###############################################################################
### ERROR: You did not provide an external host in your 'helm install' call ###
###############################################################################

This deployment will be incomplete until you configure the host:

    helm upgrade {{ .Release.Name }} --set host=HOST
{{- else }}
Kibana is reachable at {{ .Values.host }}.
{{- end }}
"""


def library(root: Path) -> None:
    make_chart(root / "charts", "common", chart_extra="type: library\n",
               templates={"_names.tpl": '{{- define "common.name" -}}x{{- end -}}\n'})


def needs_host(root: Path) -> Path:
    return make_chart(root / "charts", "kib", values="image: nginx:1.25\nhost: ''\n", templates={
        "deployment.yaml": "{{- if .Values.host }}" + DEPLOYMENT + "{{- end }}\n", "NOTES.txt": NOTES})


def test_library_chart_is_skipped_with_a_reason(rootfs: Path) -> None:
    library(rootfs)
    result = discover(rootfs)
    assert result.images == []
    assert any("charts/common" in w and "library chart (type: library)" in w and "does not install" in w
               for w in result.warnings), result.warnings
    with pytest.raises(DiscoveryError, match="library chart") as e:
        discover(rootfs, strict=True)
    assert e.value.file == "charts/common"


def test_no_workload_quotes_the_notes_error_banner(rootfs: Path) -> None:
    needs_host(rootfs)
    result = discover(rootfs)
    assert result.images == []
    [warning] = result.warnings
    assert "charts/kib (values default): renders no workload" in warning
    assert "### ERROR: You did not provide an external host" in warning
    assert "This deployment will be incomplete until you configure the host:" in warning
    with pytest.raises(DiscoveryError, match="You did not provide an external host"):
        discover(rootfs, strict=True)
    write(rootfs / "charts/kib.values.yaml", "host: kibana.example\n")
    result = discover(rootfs, strict=True)
    assert [str(f.reference) for f in result.images] == ["docker.io/library/nginx:1.25"]
    assert result.warnings == []


def test_no_workload_without_banner_still_warns(rootfs: Path) -> None:
    make_chart(rootfs / "charts", "crds", templates={
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        "NOTES.txt": "Thanks for installing. If you see an error, read the docs.\n"})
    [warning] = discover(rootfs).warnings
    assert "charts/crds (values default): renders no workload" in warning
    assert "NOTES" not in warning


def test_banner_lines() -> None:
    assert banner_lines("ok\n\n### ERROR ###\nset x\n\n" + "more\n" * 10) == \
        ["### ERROR ###", "set x", "more", "more", "more", "more"]
    assert banner_lines("ERROR: missing token\n") == ["ERROR: missing token"]
    assert banner_lines("grep for errors or TERRORS\n") == []


def test_settings_file_turns_strict_on(rootfs: Path) -> None:
    library(rootfs)
    write(rootfs / "manifests/.sealer-discover.yaml", "strict: true\n")
    with pytest.raises(DiscoveryError, match="library chart"):
        discover(rootfs)


def test_cli_prints_warnings_and_strict_fails(rootfs: Path, tmp_path: Path) -> None:
    library(rootfs)
    needs_host(rootfs)
    r = CliRunner().invoke(cli, ["find-images", str(rootfs)])
    assert r.exit_code == 0
    assert r.stderr.count("warning:") == 2 and "library chart" in r.stderr and "### ERROR" in r.stderr
    r = CliRunner().invoke(cli, ["find-images", "--strict", str(rootfs)])
    assert r.exit_code == 1
    assert "2 problems found" in r.stderr

    write(rootfs / "Kubefile", "FROM scratch\nCOPY charts .\n")
    store = str(tmp_path / "store")
    r = CliRunner().invoke(cli, ["--root", store, "build", "-q", "-b", "lite", "-t", "x:v1", str(rootfs)])
    assert r.exit_code == 0, r.output
    assert "WARNING: skip charts/common: chart common is a library chart" in r.stderr
    assert "### ERROR: You did not provide" in r.stderr
    r = CliRunner().invoke(cli, ["--root", store, "build", "-q", "-b", "lite", "--strict", "-t", "x:v2", str(rootfs)])
    assert r.exit_code == 1
    assert "2 problems found" in r.stderr

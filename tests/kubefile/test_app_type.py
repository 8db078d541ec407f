"""App type and launch files exactly as sealer's getApplicationType / getApplicationFiles
(build/kubefile/parser/utils.go at sealerio/sealer f4f89c5), quirks included."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealer.build.apps import app_type, launch_files


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    files = {
        "chart/Chart.yaml": "name: c\n", "chart/values.yaml": "", "chart/templates/d.yaml": "",
        "yamls/a.yaml": "", "yamls/sub/b.yml": "", "shells/x.sh": "", "shells/y.SH": "",
        "mixed/a.yaml": "", "mixed/b.sh": "", "other/readme.txt": "", "one.yaml": "", "run.sh": "",
        "loose/Chart.yaml": "", "loose/values.yaml": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


@pytest.mark.parametrize(("sources", "kind", "files"), [
    (["chart"], "helm", ["app"]),                                  # a chart root directory
    (["chart/"], "helm", ["app"]),
    (["yamls"], "kube", ["/a.yaml", "/sub/b.yml"]),                # TrimPrefix(path, "yamls") keeps the slash
    (["yamls/"], "kube", ["a.yaml", "sub/b.yml"]),
    (["one.yaml", "yamls"], "kube", ["one.yaml", "/a.yaml", "/sub/b.yml"]),
    (["shells"], "shell", ["/x.sh", "/y.SH"]),                     # extension compared lower-cased
    (["run.sh", "shells"], "shell", ["run.sh"]),                   # shell: only the first source's files
    (["mixed"], "", []),                                           # .yaml and .sh: no type (needs APPCMDS)
    (["other"], "", []),
    (["run.sh", "one.yaml"], "", []),
    (["loose/Chart.yaml", "loose/values.yaml"], "kube", ["Chart.yaml", "values.yaml"]),  # no templates: not helm
    (["loose", "chart/templates"], "kube", ["/Chart.yaml", "/values.yaml", "/d.yaml"]),  # 'templates' dir: no bit
])
def test_type_and_files(ctx: Path, sources: list[str], kind: str, files: list[str]) -> None:
    assert app_type(str(ctx), sources) == kind
    assert launch_files(str(ctx), "app", kind, sources) == files

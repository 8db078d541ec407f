"""``sealer find-images`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sealer.cli.main import cli

from ._util import make_chart, write


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["find-images", *args])
    return result.exit_code, result.stdout, result.stderr


def test_plain_and_json(rootfs: Path) -> None:
    write(rootfs / "manifests/imageList", "busybox:1\n")
    make_chart(rootfs / "charts", "web")
    code, out, _ = _run(str(rootfs))
    assert code == 0
    assert out.splitlines() == [
        "docker.io/library/busybox:1", "    manifests/imageList:1",
        "docker.io/library/nginx:1.25",
        "    charts/web (values default) web/templates/deployment.yaml#1 Deployment/web container main"]
    code, out, _ = _run(str(rootfs), "--json", "--ignore-image", "busybox")
    data = json.loads(out)
    assert [d["image"] for d in data] == ["docker.io/library/nginx:1.25"]
    assert data[0]["raw"] == "nginx:1.25" and data[0]["extended"] is False
    assert data[0]["sources"][0]["file"] == "charts/web"


def test_deep_flag_marks_extended(rootfs: Path) -> None:
    write(rootfs / "manifests/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
          "data: {img: 'quay.io/x/y:1'}\n")
    code, out, _ = _run(str(rootfs))
    assert code == 0 and out == ""
    code, out, _ = _run(str(rootfs), "--deep")
    assert out.splitlines()[0] == "quay.io/x/y:1 (extended)"


def test_errors_exit_non_zero_with_message(rootfs: Path) -> None:
    write(rootfs / "manifests/imageList", "ok:1\nNOT VALID\n")
    code, _, err = _run(str(rootfs))
    assert code == 1
    assert "manifests/imageList:2" in err

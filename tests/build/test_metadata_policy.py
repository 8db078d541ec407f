"""One reader of the rootfs ``Metadata`` file (interop.rootfs) with one error policy: a Metadata that
``kubeadm-config`` rejects is rejected by ``build`` too, both naming the file (and the line of a syntax error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sealer.cli.main import cli

from .conftest import Sealer

CLUSTERFILE = Path(__file__).resolve().parents[1] / "cluster" / "golden" / "Clusterfile"


@pytest.mark.parametrize(("text", "want"), [
    ('{"version": 1.19, "arch": "amd64"}', "Metadata: read Metadata: 'version' must be a string"),
    ('{"version": "v1.19.8",\n "arch": }', "Metadata:2: read Metadata: not JSON"),
    ('["v1.19.8"]', "Metadata: read Metadata: not a JSON object"),
])
def test_build_and_kubeadm_config_reject_the_same_bad_metadata(tmp_path: Path, sealer: Sealer, text: str,
                                                                 want: str) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Metadata").write_text(text)
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY Metadata .\n")
    r = sealer("build", "-q", "-b", "lite", "-t", "bad-meta:v1", str(ctx), ok=False)
    assert r.exit_code == 1, r.output
    assert want in r.output
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "Metadata").write_text(text)
    k = CliRunner().invoke(cli, ["--root", str(sealer.root), "kubeadm-config", str(rootfs), "-f", str(CLUSTERFILE)])
    assert k.exit_code == 1, k.output
    assert want in k.output


def test_good_metadata_gives_the_kubernetes_version(tmp_path: Path, sealer: Sealer) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Metadata").write_text('{"version": "v1.19.8", "arch": "amd64", "variant": ""}')
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY Metadata .\n")
    sealer("build", "-q", "-b", "lite", "-t", "good-meta:v1", str(ctx))
    assert sealer.json("inspect", "good-meta:v1")["kubernetesVersion"] == "v1.19.8"

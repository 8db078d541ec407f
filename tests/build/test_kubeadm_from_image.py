"""`sealer kubeadm-config IMAGE`: templates COPY'd into etc/ of a built image override the defaults."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from helpers.hostile_text import SPEC_BROKEN_JOIN as BROKEN_JOIN

from sealer.cli.main import cli

GOLDEN = Path(__file__).parents[1] / "cluster" / "golden"

INIT = """apiVersion: {{.KubeadmAPI}}
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {{.Master0}}
  bindPort: 6443
nodeRegistration:
  criSocket: /var/run/dockershim.sock
"""


def run(root: Path, *args: str, ok: bool = True) -> str:
    r = CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)
    assert (r.exit_code == 0) == ok, r.output
    return r.stdout if ok else r.output


def test_kubeadm_config_of_a_built_image(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Metadata").write_text(json.dumps({"version": "v1.19.8", "arch": "amd64"}))
    (ctx / "kubeadm-init.yaml.tmpl").write_text(INIT)
    (ctx / "Kubefile").write_text("FROM scratch\nCOPY Metadata .\nCOPY kubeadm-init.yaml.tmpl ./etc\n")
    root = tmp_path / "store"
    run(root, "build", "-q", "-b", "lite", "-t", "user-define-kubeadm-kubernetes:v1.19.8", str(ctx))
    doc = json.loads(run(root, "kubeadm-config", "user-define-kubeadm-kubernetes:v1.19.8", "-f",
                         str(GOLDEN / "Clusterfile"), "--json"))
    text = json.dumps(doc)
    assert "/var/run/dockershim.sock" in text and "192.168.0.2" in text
    assert "kubeadm.k8s.io/v1beta2" in text            # 1.19 → v1beta2, from the image's Metadata
    assert "etc/kubeadm-init.yaml.tmpl" in text        # which template each document came from
    # the spec's own broken join example, built into an image, fails loudly for a joining node
    (ctx / "kubeadm-join-config.yaml.tmpl").write_text(BROKEN_JOIN)
    (ctx / "Kubefile").write_text(
        "FROM scratch\nCOPY Metadata .\nCOPY kubeadm-init.yaml.tmpl ./etc\nCOPY kubeadm-join-config.yaml.tmpl ./etc\n")
    run(root, "build", "-q", "-b", "lite", "-t", "broken:v1", str(ctx))
    out = run(root, "kubeadm-config", "broken:v1", "-f", str(GOLDEN / "Clusterfile"), "--host", "192.168.0.5",
              ok=False)
    assert "kubeadm-join-config.yaml.tmpl" in out and "not valid YAML" in out

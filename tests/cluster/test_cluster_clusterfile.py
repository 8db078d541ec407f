"""Clusterfile validation: every error names the field path and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealer.cluster import Cluster, load_clusterfile, parse_clusterfile
from sealer.errors import ClusterConfigError

GOLDEN = Path(__file__).parent / "golden"
MASTERS = ["192.168.0.2", "192.168.0.3", "192.168.0.4"]
NODES = ["192.168.0.5", "192.168.0.6"]


BASE = (GOLDEN / "Clusterfile").read_text()


def test_sample_parses(cluster: Cluster) -> None:
    assert cluster.name == "golden-cluster"
    assert cluster.masters == MASTERS and cluster.nodes == NODES
    assert cluster.runtime == "docker"
    assert cluster.registry == "sea.hub:5000"
    assert cluster.ssh.user == "root" and cluster.ssh.port == 22
    assert "Seal3r-Golden" not in repr(cluster)           # passwords never in repr / logs
    assert cluster.ssh.redacted()["passwd"] == "<redacted>"


def test_host_ssh_and_env_overlay() -> None:
    text = BASE.replace("      roles: [node]", "      roles: [node]\n      ssh: {port: 2222, passwd: 12345}\n"
                        "      env: [A=node]").replace("  ssh:\n", "  env: [A=cluster, B=x=y]\n  ssh:\n", 1)
    c = parse_clusterfile(text)
    assert c.ssh_for("192.168.0.5").port == 2222 and c.ssh_for("192.168.0.5").user == "root"
    assert c.ssh_for("192.168.0.5").passwd == "12345"
    assert c.ssh_for("192.168.0.2").port == 22
    assert c.host_env("192.168.0.5") == {"A": "node", "B": "x=y"}
    assert c.host_env("192.168.0.2") == {"A": "cluster", "B": "x=y"}


@pytest.mark.parametrize(("old", "new", "message", "line"), [
    ("[192.168.0.5, 192.168.0.6]", "[192.168.0.5, 192.168.0.300]",
     "spec.hosts[1].ips[1]: not an IP address: '192.168.0.300'", 16),
    ("[192.168.0.5, 192.168.0.6]", "[192.168.0.5, 192.168.0.2]",
     "spec.hosts[1].ips[1]: 192.168.0.2 is listed twice (first at spec.hosts[0].ips[0])", 16),
    ("roles: [node]", "roles: [worker]", "spec.hosts[1].roles[0]: unknown role 'worker'", 17),
    ("roles: [master]", "roles: [node]", "spec.hosts: no host has role master", 13),
    ("roles: [node]", "roles: []", "spec.hosts[1].roles: required", 17),
    ("    type: docker", "    type: cri-o", "spec.containerRuntime.type: unknown runtime 'cri-o'", 12),
    ("    port: 22", "    port: 70000", "spec.ssh.port: expected a port number 1-65535", 10),
    ("    user: root", "    usr: root", "spec.ssh.usr: unknown field (did you mean user?)", 8),
    ("  image: kubernetes:v1.19.8", "  image: kubernetes:v1.19.8\n  env: [NOEQUALS]",
     "spec.env[0]: expected KEY=VALUE, got 'NOEQUALS'", 7),
    ("  image: kubernetes:v1.19.8", "  image: 'UPPER/Case:tag'", "spec.image: not a valid image reference", 6),
    ("  name: golden-cluster", "  name: Golden_Cluster", "metadata.name: 'Golden_Cluster' is not a valid name", 4),
    ("apiVersion: sealer.io/v2", "apiVersion: sealer.aliyun.com/v1alpha1", "apiVersion: expected sealer.io/v2", 1),
    ("  hosts:\n", "  hostz: []\n  hosts:\n", "spec.hostz: unknown field (did you mean hosts?)", 13),
    ('  ssh:\n    user: root\n    passwd: "Seal3r-Golden"\n    port: 22\n', "  ssh: [root]\n",
     "spec.ssh: expected a mapping, got a list", 7),
    ("      roles: [node]", "      roles: [node]\n    - {ips: [], roles: [node]}", "spec.hosts[2].ips: at least one", 18),
])
def test_validation_errors_name_path_and_line(old: str, new: str, message: str, line: int) -> None:
    assert old in BASE
    with pytest.raises(ClusterConfigError) as e:
        parse_clusterfile(BASE.replace(old, new, 1), "Clusterfile")
    assert e.value.file == "Clusterfile"
    assert message in e.value.message
    assert e.value.line == line, str(e.value)


@pytest.mark.parametrize(("extra", "message", "line"), [
    ("---\napiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n---\n"
     "apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n", "a second InitConfiguration", 23),
    ("---\nkind: KubeletConfiguration\nmaxPods: 1\n", "apiVersion: required for KubeletConfiguration", 19),
    ("---\nkind: Cluster\napiVersion: sealer.io/v2\n", "more than one document of kind Cluster", 19),
    ("---\n- a list\n", "expected a mapping document", 19),
    ("---\nkind: Config\nspec: {a: [1, 2}\n", "parse YAML", 20),
])
def test_document_errors(extra: str, message: str, line: int) -> None:
    with pytest.raises(ClusterConfigError) as e:
        parse_clusterfile(BASE + extra, "Clusterfile")
    assert message in str(e.value)
    assert e.value.line == line, str(e.value)


def test_other_sealer_kinds_are_skipped_and_no_cluster_is_an_error(tmp_path: Path) -> None:
    c = parse_clusterfile(BASE + "---\napiVersion: sealer.io/v1alpha1\nkind: Plugin\nspec: {type: SHELL}\n")
    assert c.kubeadm_documents == ()
    with pytest.raises(ClusterConfigError, match="no document of kind Cluster"):
        parse_clusterfile("apiVersion: v1\nkind: Plugin\n")
    with pytest.raises(ClusterConfigError, match="read Clusterfile"):
        load_clusterfile(tmp_path / "missing")

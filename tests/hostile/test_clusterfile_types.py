"""Issue 16 item 9: Clusterfile and env values of the wrong type are refused with the field path and line;
lists stay lists; CIDRs, IPs and versions parse; env values cannot inject YAML; duplicate keys are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sealer.cluster import kubeadm_config, parse_clusterfile
from sealer.errors import ClusterConfigError

GOLDEN = (Path(__file__).parent.parent / "cluster" / "golden" / "Clusterfile").read_text()


def with_env(*items: str) -> str:
    env = "".join(f"    - {item}\n" for item in items)
    return GOLDEN.replace("  image: kubernetes:v1.19.8\n", "  image: kubernetes:v1.19.8\n  env:\n" + env, 1)


def with_doc(body: str, kind: str = "ClusterConfiguration") -> str:
    return GOLDEN + f"---\napiVersion: kubeadm.k8s.io/v1beta2\nkind: {kind}\n{body}"


def config(text: str) -> str:
    cluster = parse_clusterfile(text, "Clusterfile")
    return kubeadm_config(cluster, image_version="v1.19.8").to_yaml()


@pytest.mark.parametrize("body,path,line", [
    ('apiServer: {certSANs: "notalist"}\n', "apiServer.certSANs", 21),
    ("networking: [1, 2]\n", "networking", 21),
    ("kubernetesVersion: [1]\n", "kubernetesVersion", 21),
    ("networking:\n  podSubnet: not-a-cidr\n", "networking.podSubnet", 22),
    ("apiServer:\n  certSANs: [10.0.0.1, 'bad name!']\n", "apiServer.certSANs[1]", 22),
    ("controlPlaneEndpoint: [a]\n", "controlPlaneEndpoint", 21),
])
def test_kubeadm_override_of_wrong_type(body: str, path: str, line: int) -> None:
    with pytest.raises(ClusterConfigError) as e:
        parse_clusterfile(with_doc(body), "Clusterfile")
    assert e.value.file == "Clusterfile" and e.value.line == line
    assert e.value.message.startswith(path + ":"), e.value.message


def test_wrong_shape_for_an_unlisted_field_is_refused_at_merge() -> None:
    text = with_doc("etcd:\n  local:\n    extraArgs: {listen-metrics-urls: http://0.0.0.0:2381}\n"
                    "scheduler: {extraVolumes: {a: b}}\n")
    with pytest.raises(ClusterConfigError) as e:
        config(text)
    assert "scheduler.extraVolumes" in str(e.value) and "expected a list" in str(e.value)
    text = with_doc("dns: [1]\n")
    with pytest.raises(ClusterConfigError, match="dns: expected a mapping"):
        config(text)


def test_certsans_list_override_keeps_master_ips() -> None:
    out = config(with_doc("apiServer:\n  certSANs: [extra.example.com]\n"))
    for want in ("extra.example.com", "192.168.0.2", "apiserver.cluster.local"):
        assert want in out


@pytest.mark.parametrize("item,needle", [
    ("PodCIDR=not-a-cidr", "PodCIDR: not a CIDR"),
    ("SvcCIDR=banana", "SvcCIDR: not a CIDR"),
    ("VIP=1.2.3", "VIP: not an IP address"),
    ("Version=latest", "Version: not a Kubernetes version"),
    ("CgroupDriver=none", "CgroupDriver: expected one of"),
])
def test_env_values_are_typed(item: str, needle: str) -> None:
    with pytest.raises(ClusterConfigError) as e:
        parse_clusterfile(with_env(item), "Clusterfile")
    assert e.value.message.startswith("spec.env[0]:") and needle in e.value.message, e.value.message
    assert e.value.line == 8


def test_env_value_cannot_inject_yaml() -> None:
    text = with_env('"ApiServer=x\\n  dnsDomain: evil.local"')
    with pytest.raises(ClusterConfigError, match=r"spec.env\[0\]: value of ApiServer contains a newline"):
        parse_clusterfile(text, "Clusterfile")
    text = with_env('"MyVar=x\\n  dnsDomain: evil.local"')  # unknown keys too: no newline anywhere
    with pytest.raises(ClusterConfigError, match="contains a newline"):
        parse_clusterfile(text, "Clusterfile")


def test_good_dual_stack_and_typed_values_pass() -> None:
    out = config(with_env("PodCIDR=10.244.0.0/16,fd00:10:244::/56", "SvcCIDR=10.96.0.0/16", "VIP=10.0.0.9"))
    assert "podSubnet: 10.244.0.0/16,fd00:10:244::/56" in out and "10.0.0.9" in out


def test_duplicate_keys_anywhere_are_refused() -> None:
    text = GOLDEN.replace("  ssh:\n", "  ssh:\n    user: admin\n", 1)
    with pytest.raises(ClusterConfigError, match=r"spec.ssh.user: duplicate key 'user'"):
        parse_clusterfile(text, "Clusterfile")


def test_cli_reports_path_and_line(tmp_path: Path) -> None:
    cf = tmp_path / "Clusterfile"
    cf.write_text(with_doc('apiServer: {certSANs: "notalist"}\n'))
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "Metadata").write_text('{"version": "v1.19.8"}')
    r = subprocess.run([sys.executable, "-m", "sealer.cli.main", "--root", str(tmp_path / "s"), "kubeadm-config",
                        str(root), "-f", str(cf)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert f"{cf}:21: apiServer.certSANs: expected a list, got a string" in r.stderr

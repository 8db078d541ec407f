"""Template overrides from the image's etc/, Clusterfile documents, broken templates, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers.hostile_text import SPEC_BROKEN_JOIN

from sealer.cli.main import cli
from sealer.cluster import Cluster, kubeadm_config, parse_clusterfile
from sealer.cluster import templates as T
from sealer.cluster.templates import default_template
from sealer.errors import ClusterConfigError

GOLDEN = Path(__file__).parent / "golden"



# name -> (old text, new text, host, kind, path in the document, expected value)
OVERRIDES = {
    T.INIT: ("bindPort: 6443", "bindPort: 7443", "192.168.0.2", "InitConfiguration",
             ("localAPIEndpoint", "bindPort"), 7443),
    T.CLUSTER: ("# dnsDomain: cluster.local", "dnsDomain: override.local", "192.168.0.2", "ClusterConfiguration",
                ("networking", "dnsDomain"), "override.local"),
    T.KUBEPROXY: ('mode: "ipvs"', 'mode: "iptables"', "192.168.0.2", "KubeProxyConfiguration", ("mode",),
                  "iptables"),
    T.KUBELET: ("maxPods: 110", "maxPods: 250", "192.168.0.5", "KubeletConfiguration", ("maxPods",), 250),
    T.BOOTSTRAP: ("timeout: 5m0s", "timeout: 7m0s", "192.168.0.5", "JoinConfiguration",
                  ("discovery", "bootstrapToken", "timeout"), "7m0s"),
    T.JOIN: ("criSocket: {{.CriSocket}}", "criSocket: /run/custom.sock", "192.168.0.3", "JoinConfiguration",
             ("nodeRegistration", "criSocket"), "/run/custom.sock"),
}


def dig(data: dict, path: tuple[str, ...]) -> object:
    for p in path:
        data = data.get(p, {})
    return data


@pytest.mark.parametrize("name", T.TEMPLATE_NAMES)
def test_each_image_template_replaces_its_default(cluster: Cluster, rootfs: Path, name: str) -> None:
    old, new, host, kind, path, value = OVERRIDES[name]
    default = default_template(name).text
    assert old in default
    before = kubeadm_config(cluster, host, rootfs=rootfs).document(kind)
    assert dig(before.data, path) != value
    (rootfs / "etc" / name).write_text(default.replace(old, new))
    after = kubeadm_config(cluster, host, rootfs=rootfs).document(kind)
    assert dig(after.data, path) == value
    assert f"{name} (image: etc/{name})" in after.sources
    assert f"{name} (default)" not in after.sources


def test_the_spec_custom_init_example_overrides(cluster: Cluster, rootfs: Path) -> None:
    (rootfs / "etc" / T.INIT).write_text(
        "apiVersion: {{.KubeadmAPI}}\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: {{.Master0}}\n"
        "  bindPort: 6443\nnodeRegistration:\n  criSocket: /var/run/dockershim.sock\n")
    doc = kubeadm_config(cluster, rootfs=rootfs).document("InitConfiguration")
    assert doc.data == {"apiVersion": "kubeadm.k8s.io/v1beta2", "kind": "InitConfiguration",
                        "localAPIEndpoint": {"advertiseAddress": "192.168.0.2", "bindPort": 6443},
                        "nodeRegistration": {"criSocket": "/var/run/dockershim.sock"}}


CLUSTERFILE_WITH_DOCS = (GOLDEN / "Clusterfile").read_text() + """---
apiVersion: kubeadm.k8s.io/v1beta2
kind: ClusterConfiguration
networking:
  podSubnet: 10.244.0.0/16
apiServer:
  certSANs: [sealer.example.com, 127.0.0.1]
  extraArgs:
    audit-log-maxage: "30"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
maxPods: 300
---
apiVersion: kubeadm.k8s.io/v1beta2
kind: JoinConfiguration
nodeRegistration:
  name: joined-by-clusterfile
"""


def test_clusterfile_documents_override_template_fields(rootfs: Path) -> None:
    cluster = parse_clusterfile(CLUSTERFILE_WITH_DOCS, "Clusterfile")
    # the image template says 250, the Clusterfile 300: the Clusterfile wins
    (rootfs / "etc" / T.KUBELET).write_text(default_template(T.KUBELET).text.replace("maxPods: 110", "maxPods: 250"))
    result = kubeadm_config(cluster, rootfs=rootfs)
    cc = result.document("ClusterConfiguration")
    assert cc.data["networking"] == {"podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/22"}
    assert cc.data["apiServer"]["certSANs"][-1] == "sealer.example.com"      # appended, duplicates dropped
    assert cc.data["apiServer"]["certSANs"].count("127.0.0.1") == 1
    assert cc.data["apiServer"]["extraArgs"]["audit-log-maxage"] == "30"
    assert cc.data["apiServer"]["extraArgs"]["audit-log-format"] == "json"    # untouched siblings stay
    assert cc.sources == ("kubeadm-cluster-config.yaml.tmpl (default)", "Clusterfile Clusterfile:19")
    kubelet = result.document("KubeletConfiguration")
    assert kubelet.data["maxPods"] == 300
    assert kubelet.sources[-1] == "Clusterfile Clusterfile:28"
    node = kubeadm_config(cluster, "192.168.0.6", rootfs=rootfs).document("JoinConfiguration")
    assert node.data["nodeRegistration"] == {"criSocket": "/var/run/dockershim.sock",
                                             "name": "joined-by-clusterfile"}


@pytest.mark.parametrize("host", ["192.168.0.3", "192.168.0.5"])
def test_spec_broken_join_example_fails_naming_the_template(cluster: Cluster, rootfs: Path, host: str) -> None:
    (rootfs / "etc" / T.JOIN).write_text(SPEC_BROKEN_JOIN)
    with pytest.raises(ClusterConfigError) as e:
        kubeadm_config(cluster, host, rootfs=rootfs)
    msg = str(e.value)
    assert msg.startswith("etc/kubeadm-join-config.yaml.tmpl: rendered output is not valid YAML at rendered line 7")
    assert "7 |   { { - end } }" in msg
    assert "spaces between its braces" in msg


def test_literal_broken_action_that_is_valid_yaml_still_fails(cluster: Cluster, rootfs: Path) -> None:
    (rootfs / "etc" / T.JOIN).write_text("kind: JoinConfiguration\nnodeRegistration:\n"
                                         "  name: '{ { .Master } }'\n  criSocket: {{.CriSocket}}\n")
    with pytest.raises(ClusterConfigError, match=r"kubeadm-join-config.yaml.tmpl: rendered line 3 holds literal"):
        kubeadm_config(cluster, "192.168.0.5", rootfs=rootfs)


def test_template_error_in_image_override_names_file_and_line(cluster: Cluster, rootfs: Path) -> None:
    (rootfs / "etc" / T.INIT).write_text("apiVersion: {{.KubeadmAPI}}\nkind: InitConfiguration\n"
                                         "nodeRegistration:\n  criSocket: {{ .CRISocket }}\n")
    with pytest.raises(ClusterConfigError) as e:
        kubeadm_config(cluster, rootfs=rootfs)
    assert str(e.value).startswith('etc/kubeadm-init.yaml.tmpl:4: execute template: map has no entry for key '
                                   '"CRISocket"; did you mean .CriSocket?')


def test_wrong_kind_is_refused(cluster: Cluster, rootfs: Path) -> None:
    (rootfs / "etc" / T.KUBEPROXY).write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(ClusterConfigError, match="kubeadm-kubeproxy-config.yaml.tmpl: rendered document 1 has kind"):
        kubeadm_config(cluster, rootfs=rootfs)


@pytest.mark.parametrize(("version", "api", "cri"), [
    ("v1.14.3", "kubeadm.k8s.io/v1beta1", "/var/run/dockershim.sock"),
    ("v1.19.8", "kubeadm.k8s.io/v1beta2", "/var/run/dockershim.sock"),
    ("v1.22.0", "kubeadm.k8s.io/v1beta3", "/var/run/dockershim.sock"),
    ("v1.26.1", "kubeadm.k8s.io/v1beta3", "/var/run/cri-dockerd.sock"),
    ("v1.31.2", "kubeadm.k8s.io/v1beta3", "/var/run/cri-dockerd.sock"),
])
def test_version_picks_kubeadm_api_and_cri(cluster: Cluster, version: str, api: str, cri: str) -> None:
    result = kubeadm_config(cluster, image_version=version)
    init = result.document("InitConfiguration").data
    assert init["apiVersion"] == api
    assert init["nodeRegistration"]["criSocket"] == cri
    assert result.document("ClusterConfiguration").data["kubernetesVersion"] == version


def test_containerd_env_and_host_env() -> None:
    text = (GOLDEN / "Clusterfile").read_text().replace("type: docker", "type: containerd").replace(
        "      roles: [node]", "      roles: [node]\n      env: [CgroupDriver=cgroupfs]")
    text = text.replace("  ssh:\n", "  env: [PodCIDR=10.244.0.0/16, VIP=10.0.0.100, TokenDiscovery=abcdef.0123456789abcdef]\n"
                        "  ssh:\n", 1)
    cluster = parse_clusterfile(text)
    master0 = kubeadm_config(cluster, image_version="v1.24.0")
    assert master0.document("InitConfiguration").data["nodeRegistration"]["criSocket"] == \
        "/run/containerd/containerd.sock"
    assert master0.document("KubeletConfiguration").data["cgroupDriver"] == "systemd"
    assert master0.document("ClusterConfiguration").data["networking"]["podSubnet"] == "10.244.0.0/16"
    assert master0.variables.sources["PodCIDR"] == "spec.env"
    node = kubeadm_config(cluster, "192.168.0.5", image_version="v1.24.0")
    assert node.document("KubeletConfiguration").data["cgroupDriver"] == "cgroupfs"
    bt = node.document("JoinConfiguration").data["discovery"]["bootstrapToken"]
    assert bt["apiServerEndpoint"] == "10.0.0.100:6443"
    assert bt["token"] == "abcdef.0123456789abcdef"
    assert node.variables.placeholders == ["TokenDiscoveryCAHash"]


def test_no_version_anywhere_is_an_error(cluster: Cluster, tmp_path: Path) -> None:
    with pytest.raises(ClusterConfigError, match="cannot tell the Kubernetes version"):
        kubeadm_config(cluster, rootfs=tmp_path)


# --- CLI ------------------------------------------------------------------------------------------------

def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_cli_prints_master0_config_with_sources(rootfs: Path) -> None:
    code, out, err = run("kubeadm-config", str(rootfs), "-f", str(GOLDEN / "Clusterfile"))
    assert code == 0, err
    assert out == (GOLDEN / "master0.yaml").read_text()
    assert "# source: kubeadm-init.yaml.tmpl (default)" in out
    docs = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in docs] == ["InitConfiguration", "ClusterConfiguration", "KubeProxyConfiguration",
                                         "KubeletConfiguration"]


def test_cli_json_for_a_node(rootfs: Path) -> None:
    code, out, err = run("kubeadm-config", str(rootfs), "-f", str(GOLDEN / "Clusterfile"), "--host", "192.168.0.6",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["role"] == "node"
    assert data["command"] == "kubeadm join"
    assert [d["kind"] for d in data["documents"]] == ["JoinConfiguration", "KubeletConfiguration"]
    assert data["documents"][0]["sources"] == ["kubeadm-bootstrap.yaml.tmpl (default)",
                                               "kubeadm-join-config.yaml.tmpl (default)"]
    assert data["variables"]["Master"] == {"value": "", "source": "empty: this host is a node"}
    assert data["variables"]["KubeadmAPI"]["value"] == "kubeadm.k8s.io/v1beta2"
    assert "Seal3r-Golden" not in out   # the SSH password never shows


def test_cli_broken_join_exits_non_zero_with_clear_error(rootfs: Path) -> None:
    (rootfs / "etc" / T.JOIN).write_text(SPEC_BROKEN_JOIN)
    code, out, err = run("kubeadm-config", str(rootfs), "-f", str(GOLDEN / "Clusterfile"), "--host", "192.168.0.5")
    assert code == 1
    assert out == ""
    assert "kubeadm-join-config.yaml.tmpl" in err and "rendered line 7" in err
    assert "Traceback" not in err


def test_cli_unknown_host(rootfs: Path) -> None:
    code, _, err = run("kubeadm-config", str(rootfs), "-f", str(GOLDEN / "Clusterfile"), "--host", "10.9.9.9")
    assert code == 1
    assert "host 10.9.9.9 is not in spec.hosts" in err

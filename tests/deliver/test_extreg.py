"""sealer v0.9's ``spec.registry.externalRegistry``: no registry of ours, every host pulls from an existing one.

End to end against a real docker-registry on 127.0.0.1 (htpasswd + TLS, the test CA of tests/helpers/registry.py)
that already holds the image's cached images (sealer v0.9 pushes nothing there: ``externalRegistryDriver.
UploadContainerImages2Registry`` is a no-op), and real test hosts with containerd: no registry starts on master0
and no ``registry/`` is sent, a node pulls a cached image by its original name through the mirror config and the
credentials delivery wrote, the password shows up in no output, process list or other file, and ``delete``
puts back exactly what was there before. Plus the Clusterfile's refusals (before anything is sent).
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
from pathlib import Path

import pytest
from helpers.registry import start_registry
from helpers.testhosts import TestHost

from deliver import clusterfiles
from deliver.images import APP_IMAGES, Built, sealer
from deliver.test_apply import ProcessWatch
from sealer.cluster import parse_clusterfile
from sealer.deliver import ops, state
from sealer.deliver.errors import DeliveryError
from sealer.errors import ClusterConfigError
from sealer.store import Store

DATA = "/var/lib/sealer/data/ext-test"
ROOTFS = f"{DATA}/rootfs"
PULL = "ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d"
WATCHED = "/etc/containerd /var/lib/kubelet /etc/hosts /root/.docker /etc/docker"


def clusterfile_text(registry: str, master: str, nodes: list[str], key: str = "/k", image: str = "img:v1") -> str:
    return clusterfiles.clusterfile_text("ext-test", image, [master], nodes, ssh=f"pk: {key}",
                                         spec="  registry:\n" + registry)


def external(domain: str, port: int | None, password: str | None) -> str:
    text = f"    externalRegistry:\n      domain: {domain}\n"
    if port is not None:
        text += f"      port: {port}\n"
    if password is not None:
        text += f'      username: puller\n      password: "{password}"\n'
    return text


def snapshot(h: TestHost) -> set[str]:
    """Every file and directory (type, mode, path) and every file's content hash under the places delivery
    configures."""
    r = h.exec(f"find {WATCHED} -printf '%y %m %p\\n' 2>/dev/null; "
               f"find {WATCHED} -type f -exec sha256sum {{}} + 2>/dev/null", check=False)
    return {line for line in r.stdout.splitlines() if line.strip()}


def test_external_registry(built: Built, test_hosts, state_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hosts: list[TestHost] = test_hosts(2)
    m0, n1 = hosts
    # the external registry already holds the image's cached images (its registry/ tree, as sealer caches it)
    export = tmp_path / "export"
    Store(built.root).export_rootfs(built.app, export)
    ext = tmp_path / "external"
    shutil.copytree(export / "registry", ext / "storage")
    blobs_before = sorted(p.name for p in (ext / "storage").rglob("*"))
    password = "Ext-" + secrets.token_hex(10)
    token = base64.b64encode(f"puller:{password}".encode()).decode()
    with start_registry(ext, tls=True, htpasswd=("puller", password)) as reg:
        assert reg.ca is not None
        trust = f"SSL_CERT_FILE={reg.ca.cert}"  # the host's own trust of the registry (sealer v0.9 writes none)
        endpoint = f"127.0.0.1:{reg.port}"
        # the hosts' own configuration for the registry itself (containerd speaks plain HTTP to a localhost
        # registry without one): delivery leaves it alone
        own = f"/etc/containerd/certs.d/{endpoint}/hosts.toml"
        own_text = f'server = "https://{endpoint}"\n[host."https://{endpoint}"]\n  ca = "{reg.ca.cert}"\n'
        for h in hosts:
            h.exec(f"mkdir -p $(dirname {own}) && cat > {own}", input=own_text)
        before = {h.address: snapshot(h) for h in hosts}
        assert all(any(line.endswith(own) for line in b) for b in before.values())
        cf = tmp_path / "Clusterfile"
        cf.write_text(clusterfile_text(external("127.0.0.1", reg.port, password), m0.address, [n1.address],
                                       str(m0.ssh_config.pkey), built.app))
        base = ["apply", "-f", str(cf), "--state-dir", str(state_dir), "--json"]
        outputs = []
        with ProcessWatch(hosts) as watch:
            outputs.append(sealer(built.root, *base))
        assert watch.seen and not [p for p in watch.seen if password in p or token in p]
        summary = json.loads(outputs[0][outputs[0].index("{"):])
        assert summary["hosts"][m0.address]["cmds"]["status"] == "done", summary
        assert "registry" not in summary["hosts"][m0.address], summary

        # no registry of ours: nothing under registry/, no registry process, no sea.hub in /etc/hosts
        for h in hosts:
            assert h.exec(f"test -e {ROOTFS}/registry || test -e {DATA}/.sealer/registry", check=False).returncode != 0
            assert not [p for p in h.processes() if "registry" in p and "serve" in p], h.address
            etc_hosts = h.read("/etc/hosts")
            assert "sea.hub" not in etc_hosts and f"{m0.address} apiserver.cluster.local" in etc_hosts

        # every host: cached domains mirrored to the external registry over HTTPS (its own certs.d left to the
        # host's), containerd's CRI credentials and kubelet's config.json for it
        for h in hosts:
            toml = h.read("/etc/containerd/certs.d/docker.io/hosts.toml")
            assert f'[host."https://{endpoint}"]' in toml and "ca =" not in toml
            assert f'[host."https://{endpoint}"]' in h.read("/etc/containerd/certs.d/quay.io/hosts.toml")
            assert h.read(own) == own_text
            cfg = h.read("/etc/containerd/config.toml")
            assert f'[plugins."io.containerd.grpc.v1.cri".registry.configs."{endpoint}".auth]' in cfg
            assert json.loads(h.read("/var/lib/kubelet/config.json"))["auths"] == {endpoint: {"auth": token}}
            r = h.exec(f"grep -rl -F -- {password} {WATCHED} {DATA}", check=False)
            assert r.stdout.split() == ["/etc/containerd/config.toml"], r.stdout
            r = h.exec(f"grep -rl -F -- {token} {WATCHED} {DATA}", check=False)
            assert r.stdout.split() == ["/var/lib/kubelet/config.json"], r.stdout
        assert f"imageRepository: {endpoint}" in m0.read(f"{ROOTFS}/etc/kubeadm.yml")

        # a node pulls the cached images by their original names from the external registry: it needs the
        # credentials (401 without) and trusts the registry's certificate by its own means (x509 without)
        nginx = APP_IMAGES[0]
        anon = n1.exec(f"{trust} {PULL} {nginx}", check=False)
        assert anon.returncode != 0 and "401" in anon.stderr + anon.stdout
        untrusted = n1.exec(f"{PULL} --user puller:{password} {nginx}", check=False)
        assert untrusted.returncode != 0 and "x509" in untrusted.stderr + untrusted.stdout
        for ref in (*APP_IMAGES, f"{endpoint}/kube-apiserver:v1.25.0"):
            r = n1.exec(f"{trust} {PULL} --user puller:{password} {ref}", check=False)
            assert r.returncode == 0, f"pull {ref}: {r.stderr or r.stdout}"
        n1.exec(f"ctr -n k8s.io images rm {' '.join(APP_IMAGES)} {endpoint}/kube-apiserver:v1.25.0")

        # locally only the saved Clusterfile (0600, like SSH passwords) holds the password
        held = sorted(str(p.relative_to(state_dir)) for p in state_dir.rglob("*")
                      if p.is_file() and (password in p.read_text(errors="replace")
                                          or token in p.read_text(errors="replace")))
        assert held == ["ext-test/Clusterfile"]

        # a rerun does nothing; the saved Clusterfile keeps externalRegistry
        again = sealer(built.root, *base)
        outputs.append(again)
        rerun = json.loads(again[again.index("{"):])
        assert {p["status"] for h in rerun["hosts"].values() for n, p in h.items() if n != "connect"} == {"skipped"}
        saved = state.load(state_dir, "ext-test")
        assert saved is not None and saved.cluster.external_registry and saved.cluster.registry == endpoint

        # delete: every file delivery wrote is gone, the hosts are as they were; the registry is untouched.
        # First a scale-down of the node (master0 keeps its configuration), then the whole cluster.
        outputs.append(sealer(built.root, "delete", "-n", n1.address, "--state-dir", str(state_dir)))
        assert snapshot(n1) == before[n1.address], sorted(snapshot(n1) ^ before[n1.address])
        assert json.loads(m0.read("/var/lib/kubelet/config.json"))["auths"] == {endpoint: {"auth": token}}
        outputs.append(sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir)))
        for h in hosts:
            assert h.exec(f"test -e {DATA}", check=False).returncode != 0
            after = snapshot(h)
            assert after == before[h.address], (h.address, sorted(after ^ before[h.address]))
        assert sorted(p.name for p in (ext / "storage").rglob("*")) == blobs_before
    assert not [o for o in outputs if password in o or token in o]


def test_docker_runtime_files(built: Built, test_hosts, state_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``containerRuntime: docker`` (files only: no dockerd runs in the test hosts): daemon.json gets the external
    registry as an HTTPS mirror (not insecure), docker's and kubelet's config.json the credentials; no certs.d
    entry for it; ``delete --all`` puts every file back as it was."""
    (m0,) = test_hosts(1)
    password = "Dkr-" + secrets.token_hex(10)
    m0.exec("mkdir -p /etc/docker && echo '{\"log-driver\": \"json-file\"}' > /etc/docker/daemon.json")
    m0.exec("mkdir -p /root/.docker && echo '{\"auths\": {\"other.example\": {}}}' > /root/.docker/config.json")
    m0.exec("mkdir -p /etc/containerd/certs.d")  # the test base's init.sh makes it and its clean.sh leaves it
    before = snapshot(m0)
    cf = tmp_path / "Clusterfile"
    cf.write_text(clusterfile_text(external("hub.example.test", 5443, password), m0.address, [],
                                   str(m0.ssh_config.pkey), built.app).replace("type: containerd", "type: docker"))
    out = sealer(built.root, "apply", "-f", str(cf), "--state-dir", str(state_dir), "--json")
    daemon = json.loads(m0.read("/etc/docker/daemon.json"))
    assert daemon["log-driver"] == "json-file" and daemon["registry-mirrors"] == ["https://hub.example.test:5443"]
    assert "insecure-registries" not in daemon
    token = base64.b64encode(f"puller:{password}".encode()).decode()
    for f in ("/root/.docker/config.json", "/var/lib/kubelet/config.json"):
        assert json.loads(m0.read(f))["auths"] == {"hub.example.test:5443": {"auth": token}}, f
        assert m0.exec(f"stat -c %a {f}").stdout.strip() == "600"
    assert m0.exec("ls /etc/docker/certs.d /etc/containerd/certs.d/hub.example.test:5443",
                   check=False).returncode != 0
    out += sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))
    assert snapshot(m0) == before, sorted(snapshot(m0) ^ before)
    assert password not in out and token not in out


# ---- the Clusterfile: refused before anything is sent ----------------------------------------------------
@pytest.mark.parametrize(("registry", "path", "message"), [
    (external("hub.example.com", 443, "pw") + "    localRegistry: {domain: sea.hub}\n",
     "spec.registry.externalRegistry", "not both"),
    ("    externalRegistry: {port: 443}\n", "spec.registry.externalRegistry.domain", "required"),
    ("    externalRegistry: {domain: 'hub.example.com:443'}\n", "spec.registry.externalRegistry.domain",
     "the port goes in spec.registry.externalRegistry.port"),
    ("    externalRegistry: {domain: hub.example.com, port: '443'}\n", "spec.registry.externalRegistry.port",
     "port number"),
    ("    externalRegistry: {domain: hub.example.com, username: u}\n", "spec.registry.externalRegistry.password",
     "required when the other credential is set"),
    ("    externalRegistry: {domain: hub.example.com, insecure: true}\n", "spec.registry.externalRegistry",
     "insecure"),
    ("    domain: sea.hub\n" + external("hub.example.com", None, None), "spec.registry.domain", "not both forms"),
])
def test_clusterfile_refusals(registry: str, path: str, message: str) -> None:
    with pytest.raises(ClusterConfigError) as e:
        parse_clusterfile(clusterfile_text(registry, "127.0.0.2", []))
    assert path in str(e.value) and message in str(e.value), str(e.value)


def test_clusterfile_reads_and_saves(tmp_path: Path) -> None:
    c = parse_clusterfile(clusterfile_text(external("hub.example.com", None, "s3cret"), "127.0.0.2", []))
    assert c.external_registry and c.registry == "hub.example.com" and c.registry_port == 0
    assert c.registry_access.username == "puller" and not c.registry_access.tls
    assert "s3cret" not in repr(c)
    state.save(tmp_path, c, "img:v1", "/var/lib/sealer/data")
    back = state.load(tmp_path, "ext-test")
    assert back is not None and back.cluster.registry_access == c.registry_access
    assert back.cluster.registry == "hub.example.com"
    with_port = parse_clusterfile(clusterfile_text(external("10.0.0.9", 5443, None), "127.0.0.2", []))
    assert with_port.registry == "10.0.0.9:5443" and not with_port.registry_access.has_credentials


def test_cli_refuses_before_sending(built: Built, tmp_path: Path, state_dir: Path) -> None:
    """A bad Clusterfile: a clear error and exit 1, nothing saved (the host does not exist: nothing is sent)."""
    cf = tmp_path / "Clusterfile"
    cf.write_text(clusterfile_text(external("hub.example.com", 443, None) + "    localRegistry: {port: 5000}\n",
                                   "127.0.0.254", [], image=built.app))
    out = sealer(built.root, "apply", "-f", str(cf), "--state-dir", str(state_dir), ok=False)
    assert "spec.registry.externalRegistry" in out and "not both" in out
    assert not state_dir.exists()


def test_switching_registry_kind_is_refused(tmp_path: Path) -> None:
    local = parse_clusterfile(clusterfile_text("    localRegistry: {domain: sea.hub}\n", "127.0.0.2", []))
    ext = parse_clusterfile(clusterfile_text(external("hub.example.com", None, None), "127.0.0.2", []))
    state.save(tmp_path, local, "img:v1", "/var/lib/sealer/data")
    with pytest.raises(DeliveryError, match="cannot switch to an external registry"):
        ops.apply(ext, "img:v1", store_root=tmp_path / "store", state_root=tmp_path)

"""`sealer run` of a lite-built image with cached images onto 1 master + 2 real test hosts, then
`delete --all`: checked inside each host (its own namespace), against the registry over HTTP and with
containerd's `ctr` pulling by original names through the mirror config."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from helpers.testhosts import TestHost

from deliver.images import APP_IMAGES, CORE_IMAGES, FIXTURE_LOG, Built, sealer

DATA = "/var/lib/sealer/data/my-cluster"
ROOTFS = f"{DATA}/rootfs"
PULL = "ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d"
ACCEPT = ", ".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"])


def kubeadm_log(h: TestHost) -> list[dict[str, object]]:
    r = h.exec(f"cat {FIXTURE_LOG}/kubeadm.log", check=False)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def run_args(built: Built, hosts: list[TestHost], state_dir: Path, *extra: str) -> list[str]:
    key = str(hosts[0].ssh_config.pkey)
    return ["run", built.app, "-m", hosts[0].address, "-n", ",".join(h.address for h in hosts[1:]),
            "--pk", key, "-e", "MyVar=hello", "--state-dir", str(state_dir), *extra]


def registry_digest(host: str, ref: str) -> str:
    repo, tag = ref.split("/", 1)[1].rsplit(":", 1)   # the cache keeps the path without the domain
    req = urllib.request.Request(f"http://{host}:5000/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT})
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - the test host's loopback address
        return str(resp.headers["Docker-Content-Digest"])


def test_run_then_delete_all(built: Built, test_hosts, state_dir: Path) -> None:  # type: ignore[no-untyped-def]
    hosts: list[TestHost] = test_hosts(3)
    m0, n1, n2 = hosts
    out = sealer(built.root, *run_args(built, hosts, state_dir, "--json"))
    summary = json.loads(out[out.index("{"):])
    assert set(summary["hosts"]) == {h.address for h in hosts}
    assert summary["hosts"][m0.address]["cmds"]["status"] == "done"

    # rootfs everywhere, registry/ on master0 only; *.tmpl rendered per host with the cluster env
    for h in hosts:
        assert h.exec(f"test -x {ROOTFS}/bin/kubeadm && test -f {ROOTFS}/Metadata", check=False).returncode == 0
        has_registry = h.exec(f"test -d {ROOTFS}/registry", check=False).returncode == 0
        assert has_registry == (h is m0), h.address
        conf = h.read(f"{ROOTFS}/etc/app.conf")
        assert conf == f"host={h.address} registry=sea.hub:5000 pods=100.64.0.0/10 master0={m0.address} mine=hello\n"
        etc_hosts = h.read("/etc/hosts")
        assert f"{m0.address} sea.hub # sealer-py:my-cluster" in etc_hosts
        assert f"{m0.address} apiserver.cluster.local # sealer-py:my-cluster" in etc_hosts

    # the registry on master0 serves every cached image with the digest the image recorded
    cached = json.loads(sealer(built.root, "inspect", built.app, "--json"))["cachedImages"]
    assert {c["reference"] for c in cached} == set(APP_IMAGES + CORE_IMAGES)
    for c in cached:
        assert registry_digest(m0.address, c["reference"]) == c["digest"], c["reference"]

    # kubeadm fixture: init on master0 with --upload-certs; join on nodes with master0's token and CA hash
    init = [e for e in kubeadm_log(m0) if e["argv"][0] == "init"]  # type: ignore[index]
    assert len(init) == 1 and init[0]["argv"] == ["init", "--config", f"{ROOTFS}/etc/kubeadm.yml", "--upload-certs"]
    assert init[0]["path0"] == f"{ROOTFS}/bin"
    for n in (n1, n2):
        joins = [e for e in kubeadm_log(n) if e["argv"][0] == "join"]  # type: ignore[index]
        assert len(joins) == 1, n.address
        assert str(init[0]["token"]) in str(joins[0]["config"])
        assert str(init[0]["caCertHash"]) in str(joins[0]["config"])

    # every node pulls every cached image by its original name through the mirror config (the seed registry
    # is gone) and every image kubeadm would pull for this version and imageRepository
    core = [str(i) for i in init[0]["images"]]  # type: ignore[union-attr]
    assert core and all(i.startswith("sea.hub:5000/") for i in core)
    for n in (n1, n2):
        for ref in APP_IMAGES + CORE_IMAGES + core:
            r = n.exec(f"{PULL} {ref}", check=False)
            assert r.returncode == 0, f"{n.address}: pull {ref}: {r.stderr or r.stdout}"

    # CMDs on master0 in order, base image's first, bin/ first on PATH and the kubeconfig set
    assert m0.read(f"{FIXTURE_LOG}/cmds.log").splitlines() == [
        f"base-first {ROOTFS}/bin/kubectl /etc/kubernetes/admin.conf", "app-second"]
    assert m0.read(f"{FIXTURE_LOG}/kubectl.log") == \
        f"apply -f manifests/imageList\t{ROOTFS}/bin\t/etc/kubernetes/admin.conf\n"
    assert n1.exec(f"test -f {FIXTURE_LOG}/cmds.log", check=False).returncode != 0

    # the applied Clusterfile is kept, 0600
    cf = state_dir / "my-cluster" / "Clusterfile"
    assert oct(cf.stat().st_mode & 0o777) == "0o600" and m0.address in cf.read_text()

    # a rerun finds every phase done and changes nothing
    again = sealer(built.root, *run_args(built, hosts, state_dir, "--json"))
    rerun = json.loads(again[again.index("{"):])
    assert {p["status"] for h in rerun["hosts"].values() for name, p in h.items() if name != "connect"} \
        == {"skipped"}
    assert len(kubeadm_log(m0)) == 1

    # delete --all: nothing of ours is left
    sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))
    for h in hosts:
        assert h.exec(f"test -e {DATA}", check=False).returncode != 0
        assert "sealer-py" not in h.read("/etc/hosts")
        assert h.exec("grep -rl sealer-py /etc/containerd/certs.d", check=False).stdout == ""
        assert not [p for p in h.processes() if "docker-registry" in p or p.startswith("containerd")], h.address
        assert [e["argv"] for e in kubeadm_log(h)][-1] == ["reset", "-f"]
    assert not cf.exists()
    # idempotent
    assert "nothing to delete" in sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))

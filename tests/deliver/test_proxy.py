"""An image with etc/registry_config.yaml: master0 also runs one pull-through proxy per upstream, and another
host pulls an image the cluster image does not cache through it (containerd hosts.toml → sea.hub:5001).
Two masters: the second joins as control plane with master0's certificate key."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from helpers.registry import Registry, push_test_image
from helpers.testhosts import TestHost

from deliver.images import FIXTURE_LOG, Built, build_proxy_image, sealer

DOMAIN = "upstream.test:5000"


def test_registry_config_proxies(built: Built, registry: Registry, test_hosts, state_dir: Path,  # type: ignore[no-untyped-def]
                                 tmp_path: Path) -> None:
    push_test_image(registry, "team/live:v1", [30_000], seed=7)
    build_proxy_image(built, registry, tmp_path / "ctx", "deliver-proxy:v1", DOMAIN)

    hosts: list[TestHost] = test_hosts(2)
    m0, n1 = hosts   # n1 is the second master
    sealer(built.root, "run", "deliver-proxy:v1", "-m", f"{m0.address},{n1.address}",
           "--pk", str(m0.ssh_config.pkey), "-e", "MyVar=p", "--state-dir", str(state_dir))
    init = json.loads(m0.read(f"{FIXTURE_LOG}/kubeadm.log").splitlines()[0])
    join = json.loads(n1.read(f"{FIXTURE_LOG}/kubeadm.log").splitlines()[0])
    assert join["argv"][0] == "join"
    cp = yaml.safe_load_all(join["config"])
    jc = next(d for d in cp if d and d.get("kind") == "JoinConfiguration")
    assert jc["controlPlane"]["certificateKey"] == init["certificateKey"]
    toml = n1.read(f"/etc/containerd/certs.d/{DOMAIN}/hosts.toml")
    assert '[host."http://sea.hub:5001"]' in toml
    r = n1.exec(f"ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d {DOMAIN}/team/live:v1", check=False)
    assert r.returncode == 0, r.stderr or r.stdout
    # the proxy on master0 fetched it (its cache now holds blobs); nothing of it is on the node's data root
    blobs = m0.exec("find /var/lib/sealer/data/my-cluster/.sealer/registry-proxy -path '*blobs*' -name data "
                    "| wc -l").stdout.strip()
    assert int(blobs) >= 2
    assert any("proxy" in p and "docker-registry" in p for p in m0.processes())
    sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))
    assert not [p for p in m0.processes() if "docker-registry" in p]

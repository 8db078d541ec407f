"""Without hosts: what the pull-through proxies (``etc/registry_config.yaml``, ports 5001…) and the hosts get when
the local registry has credentials / TLS — the proxy configs, the containerd block and kubelet JSON per
endpoint, the CA per endpoint, the https mirrors; the upstream credentials untouched; keys of clusters without
proxies unchanged."""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path

import yaml

from sealer.cluster.clusterfile import parse_clusterfile
from sealer.cluster.registry_config import load_registry_config
from sealer.cluster.registry_proxy import render_distribution_configs
from sealer.deliver import registryauth, tls
from sealer.deliver.plan import Plan

CF = ("apiVersion: sealer.io/v2\nkind: Cluster\nmetadata: {name: c1}\nspec:\n"
      "  containerRuntime: {type: containerd}\n  registry:\n    localRegistry:\n      username: u\n      password: 'p\"w'\n"
      "  hosts: [{ips: [10.0.0.2], roles: [master]}]\n")
AUTH = registryauth.RegistryAuth("u", 'p"w', "u:$2b$10$x")


def _rootfs(tmp_path: Path, upstreams: str) -> Path:
    (tmp_path / "etc").mkdir(parents=True)
    (tmp_path / "etc" / "registry_config.yaml").write_text(f"proxy:\n  remoteregistries:\n{upstreams}")
    return tmp_path


def test_proxy_configs_get_htpasswd_and_tls_and_keep_upstream_credentials(tmp_path: Path) -> None:
    rootfs = _rootfs(tmp_path, "    - {url: 'https://quay.io', domain: quay.io, username: up, password: upw}\n"
                               "    - {url: 'https://ghcr.io', domain: ghcr.io}\n")
    cfg = load_registry_config(rootfs / "etc" / "registry_config.yaml")
    plain = render_distribution_configs(cfg, "/s", listen_host="10.0.0.2")
    assert ["auth" in yaml.safe_load(t) or "tls" in yaml.safe_load(t)["http"]
            for r, t in plain.items() if r.endswith("config.yml")] == [False, False]
    out = render_distribution_configs(cfg, "/s", listen_host="10.0.0.2", htpasswd="/r/etc/registry_htpasswd",
                                      tls=("/r/certs/sea.hub.crt", "/r/certs/sea.hub.key"))
    quay, ghcr = yaml.safe_load(out["quay.io/config.yml"]), yaml.safe_load(out["ghcr.io/config.yml"])
    for d in (quay, ghcr):
        assert d["auth"] == {"htpasswd": {"realm": "sealer-registry", "path": "/r/etc/registry_htpasswd"}}
        assert d["http"]["tls"] == {"certificate": "/r/certs/sea.hub.crt", "key": "/r/certs/sea.hub.key"}
    assert quay["http"]["addr"] == "10.0.0.2:5001" and ghcr["http"]["addr"] == "10.0.0.2:5002"
    assert quay["proxy"] == {"remoteurl": "https://quay.io", "username": "up", "password": "upw"}
    assert ghcr["proxy"] == {"remoteurl": "https://ghcr.io"}

    plan = Plan(parse_clusterfile(CF), "img", rootfs)
    assert plan.proxy_registries == ("sea.hub:5001", "sea.hub:5002")
    assert Plan(parse_clusterfile(CF), "img", tmp_path / "none").proxy_registries == ()


def test_host_credentials_cover_every_proxy() -> None:
    c = parse_clusterfile(CF)
    proxies = ("sea.hub:5001", "sea.hub:5002")
    block = registryauth.containerd_block("c1", c.registry, AUTH, proxies)
    configs = tomllib.loads(block)["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["configs"]
    assert configs == {r: {"auth": {"username": "u", "password": 'p"w'}} for r in ("sea.hub:5000", *proxies)}
    assert block.count("registry auth begin") == 1 and block.count("registry auth end") == 1
    token = base64.b64encode(b'u:p"w').decode()
    assert json.loads(registryauth.auth_json("c1", c.registry, AUTH, proxies))["auths"] == {
        r: {"auth": token} for r in ("sea.hub:5000", *proxies)}
    # the password travels base64 only, never as text of the script
    script = registryauth.host_script(c, AUTH, containerd=True, proxies=proxies)
    assert 'p"w' not in script and token not in script
    # a cluster without proxies keeps its phase key (no rerun after an upgrade); proxies change it
    assert registryauth.host_key(c, AUTH, "k") == registryauth.host_key(c, AUTH, "k", ())
    assert registryauth.host_key(c, AUTH, "k") != registryauth.host_key(c, AUTH, "k", proxies)


def test_ca_and_https_mirror_for_every_proxy(tmp_path: Path) -> None:
    c = parse_clusterfile(CF)
    t = tls.prepare(tmp_path, c, "10.0.0.2")
    assert t is not None
    files = tls.host_files(c, t, ("sea.hub:5001",))
    assert [f[0] for f in files] == ["/etc/containerd/certs.d/sea.hub:5000/ca.crt",
                                     "/etc/containerd/certs.d/sea.hub:5001/ca.crt"]
    assert all(t.ca_pem in f[1].decode() for f in files)
    docker = parse_clusterfile(CF.replace("type: containerd", "type: docker"))
    assert "/etc/docker/certs.d/sea.hub:5001/ca.crt" in [f[0] for f in tls.host_files(docker, t, ("sea.hub:5001",))]
    toml = ('server = "https://quay.io"\n\n[host."https://sea.hub:5000"]\n  capabilities = ["pull"]\n\n'
            '[host."https://sea.hub:5001"]\n  capabilities = ["pull"]\n')
    got = tomllib.loads(tls.hosts_files({"quay.io": toml}, c.registry, "https://sea.hub:5000",
                                        ("sea.hub:5001",))["quay.io"])
    assert got["host"]["https://sea.hub:5000"]["ca"] == "/etc/containerd/certs.d/sea.hub:5000/ca.crt"
    assert got["host"]["https://sea.hub:5001"]["ca"] == "/etc/containerd/certs.d/sea.hub:5001/ca.crt"

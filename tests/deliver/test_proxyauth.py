"""The pull-through proxies of ``etc/registry_config.yaml`` (master0, ports 5001…) next to a protected local
registry (``spec.registry.localRegistry`` with credentials, HTTPS): each proxy asks for the same credentials
(anonymous → 401) and serves the same certificate; every host gets the CA (``certs.d/sea.hub:5001/ca.crt``, the
``hosts.toml`` mirror in https with it) and the credentials (containerd's CRI ``registry.configs`` block, kubelet's
``config.json``) for each proxy; a node pulls by the original name through the proxy. The password is in no
output, process list or other file; an apply without credentials and TLS opens the proxies again and takes ours
away; ``delete --all`` leaves nothing of ours."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import yaml
from helpers.registry import Registry, push_test_image
from helpers.testhosts import TestHost

from deliver.images import Built, build_proxy_image, sealer
from deliver.test_apply import ProcessWatch
from deliver.test_regauth import DATA, PULL, ROOT, clusterfile, http_code

DOMAIN = "upstream.test:5000"
PROXY = "sea.hub:5001"
REF = f"{DOMAIN}/team/live:v1"
CA = f"/etc/containerd/certs.d/{PROXY}/ca.crt"
PROXY_CFG = f"{DATA}/.sealer/registry/proxy/{DOMAIN.replace(':', '_')}/config.yml"


def test_proxies_protected_like_the_registry(built: Built, registry: Registry, test_hosts,  # type: ignore[no-untyped-def]
                                             state_dir: Path, tmp_path: Path) -> None:
    push_test_image(registry, "team/live:v1", [30_000], seed=11)
    build_proxy_image(built, registry, tmp_path / "ctx", "deliver-proxyauth:v1", DOMAIN)

    hosts: list[TestHost] = test_hosts(2)
    m0, n1 = hosts
    password = "Prx-" + secrets.token_hex(10)
    key = str(m0.ssh_config.pkey)
    cf = clusterfile(tmp_path / "Clusterfile", "deliver-proxyauth:v1", key, password, m0.address, [n1.address],
                     insecure=False)
    base = ["apply", "-f", str(cf), "--state-dir", str(state_dir), "--json"]
    with ProcessWatch(hosts) as watch:
        outputs = [sealer(built.root, *base)]
    assert watch.seen and not [p for p in watch.seen if password in p]

    # master0: the proxy's config (0600) has the registry's htpasswd and certificate; its upstream is unchanged
    assert m0.exec(f"stat -c %a {PROXY_CFG}").stdout.strip() == "600"
    cfg = yaml.safe_load(m0.read(PROXY_CFG))
    assert cfg["auth"]["htpasswd"]["path"] == f"{DATA}/rootfs/etc/registry_htpasswd"
    assert cfg["http"]["tls"] == {"certificate": f"{DATA}/rootfs/certs/sea.hub.crt",
                                  "key": f"{DATA}/rootfs/certs/sea.hub.key"}
    assert cfg["proxy"] == {"remoteurl": registry.url}

    # every host: the CA for the proxy, the mirror in https with it, the credentials for the proxy
    local_ca = (state_dir / "auth-test" / "registry-tls" / "ca.crt").read_text()
    token = base64.b64encode(f"puller:{password}".encode()).decode()
    for h in hosts:
        assert local_ca in h.read(CA), h.address
        toml = h.read(f"/etc/containerd/certs.d/{DOMAIN}/hosts.toml")
        assert f'[host."https://{PROXY}"]' in toml and f'ca = "{CA}"' in toml, toml
        assert f"http://{PROXY}" not in toml
        conf = h.read("/etc/containerd/config.toml")
        for reg in ("sea.hub:5000", PROXY):
            assert f'[plugins."io.containerd.grpc.v1.cri".registry.configs."{reg}".auth]' in conf, (h.address, reg)
        kubelet = json.loads(h.read("/var/lib/kubelet/config.json"))
        assert kubelet["auths"] == {"sea.hub:5000": {"auth": token}, PROXY: {"auth": token}}
        places = f"{ROOT} /var/lib/sealer /etc/hosts /etc/containerd /var/lib/kubelet /root/.docker /etc/docker"
        r = h.exec(f"grep -rl -F -- {password} {places}", check=False)
        assert r.stdout.split() == ["/etc/containerd/config.toml"], r.stdout

    # the proxy: HTTPS verified by the CA (by name and by master0's IP), credentials required, plain HTTP refused
    creds = f"puller:{password}"
    assert http_code(n1, f"--cacert {CA} https://{PROXY}/v2/") == "401"
    assert http_code(n1, f"--cacert {CA} https://{PROXY}/v2/", "puller:wrong") == "401"
    assert http_code(n1, f"--cacert {CA} https://{PROXY}/v2/", creds) == "200"
    assert http_code(n1, f"--cacert {CA} https://{m0.address}:5001/v2/", creds) == "200"
    assert http_code(n1, f"https://{PROXY}/v2/", creds) == "000"   # not trusted without the CA
    assert http_code(n1, f"http://{PROXY}/v2/", creds) == "400"    # TLS only

    # a node pulls by the original name through the proxy: not anonymously, with the credentials
    anon = n1.exec(f"{PULL} {REF}", check=False)
    assert anon.returncode != 0 and "401" in anon.stderr + anon.stdout, anon.stderr + anon.stdout
    r = n1.exec(f"{PULL} --user {creds} {REF}", check=False)
    assert r.returncode == 0, r.stderr or r.stdout
    # and by the proxy's own name (certs.d/sea.hub:5001 holds only the CA: containerd takes it for https)
    anon = n1.exec(f"{PULL} {PROXY}/team/live:v1", check=False)
    assert anon.returncode != 0 and "401" in anon.stderr + anon.stdout, anon.stderr + anon.stdout
    r = n1.exec(f"{PULL} --user {creds} {PROXY}/team/live:v1", check=False)
    assert r.returncode == 0, r.stderr or r.stdout
    blobs = m0.exec(f"find {DATA}/.sealer/registry-proxy -path '*blobs*' -name data | wc -l").stdout.strip()
    assert int(blobs) >= 2

    # a rerun: nothing to do
    again = sealer(built.root, *base)
    outputs.append(again)
    rerun = json.loads(again[again.index("{"):])
    assert {p["status"] for h in rerun["hosts"].values() for n, p in h.items() if n != "connect"} == {"skipped"}

    # credentials and TLS dropped: the proxy is open over HTTP again, the hosts lose ours
    clusterfile(cf, "deliver-proxyauth:v1", key, password, m0.address, [n1.address], insecure=True, creds=False)
    outputs.append(sealer(built.root, *base))
    assert http_code(n1, f"http://{PROXY}/v2/") == "200"
    cfg = yaml.safe_load(m0.read(PROXY_CFG))
    assert "auth" not in cfg and "tls" not in cfg["http"]
    for h in hosts:
        assert "registry auth" not in h.read("/etc/containerd/config.toml")
        assert h.exec("test -e /var/lib/kubelet/config.json", check=False).returncode != 0
        toml = h.read(f"/etc/containerd/certs.d/{DOMAIN}/hosts.toml")
        assert f'[host."http://{PROXY}"]' in toml and "ca =" not in toml, toml
        # no CA of ours stays (the proxy's directory had only it)
        assert h.exec(f"test -e /etc/containerd/certs.d/{PROXY}", check=False).returncode != 0, h.address
        assert h.exec("ls /etc/containerd/certs.d/sea.hub:5000").stdout.split() == ["hosts.toml"], h.address
    r = n1.exec(f"{PULL} {REF}", check=False)
    assert r.returncode == 0, r.stderr or r.stdout

    # protected again, then delete --all: nothing of ours is left
    clusterfile(cf, "deliver-proxyauth:v1", key, password, m0.address, [n1.address], insecure=False)
    outputs.append(sealer(built.root, *base))
    assert http_code(n1, f"--cacert {CA} https://{PROXY}/v2/") == "401"
    outputs.append(sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir)))
    for h in hosts:
        assert h.exec(f"test -e {DATA} || test -e /var/lib/kubelet/config.json || "
                      f"test -e /etc/containerd/certs.d/{PROXY} || test -e /etc/containerd/certs.d/{DOMAIN}",
                      check=False).returncode != 0, h.address
        assert "registry auth" not in h.exec("cat /etc/containerd/config.toml 2>/dev/null", check=False).stdout
        assert not [p for p in h.processes() if "docker-registry" in p]
    assert not (state_dir / "auth-test").exists()
    assert not [o for o in outputs if password in o]

"""sealer v0.9's ``spec.registry.localRegistry.ha: true`` on real test hosts (2 masters + 1 node, then a joined
master): every master holds the image's registry/ and runs a registry with the same credentials and TLS, serving
every cached image with the digest the image recorded; a master resolves the registry domain to itself, a node to
master0; a master keeps pulling by original names when master0's registry stops; a joined master gains its
registry, a removed one loses it, and ``delete --all`` leaves nothing."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from helpers.testhosts import TestHost

from deliver.clusterfiles import local_registry, write_clusterfile
from deliver.images import APP_IMAGES, CORE_IMAGES, Built, sealer
from deliver.test_run import ACCEPT

NAME = "ha-test"
DATA = f"/var/lib/sealer/data/{NAME}"
ROOTFS = f"{DATA}/rootfs"
CA = "/etc/containerd/certs.d/sea.hub:5000/ca.crt"
PULL = "ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d"


def clusterfile(path: Path, image: str, key: str, password: str, masters: list[str], nodes: list[str],
                ha: bool = True) -> Path:
    return write_clusterfile(path, NAME, image, masters, nodes, ssh=f"pk: {key}",
                             spec=local_registry(password, ha=ha, insecure=False))


def curl(h: TestHost, url: str, creds: str | None, *extra: str) -> tuple[str, str]:
    """(status code, response headers) of an HTTPS GET from ``h``, verified with the cluster's CA (credentials
    on curl's stdin, never its command line)."""
    cfg = f'user = "{creds}"\n' if creds else ""
    r = h.exec(f"curl -s -o /dev/null -D - -w '\\n%{{http_code}}' --cacert {CA} -K - {' '.join(extra)} {url}",
               input=cfg, check=False)
    head, _, code = r.stdout.rpartition("\n")
    return code.strip(), head


def digest(h: TestHost, registry: str, ref: str, creds: str) -> str:
    repo, tag = ref.split("/", 1)[1].rsplit(":", 1)   # the cache keeps the path without the domain
    code, head = curl(h, f"https://{registry}/v2/{repo}/manifests/{tag}", creds, "-H", f"'Accept: {ACCEPT}'")
    assert code == "200", (registry, ref, code)
    return next(line.split(":", 1)[1].strip() for line in head.splitlines()
                if line.lower().startswith("docker-content-digest:"))


def registry_pids(h: TestHost) -> list[str]:
    return [p for p in h.processes() if "docker-registry" in p or p.split(" ")[0].endswith("/registry")]


def check_registry_host(h: TestHost, client: TestHost, cached: dict[str, str], creds: str) -> None:
    """``h`` holds registry/ and serves every cached image (checked from ``client`` by ``h``'s address, which
    the certificate covers), refuses anonymous access, and resolves sea.hub to itself."""
    assert h.exec(f"test -d {ROOTFS}/registry/docker/registry/v2", check=False).returncode == 0, h.address
    assert h.exec(f"stat -c %a {ROOTFS}/etc/registry_htpasswd").stdout.strip() == "600"
    assert registry_pids(h), h.address
    for ref, want in cached.items():
        assert digest(client, f"{h.address}:5000", ref, creds) == want, (h.address, ref)
    assert curl(client, f"https://{h.address}:5000/v2/", None)[0] == "401"
    assert f"{h.address} sea.hub # sealer-py:{NAME}" in h.read("/etc/hosts")
    for ref in APP_IMAGES[:1]:  # by its original name, through the host's own mirror config
        r = h.exec(f"{PULL} --user {creds} {ref}", check=False)
        assert r.returncode == 0, f"{h.address}: pull {ref}: {r.stderr or r.stdout}"


def test_registry_on_every_master(built: Built, test_hosts, state_dir: Path,  # type: ignore[no-untyped-def]
                                  tmp_path: Path) -> None:
    hosts: list[TestHost] = test_hosts(4)
    m0, m1, n1, m2 = hosts
    password = "Reg-" + secrets.token_hex(10)
    creds = f"puller:{password}"
    key = str(m0.ssh_config.pkey)
    cf = clusterfile(tmp_path / "Clusterfile", built.app, key, password, [m0.address, m1.address], [n1.address])
    state = ["--state-dir", str(state_dir)]
    sealer(built.root, "apply", "-f", str(cf), *state)
    cached = {c["reference"]: c["digest"]
              for c in json.loads(sealer(built.root, "inspect", built.app, "--json"))["cachedImages"]}
    assert set(cached) == set(APP_IMAGES + CORE_IMAGES)

    # both masters: registry data, a registry with the same htpasswd and certificate, sea.hub -> itself
    for m in (m0, m1):
        check_registry_host(m, n1, cached, creds)
    assert m0.read(f"{ROOTFS}/etc/registry_htpasswd") == m1.read(f"{ROOTFS}/etc/registry_htpasswd")
    assert m0.read(f"{ROOTFS}/certs/sea.hub.crt") == m1.read(f"{ROOTFS}/certs/sea.hub.crt")
    # the node: no registry, sea.hub -> master0, pulls by original name through its config
    assert n1.exec(f"test -e {ROOTFS}/registry", check=False).returncode != 0
    assert not registry_pids(n1)
    assert f"{m0.address} sea.hub # sealer-py:{NAME}" in n1.read("/etc/hosts")
    for ref in APP_IMAGES:
        r = n1.exec(f"{PULL} --user {creds} {ref}", check=False)
        assert r.returncode == 0, f"pull {ref}: {r.stderr or r.stdout}"

    # ha cannot change on a delivered cluster
    clusterfile(tmp_path / "Clusterfile.noha", built.app, key, password, [m0.address, m1.address], [n1.address],
                ha=False)
    out = sealer(built.root, "apply", "-f", str(tmp_path / "Clusterfile.noha"), *state, ok=False)
    assert "localRegistry.ha: true; it cannot change" in out

    # a joined master gains its registry (the certificate now covers its address too)
    sealer(built.root, "join", "-m", m2.address, *state)
    check_registry_host(m2, n1, cached, creds)
    for m in (m0, m1):  # the others serve the re-issued certificate
        assert curl(n1, f"https://{m.address}:5000/v2/", creds)[0] == "200", m.address
    saved = (state_dir / NAME / "Clusterfile").read_text()
    assert "ha: true" in saved and m2.address in saved

    # master0's registry stops: the other masters still pull by original name from their own registry
    pid = m0.read(f"{DATA}/.sealer/registry/registry.pid").strip()
    m0.exec(f"kill {pid}; for i in $(seq 50); do kill -0 {pid} 2>/dev/null || break; sleep 0.1; done")
    assert curl(n1, f"https://{m0.address}:5000/v2/", creds)[0] == "000"
    for m in (m1, m2):
        m.exec("ctr -n k8s.io images rm docker.io/library/nginx:1.25", check=False)
        r = m.exec(f"{PULL} --user {creds} docker.io/library/nginx:1.25", check=False)
        assert r.returncode == 0, f"{m.address}: {r.stderr or r.stdout}"

    # scale-down of a master: it loses its registry (process and data); the others keep theirs
    sealer(built.root, "delete", "-m", m1.address, *state)
    assert m1.exec(f"test -e {DATA}", check=False).returncode != 0
    assert not registry_pids(m1) and "sealer-py" not in m1.read("/etc/hosts")
    assert curl(n1, f"https://{m2.address}:5000/v2/", creds)[0] == "200"

    # delete --all: no registry, no data, no config of ours on any host
    sealer(built.root, "delete", "--all", "--force", *state)
    for h in hosts:
        assert h.exec(f"test -e {DATA}", check=False).returncode != 0, h.address
        assert not registry_pids(h), h.address
        assert "sealer-py" not in h.read("/etc/hosts")
        assert h.exec("grep -rl sealer-py /etc/containerd/certs.d", check=False).stdout == "", h.address
        assert h.exec("grep -c sealer-py /etc/containerd/config.toml", check=False).stdout.strip() in ("", "0")
    assert not (state_dir / NAME).exists() or not any((state_dir / NAME).iterdir())

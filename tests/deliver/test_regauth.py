"""Registry credentials (sealer v0.9 ``spec.registry.localRegistry.username/password``), ``spec.dataRoot`` and
scale-down's ``kubectl delete node``, on real test hosts: the registry on master0 refuses anonymous pulls (401),
a node pulls with the credentials (``ctr --user``, ``curl``), containerd and kubelet hold them in 0600 files, the
password shows up in no output, no host process list and no other file; ``delete`` removes all of it."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import bcrypt
from helpers.testhosts import TestHost

from deliver.clusterfiles import local_registry, write_clusterfile
from deliver.images import FIXTURE_LOG, Built, sealer
from deliver.test_apply import ProcessWatch

ROOT = "/opt/sealer-data"          # spec.dataRoot (/opt is a per-host overlay of the test hosts)
DATA = f"{ROOT}/auth-test"
ROOTFS = f"{DATA}/rootfs"
DEFAULT_DATA = "/var/lib/sealer/data/auth-test"
PULL = "ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d"
NGINX = "sea.hub:5000/library/nginx:1.25"


def clusterfile(path: Path, image: str, key: str, password: str, master: str, nodes: list[str],
                insecure: bool = True, my_var: str = "x", creds: bool = True) -> Path:
    return write_clusterfile(path, "auth-test", image, [master], nodes, ssh=f"pk: {key}", env=f"MyVar={my_var}",
                             spec=f"  dataRoot: {ROOT}\n" + local_registry(password if creds else None,
                                                                           insecure=insecure))


def http_code(h: TestHost, url: str, creds: str | None = None) -> str:
    """curl's status code; credentials go to curl on stdin (``-K -``), never on its command line."""
    cfg = f'user = "{creds}"\n' if creds else ""
    return h.exec(f"curl -s -o /dev/null -w '%{{http_code}}' -K - {url}", input=cfg, check=False).stdout


def test_credentials_data_root_and_scale_down(built: Built, test_hosts, state_dir: Path,  # type: ignore[no-untyped-def]
                                              tmp_path: Path) -> None:
    hosts: list[TestHost] = test_hosts(3)
    m0, n1, n2 = hosts
    password = "Reg-" + secrets.token_hex(10)
    key = str(m0.ssh_config.pkey)
    cf = clusterfile(tmp_path / "Clusterfile", built.app, key, password, m0.address, [n1.address, n2.address])
    base = ["apply", "-f", str(cf), "--state-dir", str(state_dir), "--json"]
    # master0's containerd config exists with its own mode (the image's init.sh rewrites it in place)
    mode_before = "640"
    m0.exec(f"mkdir -p /etc/containerd && touch /etc/containerd/config.toml && "
            f"chmod {mode_before} /etc/containerd/config.toml")
    outputs = []
    with ProcessWatch(hosts) as watch:
        outputs.append(sealer(built.root, *base))
    assert watch.seen and not [p for p in watch.seen if password in p]

    # spec.dataRoot: the rootfs is there, not under the default
    for h in hosts:
        assert h.exec(f"test -x {ROOTFS}/bin/kubeadm", check=False).returncode == 0, h.address
        assert h.exec(f"test -e {DEFAULT_DATA}", check=False).returncode != 0, h.address
    summary = json.loads(outputs[0][outputs[0].index("{"):])
    assert summary["hosts"][m0.address]["cmds"]["status"] == "done", summary
    assert m0.read(f"{FIXTURE_LOG}/cmds.log").splitlines()[0] == \
        f"base-first {ROOTFS}/bin/kubectl /etc/kubernetes/admin.conf"

    # master0: htpasswd (0600) holds the bcrypt hash only; the registry refuses anonymous access
    ht = f"{ROOTFS}/etc/registry_htpasswd"
    assert m0.exec(f"stat -c %a {ht}").stdout.strip() == "600"
    user, _, hashed = m0.read(ht).strip().partition(":")
    assert user == "puller" and hashed.startswith("$2") and password not in hashed
    assert bcrypt.checkpw(password.encode(), hashed.encode())
    assert http_code(n1, "http://sea.hub:5000/v2/") == "401"
    assert http_code(n1, "http://sea.hub:5000/v2/", f"puller:{password}") == "200"
    assert http_code(n1, "http://sea.hub:5000/v2/", "puller:wrong") == "401"

    # a node: anonymous pull fails with 401, with the credentials it works (by the registry name and by the
    # original name through the mirror config)
    anon = n1.exec(f"{PULL} {NGINX}", check=False)
    assert anon.returncode != 0 and "401" in anon.stderr + anon.stdout
    for ref in (NGINX, "docker.io/library/nginx:1.25"):
        r = n1.exec(f"{PULL} --user puller:{password} {ref}", check=False)
        assert r.returncode == 0, f"pull {ref}: {r.stderr or r.stdout}"

    # every host: containerd's CRI auth for sea.hub:5000 in config.toml (0600, containerd restarted and serving),
    # kubelet's config.json (0600) with the Basic credentials for sea.hub:5000 only
    token = base64.b64encode(f"puller:{password}".encode()).decode()
    for h in hosts:
        cfg = h.read("/etc/containerd/config.toml")
        assert '[plugins."io.containerd.grpc.v1.cri".registry.configs."sea.hub:5000".auth]' in cfg, h.address
        assert f'password = "{password}"' in cfg
        assert h.exec("stat -c %a /etc/containerd/config.toml").stdout.strip() == "600"
        assert h.exec("ctr version", check=False).returncode == 0, h.address
        kubelet = json.loads(h.read("/var/lib/kubelet/config.json"))
        assert kubelet["auths"] == {"sea.hub:5000": {"auth": token}}
        assert h.exec("stat -c %a /var/lib/kubelet/config.json").stdout.strip() == "600"
        # the password (or its Basic token) nowhere else of ours (the htpasswd holds a hash)
        places = f"{ROOT} /var/lib/sealer /etc/hosts /etc/containerd /var/lib/kubelet /root/.docker /etc/docker"
        r = h.exec(f"grep -rl -F -- {password} {places}", check=False)
        assert r.stdout.split() == ["/etc/containerd/config.toml"], r.stdout
        r = h.exec(f"grep -rl -F -- {token} {places}", check=False)
        assert r.stdout.split() == ["/var/lib/kubelet/config.json"], r.stdout
    # locally: only the 0600 Clusterfile of the state (like SSH passwords) holds it
    held = sorted(str(p.relative_to(state_dir)) for p in state_dir.rglob("*")
                  if p.is_file() and password in p.read_text(errors="replace"))
    assert held == ["auth-test/Clusterfile"]
    assert oct((state_dir / "auth-test" / "registry_htpasswd").stat().st_mode & 0o777) == "0o600"

    # a rerun: the same htpasswd entry (kept in the state), so every phase is already done
    again = sealer(built.root, *base)
    outputs.append(again)
    rerun = json.loads(again[again.index("{"):])
    assert {p["status"] for h in rerun["hosts"].values() for n, p in h.items() if n != "connect"} == {"skipped"}

    # an env change reruns the image's init.sh, which rewrites config.toml: the credentials are written again
    cf = clusterfile(cf, built.app, key, password, m0.address, [n1.address, n2.address], my_var="y")
    outputs.append(sealer(built.root, *base))
    assert f'password = "{password}"' in n1.read("/etc/containerd/config.toml")
    assert n1.exec("ctr version", check=False).returncode == 0

    # scale-down by apply: n1 dropped -> on master0 (image's bin/, kubeconfig) the node with n1's InternalIP is
    # deleted (`kubectl delete node`), then n1 is reset and loses the credentials
    m0.exec(f"printf '%s\\n' 'other 10.9.9.9' 'worker-one {n1.address}' > {FIXTURE_LOG}/kubectl-nodes")
    cf = clusterfile(cf, built.app, key, password, m0.address, [n2.address], my_var="y")
    outputs.append(sealer(built.root, *base))
    assert m0.read(f"{FIXTURE_LOG}/kubectl.log").splitlines()[-1] == \
        f"delete node worker-one\t{ROOTFS}/bin\t/etc/kubernetes/admin.conf"
    assert n1.exec(f"test -e {DATA} || test -e /var/lib/kubelet/config.json", check=False).returncode != 0
    assert "registry auth" not in n1.exec("cat /etc/containerd/config.toml 2>/dev/null", check=False).stdout

    # scale-down by `delete -n` of a host Kubernetes does not know: its hostname is tried, NotFound is
    # tolerated, the host is still cleaned
    m0.exec(f"rm {FIXTURE_LOG}/kubectl-nodes && touch {FIXTURE_LOG}/kubectl-notfound")
    outputs.append(sealer(built.root, "delete", "-n", n2.address, "--state-dir", str(state_dir)))
    assert m0.read(f"{FIXTURE_LOG}/kubectl.log").splitlines()[-1].startswith(f"delete node {n2.hostname}\t")
    assert n2.exec(f"test -e {DATA}", check=False).returncode != 0

    # the credentials dropped from the Clusterfile: the registry is open again and ours are gone from the host
    clusterfile(cf, built.app, key, password, m0.address, [], my_var="y", creds=False)
    outputs.append(sealer(built.root, *base))
    assert http_code(m0, "http://sea.hub:5000/v2/") == "200"
    assert m0.exec(f"test -e {ht} || test -e /var/lib/kubelet/config.json", check=False).returncode != 0
    assert "registry auth" not in m0.read("/etc/containerd/config.toml")
    # config.toml has the mode it had before the credentials made it 0600 (what init.sh left), and no side file
    assert m0.exec("stat -c %a /etc/containerd/config.toml").stdout.strip() == mode_before
    assert "config.toml.sealer-py.mode" not in m0.exec("ls -a /etc/containerd").stdout

    outputs.append(sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir)))
    assert m0.exec(f"test -e {DATA} || test -e /var/lib/kubelet/config.json", check=False).returncode != 0
    assert not [p for p in m0.processes() if "docker-registry" in p]
    assert not (state_dir / "auth-test").exists()
    assert not [o for o in outputs if password in o]


def test_tls_registry(built: Built, test_hosts, state_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """localRegistry without ``insecure: true`` (sealer v0.9's default): HTTPS with a CA made at the first apply."""
    from cryptography import x509

    m0, n1 = test_hosts(2)
    password = "Tls-" + secrets.token_hex(10)
    cf = clusterfile(tmp_path / "Clusterfile", built.app, str(m0.ssh_config.pkey), password, m0.address,
                     [n1.address], insecure=False)
    base = ["apply", "-f", str(cf), "--state-dir", str(state_dir), "--json"]
    outputs = [sealer(built.root, *base)]

    # the certificate on master0: SANs cover sea.hub and master0's IP, issued by the CA every host got
    crt = x509.load_pem_x509_certificate(m0.read(f"{ROOTFS}/certs/sea.hub.crt").encode())
    san = crt.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "sea.hub" in san.get_values_for_type(x509.DNSName)
    assert m0.address in [str(i) for i in san.get_values_for_type(x509.IPAddress)]
    assert m0.exec(f"stat -c %a {ROOTFS}/certs/sea.hub.key").stdout.strip() == "600"
    ca_file = "/etc/containerd/certs.d/sea.hub:5000/ca.crt"
    local_ca = (state_dir / "auth-test" / "registry-tls" / "ca.crt").read_text()
    assert oct((state_dir / "auth-test" / "registry-tls" / "ca.key").stat().st_mode & 0o777) == "0o600"
    for h in (m0, n1):
        assert local_ca in h.read(ca_file), h.address
        assert 'server = "https://sea.hub:5000"' in h.read("/etc/containerd/certs.d/sea.hub:5000/hosts.toml")
        assert f'ca = "{ca_file}"' in h.read("/etc/containerd/certs.d/docker.io/hosts.toml")

    # a node: HTTPS verified against the CA, by name and by master0's IP; plain HTTP is gone; credentials hold
    creds = f"puller:{password}"
    assert http_code(n1, f"--cacert {ca_file} https://sea.hub:5000/v2/", creds) == "200"
    assert http_code(n1, f"--cacert {ca_file} https://{m0.address}:5000/v2/", creds) == "200"
    assert http_code(n1, f"--cacert {ca_file} https://sea.hub:5000/v2/") == "401"
    assert http_code(n1, "https://sea.hub:5000/v2/", creds) == "000"  # not trusted without the CA
    assert http_code(n1, "http://sea.hub:5000/v2/", creds) == "400"   # the registry speaks TLS only
    for ref in (NGINX, "docker.io/library/nginx:1.25", "quay.io/acme/tool:v1"):
        r = n1.exec(f"{PULL} --user {creds} {ref}", check=False)
        assert r.returncode == 0, f"pull {ref}: {r.stderr or r.stdout}"

    # a rerun keeps the certificate (kept in the state): nothing to do
    again = sealer(built.root, *base)
    outputs.append(again)
    rerun = json.loads(again[again.index("{"):])
    assert {p["status"] for h in rerun["hosts"].values() for n, p in h.items() if n != "connect"} == {"skipped"}

    outputs.append(sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir)))
    for h in (m0, n1):
        assert h.exec("test -e /etc/containerd/certs.d/sea.hub:5000", check=False).returncode != 0, h.address
    assert not (state_dir / "auth-test").exists()
    assert not [o for o in outputs if password in o]


def test_docker_runtime_gets_ca_and_credentials(built: Built, test_hosts, state_dir: Path,  # type: ignore[no-untyped-def]
                                                tmp_path: Path) -> None:
    """``containerRuntime: docker`` (files only: no dockerd runs in the test hosts): the CA in docker's certs.d,
    the https mirror in daemon.json, the credentials in ~/.docker/config.json and kubelet's config.json, all
    removed (daemon.json restored) by ``delete --all``."""
    (m0,) = test_hosts(1)
    password = "Dkr-" + secrets.token_hex(10)
    cf = clusterfile(tmp_path / "Clusterfile", built.app, str(m0.ssh_config.pkey), password, m0.address, [],
                     insecure=False)
    cf.write_text(cf.read_text().replace("type: containerd", "type: docker"))
    m0.exec("mkdir -p /etc/docker && echo '{\"log-driver\": \"json-file\"}' > /etc/docker/daemon.json")
    m0.exec("mkdir -p /root/.docker && echo '{\"auths\": {\"other.example\": {}}}' > /root/.docker/config.json")
    out = sealer(built.root, "apply", "-f", str(cf), "--state-dir", str(state_dir), "--json")
    ca = (state_dir / "auth-test" / "registry-tls" / "ca.crt").read_text()
    assert ca in m0.read("/etc/docker/certs.d/sea.hub:5000/ca.crt")
    daemon = json.loads(m0.read("/etc/docker/daemon.json"))
    assert daemon["log-driver"] == "json-file" and "https://sea.hub:5000" in daemon["registry-mirrors"]
    assert "sea.hub:5000" not in daemon.get("insecure-registries", [])  # verified by the CA instead
    token = base64.b64encode(f"puller:{password}".encode()).decode()
    for f in ("/root/.docker/config.json", "/var/lib/kubelet/config.json"):
        assert json.loads(m0.read(f))["auths"] == {"sea.hub:5000": {"auth": token}}, f
        assert m0.exec(f"stat -c %a {f}").stdout.strip() == "600"
    assert "registry auth" not in m0.read("/etc/containerd/config.toml")  # docker: containerd's file untouched

    out += sealer(built.root, "delete", "--all", "--force", "--state-dir", str(state_dir))
    assert m0.exec("test -e /etc/docker/certs.d/sea.hub:5000", check=False).returncode != 0
    assert json.loads(m0.read("/etc/docker/daemon.json")) == {"log-driver": "json-file"}
    assert json.loads(m0.read("/root/.docker/config.json")) == {"auths": {"other.example": {}}}  # put back
    assert m0.exec("test -e /var/lib/kubelet/config.json", check=False).returncode != 0
    assert password not in out

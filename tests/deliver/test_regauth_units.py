"""Without hosts: the Clusterfile's registry credentials / TLS / dataRoot fields, the saved state's round trip,
the htpasswd entry kept in the state, the data-root rule (flag > spec.dataRoot > saved) and the scripts' secrets."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest

from sealer.cluster.clusterfile import parse_clusterfile
from sealer.deliver import registryauth, state
from sealer.deliver.errors import DeliveryError
from sealer.deliver.ops import resolve_data_root
from sealer.errors import ClusterConfigError


def cf(registry: str = "", extra: str = "") -> str:
    return ("apiVersion: sealer.io/v2\nkind: Cluster\nmetadata: {name: c1}\nspec:\n"
            f"{registry}{extra}  hosts: [{{ips: [10.0.0.2], roles: [master]}}]\n")


LOCAL = ("  registry:\n    localRegistry:\n      username: u\n      password: 123456\n"
         "      cert: {subjectAltName: {dnsNames: [hub.example], ips: [10.0.0.9]}}\n")


def test_local_registry_fields_and_round_trip() -> None:
    c = parse_clusterfile(cf(LOCAL, "  dataRoot: /data/sealer/\n"))
    a = c.registry_access
    assert (a.username, a.password, a.tls) == ("u", "123456", True)  # v0.9: HTTPS unless insecure: true
    assert a.san_dns == ("hub.example",) and a.san_ips == ("10.0.0.9",)
    assert c.registry == "sea.hub:5000" and c.data_root == "/data/sealer"
    assert "123456" not in repr(c)
    again = parse_clusterfile(state.dump_cluster(c))
    assert again.registry_access == a and again.data_root == c.data_root
    plain = parse_clusterfile(cf("  registry: {domain: hub.local, port: 5443}\n"))
    assert plain.registry == "hub.local:5443" and not plain.registry_access.tls
    assert not plain.registry_access.has_credentials and plain.data_root is None


@pytest.mark.parametrize(("registry", "extra", "message"), [
    ("  registry: {localRegistry: {username: u}}\n", "", "localRegistry.password: required"),
    ("  registry: {localRegistry: {password: p}}\n", "", "localRegistry.username: required"),
    ("  registry: {localRegistry: {username: 'a:b', password: p}}\n", "", "must not contain ':'"),
    ("  registry: {domain: x, localRegistry: {}}\n", "", "not both forms"),
    ("  registry: {externalRegistry: {domain: x}, localRegistry: {}}\n", "", "not both"),
    ("  registry: {localRegistry: {insecure: 'no'}}\n", "", "expected true or false"),
    ("  registry: {localRegistry: {cert: {subjectAltName: {ips: [nope]}}}}\n", "", "not an IP address"),
    ("  registry: {localRegistry: {usrname: u}}\n", "", "did you mean username"),
    ("", "  dataRoot: relative/dir\n", "not an absolute path"),
    ("", "  dataRoot: /var/lib/../etc\n", "'..'"),
    ("", "  dataRoot: /\n", "cannot be /"),
    ("", "  dataRoot: /a b\n", "not allowed"),
])
def test_invalid_fields_name_the_field(registry: str, extra: str, message: str) -> None:
    with pytest.raises(ClusterConfigError) as e:
        parse_clusterfile(cf(registry, extra))
    assert message in str(e.value)


def test_data_root_rule(tmp_path: Path) -> None:
    c = parse_clusterfile(cf("", "  dataRoot: /data/x\n"))
    assert resolve_data_root(None, c, None) == "/data/x"
    assert resolve_data_root("/flag/root/", c, None) == "/flag/root"  # the flag overrides the Clusterfile
    assert resolve_data_root(None, parse_clusterfile(cf()), None) == "/var/lib/sealer/data"
    with pytest.raises(DeliveryError, match="not an absolute path"):
        resolve_data_root("rel", c, None)
    state.save(tmp_path, c, "img:v1", "/data/x")
    saved = state.load(tmp_path, "c1")
    assert resolve_data_root(None, parse_clusterfile(cf()), saved) == "/data/x"  # delivered there
    with pytest.raises(DeliveryError, match="cannot change"):
        resolve_data_root("/elsewhere", c, saved)


def test_htpasswd_kept_while_it_verifies(tmp_path: Path) -> None:
    c = parse_clusterfile(cf(LOCAL))
    first = registryauth.prepare(tmp_path, c)
    assert first is not None
    user, _, hashed = first.htpasswd.partition(":")
    assert user == "u" and bcrypt.checkpw(b"123456", hashed.encode()) and "123456" not in first.htpasswd
    stored = tmp_path / "c1" / registryauth.HTPASSWD_NAME
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    again = registryauth.prepare(tmp_path, c)
    assert again is not None and again.htpasswd == first.htpasswd and again.key == first.key
    changed = registryauth.prepare(tmp_path, parse_clusterfile(cf(LOCAL.replace("123456", "654321"))))
    assert changed is not None and changed.htpasswd != first.htpasswd and changed.key != first.key
    assert registryauth.prepare(tmp_path, parse_clusterfile(cf())) is None


def test_host_script_carries_the_password_only_encoded(tmp_path: Path) -> None:
    c = parse_clusterfile(cf(LOCAL.replace("123456", "S3cret-pw")))
    a = registryauth.prepare(tmp_path, c)
    assert a is not None
    script = registryauth.host_script(c, a, containerd=True)
    assert "S3cret-pw" not in script  # files travel base64 inside the script, on stdin
    block = registryauth.containerd_block("c1", c.registry, a)
    assert 'registry.configs."sea.hub:5000".auth]' in block and 'password = "S3cret-pw"' in block
    assert "S3cret-pw" not in registryauth.clean_script("c1")


def test_tls_certificate_names_reuse_and_reissue(tmp_path: Path) -> None:
    from cryptography import x509

    from sealer.deliver import tls

    c = parse_clusterfile(cf(LOCAL))
    t = tls.prepare(tmp_path, c, "10.0.0.2")
    assert t is not None
    crt = x509.load_pem_x509_certificate(t.cert_pem.encode())
    san = crt.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"sea.hub", "hub.example"}
    assert {str(i) for i in san.get_values_for_type(x509.IPAddress)} == {"10.0.0.2", "10.0.0.9"}
    ca = x509.load_pem_x509_certificate(t.ca_pem.encode())
    assert crt.issuer == ca.subject and ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    d = tmp_path / "c1" / tls.DIR
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in d.iterdir()} == {
        "ca.crt": "0o644", "ca.key": "0o600", "server.crt": "0o644", "server.key": "0o600"}
    again = tls.prepare(tmp_path, c, "10.0.0.2")
    assert again == t and again is not None and again.key == t.key  # kept: same phase keys on a re-apply
    moved = tls.prepare(tmp_path, c, "10.0.0.7")  # a name the certificate lacks: re-issued by the same CA
    assert moved is not None and moved.ca_pem == t.ca_pem and moved.cert_pem != t.cert_pem
    assert tls.prepare(tmp_path, parse_clusterfile(cf()), "10.0.0.2") is None  # plain form: HTTP
    insecure = LOCAL.replace("      cert:", "      insecure: true\n      cert:")
    assert tls.prepare(tmp_path, parse_clusterfile(cf(insecure)), "10.0.0.2") is None
    tls.forget(tmp_path, "c1")
    assert not d.exists()


def test_tls_mirror_files_and_clean() -> None:
    from sealer.deliver import steps, tls

    files = {d: steps.hosts_toml("c1", steps.upstream_server(d, "sea.hub:5000"), ["https://sea.hub:5000"])
             for d in ("sea.hub:5000", "docker.io")}
    out = tls.hosts_files(files, "sea.hub:5000", "https://sea.hub:5000")
    ca = '  ca = "/etc/containerd/certs.d/sea.hub:5000/ca.crt"'
    assert 'server = "https://sea.hub:5000"' in out["sea.hub:5000"]
    assert 'server = "https://registry-1.docker.io"' in out["docker.io"]
    for text in out.values():
        lines = text.splitlines()
        assert lines[lines.index('[host."https://sea.hub:5000"]') + 1] == ca
    assert "/etc/containerd/certs.d/*/ca.crt" in tls.clean_script("c1")
    assert "sealer-py:c1:" in tls.clean_script("c1")

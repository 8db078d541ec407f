"""HTTPS for the image's registry (sealer v0.9: ``spec.registry.localRegistry`` without ``insecure: true``).

sealer v0.9 (``pkg/registry/singleton.go``, ``configureRegistryCert``) generates a certificate for the registry
domain (plus ``cert.subjectAltName``) at the first delivery, keeps it in ``<rootfs>/certs/<domain>.crt|.key`` on
the registry host, copies the CA to every host's ``certs.d/<domain>:<port>/`` and points hosts.toml at
``https://<domain>:<port>`` with that CA. Here: a CA and a server certificate made with ``cryptography``
(ECDSA P-256), SANs = the domain, ``sea.hub``, master0's IP, ``subjectAltName.dnsNames/ips``; kept in the
local cluster state (``~/.sealer/<cluster>/registry-tls/``, keys 0600) so a re-apply serves the same
certificate (the server certificate is re-issued by the same CA when the names it must cover change).
On master0 ``<rootfs>/certs/<domain>.crt`` (server + CA chain) and ``.key`` (0600); on every host
``/etc/containerd/certs.d/<domain>:<port>/ca.crt`` and, with docker, ``/etc/docker/certs.d/<domain>:<port>/ca.crt``
(first line ``# sealer-py:<cluster>``, removed by ``delete``).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from shlex import quote
from typing import Any

from sealer.cluster.clusterfile import Cluster
from sealer.deliver.markers import inputs_hash
from sealer.deliver.plan import MARK, HostPaths

log = logging.getLogger(__name__)

DIR = "registry-tls"
CONTAINERD_CERTS = "/etc/containerd/certs.d"
DOCKER_CERTS = "/etc/docker/certs.d"
YEARS = 10


@dataclass(frozen=True)
class RegistryTLS:
    ca_pem: str
    cert_pem: str
    key_pem: str = field(repr=False)
    names: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return inputs_hash(self.ca_pem, self.cert_pem)


def wanted_names(cluster: Cluster, master0: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    a = cluster.registry_access
    names = list(dict.fromkeys([cluster.registry_domain, "sea.hub", *a.san_dns]))
    ips = list(dict.fromkeys([master0, *cluster.registry_hosts, *a.san_ips]))  # every registry host (ha)
    return tuple(names), tuple(ips)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None


def _covers(cert_pem: str, ca_pem: str, names: tuple[str, ...], ips: tuple[str, ...]) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    have_dns = set(san.get_values_for_type(x509.DNSName))
    have_ips = {str(i) for i in san.get_values_for_type(x509.IPAddress)}
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    return (cert.issuer == ca.subject and set(names) <= have_dns and set(ips) <= have_ips
            and cert.not_valid_after_utc > soon)


def _pem(cert: Any, key: Any) -> tuple[str, str]:
    """A certificate and its private key (unencrypted PKCS#8) as PEM text."""
    from cryptography.hazmat.primitives import serialization

    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def prepare(state_root: Path, cluster: Cluster, master0: str) -> RegistryTLS | None:
    """The CA and server certificate of the cluster's registry (made or reused), or None for plain HTTP."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if not cluster.registry_access.tls:
        return None
    d = state_root / cluster.name / DIR
    names, ips = wanted_names(cluster, master0)
    now = datetime.datetime.now(datetime.UTC)
    ca_pem, ca_key_pem = _read(d / "ca.crt"), _read(d / "ca.key")
    if ca_pem is None or ca_key_pem is None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sealer-py registry CA ({cluster.name})")])
        ca_cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=365 * YEARS))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .sign(ca_key, hashes.SHA256()))
        ca_pem, ca_key_pem = _pem(ca_cert, ca_key)
        _write(d / "ca.key", ca_key_pem, 0o600)
        _write(d / "ca.crt", ca_pem, 0o644)
        (d / "server.crt").unlink(missing_ok=True)
        log.info("registry CA generated for %s", cluster.name)
    cert_pem, key_pem = _read(d / "server.crt"), _read(d / "server.key")
    if cert_pem is None or key_pem is None or not _covers(cert_pem, ca_pem, names, ips):
        ca_cert = x509.load_pem_x509_certificate(ca_pem.encode())
        ca_key_obj = serialization.load_pem_private_key(ca_key_pem.encode(), password=None)
        assert isinstance(ca_key_obj, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        san = x509.SubjectAlternativeName([*(x509.DNSName(n) for n in names),
                                           *(x509.IPAddress(ipaddress.ip_address(i)) for i in ips)])
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cluster.registry_domain)]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(min(now + datetime.timedelta(days=365 * YEARS - 1), ca_cert.not_valid_after_utc))
                .add_extension(san, critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key_obj, hashes.SHA256()))
        cert_pem, key_pem = _pem(cert, key)
        _write(d / "server.key", key_pem, 0o600)
        _write(d / "server.crt", cert_pem, 0o644)
        log.info("registry certificate for %s issued (%s)", cluster.name, ", ".join(names + ips))
    return RegistryTLS(ca_pem, cert_pem, key_pem, names, ips)


def forget(state_root: Path, name: str) -> None:
    d = state_root / name / DIR
    for f in ("ca.crt", "ca.key", "server.crt", "server.key"):
        (d / f).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        d.rmdir()


def cert_paths(paths: HostPaths, domain: str) -> tuple[str, str]:
    """sealer's ``<rootfs>/certs/<domain>.crt`` and ``.key``."""
    return f"{paths.rootfs}/certs/{domain}.crt", f"{paths.rootfs}/certs/{domain}.key"


def registry_files(t: RegistryTLS, paths: HostPaths, domain: str) -> list[tuple[str, bytes, int]]:
    crt, key = cert_paths(paths, domain)
    return [(crt, (t.cert_pem + t.ca_pem).encode(), 0o644), (key, t.key_pem.encode(), 0o600)]


def registry_config_with_tls(config_text: str, paths: HostPaths, domain: str) -> str:
    import json

    cfg = json.loads(config_text)
    crt, key = cert_paths(paths, domain)
    cfg.setdefault("http", {})["tls"] = {"certificate": crt, "key": key}
    return json.dumps(cfg, indent=1)


def ca_path(registry: str, docker: bool = False) -> str:
    return f"{DOCKER_CERTS if docker else CONTAINERD_CERTS}/{registry}/ca.crt"


def ca_file(cluster: str, t: RegistryTLS) -> bytes:
    """The CA as written on hosts: a tag line first (PEM readers skip text before the block)."""
    return f"# {MARK}:{cluster}: written by sealer-py, removed by `sealer delete`\n{t.ca_pem}".encode()


def host_files(cluster: Cluster, t: RegistryTLS, proxies: Sequence[str] = ()) -> list[tuple[str, bytes, int]]:
    """The CA in ``certs.d/<endpoint>/ca.crt`` for the registry and each pull-through proxy (``proxies``,
    ``sea.hub:5001``…, served with the same certificate)."""
    files = []
    for ep in dict.fromkeys([cluster.registry, *proxies]):
        files.append((ca_path(ep), ca_file(cluster.name, t), 0o644))
        if cluster.runtime == "docker":
            files.append((ca_path(ep, docker=True), ca_file(cluster.name, t), 0o644))
    return files


def hosts_files(files: dict[str, str], registry: str, mirror: str, proxies: Sequence[str] = ()) -> dict[str, str]:
    """The mirror hosts.toml files for an HTTPS registry: the registry's own ``server`` in https, and the CA
    in every ``[host."https://<registry>"]`` table and every ``[host."https://<proxy>"]`` one."""
    out = {}
    for domain, text in files.items():
        if domain == registry:
            text = text.replace(f'server = "http://{registry}"', f'server = "https://{registry}"')
        text = with_ca(text, mirror, ca_path(registry))
        for ep in proxies:
            text = with_ca(text, f"https://{ep}", ca_path(ep))
        out[domain] = text
    return out


def secure_daemon_json(text: bytes, registry: str) -> bytes:
    """docker's daemon.json without ``registry`` among ``insecure-registries`` (it is verified by its CA)."""
    import json

    doc = json.loads(text)
    got = doc.get("insecure-registries")
    if isinstance(got, list) and registry in got:
        kept = [r for r in got if r != registry]
        if kept:
            doc["insecure-registries"] = kept
        else:
            del doc["insecure-registries"]
    return (json.dumps(doc, indent=2) + "\n").encode()


def with_ca(hosts_toml: str, mirror: str, ca: str) -> str:
    """hosts.toml text with ``ca = "<ca>"`` in the ``[host."<mirror>"]`` table."""
    header = f'[host."{mirror}"]'
    out = []
    for line in hosts_toml.splitlines():
        out.append(line)
        if line.strip() == header:
            out.append(f'  ca = "{ca}"')
    return "\n".join(out) + ("\n" if hosts_toml.endswith("\n") else "")


def clean_script(cluster: str) -> str:
    """Remove the CA files we wrote (tagged), in containerd's and docker's certs.d."""
    tag = quote(f"# {MARK}:{cluster}:")
    return (f"for f in {CONTAINERD_CERTS}/*/ca.crt {DOCKER_CERTS}/*/ca.crt; do [ -f \"$f\" ] || continue; "
            f"if head -n1 \"$f\" | grep -q -F {tag}; then rm -f \"$f\"; rmdir \"$(dirname \"$f\")\" 2>/dev/null "
            "|| true; fi; done\n")

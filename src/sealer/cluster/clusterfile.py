"""Clusterfile (sealer v2 shape): the ``Cluster`` document plus kubeadm override documents.

```yaml
apiVersion: sealer.io/v2
kind: Cluster
metadata: {name: my-cluster}
spec:
  image: my-cluster:v1
  env: [PodCIDR=10.244.0.0/16]
  ssh: {user: root, passwd: ..., pk: /root/.ssh/id_rsa, pkPasswd: ..., port: 22}
  containerRuntime: {type: docker}          # docker | containerd
  registry: {domain: sea.hub, port: 5000}   # or sealer v0.9's form:
  # registry:
  #   localRegistry: {domain: sea.hub, port: 5000, username: u, password: p, insecure: false,
  #                   cert: {subjectAltName: {dnsNames: [...], ips: [...]}}}
  #   # or an existing registry instead of the image's own (the cached images must be there already):
  #   externalRegistry: {domain: hub.example.com, port: 443, username: u, password: p}
  dataRoot: /var/lib/sealer/data            # where the rootfs goes on hosts
  cmd_args: [Release=prod, "Msg=a b; c"]    # $Release/${Msg} in the CMDs (sealer's json tag cmd_args)
  cmd: ["kubectl apply -f app.yaml"]        # instead of the image's own CMDs (sealer v0.9 Spec.CMD; [] = the image's)
  appNames: [web]                           # launch these apps of the image (sealer v0.9 Spec.APPNames)
  hosts:
    - ips: [192.168.0.2, 192.168.0.3]
      roles: [master]
      ssh: {port: 2222}                     # per-host override
      env: [CgroupDriver=systemd]
---
apiVersion: kubeadm.k8s.io/v1beta2
kind: ClusterConfiguration                  # overrides fields of the rendered templates
networking: {podSubnet: 10.244.0.0/16}
```
Every validation error names the field path and line.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealer import reference
from sealer.cluster.typecheck import TypeProblem, check_env_value, check_kubeadm_document
from sealer.cluster.versions import RUNTIMES, Runtime
from sealer.cluster.yamlsrc import Document, iter_documents, join_path
from sealer.errors import ClusterConfigError

API_VERSION = "sealer.io/v2"
KUBEADM_KINDS: tuple[str, ...] = (
    "InitConfiguration",
    "ClusterConfiguration",
    "JoinConfiguration",
    "KubeletConfiguration",
    "KubeProxyConfiguration",
)
ROLES = ("master", "node")
DEFAULT_REGISTRY_DOMAIN = "sea.hub"
DEFAULT_REGISTRY_PORT = 5000
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# sealer fields we accept and do not use (infra providers).
_IGNORED_SPEC = {"provider"}


@dataclass(frozen=True)
class SSH:
    """SSH access; secrets are hidden from ``repr``."""

    user: str | None = None
    passwd: str | None = field(default=None, repr=False)
    pk: str | None = None
    pk_passwd: str | None = field(default=None, repr=False)
    port: int | None = None

    def merged(self, override: SSH | None) -> SSH:
        """This SSH config with the fields set in ``override`` replaced."""
        if override is None:
            return self
        return SSH(
            user=override.user if override.user is not None else self.user,
            passwd=override.passwd if override.passwd is not None else self.passwd,
            pk=override.pk if override.pk is not None else self.pk,
            pk_passwd=override.pk_passwd if override.pk_passwd is not None else self.pk_passwd,
            port=override.port if override.port is not None else self.port,
        )

    def redacted(self) -> dict[str, Any]:
        return {
            "user": self.user or "root",
            "passwd": "<redacted>" if self.passwd else None,
            "pk": self.pk,
            "pkPasswd": "<redacted>" if self.pk_passwd else None,
            "port": self.port or 22,
        }


@dataclass(frozen=True)
class HostGroup:
    ips: tuple[str, ...]
    roles: tuple[str, ...]
    ssh: SSH | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_master(self) -> bool:
        return "master" in self.roles


@dataclass(frozen=True)
class KubeadmDocument:
    """A kubeadm-kind document of the Clusterfile, with its location."""

    kind: str
    data: Mapping[str, Any]
    file: str
    line: int

    @property
    def label(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class RegistryAccess:
    """The built-in registry's credentials and TLS (sealer v0.9 ``spec.registry.localRegistry``); the password is
    hidden from ``repr``. ``tls``: serve HTTPS with a CA the delivery generates; ``san_*``: extra names of the
    server certificate."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    san_dns: tuple[str, ...] = ()
    san_ips: tuple[str, ...] = ()
    v09: bool = False  # written as localRegistry (kept so a saved Clusterfile reads back the same)
    external: bool = False  # spec.registry.externalRegistry: no registry of ours, the hosts pull from that one
    ha: bool = False  # localRegistry.ha: true: a registry on every master (sealer v0.9, docs/delivery.md)

    @property
    def has_credentials(self) -> bool:
        return bool(self.username and self.password)


@dataclass(frozen=True)
class Cluster:
    name: str
    image: str | None
    env: Mapping[str, str]
    hosts: tuple[HostGroup, ...]
    ssh: SSH
    runtime: Runtime
    registry_domain: str
    registry_port: int
    kubeadm_documents: tuple[KubeadmDocument, ...]
    file: str
    registry_access: RegistryAccess = field(default_factory=RegistryAccess)
    data_root: str | None = None  # spec.dataRoot
    cmd_args: Mapping[str, str] = field(default_factory=dict)  # spec.cmd_args (sealer.cluster.cmdargs)
    # What master0 runs after kubeadm (sealer v0.9 Spec.CMD / Spec.APPNames, json cmd / appNames): None = not
    # chosen here (delivery keeps the cluster's saved choice); cmds () = the image's own CMDs; apps () = no app.
    cmds: tuple[str, ...] | None = None
    apps: tuple[str, ...] | None = None

    @property
    def masters(self) -> list[str]:
        return [ip for h in self.hosts if h.is_master for ip in h.ips]

    @property
    def nodes(self) -> list[str]:
        return [ip for h in self.hosts if not h.is_master for ip in h.ips]

    @property
    def registry(self) -> str:
        """``domain:port``, or the domain alone for an external registry without a port (sealer v0.9)."""
        return f"{self.registry_domain}:{self.registry_port}" if self.registry_port else self.registry_domain

    @property
    def external_registry(self) -> bool:
        return self.registry_access.external

    @property
    def registry_hosts(self) -> list[str]:
        """The hosts that run the image's registry: every master with ``localRegistry.ha: true``, else master0
        (sealer v0.9 pkg/cluster-runtime/installer.go Install); none with an external registry."""
        if self.external_registry or not self.masters:
            return []
        return list(self.masters) if self.registry_access.ha else self.masters[:1]

    def registry_ip_for(self, ip: str) -> str | None:
        """The address the registry domain resolves to on host ``ip``: a registry host's own address, else
        master0's (None with an external registry)."""
        hosts = self.registry_hosts
        if not hosts:
            return None
        return ip if ip in hosts else hosts[0]

    def host(self, ip: str) -> HostGroup:
        for h in self.hosts:
            if ip in h.ips:
                return h
        known = ", ".join(self.masters + self.nodes)
        raise ClusterConfigError(f"host {ip} is not in spec.hosts (hosts: {known})", self.file)

    def host_env(self, ip: str) -> dict[str, str]:
        """Cluster env overlaid with the host group's env."""
        return {**self.env, **self.host(ip).env}

    def ssh_for(self, ip: str) -> SSH:
        return self.ssh.merged(self.host(ip).ssh)

    def kubeadm_document(self, kind: str) -> KubeadmDocument | None:
        for d in self.kubeadm_documents:
            if d.kind == kind:
                return d
        return None


# --- validation helpers ---------------------------------------------------------------------------


def _expect_map(doc: Document, value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(path, f"expected a mapping, got {_typename(value)}")
    for k in value:
        if not isinstance(k, str):
            raise doc.error(path, f"keys must be strings, got {k!r}")
    return value


def _expect_list(doc: Document, value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error(path, f"expected a list, got {_typename(value)}")
    return value


def _expect_str(doc: Document, value: Any, path: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise doc.error(path, "required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise doc.error(path, f"expected a non-empty string, got {_typename(value)}")
    return value


def _typename(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


def _check_keys(doc: Document, mapping: Mapping[str, Any], path: str, known: set[str],
                ignored: set[str] | frozenset[str] = frozenset()) -> None:
    for k in mapping:
        if k in known or k in ignored:
            continue
        close = difflib.get_close_matches(k, sorted(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"
        raise doc.error(join_path(path, k), f"unknown field{hint}")


def _parse_env(doc: Document, value: Any, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, item in enumerate(_expect_list(doc, value, path)):
        p = join_path(path, i)
        if not isinstance(item, str) or "=" not in item:
            raise doc.error(p, f"expected KEY=VALUE, got {item!r}")
        key, _, val = item.partition("=")
        if not _ENV_KEY.match(key):
            raise doc.error(p, f"invalid variable name {key!r}")
        if key in out:
            raise doc.error(p, f"{key} is set twice")
        problem = check_env_value(key, val)
        if problem:
            raise doc.error(p, problem)
        out[key] = val
    return out


def _parse_ssh(doc: Document, value: Any, path: str) -> SSH:
    m = _expect_map(doc, value, path)
    _check_keys(doc, m, path, {"user", "passwd", "pk", "pkPasswd", "port"})
    port = m.get("port")
    if port is not None:
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise doc.error(join_path(path, "port"), f"expected a port number 1-65535, got {port!r}")
    return SSH(
        user=_expect_str(doc, m.get("user"), join_path(path, "user")),
        passwd=_expect_str(doc, _scalar_str(m.get("passwd")), join_path(path, "passwd")),
        pk=_expect_str(doc, m.get("pk"), join_path(path, "pk")),
        pk_passwd=_expect_str(doc, _scalar_str(m.get("pkPasswd")), join_path(path, "pkPasswd")),
        port=port,
    )


def _scalar_str(value: Any) -> Any:
    """Passwords such as ``123456`` parse as numbers; keep them as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _parse_hosts(doc: Document, value: Any, path: str) -> tuple[HostGroup, ...]:
    items = _expect_list(doc, value, path)
    if not items:
        raise doc.error(path, "at least one host group is required")
    seen: dict[str, str] = {}
    groups: list[HostGroup] = []
    for i, item in enumerate(items):
        hp = join_path(path, i)
        m = _expect_map(doc, item, hp)
        _check_keys(doc, m, hp, {"ips", "roles", "ssh", "env"}, {"labels", "taints"})
        ips: list[str] = []
        raw_ips = _expect_list(doc, m.get("ips"), join_path(hp, "ips"))
        if not raw_ips:
            raise doc.error(join_path(hp, "ips"), "at least one IP address is required")
        for j, ip in enumerate(raw_ips):
            ip_path = join_path(join_path(hp, "ips"), j)
            try:
                addr = str(ipaddress.ip_address(str(ip)))
            except ValueError:
                raise doc.error(ip_path, f"not an IP address: {ip!r}") from None
            if addr in seen:
                raise doc.error(ip_path, f"{addr} is listed twice (first at {seen[addr]})")
            seen[addr] = ip_path
            ips.append(addr)
        roles = _expect_list(doc, m.get("roles"), join_path(hp, "roles"))
        if not roles:
            raise doc.error(join_path(hp, "roles"), "required: [master] or [node]")
        for j, role in enumerate(roles):
            if role not in ROLES:
                raise doc.error(join_path(join_path(hp, "roles"), j), f"unknown role {role!r} (roles: master, node)")
        ssh = _parse_ssh(doc, m["ssh"], join_path(hp, "ssh")) if m.get("ssh") is not None else None
        groups.append(HostGroup(tuple(ips), tuple(roles), ssh, _parse_env(doc, m.get("env"), join_path(hp, "env"))))
    if not any(g.is_master for g in groups):
        raise doc.error(path, "no host has role master; at least one master is required")
    return tuple(groups)


def _parse_port(doc: Document, value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        raise doc.error(path, f"expected a port number 1-65535, got {value!r}")
    return value


def _parse_bool(doc: Document, value: Any, path: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise doc.error(path, f"expected true or false, got {_typename(value)}")
    return value


def _parse_registry(doc: Document, value: Any) -> tuple[str, int, RegistryAccess]:
    """``spec.registry``: our ``{domain, port}`` or sealer v0.9's ``{localRegistry: {domain, port, username,
    password, ha, insecure, cert: {subjectAltName: {dnsNames, ips}}}}`` or ``{externalRegistry: {domain, port,
    username, password}}`` (types/api/v2/cluster_types.go); never two of them."""
    reg = _expect_map(doc, value, "spec.registry")
    _check_keys(doc, reg, "spec.registry", {"domain", "port", "localRegistry", "externalRegistry"})
    if reg.get("externalRegistry") is not None:
        if reg.get("localRegistry") is not None:
            raise doc.error("spec.registry.externalRegistry", "set either localRegistry (the image's own registry "
                            "on master0) or externalRegistry (an existing one), not both")
        return _parse_external_registry(doc, reg)
    local = reg.get("localRegistry")
    if local is None:
        domain = _expect_str(doc, reg.get("domain"), "spec.registry.domain") or DEFAULT_REGISTRY_DOMAIN
        port = _parse_port(doc, reg.get("port", DEFAULT_REGISTRY_PORT), "spec.registry.port")
        return domain, port, RegistryAccess()
    base = "spec.registry.localRegistry"
    for k in ("domain", "port"):
        if reg.get(k) is not None:
            raise doc.error(join_path("spec.registry", k), f"set {base}.{k} instead (not both forms)")
    m = _expect_map(doc, local, base)
    _check_keys(doc, m, base, {"domain", "port", "username", "password", "ha", "insecure", "cert"})
    domain = _expect_str(doc, m.get("domain"), f"{base}.domain") or DEFAULT_REGISTRY_DOMAIN
    port = _parse_port(doc, m.get("port", DEFAULT_REGISTRY_PORT), f"{base}.port")
    user, password = _credentials(doc, m, base)
    # sealer v0.9: ha true (its default, pkg/clusterfile/decoder.go checkAndFillCluster) puts the registry on every master
    # (pkg/cluster-runtime/installer.go); docs/delivery.md "Registry on every master"
    ha = _parse_bool(doc, m.get("ha"), f"{base}.ha")
    insecure = _parse_bool(doc, m.get("insecure"), f"{base}.insecure")
    cert = _expect_map(doc, m.get("cert"), f"{base}.cert")
    _check_keys(doc, cert, f"{base}.cert", {"subjectAltName"})
    san = _expect_map(doc, cert.get("subjectAltName"), f"{base}.cert.subjectAltName")
    _check_keys(doc, san, f"{base}.cert.subjectAltName", {"dnsNames", "ips"})
    dns: list[str] = []
    for i, d in enumerate(_expect_list(doc, san.get("dnsNames"), f"{base}.cert.subjectAltName.dnsNames")):
        p = join_path(f"{base}.cert.subjectAltName.dnsNames", i)
        if not isinstance(d, str) or not d or any(c.isspace() for c in d):
            raise doc.error(p, f"expected a DNS name, got {d!r}")
        dns.append(d)
    ips: list[str] = []
    for i, ip in enumerate(_expect_list(doc, san.get("ips"), f"{base}.cert.subjectAltName.ips")):
        try:
            ips.append(str(ipaddress.ip_address(str(ip))))
        except ValueError:
            raise doc.error(join_path(f"{base}.cert.subjectAltName.ips", i), f"not an IP address: {ip!r}") from None
    # sealer v0.9 serves HTTPS unless insecure: true (pkg/registry/singleton.go configureRegistryCert)
    return domain, port, RegistryAccess(user, password, tls=not insecure, san_dns=tuple(dns), san_ips=tuple(ips),
                                        v09=True, ha=ha is not False)


def _parse_cmd_args(doc: Document, value: Any) -> dict[str, str]:
    from sealer.cluster.cmdargs import item_problem

    out: dict[str, str] = {}
    for i, item in enumerate(_expect_list(doc, value, "spec.cmd_args")):
        p = join_path("spec.cmd_args", i)
        item = _scalar_str(item)
        if not isinstance(item, str):
            raise doc.error(p, f"expected KEY=VALUE, got {_typename(item)}")
        problem = item_problem(item)
        if problem:
            raise doc.error(p, problem)
        key, _, val = item.partition("=")
        if key in out:
            raise doc.error(p, f"{key} is given twice")
        out[key] = val
    return out


_DOMAIN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _credentials(doc: Document, m: Mapping[str, Any], base: str) -> tuple[str | None, str | None]:
    user = _expect_str(doc, _scalar_str(m.get("username")), f"{base}.username")
    password = _expect_str(doc, _scalar_str(m.get("password")), f"{base}.password")
    if bool(user) != bool(password):
        missing = "password" if user else "username"
        raise doc.error(f"{base}.{missing}", "required when the other credential is set (username and password)")
    if user is not None and ":" in user:
        raise doc.error(f"{base}.username", "must not contain ':' (htpasswd and Basic auth separate on it)")
    return user, password


def _parse_external_registry(doc: Document, reg: Mapping[str, Any]) -> tuple[str, int, RegistryAccess]:
    """sealer v0.9's ``externalRegistry`` (``RegistryConfig``): ``domain`` required (pkg/clusterfile/decoder.go
    ``checkAndFillCluster``: "external registry domain can not be empty"), ``port`` optional (none: the
    endpoint is the domain alone), ``username``/``password`` optional."""
    base = "spec.registry.externalRegistry"
    for k in ("domain", "port"):
        if reg.get(k) is not None:
            raise doc.error(join_path("spec.registry", k), f"set {base}.{k} instead (not both forms)")
    m = _expect_map(doc, reg.get("externalRegistry"), base)
    _check_keys(doc, m, base, {"domain", "port", "username", "password"})
    domain = _expect_str(doc, m.get("domain"), f"{base}.domain")
    if not domain:
        raise doc.error(f"{base}.domain", "required: the host name (or IP) of the registry the hosts pull from")
    if not _DOMAIN.match(domain):
        hint = f" (the port goes in {base}.port)" if ":" in domain else ""
        raise doc.error(f"{base}.domain", f"not a host name or IPv4 address: {domain!r}{hint}")
    port = 0 if m.get("port") is None else _parse_port(doc, m.get("port"), f"{base}.port")
    user, password = _credentials(doc, m, base)
    # sealer v0.9 writes no certificate or insecure setting for it: HTTPS, trusted by the hosts already
    return domain, port, RegistryAccess(user, password, tls=False, v09=True, external=True)


def _parse_lines(doc: Document, spec: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    """``spec.cmd`` / ``spec.appNames``: absent (or null) is None, else a tuple of strings."""
    if spec.get(key) is None:
        return None
    out: list[str] = []
    for i, item in enumerate(_expect_list(doc, spec[key], f"spec.{key}")):
        item = _scalar_str(item)
        if not isinstance(item, str):
            raise doc.error(join_path(f"spec.{key}", i), f"expected a string, got {_typename(item)}")
        out.append(item)
    return tuple(out)


def _parse_app_names(doc: Document, spec: Mapping[str, Any]) -> tuple[str, ...] | None:
    # sealer decodes with Go's encoding/json, whose field names match case-insensitively: appnames is the same
    if spec.get("appNames") is not None and spec.get("appnames") is not None:
        raise doc.error("spec.appnames", "spec.appNames is given too")
    names = _parse_lines(doc, spec, "appNames" if spec.get("appNames") is not None else "appnames")
    # sealer v0.9 (pkg/application/v2app.go NewV2Application): an empty name is valid and launches nothing
    return None if names is None else tuple(n for n in names if n)


def _parse_data_root(doc: Document, value: Any) -> str | None:
    root = _expect_str(doc, value, "spec.dataRoot")
    if root is None:
        return None
    problem = data_root_problem(root)
    if problem:
        raise doc.error("spec.dataRoot", problem)
    return root.rstrip("/") or "/"


def data_root_problem(root: str) -> str | None:
    """Why ``root`` cannot be a data root on hosts (absolute, no ``..``, no odd characters), or None."""
    if not root.startswith("/"):
        return f"{root!r} is not an absolute path"
    parts = root.split("/")
    if ".." in parts or "." in parts:
        return f"{root!r} must not contain '.' or '..' components"
    if root.rstrip("/") == "":
        return "the data root cannot be /"
    if any(c.isspace() or c in "\0'\"$`\\;&|<>*?" for c in root):
        return f"{root!r} holds a character that is not allowed in a data root"
    return None


def _parse_cluster(doc: Document, kubeadm_docs: tuple[KubeadmDocument, ...]) -> Cluster:
    data = doc.data
    if data.get("apiVersion") != API_VERSION:
        raise doc.error("apiVersion", f"expected {API_VERSION}, got {data.get('apiVersion')!r}")
    _check_keys(doc, data, "", {"apiVersion", "kind", "metadata", "spec"})
    meta = _expect_map(doc, data.get("metadata"), "metadata")
    name = _expect_str(doc, meta.get("name"), "metadata.name", required=True)
    assert name is not None
    if not _NAME.match(name):
        raise doc.error("metadata.name", f"{name!r} is not a valid name (lowercase letters, digits, '-', '.')")
    spec = _expect_map(doc, data.get("spec"), "spec")
    _check_keys(doc, spec, "spec", {"image", "env", "hosts", "ssh", "containerRuntime", "registry", "dataRoot",
                                  "cmd_args", "cmd", "appNames", "appnames"},
                _IGNORED_SPEC)
    image = _expect_str(doc, spec.get("image"), "spec.image")
    if image is not None and not reference.is_valid(image):
        raise doc.error("spec.image", f"not a valid image reference: {image!r}")
    runtime_map = _expect_map(doc, spec.get("containerRuntime"), "spec.containerRuntime")
    _check_keys(doc, runtime_map, "spec.containerRuntime", {"type"})
    runtime = runtime_map.get("type", "docker")
    if runtime not in RUNTIMES:
        raise doc.error("spec.containerRuntime.type", f"unknown runtime {runtime!r} (docker, containerd)")
    domain, port, access = _parse_registry(doc, spec.get("registry"))
    data_root = _parse_data_root(doc, spec.get("dataRoot"))
    return Cluster(
        name=name,
        image=image,
        env=_parse_env(doc, spec.get("env"), "spec.env"),
        hosts=_parse_hosts(doc, spec.get("hosts"), "spec.hosts"),
        ssh=_parse_ssh(doc, spec.get("ssh"), "spec.ssh"),
        runtime=runtime,
        registry_domain=domain,
        registry_port=port,
        kubeadm_documents=kubeadm_docs,
        file=doc.file,
        registry_access=access,
        data_root=data_root,
        cmd_args=_parse_cmd_args(doc, spec.get("cmd_args")),
        cmds=_parse_lines(doc, spec, "cmd"),
        apps=_parse_app_names(doc, spec),
    )


def parse_clusterfile(text: str, file: str = "Clusterfile") -> Cluster:
    """Parse and validate a Clusterfile's text."""
    cluster_docs: list[Document] = []
    kubeadm: list[KubeadmDocument] = []
    seen_kinds: dict[str, int] = {}
    for doc in iter_documents(text, file):
        if not isinstance(doc.data, dict):
            raise ClusterConfigError(f"expected a mapping document, got {_typename(doc.data)}", file, doc.start_line)
        kind = doc.data.get("kind")
        if not isinstance(kind, str):
            raise doc.error("kind", "required")
        if kind == "Cluster":
            cluster_docs.append(doc)
        elif kind in KUBEADM_KINDS:
            if not isinstance(doc.data.get("apiVersion"), str):
                raise doc.error("apiVersion", f"required for {kind}")
            if kind in seen_kinds:
                raise doc.error("kind", f"a second {kind} document (the first is at line {seen_kinds[kind]})")
            seen_kinds[kind] = doc.start_line
            try:
                check_kubeadm_document(kind, doc.data)
            except TypeProblem as e:
                raise doc.error(e.path, e.message) from None
            kubeadm.append(KubeadmDocument(kind, doc.data, file, doc.start_line))
        # other sealer kinds (Config, Plugin, ...) belong to other features: skipped here
    if not cluster_docs:
        raise ClusterConfigError("no document of kind Cluster", file)
    if len(cluster_docs) > 1:
        second = cluster_docs[1]
        raise ClusterConfigError("more than one document of kind Cluster", file, second.start_line)
    return _parse_cluster(cluster_docs[0], tuple(kubeadm))


def load_clusterfile(path: Path) -> Cluster:
    """Read and validate the Clusterfile at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ClusterConfigError(f"read Clusterfile: {e}", str(path)) from None
    return parse_clusterfile(text, str(path))

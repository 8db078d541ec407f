"""Type checks for Clusterfile values: env variables and the fields of kubeadm override documents.

Values of the wrong type must not merge silently (``certSANs: "notalist"`` would replace the SAN list), env
values are pasted into YAML templates and so must not carry newlines or other control characters (they would
inject keys), and the values the templates use are parsed: CIDRs, IPs, versions, names. Every error names the
field path; callers turn it into ``FILE:LINE: PATH: message``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sealer.cluster.versions import KubeVersion

_DNS = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}"
                  r"[A-Za-z0-9])?)*\.?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
_CA_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_PATHLIKE = re.compile(r"^[^\s]+$")
_KUBEADM_API = re.compile(r"^kubeadm\.k8s\.io/v1(alpha|beta)?\d+$")


class TypeProblem(ValueError):
    """``path`` (relative to the checked value) and what is wrong."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# --- scalar checkers: return None when fine, else a message ----------------------------------------------

def _ip(v: str) -> str | None:
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return f"not an IP address: {v!r}"
    return None


def _cidrs(v: str) -> str | None:
    parts = [p.strip() for p in v.split(",")]
    if not v.strip() or not all(parts):
        return f"expected a CIDR such as 10.244.0.0/16 (two comma-separated for dual stack), got {v!r}"
    for p in parts:
        if "/" not in p:
            return f"not a CIDR (missing /prefix): {p!r}"
        try:
            ipaddress.ip_network(p, strict=False)
        except ValueError:
            return f"not a CIDR: {p!r}"
    return None


def _dns(v: str) -> str | None:
    return None if _DNS.match(v) else f"not a DNS name: {v!r}"


def _host(v: str) -> str | None:
    return None if _ip(v) is None or _DNS.match(v) else f"not an IP address or DNS name: {v!r}"


def _host_port(v: str) -> str | None:
    host, sep, port = v.rpartition(":")
    if sep and not host.endswith("]") and host.count(":") == 0 and port.isdigit():
        return None if _host(host) is None and 0 < int(port) < 65536 else f"expected HOST[:PORT], got {v!r}"
    return _host(v.strip("[]"))


def _version(v: str) -> str | None:
    return None if KubeVersion.parse(v) is not None else f"not a Kubernetes version (v1.MINOR.PATCH): {v!r}"


def _hosts_csv(v: str) -> str | None:
    for p in (s.strip() for s in v.split(",")):
        if p and _host(p) is not None:
            return f"not an IP address or DNS name: {p!r}"
    return None


def _urls_csv(v: str) -> str | None:
    for p in (s.strip() for s in v.split(",")):
        if p and not re.match(r"^https?://[^\s/]+(:\d+)?/?$", p):
            return f"not an http(s)://HOST:PORT URL: {p!r}"
    return None


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(v: str) -> str | None:
        return None if v in choices else f"expected one of {', '.join(choices)}, got {v!r}"
    return check


def _regex(rx: re.Pattern[str], what: str) -> Callable[[str], str | None]:
    def check(v: str) -> str | None:
        return None if rx.match(v) else f"not {what}: {v!r}"
    return check


# env variables the kubeadm templates use, and the form each must have
ENV_TYPES: dict[str, Callable[[str], str | None]] = {
    "PodCIDR": _cidrs, "SvcCIDR": _cidrs, "VIP": _ip, "ApiServer": _dns, "Version": _version,
    "CertSANS": _hosts_csv, "EtcdServers": _urls_csv, "CgroupDriver": _one_of("systemd", "cgroupfs"),
    "CriSocket": _regex(_PATHLIKE, "a socket path"), "Repo": _regex(_PATHLIKE, "a registry/repository"),
    "KubeadmAPI": _regex(_KUBEADM_API, "a kubeadm API version (kubeadm.k8s.io/v1beta2)"),
    "TokenDiscovery": _regex(_TOKEN, "a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})"),
    "TokenDiscoveryCAHash": _regex(_CA_HASH, "a CA hash (sha256:HEX)"),
}


def check_env_value(key: str, value: str) -> str | None:
    """None when ``KEY=value`` is acceptable, else why not."""
    m = _CONTROL.search(value)
    if m:
        what = "a newline" if m.group(0) in "\r\n" else f"control character {m.group(0)!r}"
        return f"value of {key} contains {what} (it would inject YAML into the kubeadm configuration)"
    check = ENV_TYPES.get(key)
    if check is not None:
        problem = check(value.strip())
        if problem:
            return f"{key}: {problem}"
    return None


# --- kubeadm documents ------------------------------------------------------------------------------------

MAP, LIST, STR, INT, BOOL = "a mapping", "a list", "a string", "a number", "a boolean"
Spec = str | Callable[[str], str | None]

_ENDPOINT: dict[str, Spec] = {"localAPIEndpoint": MAP, "localAPIEndpoint.advertiseAddress": _ip,
                              "localAPIEndpoint.bindPort": INT}
_NODEREG: dict[str, Spec] = {"nodeRegistration": MAP, "nodeRegistration.name": STR,
                             "nodeRegistration.criSocket": STR, "nodeRegistration.taints": LIST,
                             "nodeRegistration.kubeletExtraArgs": MAP,
                             "nodeRegistration.ignorePreflightErrors": LIST}
_COMPONENT: dict[str, Spec] = {}
for _c in ("apiServer", "controllerManager", "scheduler"):
    _COMPONENT.update({_c: MAP, f"{_c}.extraArgs": MAP, f"{_c}.extraVolumes": LIST})

KUBEADM_FIELDS: dict[str, dict[str, Spec]] = {
    "ClusterConfiguration": {
        "kubernetesVersion": _version, "controlPlaneEndpoint": _host_port, "imageRepository": STR,
        "clusterName": STR, "networking": MAP, "networking.podSubnet": _cidrs, "networking.serviceSubnet": _cidrs,
        "networking.dnsDomain": _dns, "apiServer.certSANs": LIST, "apiServer.certSANs[]": _host,
        "apiServer.timeoutForControlPlane": STR, "etcd": MAP, "etcd.local": MAP, "etcd.local.extraArgs": MAP,
        "etcd.external": MAP, "etcd.external.endpoints": LIST, "dns": MAP, "featureGates": MAP, **_COMPONENT,
    },
    "InitConfiguration": {**_ENDPOINT, **_NODEREG, "bootstrapTokens": LIST, "certificateKey": STR},
    "JoinConfiguration": {**_NODEREG, "controlPlane": MAP, "controlPlane.localAPIEndpoint": MAP,
                          "controlPlane.localAPIEndpoint.advertiseAddress": _ip,
                          "controlPlane.localAPIEndpoint.bindPort": INT, "discovery": MAP,
                          "discovery.bootstrapToken": MAP, "discovery.bootstrapToken.apiServerEndpoint": _host_port,
                          "discovery.bootstrapToken.caCertHashes": LIST, "discovery.timeout": STR},
    "KubeletConfiguration": {"cgroupDriver": _one_of("systemd", "cgroupfs"), "clusterDNS": LIST,
                             "clusterDNS[]": _ip, "clusterDomain": _dns, "maxPods": INT, "failSwapOn": BOOL,
                             "evictionHard": MAP, "kubeReserved": MAP, "systemReserved": MAP, "featureGates": MAP},
    "KubeProxyConfiguration": {"mode": _one_of("", "iptables", "ipvs", "userspace", "kernelspace"),
                               "clusterCIDR": _cidrs, "ipvs": MAP, "iptables": MAP, "featureGates": MAP},
}


def _typename(value: Any) -> str:
    if isinstance(value, bool):
        return BOOL
    return {dict: MAP, list: LIST, str: STR, int: INT, float: INT, type(None): "nothing"}.get(
        type(value), type(value).__name__)


def _walk(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(concrete path, value) of every node below ``data``; list items are ``path[i]``."""
    if isinstance(data, Mapping):
        for k, v in data.items():
            key = f"{path}.{k}" if path else str(k)
            yield key, v
            yield from _walk(v, key)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield f"{path}[{i}]", v
            yield from _walk(v, f"{path}[{i}]")


def _schema_key(concrete: str) -> str:
    return re.sub(r"\[\d+\]", "[]", concrete)


def check_kubeadm_document(kind: str, data: Mapping[str, Any]) -> None:
    """Raise :class:`TypeProblem` for the first field whose value has the wrong type or form."""
    schema = KUBEADM_FIELDS.get(kind, {})
    for concrete, value in _walk(data):
        spec = schema.get(_schema_key(concrete))
        if spec is None:
            continue
        if isinstance(spec, str):
            if _typename(value) != spec:
                raise TypeProblem(concrete, f"expected {spec}, got {_typename(value)}")
            continue
        if not isinstance(value, str):
            raise TypeProblem(concrete, f"expected {STR}, got {_typename(value)}")
        problem = spec(value)
        if problem:
            raise TypeProblem(concrete, problem)


def check_same_shape(base: Any, override: Any, path: str = "") -> None:
    """An override must keep the shape of what it replaces: a mapping stays a mapping, a list a list."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        for k, v in override.items():
            if k in base:
                check_same_shape(base[k], v, f"{path}.{k}" if path else str(k))
        return
    for shape in (dict, list):
        if isinstance(base, shape) and not isinstance(override, shape):
            raise TypeProblem(path, f"expected {_typename(base)} (as in the template), got {_typename(override)}")
        if isinstance(override, shape) and not isinstance(base, shape) and base is not None:
            raise TypeProblem(path, f"expected {_typename(base)} (as in the template), got {_typename(override)}")

"""The data the kubeadm templates are rendered with, and where each value came from.

Precedence for every variable: host ``env`` > ``spec.env`` > derived/default
(docs/cluster-config.md has the table).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from sealer.cluster.clusterfile import Cluster
from sealer.cluster.versions import KubeVersion, cgroup_driver, cri_socket, kubeadm_api
from sealer.errors import ClusterConfigError

DEFAULT_VIP = "10.103.97.2"
DEFAULT_APISERVER = "apiserver.cluster.local"
DEFAULT_POD_CIDR = "100.64.0.0/10"
DEFAULT_SVC_CIDR = "10.96.0.0/22"
TOKEN_PLACEHOLDER = "<token-from-kubeadm-init-on-master0>"
CA_HASH_PLACEHOLDER = "<ca-cert-hash-from-kubeadm-init-on-master0>"

VARIABLE_NAMES: tuple[str, ...] = (
    "KubeadmAPI", "Master0", "Master", "VIP", "CriSocket", "Version", "ApiServer", "Repo",
    "PodCIDR", "SvcCIDR", "CertSANS", "EtcdServers", "CgroupDriver", "TokenDiscovery", "TokenDiscoveryCAHash",
)


@dataclass(frozen=True)
class TemplateVariables:
    """Values for one host, plus the source of each (``default``, ``spec.env``, ``Metadata``...)."""

    values: dict[str, str | list[str]]
    sources: dict[str, str] = field(default_factory=dict)

    def data(self) -> dict[str, str | list[str]]:
        return dict(self.values)

    @property
    def placeholders(self) -> list[str]:
        """Variables still holding a placeholder (known only once master0 is initialised)."""
        return [k for k, v in self.values.items() if v in (TOKEN_PLACEHOLDER, CA_HASH_PLACEHOLDER)]

    def to_json(self) -> dict[str, Any]:
        return {k: {"value": v, "source": self.sources.get(k, "default")} for k, v in self.values.items()}


def generate_bootstrap_token() -> str:
    """A fresh kubeadm bootstrap token (``[a-z0-9]{6}.[a-z0-9]{16}``)."""
    alphabet = string.ascii_lowercase + string.digits
    pick = "".join(secrets.choice(alphabet) for _ in range(22))
    return f"{pick[:6]}.{pick[6:]}"


def build_variables(
    cluster: Cluster,
    host: str,
    *,
    image_version: str | None,
    version_source: str = "Metadata",
    token: str | None = None,
    ca_cert_hash: str | None = None,
) -> TemplateVariables:
    """Template data for ``host`` (an IP of ``cluster``).

    ``image_version`` is the image's ``Metadata`` version; a ``ClusterConfiguration``
    document's ``kubernetesVersion`` or ``Version`` in env override it. ``token`` and
    ``ca_cert_hash`` are the join credentials once master0 has been initialised.
    """
    cluster.host(host)  # validates the host
    env = cluster.host_env(host)
    host_env = dict(cluster.host(host).env)
    values: dict[str, str | list[str]] = {}
    sources: dict[str, str] = {}

    def pick(name: str, default: str, source: str = "default") -> str:
        if name in host_env:
            values[name], sources[name] = host_env[name], f"spec.hosts env of {host}"
        elif name in env:
            values[name], sources[name] = env[name], "spec.env"
        else:
            values[name], sources[name] = default, source
        value = values[name]
        assert isinstance(value, str)
        return value

    version_text, vsource = image_version, version_source
    cc = cluster.kubeadm_document("ClusterConfiguration")
    if cc is not None and isinstance(cc.data.get("kubernetesVersion"), str):
        version_text, vsource = cc.data["kubernetesVersion"], cc.label
    version_str = pick("Version", version_text or "", vsource)
    if not version_str:
        raise ClusterConfigError("cannot tell the Kubernetes version: the image has no Metadata 'version' and the "
                                 "Clusterfile sets neither Version in spec.env nor ClusterConfiguration."
                                 "kubernetesVersion", cluster.file)
    version = KubeVersion.parse(version_str)
    if version is None:
        raise ClusterConfigError(f"Kubernetes version {version_str!r} is not of the form v1.MINOR.PATCH "
                                 f"(from {sources['Version']})", cluster.file)

    masters = cluster.masters
    pick("KubeadmAPI", kubeadm_api(version), f"derived from Version {version}")
    values["Master0"], sources["Master0"] = masters[0], "first master in spec.hosts"
    is_master = host in masters
    values["Master"] = host if is_master else ""
    sources["Master"] = "this host (a master)" if is_master else "empty: this host is a node"
    vip = pick("VIP", DEFAULT_VIP)
    pick("CriSocket", cri_socket(cluster.runtime, version), f"derived from runtime {cluster.runtime}")
    apiserver = pick("ApiServer", DEFAULT_APISERVER)
    pick("Repo", f"{cluster.registry}/library", "spec.registry")
    pick("PodCIDR", DEFAULT_POD_CIDR)
    pick("SvcCIDR", DEFAULT_SVC_CIDR)
    sans = ["127.0.0.1", apiserver, *masters, vip]
    extra = [s.strip() for s in env.get("CertSANS", "").split(",") if s.strip()]
    values["CertSANS"] = list(dict.fromkeys(sans + extra))
    sources["CertSANS"] = "127.0.0.1, ApiServer, master IPs, VIP" + (" + spec.env CertSANS" if extra else "")
    pick("EtcdServers", ",".join(f"https://{ip}:2379" for ip in masters), "derived from master IPs")
    pick("CgroupDriver", cgroup_driver(cluster.runtime), f"derived from runtime {cluster.runtime}")
    if token is not None:
        values["TokenDiscovery"], sources["TokenDiscovery"] = token, "given by the caller"
    else:
        pick("TokenDiscovery", TOKEN_PLACEHOLDER, "placeholder until kubeadm init runs on master0")
    if ca_cert_hash is not None:
        values["TokenDiscoveryCAHash"], sources["TokenDiscoveryCAHash"] = ca_cert_hash, "given by the caller"
    else:
        pick("TokenDiscoveryCAHash", CA_HASH_PLACEHOLDER, "placeholder until kubeadm init runs on master0")
    ordered = {k: values[k] for k in VARIABLE_NAMES}
    return TemplateVariables(ordered, {k: sources[k] for k in VARIABLE_NAMES})

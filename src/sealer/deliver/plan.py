"""What one delivery puts where: the cluster, the exported rootfs, roles and the paths on each host."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sealer.cluster.clusterfile import Cluster
from sealer.cluster.registry_config import load_registry_config
from sealer.cluster.registry_proxy import proxy_endpoints

DEFAULT_DATA_ROOT = "/var/lib/sealer/data"
MARK = "sealer-py"  # tags every line and file we add outside the data root


@dataclass(frozen=True)
class HostPaths:
    """Paths on a host: ``<data root>/<cluster>/rootfs`` (sealer's layout) and our bookkeeping in ``.sealer``."""

    cluster_dir: str

    @property
    def rootfs(self) -> str:
        return f"{self.cluster_dir}/rootfs"

    @property
    def meta(self) -> str:
        return f"{self.cluster_dir}/.sealer"

    @property
    def phases(self) -> str:
        return f"{self.meta}/phases.json"

    @property
    def manifest(self) -> str:
        return f"{self.meta}/manifest.json"

    @property
    def registry_dir(self) -> str:
        return f"{self.meta}/registry"

    @property
    def join_file(self) -> str:
        return f"{self.meta}/join.json"

    @property
    def kubeadm_config(self) -> str:
        return f"{self.rootfs}/etc/kubeadm.yml"


@dataclass
class Plan:
    cluster: Cluster
    image: str
    rootfs: Path
    data_root: str = DEFAULT_DATA_ROOT
    cmds: list[str] = field(default_factory=list)
    cached_images: list[str] = field(default_factory=list)
    auth: Any = None  # sealer.deliver.registryauth.RegistryAuth: the registry's credentials, if any
    tls: Any = None  # sealer.deliver.tls.RegistryTLS: the registry serves HTTPS with this CA and certificate

    @property
    def secrets(self) -> tuple[str, ...]:
        """Text redacted from remote output (the registry password)."""
        return (self.auth.password,) if self.auth is not None else ()

    @property
    def paths(self) -> HostPaths:
        return HostPaths(str(PurePosixPath(self.data_root) / self.cluster.name))

    @property
    def master0(self) -> str:
        return self.cluster.masters[0]

    @property
    def registry_host(self) -> str | None:
        """master0, the first host that runs the image's registry; None with an external registry."""
        return None if self.cluster.external_registry else self.master0

    @functools.cached_property
    def proxy_registries(self) -> tuple[str, ...]:
        """``<domain>:<port>`` of the pull-through proxies master0 runs for the image's
        ``etc/registry_config.yaml`` (ports 5001…), as the hosts reach them; none with an external registry."""
        cfg = self.rootfs / "etc" / "registry_config.yaml"
        if self.registry_host is None or not cfg.is_file():
            return ()
        return tuple(proxy_endpoints(load_registry_config(cfg), self.cluster.registry_domain).values())

    @property
    def registry_hosts(self) -> list[str]:
        """Every host that runs the image's registry (all masters with ``localRegistry.ha: true``)."""
        return self.cluster.registry_hosts

    @property
    def all_hosts(self) -> list[str]:
        return [*self.cluster.masters, *self.cluster.nodes]

    def role(self, ip: str) -> str:
        if ip == self.master0:
            return "master0"
        return "master" if ip in self.cluster.masters else "node"

    @property
    def version(self) -> str | None:
        meta = self.rootfs / "Metadata"
        if not meta.is_file():
            return None
        try:
            v = json.loads(meta.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            return None
        return v if isinstance(v, str) else None

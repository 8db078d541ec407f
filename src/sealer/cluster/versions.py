"""Kubernetes version → kubeadm API, CRI socket and cgroup driver defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Runtime = Literal["docker", "containerd"]
RUNTIMES: tuple[Runtime, ...] = ("docker", "containerd")

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


@dataclass(frozen=True, order=True)
class KubeVersion:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> KubeVersion | None:
        m = _VERSION.match(text.strip())
        if m is None:
            return None
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"


def kubeadm_api(version: KubeVersion) -> str:
    """The kubeadm config API a kubeadm of ``version`` reads.

    v1beta1 up to 1.14, v1beta2 for 1.15–1.21, v1beta3 from 1.22. kubeadm 1.31 adds
    v1beta4 but still reads v1beta3 (deprecated); v1beta4 turns every ``extraArgs``
    map into a ``[{name, value}]`` list, which the spec's default templates do not
    use, so v1beta3 is kept for 1.31+ too (docs/cluster-config.md).
    """
    if (version.major, version.minor) < (1, 15):
        return "kubeadm.k8s.io/v1beta1"
    if (version.major, version.minor) < (1, 22):
        return "kubeadm.k8s.io/v1beta2"
    return "kubeadm.k8s.io/v1beta3"


def cri_socket(runtime: Runtime, version: KubeVersion) -> str:
    """The CRI endpoint kubelet talks to.

    docker: dockershim's socket; dockershim left the kubelet in 1.24, after which
    docker is reached through cri-dockerd's socket.
    """
    if runtime == "containerd":
        return "/run/containerd/containerd.sock"
    if (version.major, version.minor) >= (1, 24):
        return "/var/run/cri-dockerd.sock"
    return "/var/run/dockershim.sock"


def cgroup_driver(runtime: Runtime) -> str:
    """Default kubelet cgroup driver matching the runtime as a cluster image configures it.

    sealer asks the live host (``docker info``, ``SystemdCgroup`` in containerd's
    config.toml); offline we use what each runtime does out of the box in a sealer
    rootfs: docker's default ``cgroupfs``; containerd configured with
    ``SystemdCgroup = true``, i.e. ``systemd``. Override with ``CgroupDriver`` in
    ``spec.env``.
    """
    return "cgroupfs" if runtime == "docker" else "systemd"

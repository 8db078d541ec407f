"""Which ``imageRepository`` kubeadm gets, so every core image it pulls is in the image's registry.

sealer v0.7 bases cached the core images under ``library/`` (``sea.hub:5000/library/kube-apiserver``);
images cached from ``registry.k8s.io``/``k8s.gcr.io`` (v0.8 bases, and our lite builds) are stored
without a prefix (``kube-apiserver``), and ``registry.k8s.io/coredns/coredns`` keeps its ``coredns/``
path. The rule (docs/delivery.md): look at the repositories in the image's ``registry/``:

1. ``kube-apiserver`` at the top → ``<registry>``; when CoreDNS is only there as ``coredns/coredns``,
   ``dns.imageRepository`` becomes ``<registry>/coredns`` (a custom repository makes kubeadm ask for
   ``<repo>/coredns``);
2. else ``library/kube-apiserver`` → ``<registry>/library``;
3. else (the image caches no core images) nothing changes: the rendered templates' ``{{.Repo}}`` stays.

An explicit ``Repo`` in the Clusterfile env or ``imageRepository`` in a ClusterConfiguration document wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPOSITORIES = Path("registry/docker/registry/v2/repositories")


@dataclass(frozen=True)
class RepoChoice:
    image_repository: str | None
    dns_repository: str | None
    reason: str


def _has(repos: Path, name: str) -> bool:
    return (repos / name / "_manifests").is_dir()


def choose(rootfs: Path, registry: str) -> RepoChoice:
    repos = rootfs / REPOSITORIES
    if _has(repos, "kube-apiserver"):
        dns = None
        if not _has(repos, "coredns") and _has(repos, "coredns/coredns"):
            dns = f"{registry}/coredns"
        return RepoChoice(registry, dns, "core images cached under their upstream names")
    if _has(repos, "library/kube-apiserver"):
        return RepoChoice(f"{registry}/library", None, "core images cached under library/ (sealer v0.7 base)")
    return RepoChoice(None, None, "the image caches no core images")


def apply_choice(cfg: Any, cluster: Any, rootfs: Path) -> None:
    """Set ``imageRepository`` (and CoreDNS's) in ``cfg``'s ClusterConfiguration by :func:`choose`, unless the
    Clusterfile names a ``Repo`` env or its own ``imageRepository``. The one place the rule is applied: delivery
    and ``sealer kubeadm-config`` show the same configuration."""
    if "Repo" in cluster.env:
        return
    override = cluster.kubeadm_document("ClusterConfiguration")
    if override is not None and "imageRepository" in override.data:
        return
    for d in cfg.documents:
        if d.kind != "ClusterConfiguration":
            continue
        choice = choose(rootfs, cluster.registry)
        if choice.image_repository:
            d.data["imageRepository"] = choice.image_repository
        if choice.dns_repository:
            d.data.setdefault("dns", {})
            if isinstance(d.data["dns"], dict):
                d.data["dns"]["imageRepository"] = choice.dns_repository

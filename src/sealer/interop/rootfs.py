"""What a cluster image's rootfs says about itself: Kubernetes binaries, the ``Metadata`` file, and the
images already cached under ``registry/`` (docker-distribution layout)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealer.errors import LocatedError
from sealer.interop import keys
from sealer.interop.base_registry import RegistryTree
from sealer.oci.model import Platform

# Binaries that make an image install Kubernetes itself (sealer's "kube-installer" type):
# kubeadm/kubelet for k8s, and the single-binary distributions sealer also ships (ClusterRuntime k3s, k0s).
KUBE_BINARIES = ("kubeadm", "kubelet", "k3s", "k0s")

_MAX_METADATA = 1 << 20


class RootfsMetadataError(LocatedError):
    """The rootfs ``Metadata`` file exists but is not the JSON object sealer writes (names the file, and the line
    of a JSON syntax error)."""


def is_kube_installer(rootfs: Path) -> bool:
    """True when ``rootfs/bin`` holds Kubernetes node binaries (kubeadm, kubelet, k3s or k0s)."""
    bindir = rootfs / "bin"
    for name in KUBE_BINARIES:
        p = bindir / name
        if p.is_file() or p.is_symlink():
            return True
    return False


@dataclass(frozen=True)
class RootfsMetadata:
    """sealer's ``Metadata`` file (pkg/runtime Metadata struct)::

        {"version": "v1.19.8", "arch": "amd64", "variant": "", "kubeVersion": "", "NydusFlag": false,
         "ClusterRuntime": "k8s"}
    """

    version: str | None            # Kubernetes version the rootfs installs
    arch: str | None
    variant: str | None
    kube_version: str | None       # SemVer constraint on the Kubernetes version (app images)
    cluster_runtime: str | None
    raw: Mapping[str, Any]

    @property
    def platform(self) -> Platform | None:
        if not self.arch:
            return None
        return Platform.parse(f"linux/{self.arch}" + (f"/{self.variant}" if self.variant else ""))

    @classmethod
    def parse(cls, data: bytes, source: str = keys.METADATA_FILE) -> RootfsMetadata:
        """The one reading of ``Metadata``, for build, inspect and kubeadm config alike: a JSON object whose
        known fields, when present, are strings."""
        what = f"read {keys.METADATA_FILE}"
        try:
            doc = json.loads(data)
        except json.JSONDecodeError as e:
            raise RootfsMetadataError(f"{what}: not JSON: {e.msg}", source, e.lineno) from None
        except (ValueError, UnicodeDecodeError) as e:
            raise RootfsMetadataError(f"{what}: not JSON: {e}", source) from None
        if not isinstance(doc, dict):
            raise RootfsMetadataError(f"{what}: not a JSON object", source)

        def s(*names: str) -> str | None:
            for n in names:
                v = doc.get(n)
                if v is not None and not isinstance(v, str):
                    raise RootfsMetadataError(f"{what}: {n!r} must be a string", source)
                if v:
                    return v
            return None

        return cls(version=s("version"), arch=s("arch"), variant=s("variant"),
                   kube_version=s("kubeVersion"), cluster_runtime=s("ClusterRuntime", "cluster_runtime"),
                   raw=doc)


def read_metadata(rootfs: Path) -> RootfsMetadata | None:
    """``rootfs/Metadata``, or None when the rootfs has none."""
    path = rootfs / keys.METADATA_FILE
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_METADATA + 1)
    except OSError as e:
        raise RootfsMetadataError(f"read {keys.METADATA_FILE}: {e.strerror}", str(path)) from None
    if len(data) > _MAX_METADATA:
        raise RootfsMetadataError(f"read {keys.METADATA_FILE}: larger than {_MAX_METADATA} bytes", str(path))
    return RootfsMetadata.parse(data, str(path))


@dataclass(frozen=True)
class CachedImage:
    """A tag present in the rootfs's ``registry/`` (what the delivery registry will serve)."""

    repository: str        # path in the registry, e.g. library/nginx
    tag: str
    digest: str            # sha256:... of the tagged manifest

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}@{self.digest}"


def cached_images(rootfs: Path) -> list[CachedImage]:
    """Every tag in ``rootfs/registry/docker/registry/v2/repositories`` whose manifest blob is present,
    sorted by repository and tag (repositories nest: ``a/b/c``). Read by :class:`RegistryTree`, the one
    reader of the layout (it also lists untagged manifests, platforms and what is missing)."""
    tree = RegistryTree.from_dir(rootfs / keys.REGISTRY_DIR)
    return [CachedImage(i.repository, i.tag, str(i.digest)) for i in tree.images()
            if i.tag and tree.blob_state(i.digest)[0]]

"""Pure assembly of an image from its parts: the config, one manifest per platform, the index. Bytes come out
canonical (the caller stores them); the same parts always give the same digests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sealer.digest import Digest
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor, Index, Manifest, Platform, canonical_json


def image_config(created: str, platform: Platform, labels: Mapping[str, str], diff_ids: Sequence[Digest],
                 history: Sequence[Mapping[str, Any]], env: Mapping[str, str] | None = None) -> bytes:
    """The OCI image config (canonical JSON) of one platform; ``env`` (the Kubefile's ENV) as ``config.Env``."""
    config = {
        "created": created,
        "architecture": platform.architecture,
        "os": platform.os,
        **({"variant": platform.variant} if platform.variant else {}),
        "config": {"Labels": dict(labels), **({"Env": [f"{k}={v}" for k, v in env.items()]} if env else {})},
        "rootfs": {"type": "layers", "diff_ids": [str(d) for d in diff_ids]},
        "history": list(history),
    }
    return canonical_json(config)


def image_manifest(config: bytes, layers: Sequence[Descriptor], annotations: Mapping[str, str]) -> Manifest:
    """The OCI manifest naming ``config`` (its bytes) and ``layers`` (oldest first)."""
    return Manifest(config=Descriptor(mt.OCI_CONFIG, Digest.of_bytes(config), len(config)), layers=tuple(layers),
                    annotations=dict(annotations))


def image_index(manifests: Sequence[Descriptor], annotations: Mapping[str, str]) -> Index:
    """The OCI index over per-platform manifest descriptors (each with its platform)."""
    return Index(tuple(manifests), annotations=dict(annotations))

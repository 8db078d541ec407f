"""Names of the metadata sealer-py writes into a cluster image's config, and readers for it."""

from __future__ import annotations

from typing import Any

from sealer.jsonsafe import loads

LABEL_BUILD_TYPE = "io.sealer.build-type"
LABEL_CMDS = "io.sealer.cmds"              # JSON list of shell lines, base image's first, in order
LABEL_IMAGES = "io.sealer.images"          # JSON list of {reference, digest, platforms, sources}
LABEL_KUBE_VERSION = "io.sealer.kube-version"
LABEL_KUBEFILE = "io.sealer.kubefile"      # the Kubefile text that built the image
LABEL_VERSION = "io.sealer.version"        # sealer's own label: the tool version that built the image
LABEL_PLATFORMS = "io.sealer.platforms"    # JSON list of cached platforms
LABEL_TOOL = "io.sealer.tool"              # "sealer-py"
LABEL_BASE_FORMAT = "io.sealer.base-format"  # format of the FROM image: sealer-py, sealer-v0.8, sealer-v0.9, oci
LABEL_BASE_IMAGE = "io.sealer.base-image"    # FROM reference @ the manifest digest used
LABEL_REGISTRY_CONFIG = "io.sealer.registry-config"  # redacted view of etc/registry_config.yaml

LAYER_ANNOTATION_IMAGES = "io.sealer.cached-images"  # on cached-image layer descriptors


def labels(config: dict[str, Any]) -> dict[str, str]:
    cfg = config.get("config") or config.get("Config") or {}
    got = cfg.get("Labels") or {}
    return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else {}


def json_label(config: dict[str, Any], name: str) -> Any:
    raw = labels(config).get(name)
    if raw is None:
        return None
    try:
        return loads(raw, f"label {name}")
    except ValueError:
        return None


def cmds(config: dict[str, Any]) -> list[str]:
    got = json_label(config, LABEL_CMDS)
    return [str(x) for x in got] if isinstance(got, list) else []


def cached_images(config: dict[str, Any]) -> list[dict[str, Any]]:
    got = json_label(config, LABEL_IMAGES)
    return [x for x in got if isinstance(x, dict)] if isinstance(got, list) else []

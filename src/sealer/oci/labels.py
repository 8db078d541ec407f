"""Every name sealer-py and sealer (Go) put in image metadata (io.sealer.* labels, annotations, rootfs files), the
typed writer of the ``io.sealer.images`` label and the readers of our labels. Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict

from sealer.digest import Digest
from sealer.errors import SealerError
from sealer.jsonsafe import loads

# --- sealer-py: labels our build writes in the image config (config.Labels) ---
LABEL_BUILD_TYPE: Final = "io.sealer.build-type"     # lite | container | cloud
LABEL_CMDS: Final = "io.sealer.cmds"                 # JSON list of shell lines, base image's first, in order
LABEL_IMAGES: Final = "io.sealer.images"             # JSON list of ImageRecord (see images_label)
LABEL_KUBE_VERSION: Final = "io.sealer.kube-version"  # e.g. v1.19.8
LABEL_KUBEFILE: Final = "io.sealer.kubefile"         # the Kubefile text that built the image
LABEL_VERSION: Final = "io.sealer.version"           # the tool version that built the image (sealer Go writes it too)
LABEL_PLATFORMS: Final = "io.sealer.platforms"       # JSON list of cached platforms
LABEL_TOOL: Final = "io.sealer.tool"                 # "sealer-py"
LABEL_BASE_FORMAT: Final = "io.sealer.base-format"   # format of the FROM image: sealer-py, sealer-v0.8, sealer-v0.9, oci
LABEL_BASE_IMAGE: Final = "io.sealer.base-image"     # FROM reference @ the manifest digest used
LABEL_REGISTRY_CONFIG: Final = "io.sealer.registry-config"  # redacted view of etc/registry_config.yaml

LAYER_ANNOTATION_IMAGES: Final = "io.sealer.cached-images"  # on cached-image layer descriptors

# --- sealer v0.5-v0.8: config blob is sealer's ``Image`` object (types/api/v1/image_types.go) ---
IMAGE_KIND: Final = "Image"
CLUSTERFILE_ANNOTATION: Final = "sea.aliyun.com/ClusterFile"   # common.ImageAnnotationForClusterfile
LAYER_FROM: Final = "FROM"
LAYER_COPY: Final = "COPY"
LAYER_RUN: Final = "RUN"
LAYER_CMD: Final = "CMD"
LAYER_ENV: Final = "ENV"
LAYER_BASE: Final = "BASE"                     # common.BaseImageLayerType
BASE_ROOTFS_CACHE: Final = "rootfs cache"      # common.RootfsLayerValue
APP_IMAGE_TYPE: Final = "AppImage"             # ImageConfig.ImageType of application images

# --- sealer v0.9+: OCI manifest annotations (pkg/define/image/v1/sealer_image.go) ---
EXTENSION_ANNOTATION: Final = "sealer.image.extension"
CONTAINER_IMAGES_ANNOTATION: Final = "sealer.image.container.images"
KUBE_INSTALLER: Final = "kube-installer"
APP_INSTALLER: Final = "app-installer"
SCHEMA_VERSION: Final = "v1alpha1"             # ImageSpecSchemaVersionV1Beta1 (sic)
SEALER_VERSION_LABEL: Final = LABEL_VERSION    # config label written by `sealer build` (Go)

# --- rootfs files ---
METADATA_FILE: Final = "Metadata"               # {"version": "v1.19.8", "arch": "amd64", ...}
REGISTRY_DIR: Final = "registry"                # docker-distribution layout of cached images

Format = Literal["sealer-v0.8", "sealer-v0.9", "sealer-py", "oci"]

FORMAT_TITLES: Final[dict[str, str]] = {
    "sealer-v0.8": "sealer v0.5-v0.8 cluster image (docker schema 2, sealer Image config)",
    "sealer-v0.9": "sealer v0.9+ cluster image (OCI, sealer.image.extension annotation)",
    "sealer-py": "sealer-py cluster image (OCI, io.sealer.* labels)",
    "oci": "plain OCI/docker image (no sealer metadata)",
}


class LabelError(SealerError):
    """A label of ours is present but is not what sealer-py writes."""


class ImageRecord(TypedDict):
    """One entry of the ``io.sealer.images`` label: an image cached in the cluster image's ``registry/``."""

    reference: str
    digest: str
    mediaType: str
    platforms: list[str]
    size: int
    sources: list[str]


@dataclass(frozen=True)
class RecordedImage:
    """What a reader needs of an ``io.sealer.images`` entry."""

    reference: str
    digest: Digest
    platforms: tuple[str, ...]


def images_label(images: Sequence[ImageRecord]) -> str:
    """The value of the ``io.sealer.images`` label: the records in build order, as written since the first release."""
    return json.dumps(list(images))


def parse_images_label(text: str) -> list[RecordedImage]:
    """Read an ``io.sealer.images`` value strictly (a bad entry is an error)."""
    try:
        items = loads(text, f"label {LABEL_IMAGES}")
        return [RecordedImage(str(x["reference"]), Digest(str(x["digest"])), tuple(x.get("platforms") or ()))
                for x in items]
    except (ValueError, KeyError, TypeError) as e:
        raise LabelError(f"read label {LABEL_IMAGES}: {e}") from None


def of_config(config: Mapping[str, Any]) -> dict[str, str]:
    """The labels of an image config (``config.Labels``; docker's ``Config`` spelling too)."""
    cfg = config.get("config") or config.get("Config") or {}
    got = cfg.get("Labels") or {}
    return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else {}


def json_label(config: Mapping[str, Any], name: str) -> Any:
    raw = of_config(config).get(name)
    if raw is None:
        return None
    try:
        return loads(raw, f"label {name}")
    except ValueError:
        return None


def cmds(config: Mapping[str, Any]) -> list[str]:
    got = json_label(config, LABEL_CMDS)
    return [str(x) for x in got] if isinstance(got, list) else []


def cached_images(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``io.sealer.images`` entries as written, leniently (for display: bad entries are skipped)."""
    got = json_label(config, LABEL_IMAGES)
    return [x for x in got if isinstance(x, dict)] if isinstance(got, list) else []

"""Names sealer (Go) and sealer-py put in image metadata. See docs/sealer-formats.md for sources."""

from __future__ import annotations

from typing import Final, Literal

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
SEALER_VERSION_LABEL: Final = "io.sealer.version"   # config label written by `sealer build` (Go)

# --- sealer-py: labels our build writes in the image config (config.Labels) ---
LABEL_BUILD_TYPE: Final = "io.sealer.build-type"     # lite | container | cloud
LABEL_CMDS: Final = "io.sealer.cmds"                 # JSON list of CMD strings, base image's first
LABEL_IMAGES: Final = "io.sealer.images"             # JSON list of {reference, digest, platforms}
LABEL_KUBE_VERSION: Final = "io.sealer.kube-version"  # e.g. v1.19.8
LABEL_TOOL: Final = "io.sealer.tool"                 # "sealer-py"
LABEL_BASE_FORMAT: Final = "io.sealer.base-format"   # format of the FROM image (detect().format), if any

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

"""Interoperability with sealer (Go): read its v0.5-v0.8 and v0.9+ cluster images, write the v0.9+
metadata sealer reads; the one reader of the rootfs ``Metadata`` file. Imports oci/ and the leaves only.
Formats and sources: docs/sealer-formats.md."""

from sealer.interop.detect import SealerImageInfo, config_labels, detect, history_layer_kinds, with_rootfs
from sealer.interop.extension import (
    ContainerImage,
    ImageExtension,
    marshal_container_images,
    parse_container_images,
    sealer_annotations,
    sealer_labels,
)
from sealer.interop.legacy import LegacyImage, LegacyLayer, is_legacy_config, parse_legacy
from sealer.interop.rootfs import (
    CachedImage,
    RootfsMetadata,
    RootfsMetadataError,
    cached_images,
    is_kube_installer,
    read_metadata,
)

__all__ = [
    "CachedImage", "ContainerImage", "ImageExtension", "LegacyImage", "LegacyLayer", "RootfsMetadata",
    "RootfsMetadataError", "SealerImageInfo", "cached_images", "config_labels", "detect",
    "history_layer_kinds", "is_kube_installer", "is_legacy_config", "marshal_container_images",
    "parse_container_images", "parse_legacy", "read_metadata", "sealer_annotations", "sealer_labels",
    "with_rootfs",
]

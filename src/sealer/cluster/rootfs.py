"""What the cluster configuration reads from an unpacked image rootfs. The ``Metadata`` reader is
:mod:`sealer.interop.rootfs` (one reader, one error policy), re-exported here under its former names."""

from __future__ import annotations

from pathlib import Path

from sealer.interop.keys import METADATA_FILE as METADATA
from sealer.interop.rootfs import RootfsMetadata as ImageMetadata
from sealer.interop.rootfs import RootfsMetadataError, read_metadata

__all__ = ["METADATA", "ImageMetadata", "RootfsMetadataError", "etc_dir", "read_metadata"]


def etc_dir(rootfs: Path) -> Path:
    return rootfs / "etc"

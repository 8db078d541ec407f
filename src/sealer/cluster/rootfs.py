"""What the cluster configuration reads from an unpacked image rootfs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealer.errors import ClusterConfigError

METADATA = "Metadata"


@dataclass(frozen=True)
class ImageMetadata:
    """The rootfs ``Metadata`` JSON (``{"version": "v1.19.8", "arch": "amd64", ...}``)."""

    version: str | None
    arch: str | None
    variant: str | None
    raw: dict[str, Any]


def read_metadata(rootfs: Path) -> ImageMetadata | None:
    """``rootfs/Metadata``, or None when the image has none."""
    path = rootfs / METADATA
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ClusterConfigError(f"read image metadata: {e}", str(path)) from None
    except json.JSONDecodeError as e:
        raise ClusterConfigError(f"parse image metadata: {e.msg}", str(path), e.lineno) from None
    if not isinstance(raw, dict):
        raise ClusterConfigError("parse image metadata: expected a JSON object", str(path))

    def text(key: str) -> str | None:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise ClusterConfigError(f"parse image metadata: {key!r} must be a string", str(path))
        return value or None

    return ImageMetadata(version=text("version"), arch=text("arch"), variant=text("variant"), raw=raw)


def etc_dir(rootfs: Path) -> Path:
    return rootfs / "etc"

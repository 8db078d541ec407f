"""Image discovery for lite builds and ``sealer find-images``.

    from sealer.discover import discover
    result = discover(rootfs, deep=False, kube_version="v1.33.0")
    for img in result.images:
        print(img.reference, [str(s) for s in img.sources])

Modules: ``safeyaml`` (bounded streaming YAML nodes), ``podspec`` (strict pod-spec images),
``deep`` (extended heuristics), ``scanner`` (YAML streams), ``imagelist`` (imageList / ignore),
``files`` (walking without leaving the root), ``charts`` + ``renderpool`` + ``render_worker``
(Helm rendering in killable worker processes), ``settings`` (``manifests/.sealer-discover.yaml``),
``find`` (the orchestration: ``discover()``). See docs/discovery.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sealer.discover.find import IGNORE_LIST, IMAGE_LIST, discover
from sealer.discover.model import DiscoveryErrors, DiscoveryResult, FoundImage, ImageSource
from sealer.discover.settings import SETTINGS_FILE, Settings
from sealer.errors import DiscoveryError

if TYPE_CHECKING:
    from sealer.discover.scanner import images_from_yaml_text

__all__ = [
    "IGNORE_LIST",
    "IMAGE_LIST",
    "SETTINGS_FILE",
    "DiscoveryError",
    "DiscoveryErrors",
    "DiscoveryResult",
    "FoundImage",
    "ImageSource",
    "Settings",
    "discover",
    "images_from_yaml_text",
]


def __getattr__(name: str) -> Any:
    """``images_from_yaml_text`` loads the YAML scanner (and PyYAML) on first use (PEP 562): a build whose
    context has only an imageList never loads them."""
    if name == "images_from_yaml_text":
        from sealer.discover.scanner import images_from_yaml_text

        return images_from_yaml_text
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

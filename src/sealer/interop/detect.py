"""Recognise which tool wrote a cluster image and read its metadata into one model.

Formats, checked in this order:

* ``sealer-v0.8`` — sealer v0.5-v0.8: config blob is sealer's ``Image`` object (``kind: Image``).
* ``sealer-py`` — ours: ``io.sealer.tool: sealer-py``, ``io.sealer.cmds`` or ``io.sealer.build-type``
  config labels (we also write the v0.9 annotations, which are read into ``extension``).
* ``sealer-v0.9`` — sealer v0.9+: ``sealer.image.extension`` manifest annotation or ``io.sealer.version``
  config label.
* ``oci`` — anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sealer import jsonsafe
from sealer.interop import keys
from sealer.interop.extension import ImageExtension, parse_container_images
from sealer.interop.legacy import is_legacy_config, parse_legacy
from sealer.interop.rootfs import RootfsMetadata, cached_images, read_metadata
from sealer.oci.model import Manifest, ManifestError, Platform


@dataclass
class SealerImageInfo:
    format: keys.Format
    cmds: list[str]                  # in run order; a base's CMDs come before the image's own
    layer_kinds: list[str]           # one per manifest layer, e.g. "COPY manifests .", "BASE registry cache"
    platform: Platform | None
    clusterfile: str | None
    kube_version: str | None
    container_images: list[str]
    extension: dict[str, Any] | None  # sealer.image.extension as Go marshals it (v0.9+ and ours)
    app_names: list[str]
    sealer_version: str | None = None
    image_type: str | None = None    # kube-installer | app-installer (v0.9, ours); AppImage (v0.8 apps)
    build_type: str | None = None    # ours: lite | container | cloud
    base_format: str | None = None   # ours: the format of the image we were built FROM
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """A human name of the format, for ``inspect``."""
        return keys.FORMAT_TITLES[self.format]

    @property
    def is_sealer(self) -> bool:
        return self.format != "oci"

    def with_metadata(self, metadata: RootfsMetadata | None) -> SealerImageInfo:
        """Fill what only the rootfs ``Metadata`` file knows (Kubernetes version, arch) where the image
        metadata was silent."""
        if metadata is None:
            return self
        return replace(self, kube_version=self.kube_version or metadata.version,
                       platform=self.platform or metadata.platform)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["platform"] = str(self.platform) if self.platform else None
        d["title"] = self.title
        return d


def config_labels(config: Mapping[str, Any]) -> dict[str, str]:
    inner = config.get("config") or {}
    labels = inner.get("Labels") if isinstance(inner, Mapping) else None
    if not isinstance(labels, Mapping):
        return {}
    return {str(k): str(v) for k, v in labels.items() if v is not None}


def _config_platform(config: Mapping[str, Any]) -> Platform | None:
    if not config.get("architecture"):
        return None
    return Platform.from_json({"os": config.get("os") or "linux", "architecture": config["architecture"],
                               "variant": config.get("variant") or None})


def _clean_created_by(text: str) -> str:
    t = text.strip()
    for prefix in ("/bin/sh -c #(nop) ", "|0 /bin/sh -c #(nop) "):
        if t.startswith(prefix):
            return t[len(prefix):].strip()
    if t.startswith("/bin/sh -c "):
        return "RUN " + t[len("/bin/sh -c "):].strip()
    return t


def history_layer_kinds(config: Mapping[str, Any], n_layers: int) -> list[str]:
    """``created_by`` of each non-empty history entry, aligned with the manifest layers; empty strings
    when the history does not line up with the layers."""
    hist = config.get("history")
    if isinstance(hist, list):
        kinds = [_clean_created_by(str(h.get("created_by") or "")) for h in hist
                 if isinstance(h, Mapping) and not h.get("empty_layer")]
        if len(kinds) == n_layers:
            return kinds
    return [""] * n_layers


def _json_label(labels: Mapping[str, str], key: str) -> Any:
    try:
        return jsonsafe.loads(labels[key], f"label {key}")
    except jsonsafe.JSONLimitError as e:
        raise ManifestError(str(e)) from None
    except ValueError as e:
        raise ManifestError(f"parse label {key}: not JSON: {e}") from None


def _our_cmds(labels: Mapping[str, str]) -> list[str]:
    if keys.LABEL_CMDS not in labels:
        return []
    v = _json_label(labels, keys.LABEL_CMDS)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ManifestError(f"parse label {keys.LABEL_CMDS}: want a JSON list of strings")
    return list(v)


def _our_images(labels: Mapping[str, str]) -> list[str]:
    if keys.LABEL_IMAGES not in labels:
        return []
    v = _json_label(labels, keys.LABEL_IMAGES)
    if not isinstance(v, list):
        raise ManifestError(f"parse label {keys.LABEL_IMAGES}: want a JSON list")
    out: list[str] = []
    for i, x in enumerate(v):
        ref = x.get("reference") if isinstance(x, Mapping) else x
        if not isinstance(ref, str):
            raise ManifestError(f"parse label {keys.LABEL_IMAGES}: item {i} has no string 'reference'")
        out.append(ref)
    return out


def _detect_legacy(manifest: Manifest, config: Mapping[str, Any]) -> SealerImageInfo:
    img = parse_legacy(config)
    content = img.content_layers
    if len(content) != len(manifest.layers):
        raise ManifestError(
            f"read sealer v0.8 image: config lists {len(content)} layers with content but the manifest has "
            f"{len(manifest.layers)} (sealer itself refuses such an image)")
    return SealerImageInfo(
        format="sealer-v0.8", cmds=img.cmds, layer_kinds=[x.kind for x in content], platform=img.platform,
        clusterfile=img.clusterfile, kube_version=None, container_images=[], extension=None, app_names=[],
        sealer_version=img.sealer_version, image_type=img.image_type, labels=dict(img.labels))


def detect(manifest: Manifest, config: Mapping[str, Any], *,
           metadata: RootfsMetadata | None = None) -> SealerImageInfo:
    """Which format ``manifest`` + ``config`` (the decoded config blob) are, and what they say.

    ``metadata`` (the rootfs ``Metadata`` file, when the caller has unpacked it) supplies the Kubernetes
    version and arch that v0.8 and v0.9 images keep only there. Raises ManifestError when sealer metadata
    is present but malformed.
    """
    if is_legacy_config(config):
        return _detect_legacy(manifest, config).with_metadata(metadata)

    annotations = dict(manifest.annotations or {})
    labels = config_labels(config)
    ext_text = annotations.get(keys.EXTENSION_ANNOTATION, "")
    ext = ImageExtension.parse(ext_text) if ext_text.strip() else None
    images = parse_container_images(annotations.get(keys.CONTAINER_IMAGES_ANNOTATION, ""))
    ours = (labels.get(keys.LABEL_TOOL) == "sealer-py" or keys.LABEL_CMDS in labels
            or keys.LABEL_BUILD_TYPE in labels)
    fmt: keys.Format
    if ours:
        fmt = "sealer-py"
    elif ext is not None or keys.SEALER_VERSION_LABEL in labels:
        fmt = "sealer-v0.9"
    else:
        fmt = "oci"

    if ours:
        cmds = _our_cmds(labels) if keys.LABEL_CMDS in labels else list(ext.cmds if ext else ())
        container_images = _our_images(labels) if keys.LABEL_IMAGES in labels else [c.image for c in images]
    else:
        cmds = list(ext.cmds) if ext else []
        container_images = [c.image for c in images]
    info = SealerImageInfo(
        format=fmt,
        cmds=cmds,
        layer_kinds=history_layer_kinds(config, len(manifest.layers)),
        platform=_config_platform(config),
        clusterfile=annotations.get(keys.CLUSTERFILE_ANNOTATION) or labels.get(keys.CLUSTERFILE_ANNOTATION),
        kube_version=labels.get(keys.LABEL_KUBE_VERSION) or None,
        container_images=container_images,
        extension=ext.to_go() if ext else None,
        app_names=list(ext.app_names) if ext else [],
        sealer_version=(ext.sealer_version if ext and ext.sealer_version else None)
        or labels.get(keys.SEALER_VERSION_LABEL),
        image_type=(ext.type or None) if ext else None,
        build_type=labels.get(keys.LABEL_BUILD_TYPE),
        base_format=labels.get(keys.LABEL_BASE_FORMAT) if ours else None,
        labels=labels,
    )
    return info.with_metadata(metadata)


def with_rootfs(info: SealerImageInfo, rootfs: Path) -> SealerImageInfo:
    """``info`` completed from an unpacked rootfs: Kubernetes version and arch from ``Metadata``, and,
    when the image metadata lists no container images (v0.8), the tags cached under ``registry/``."""
    info = info.with_metadata(read_metadata(rootfs))
    if not info.container_images:
        info = replace(info, container_images=[f"{c.repository}:{c.tag}" for c in cached_images(rootfs)])
    return info

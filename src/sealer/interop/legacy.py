"""Read sealer v0.5-v0.8 cluster images: the config blob is sealer's ``Image`` object.

sealer (Go) pushes each image as a docker schema 2 manifest (under a manifest list) whose config blob
(``application/vnd.docker.container.image.v1+json``) is ``types/api/v1.Image`` marshalled with docker's
``architecture``/``os``/``history`` added (pkg/image/distributionutil/push.go)::

    {"kind": "Image",                    # no apiVersion: the parser sets it to "" (pkg/parser/parser.go:66)
     "metadata": {"name": ..., "annotations": {"sea.aliyun.com/ClusterFile": "<yaml>"}},
     "spec": {"id": ..., "layers": [{"id": "sha256:..", "type": "COPY", "value": ". ."}, ...],
              "sealer_version": ..., "platform": {"architecture", "os", "variant"},
              "image_config": {"image_type", "cmd": {"parent": [...], "current": [...]},
                               "args": {"parent": {...}, "current": {...}}, "labels": {...}}},
     "status": {}, "architecture": "amd64", "os": "linux", "history": [{"created_by": "COPY . ."}, ...]}

Only spec layers with an ``id`` carry content; they map, in order, onto the manifest's layers (sealer's
puller refuses the image when the counts differ). v0.7 recorded CMDs as content-less ``CMD`` layers; v0.8
records them in ``image_config.cmd`` (``parent`` = inherited from the base, ``current`` = this image's),
and sealer runs ``parent`` then ``current``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sealer.interop import keys
from sealer.oci.model import ManifestError, Platform


@dataclass(frozen=True)
class LegacyLayer:
    """One entry of ``spec.layers``."""

    type: str
    value: str
    id: str | None = None        # sealer's layer id (hash of the layer directory), not the blob digest

    @property
    def has_content(self) -> bool:
        return bool(self.id)

    @property
    def kind(self) -> str:
        """``"COPY manifests ."``, ``"BASE registry cache"``."""
        return f"{self.type} {self.value}".strip()


@dataclass(frozen=True)
class LegacyImage:
    name: str | None
    layers: tuple[LegacyLayer, ...]
    platform: Platform | None
    sealer_version: str | None
    image_type: str | None
    parent_cmds: tuple[str, ...]
    current_cmds: tuple[str, ...]
    layer_cmds: tuple[str, ...]          # v0.7: values of CMD layers, in layer order
    args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def cmds(self) -> list[str]:
        """CMDs in the order sealer runs them: v0.7 CMD layers, then the base's, then this image's."""
        return [*self.layer_cmds, *self.parent_cmds, *self.current_cmds]

    @property
    def content_layers(self) -> list[LegacyLayer]:
        """The layers that have a blob in the manifest, in manifest order."""
        return [x for x in self.layers if x.has_content]

    @property
    def clusterfile(self) -> str | None:
        return self.annotations.get(keys.CLUSTERFILE_ANNOTATION) or None


def is_legacy_config(config: Mapping[str, Any]) -> bool:
    return config.get("kind") == keys.IMAGE_KIND and isinstance(config.get("spec"), Mapping)


def _str_list(v: Any, what: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ManifestError(f"read sealer Image config: {what} is not a list of strings")
    return tuple(v)


def _str_map(v: Any, what: str) -> dict[str, str]:
    if v is None:
        return {}
    if not isinstance(v, Mapping) or not all(isinstance(x, str) for x in v.values()):
        raise ManifestError(f"read sealer Image config: {what} is not a string map")
    return {str(k): x for k, x in v.items()}


def _args(v: Any) -> dict[str, str]:
    """``image_config.args``: ``{parent: {..}, current: {..}}`` (v0.7+) or a flat map (early versions)."""
    if isinstance(v, Mapping) and set(v) <= {"parent", "current"} and all(
            isinstance(x, Mapping) or x is None for x in v.values()):
        return {**_str_map(v.get("parent"), "image_config.args.parent"),
                **_str_map(v.get("current"), "image_config.args.current")}
    return _str_map(v, "image_config.args")


def _platform(spec: Mapping[str, Any], config: Mapping[str, Any]) -> Platform | None:
    p = spec.get("platform")
    if isinstance(p, Mapping) and p.get("architecture"):
        return Platform.from_json({"os": p.get("os") or "linux", "architecture": p["architecture"],
                                   "variant": p.get("variant") or None})
    if config.get("architecture"):
        return Platform.from_json({"os": config.get("os") or "linux", "architecture": config["architecture"],
                                   "variant": config.get("variant") or None})
    return None


def parse_legacy(config: Mapping[str, Any]) -> LegacyImage:
    """Read a v0.5-v0.8 config blob (already JSON-decoded)."""
    if not is_legacy_config(config):
        raise ManifestError("read sealer Image config: not a sealer v0.5-v0.8 Image object (kind != Image)")
    spec: Mapping[str, Any] = config["spec"]
    raw_layers = spec.get("layers")
    raw_layers = [] if raw_layers is None else raw_layers
    if not isinstance(raw_layers, list):
        raise ManifestError("read sealer Image config: spec.layers is not a list")
    layers: list[LegacyLayer] = []
    for i, x in enumerate(raw_layers):
        if not isinstance(x, Mapping):
            raise ManifestError(f"read sealer Image config: spec.layers[{i}] is not an object")
        layers.append(LegacyLayer(type=str(x.get("type") or "").upper(), value=str(x.get("value") or ""),
                                  id=str(x["id"]) if x.get("id") else None))
    ic = spec.get("image_config")
    ic = {} if ic is None else ic
    if not isinstance(ic, Mapping):
        raise ManifestError("read sealer Image config: spec.image_config is not an object")
    cmd = ic.get("cmd")
    cmd = {} if cmd is None else cmd
    if not isinstance(cmd, Mapping):
        raise ManifestError("read sealer Image config: spec.image_config.cmd is not an object")
    meta = config.get("metadata") or {}
    annotations = _str_map(meta.get("annotations") if isinstance(meta, Mapping) else None,
                           "metadata.annotations")
    return LegacyImage(
        name=str(meta["name"]) if isinstance(meta, Mapping) and meta.get("name") else None,
        layers=tuple(layers),
        platform=_platform(spec, config),
        sealer_version=str(spec["sealer_version"]) if spec.get("sealer_version") else None,
        image_type=str(ic["image_type"]) if ic.get("image_type") else None,
        parent_cmds=_str_list(cmd.get("parent"), "image_config.cmd.parent"),
        current_cmds=_str_list(cmd.get("current"), "image_config.cmd.current"),
        layer_cmds=tuple(x.value for x in layers if x.type == keys.LAYER_CMD and not x.has_content),
        args=_args(ic.get("args")),
        labels=_str_map(ic.get("labels"), "image_config.labels"),
        annotations=annotations,
    )

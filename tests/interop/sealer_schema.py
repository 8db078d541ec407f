"""JSON Schemas of sealer's v0.9+ annotations, written from sealer's Go struct tags.

Sources (sealerio/sealer, v0.9.3 = a51d0ec043c7, HEAD = f4f89c5853ae):
* ImageExtension: a51d0ec0:pkg/define/image/v1/sealer_image.go:86-104 (buildClient, schemaVersion, type omitempty,
  applications omitempty, labels omitempty, launch); f4f89c58:pkg/define/image/v1/sealer_image.go:86-109 adds
  ``env,omitempty``.
* BuildClient: a51d0ec0:pkg/define/image/v1/sealer_image.go:106-110 (f4f89c58: 111-115).
* Launch: a51d0ec0:pkg/define/image/v1/sealer_image.go:112-130 (cmds, app_names, appConfigs, all omitempty;
  ApplicationConfig{name, launch *{cmds}}); f4f89c58:pkg/define/image/v1/sealer_image.go:117-122 drops appConfigs.
* ContainerImage: f4f89c58:pkg/define/image/v1/sealer_image.go:62-73.
* Application: f4f89c58:pkg/define/application/v1/application.go:27-38.
* Platform: sealerio/sealer@884513ea:types/api/v1/image_types.go:95-103.
* schemaVersion "v1alpha1": a51d0ec0:pkg/define/image/v1/sealer_image.go:35; types: lines 32-33.

Go's ``encoding/json`` rules encoded here:
* a field without ``omitempty`` is always written -> ``required``;
* ``omitempty`` drops "", empty slices and empty maps -> when present they are non-empty
  (``minLength``/``minItems``/``minProperties``); ``omitempty`` on a struct field has no effect;
* a nil pointer without ``omitempty`` is written as ``null``;
* unknown names would be silently ignored by Go, so ``additionalProperties: false`` catches misspelt tags.
"""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_NONEMPTY_STR = {"type": "string", "minLength": 1}
_NONEMPTY_STR_LIST = {"type": "array", "minItems": 1, "items": _STR}
_NONEMPTY_STR_MAP = {"type": "object", "minProperties": 1, "additionalProperties": _STR}

PLATFORM: dict[str, Any] = {   # types/api/v1.Platform: every field omitempty
    "type": "object",
    "additionalProperties": False,
    "properties": {"architecture": _NONEMPTY_STR, "os": _NONEMPTY_STR, "os_version": _NONEMPTY_STR,
                   "variant": _NONEMPTY_STR},
}

APPLICATION: dict[str, Any] = {   # application/v1.Application (sealerio/sealer f4f89c5)
    # NameVar `json:"name"`; TypeVar `json:"type,omitempty"`; FilesVar []string `json:"files,omitempty"`;
    # VersionVar `json:"version,omitempty"`; AppEnv map[string]string `json:"env,omitempty"`;
    # AppCMDs []string `json:"cmds,omitempty"` (f4f89c58:pkg/define/application/v1/application.go:26-39). type: the
    # build's getApplicationType gives helm, kube or shell, and "" (omitted) when unknown
    # (f4f89c58:build/kubefile/parser/utils.go:126-200, pkg/define/application/types.go:18-21).
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {"name": _STR, "type": {"enum": ["helm", "kube", "shell"]}, "files": _NONEMPTY_STR_LIST,
                   "version": _NONEMPTY_STR, "env": _NONEMPTY_STR_MAP, "cmds": _NONEMPTY_STR_LIST},
}

APP_CONFIG: dict[str, Any] = {   # v0.9.3 Launch.AppConfigs items (a51d0ec0:pkg/define/image/v1/sealer_image.go:122-130)
    # Name `json:"name"`; Launch *ApplicationConfigLaunch `json:"launch"` (nil -> null); CMDs []string `json:"cmds"`
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "launch"],
    "properties": {"name": _STR, "launch": {"oneOf": [
        {"type": "null"},
        {"type": "object", "additionalProperties": False, "required": ["cmds"],
         "properties": {"cmds": {"oneOf": [{"type": "null"}, {"type": "array", "items": _STR}]}}}]}},
}

IMAGE_EXTENSION: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "sealer.image.extension (ImageExtension)",
    "type": "object",
    "additionalProperties": False,
    "required": ["buildClient", "schemaVersion", "launch"],
    "properties": {
        "buildClient": {
            "type": "object", "additionalProperties": False,
            "required": ["sealerVersion", "buildahVersion"],
            "properties": {"sealerVersion": _STR, "buildahVersion": _STR},
        },
        "schemaVersion": {"const": "v1alpha1"},
        "type": {"enum": ["kube-installer", "app-installer"]},
        "applications": {"type": "array", "minItems": 1, "items": APPLICATION},
        "labels": _NONEMPTY_STR_MAP,
        "env": _NONEMPTY_STR_MAP,
        "launch": {
            "type": "object", "additionalProperties": False,
            "properties": {"cmds": _NONEMPTY_STR_LIST, "app_names": _NONEMPTY_STR_LIST,
                           "appConfigs": {"type": "array", "minItems": 1, "items": APP_CONFIG}},
        },
    },
}

CONTAINER_IMAGES: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "sealer.image.container.images ([]*ContainerImage)",
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["image", "platform"],
        "properties": {"image": _STR, "appName": _NONEMPTY_STR, "platform": {"oneOf": [{"type": "null"}, PLATFORM]}},
    },
}


# ---- v0.5-v0.8: the config blob of a pushed image (dockerManifestConfig over v1.Image) -----------------------
# sealerio/sealer@884513ea (v0.8.6): types/api/v1/image_types.go:25-103, pkg/image/distributionutil/push.go:316-353;
# v0.7.1 = 2a4d2012: types/api/v1/image_types.go:25-86; v0.5.2 = 858ece99: types/api/v1/image_types.go:25-75.
_NULL_OR_STR_MAP = {"oneOf": [{"type": "null"}, {"type": "object", "additionalProperties": _STR}]}

LEGACY_LAYER: dict[str, Any] = {   # Layer{ID `id,omitempty`; Type `type,omitempty`; Value `value,omitempty`}
    "type": "object",
    "additionalProperties": False,
    "properties": {"id": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}, "type": _NONEMPTY_STR,
                   "value": _NONEMPTY_STR},
}

IMAGE_CONFIG_V08: dict[str, Any] = {   # 884513ea:types/api/v1/image_types.go:73-93 (cmd and args: structs, always)
    "type": "object",
    "additionalProperties": False,
    "required": ["cmd", "args"],
    "properties": {
        "image_type": _NONEMPTY_STR,
        "cmd": {"type": "object", "additionalProperties": False,
                "properties": {"parent": _NONEMPTY_STR_LIST, "current": _NONEMPTY_STR_LIST}},
        "args": {"type": "object", "additionalProperties": False,
                 "properties": {"parent": _NONEMPTY_STR_MAP, "current": _NONEMPTY_STR_MAP}},
        "labels": _NONEMPTY_STR_MAP,
    },
}

IMAGE_CONFIG_V07: dict[str, Any] = {   # 2a4d2012:types/api/v1/image_types.go:74-77 (no omitempty: nil -> null)
    "type": "object",
    "additionalProperties": False,
    "required": ["args", "labels"],
    "properties": {"args": _NULL_OR_STR_MAP, "labels": _NULL_OR_STR_MAP},
}

LEGACY_IMAGE_CONFIG_BLOB: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "sealer v0.5-v0.8 pushed config blob (dockerManifestConfig{v1.Image, architecture, os, history})",
    "type": "object",
    "additionalProperties": False,
    # TypeMeta inline (kind, apiVersion: omitempty; parser.go:66 sets Kind "Image", APIVersion ""); ObjectMeta,
    # Spec and Status are structs: always written.
    "required": ["kind", "metadata", "spec", "status"],
    "properties": {
        "kind": {"const": "Image"},
        "apiVersion": _NONEMPTY_STR,
        "metadata": {"type": "object", "required": ["creationTimestamp"],
                     "properties": {"name": _NONEMPTY_STR,
                                    "creationTimestamp": {"oneOf": [{"type": "null"}, _STR]},
                                    "annotations": _NONEMPTY_STR_MAP}},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["platform"],   # Platform `json:"platform"`; image_config from v0.7 (see allOf)
            "properties": {
                "id": _NONEMPTY_STR,
                "mergedLayer": _NONEMPTY_STR,   # v0.5.2, v0.7.1 only
                "layers": {"type": "array", "minItems": 1, "items": LEGACY_LAYER},
                "sealer_version": _NONEMPTY_STR,
                "platform": PLATFORM,
                "image_config": {"oneOf": [IMAGE_CONFIG_V08, IMAGE_CONFIG_V07]},
            },
        },
        "status": {"type": "object", "maxProperties": 0},   # ImageStatus{}: "status":{}
        "architecture": _NONEMPTY_STR,
        "os": _NONEMPTY_STR,
        "history": {"type": "array", "minItems": 1, "items": {   # dockerImageLayerInfo, push.go:316-320
            "type": "object", "additionalProperties": False,
            "properties": {"created": _NONEMPTY_STR, "created_by": _NONEMPTY_STR, "empty_layer": {"const": True}}}},
    },
}

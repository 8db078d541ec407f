"""sealer v0.9+ image metadata: the ``sealer.image.extension`` and ``sealer.image.container.images``
manifest annotations, read and written exactly as sealer's Go structs marshal them.

Go structs (pkg/define/image/v1/sealer_image.go, types/api/v1/image_types.go), fields in declaration order::

    ImageExtension {BuildClient BuildClient `json:"buildClient"`; SchemaVersion string `json:"schemaVersion"`;
                    Type string `json:"type,omitempty"`; Applications []Application `json:"applications,omitempty"`;
                    Labels map[string]string `json:"labels,omitempty"`; Env map[string]string `json:"env,omitempty"`;
                    Launch Launch `json:"launch,omitempty"`}          # omitempty never drops a struct
    BuildClient    {SealerVersion string `json:"sealerVersion"`; BuildahVersion string `json:"buildahVersion"`}
    Launch         {Cmds []string `json:"cmds,omitempty"`; AppNames []string `json:"app_names,omitempty"`}
    Application    {NameVar string `json:"name"`; TypeVar string `json:"type,omitempty"`;
                    FilesVar []string `json:"files,omitempty"`; VersionVar string `json:"version,omitempty"`;
                    AppEnv map[string]string `json:"env,omitempty"`; AppCMDs []string `json:"cmds,omitempty"`}
                   (pkg/define/application/v1/application.go; ``applications`` holds these)
    ContainerImage {Image string `json:"image"`; AppName string `json:"appName,omitempty"`; Platform *Platform `json:"platform"`}
    Platform       {Architecture `json:"architecture,omitempty"`; OS `json:"os,omitempty"`;
                    OSVersion `json:"os_version,omitempty"`; Variant `json:"variant,omitempty"`}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sealer import reference
from sealer.errors import ReferenceError_
from sealer.interop import gojson, keys
from sealer.oci.model import ManifestError, Platform


def platform_to_go(p: Platform) -> dict[str, str]:
    """``types/api/v1.Platform`` as Go marshals it (every field omitempty)."""
    d: dict[str, str] = {}
    if p.architecture:
        d["architecture"] = p.architecture
    if p.os:
        d["os"] = p.os
    if p.variant:
        d["variant"] = p.variant
    return d


def _platform_from_go(v: Any, what: str) -> Platform | None:
    if v is None:
        return None
    if not isinstance(v, Mapping):
        raise ManifestError(f"parse {what}: platform is not an object")
    if not v.get("architecture") and not v.get("os"):
        return None
    return Platform.from_json({"os": v.get("os") or "linux", "architecture": v.get("architecture") or "amd64",
                               "variant": v.get("variant") or None})


def _strings(v: Any, what: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ManifestError(f"parse {what}: want a list of strings")
    return tuple(v)


def _string_map(v: Any, what: str) -> dict[str, str]:
    if v is None:
        return {}
    if not isinstance(v, Mapping) or not all(isinstance(x, str) for x in v.values()):
        raise ManifestError(f"parse {what}: want a map of strings")
    return {str(k): x for k, x in v.items()}


def _load(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise ManifestError(f"parse annotation {what}: not JSON: {e}") from None


@dataclass(frozen=True)
class ContainerImage:
    image: str
    app_name: str = ""
    platform: Platform | None = None

    def to_go(self) -> dict[str, Any]:
        d: dict[str, Any] = {"image": self.image}
        if self.app_name:
            d["appName"] = self.app_name
        d["platform"] = platform_to_go(self.platform) if self.platform else None
        return d


@dataclass(frozen=True)
class ImageExtension:
    sealer_version: str = ""
    buildah_version: str = ""
    schema_version: str = keys.SCHEMA_VERSION
    type: str = ""
    applications: tuple[Mapping[str, Any], ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    cmds: tuple[str, ...] = ()
    app_names: tuple[str, ...] = ()

    def to_go(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "buildClient": {"sealerVersion": self.sealer_version, "buildahVersion": self.buildah_version},
            "schemaVersion": self.schema_version,
        }
        if self.type:
            d["type"] = self.type
        if self.applications:
            d["applications"] = [dict(a) for a in self.applications]
        if self.labels:
            d["labels"] = gojson.sorted_map(self.labels)
        if self.env:
            d["env"] = gojson.sorted_map(self.env)
        launch: dict[str, Any] = {}
        if self.cmds:
            launch["cmds"] = list(self.cmds)
        if self.app_names:
            launch["app_names"] = list(self.app_names)
        d["launch"] = launch
        return d

    def marshal(self) -> str:
        return gojson.marshal(self.to_go())

    @classmethod
    def parse(cls, text: str) -> ImageExtension:
        what = keys.EXTENSION_ANNOTATION
        doc = _load(text, what)
        if not isinstance(doc, Mapping):
            raise ManifestError(f"parse annotation {what}: not a JSON object")
        bc = {} if doc.get("buildClient") is None else doc["buildClient"]
        launch = {} if doc.get("launch") is None else doc["launch"]
        apps = [] if doc.get("applications") is None else doc["applications"]
        if not isinstance(bc, Mapping) or not isinstance(launch, Mapping):
            raise ManifestError(f"parse annotation {what}: buildClient and launch must be objects")
        if not isinstance(apps, list) or not all(isinstance(a, Mapping) for a in apps):
            raise ManifestError(f"parse annotation {what}: applications must be a list of objects")
        apps = _with_app_configs(apps, launch.get("appConfigs"), what)
        return cls(
            sealer_version=str(bc.get("sealerVersion") or ""),
            buildah_version=str(bc.get("buildahVersion") or ""),
            schema_version=str(doc.get("schemaVersion") or ""),
            type=str(doc.get("type") or ""),
            applications=tuple(dict(a) for a in apps),
            labels=_string_map(doc.get("labels"), f"annotation {what} labels"),
            env=_string_map(doc.get("env"), f"annotation {what} env"),
            cmds=_strings(launch.get("cmds"), f"annotation {what} launch.cmds"),
            app_names=_strings(launch.get("app_names"), f"annotation {what} launch.app_names"),
        )


def _with_app_configs(apps: list[Any], configs: Any, what: str) -> list[Any]:
    """sealer v0.9.3 keeps each app's APPCMDS in ``launch.appConfigs[] {appName, launch: {cmds}}``
    (a51d0ec0:pkg/define/image/v1/sealer_image.go:112-130) and runs them instead of the app's default steps
    (pkg/application/v2app.go:196-211); later sealer keeps them as the application's own ``cmds``. Read the old
    place into the new one, so the launch plan runs them either way."""
    if configs is None:
        return apps
    if not isinstance(configs, list):
        raise ManifestError(f"parse annotation {what}: launch.appConfigs must be a list")
    cmds_of: dict[str, tuple[str, ...]] = {}
    for c in configs:
        if not isinstance(c, Mapping):
            raise ManifestError(f"parse annotation {what}: launch.appConfigs must be a list of objects")
        name = str(c.get("appName") or c.get("name") or "")
        launch = c.get("launch") or {}
        if name and isinstance(launch, Mapping):
            cmds_of[name] = _strings(launch.get("cmds"), f"annotation {what} launch.appConfigs[{name}].cmds")
    out = []
    for a in apps:
        extra = cmds_of.get(str(a.get("name") or ""))
        out.append({**a, "cmds": list(extra)} if extra and not a.get("cmds") else a)
    return out


APPLICATION_FIELDS = ("name", "type", "files", "version", "env", "cmds")


def application_to_go(app: Mapping[str, Any]) -> dict[str, Any]:
    """A ``v1.Application`` as Go marshals it: declared field order, empty ``omitempty`` fields left out,
    ``env`` keys sorted (Go sorts map keys)."""
    out: dict[str, Any] = {"name": str(app.get("name") or "")}
    for k in APPLICATION_FIELDS[1:]:
        v = app.get(k)
        if not v:
            continue
        out[k] = gojson.sorted_map(v) if k == "env" else (list(v) if isinstance(v, list | tuple) else v)
    return out


def parse_container_images(text: str) -> list[ContainerImage]:
    """``sealer.image.container.images``; an empty value means no list, as in sealer."""
    what = keys.CONTAINER_IMAGES_ANNOTATION
    if not text.strip():
        return []
    doc = _load(text, what)
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise ManifestError(f"parse annotation {what}: not a JSON list")
    out: list[ContainerImage] = []
    for i, x in enumerate(doc):
        if not isinstance(x, Mapping) or not isinstance(x.get("image"), str):
            raise ManifestError(f"parse annotation {what}: item {i} has no string 'image'")
        out.append(ContainerImage(x["image"], str(x.get("appName") or ""),
                                  _platform_from_go(x.get("platform"), f"annotation {what} item {i}")))
    return out


def marshal_container_images(images: Sequence[ContainerImage]) -> str:
    return gojson.marshal([c.to_go() for c in images])


def _go_reference(text: str) -> str:
    """``reference.ParseNormalizedNamed(text).String()``: fully qualified, no tag added."""
    try:
        return str(reference.parse(text, default_tag=False))
    except ReferenceError_ as e:
        raise ManifestError(f"write annotation {keys.CONTAINER_IMAGES_ANNOTATION}: {e}") from None


def sealer_annotations(*, cmds: Sequence[str], images: Sequence[tuple[str, str]], kube_installer: bool,
                       app_names: Sequence[str] = (), env: Mapping[str, str] | None = None,
                       applications: Sequence[Mapping[str, Any]] = (), app_of: Mapping[str, str] | None = None,
                       sealer_version: str) -> dict[str, str]:
    """The sealer v0.9+ manifest annotations for an image we build, byte-for-byte as sealer's
    ``json.Marshal`` would write them.

    ``cmds``: every CMD to run at delivery, in order (the base image's first). ``images``: the cached
    container images as ``(reference, "os/arch[/variant]")``; ``app_of`` maps a reference to the app whose
    files name it (``appName``). ``sealer.image.container.images`` is left
    out when there are none, as ``sealer build`` does.
    """
    ext = ImageExtension(
        sealer_version=sealer_version,
        type=keys.KUBE_INSTALLER if kube_installer else keys.APP_INSTALLER,
        env=dict(env or {}),
        applications=tuple(application_to_go(a) for a in applications),
        cmds=tuple(cmds),
        app_names=tuple(app_names),
    )
    out = {keys.EXTENSION_ANNOTATION: ext.marshal()}
    if images:
        out[keys.CONTAINER_IMAGES_ANNOTATION] = marshal_container_images(
            [ContainerImage(_go_reference(ref), (app_of or {}).get(ref, ""), Platform.parse(plat))
             for ref, plat in images])
    return out


def sealer_labels(sealer_version: str) -> dict[str, str]:
    """The config label ``sealer build`` (Go) puts on every image: ``io.sealer.version``."""
    return {keys.SEALER_VERSION_LABEL: sealer_version}

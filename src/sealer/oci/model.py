"""Descriptors, platforms, manifests and indexes. Raw bytes are the source of truth for digests."""

from __future__ import annotations

import json
import platform as _platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sealer.digest import Digest
from sealer.errors import SealerError
from sealer.jsonsafe import JSONLimitError, loads
from sealer.oci import mediatypes as mt


class ManifestError(SealerError):
    """A manifest, index or config that does not follow the OCI / docker schema."""


def canonical_json(obj: Any) -> bytes:
    """Compact, key-sorted JSON: the bytes we hash for documents we create."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) == 1 and parts[0]:
            return cls("linux", _norm_arch(parts[0]))
        if len(parts) in (2, 3) and all(parts):
            arch = _norm_arch(parts[1])
            variant = parts[2] if len(parts) == 3 else None
            if arch == "arm64" and variant == "v8":
                variant = None
            return cls(parts[0], arch, variant)
        raise ManifestError(f"parse platform {text!r}: want os/arch[/variant], e.g. linux/amd64")

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Platform:
        return cls(str(d.get("os", "linux")), _norm_arch(str(d.get("architecture", "amd64"))),
                   d.get("variant") or None)

    def to_json(self) -> dict[str, str]:
        d = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            d["variant"] = self.variant
        return d

    def matches(self, other: Platform) -> bool:
        if self.os != other.os or self.architecture != other.architecture:
            return False
        return self.variant is None or other.variant is None or self.variant == other.variant

    def __str__(self) -> str:
        s = f"{self.os}/{self.architecture}"
        return s + (f"/{self.variant}" if self.variant else "")


def _norm_arch(arch: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64", "x86-64": "amd64"}.get(arch, arch)


def host_platform() -> Platform:
    return Platform("linux", _norm_arch(_platform.machine()))


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] | None = None
    platform: Platform | None = None
    urls: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Descriptor:
        try:
            size = int(d["size"])
            if size < 0:
                raise ValueError("negative size")
            return cls(
                media_type=str(d.get("mediaType", "")),
                digest=Digest(str(d["digest"])),
                size=size,
                annotations=dict(d["annotations"]) if d.get("annotations") else None,
                platform=Platform.from_json(d["platform"]) if d.get("platform") else None,
                urls=tuple(d["urls"]) if d.get("urls") else None,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ManifestError(f"parse descriptor: {e}") from None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        if self.platform:
            d["platform"] = self.platform.to_json()
        if self.urls:
            d["urls"] = list(self.urls)
        return d

    def with_annotations(self, annotations: Mapping[str, str] | None) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size, annotations, self.platform, self.urls)


def _load(raw: bytes, what: str) -> dict[str, Any]:
    try:
        doc = loads(raw, what)
    except JSONLimitError as e:
        raise ManifestError(str(e)) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ManifestError(f"parse {what}: not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ManifestError(f"parse {what}: not a JSON object")
    return doc


class _Document:
    """Shared by manifests and indexes: the bytes we were given are the truth; else canonical JSON."""

    raw: bytes

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        return self.raw or canonical_json(self.to_json())

    @property
    def digest(self) -> Digest:
        return Digest.of_bytes(self.to_bytes())


@dataclass(frozen=True)
class Manifest(_Document):
    """An image manifest (OCI or docker schema 2)."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str = mt.OCI_MANIFEST
    annotations: Mapping[str, str] | None = None
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def parse(cls, raw: bytes, media_type: str | None = None) -> Manifest:
        doc = _load(raw, "manifest")
        mtype = doc.get("mediaType") or media_type or mt.OCI_MANIFEST
        if doc.get("schemaVersion") != 2:
            raise ManifestError(f"parse manifest: schemaVersion {doc.get('schemaVersion')!r} is not supported")
        if mtype not in mt.MANIFEST_TYPES:
            raise ManifestError(f"parse manifest: media type {mtype!r} is not an image manifest")
        if "config" not in doc or not isinstance(doc.get("layers", []), list):
            raise ManifestError("parse manifest: missing config or layers")
        return cls(
            config=Descriptor.from_json(doc["config"]),
            layers=tuple(Descriptor.from_json(x) for x in doc.get("layers") or []),
            media_type=mtype,
            annotations=dict(doc["annotations"]) if doc.get("annotations") else None,
            raw=raw,
        )

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": self.config.to_json(),
            "layers": [x.to_json() for x in self.layers],
        }
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d


    def descriptor(self, annotations: Mapping[str, str] | None = None,
                   platform: Platform | None = None) -> Descriptor:
        b = self.to_bytes()
        return Descriptor(self.media_type, Digest.of_bytes(b), len(b), annotations, platform)


@dataclass(frozen=True)
class Index(_Document):
    """An OCI image index or docker manifest list."""

    manifests: tuple[Descriptor, ...]
    media_type: str = mt.OCI_INDEX
    annotations: Mapping[str, str] | None = None
    raw: bytes = field(default=b"", compare=False, repr=False)

    @classmethod
    def parse(cls, raw: bytes, media_type: str | None = None) -> Index:
        doc = _load(raw, "index")
        mtype = doc.get("mediaType") or media_type or mt.OCI_INDEX
        if mtype not in mt.INDEX_TYPES:
            raise ManifestError(f"parse index: media type {mtype!r} is not an index")
        if not isinstance(doc.get("manifests"), list):
            raise ManifestError("parse index: missing manifests")
        return cls(
            manifests=tuple(Descriptor.from_json(x) for x in doc["manifests"]),
            media_type=mtype,
            annotations=dict(doc["annotations"]) if doc.get("annotations") else None,
            raw=raw,
        )

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type,
                             "manifests": [x.to_json() for x in self.manifests]}
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d


    def select(self, platform: Platform) -> Descriptor:
        for d in self.manifests:
            if d.platform and d.platform.matches(platform):
                return d
        have = ", ".join(str(d.platform) for d in self.manifests if d.platform) or "none"
        raise ManifestError(f"select platform {platform}: not in index (have {have})")


def media_type_of(raw: bytes) -> str:
    """Best-effort media type of a manifest document from its own bytes."""
    doc = _load(raw, "manifest")
    mtype = doc.get("mediaType")
    if isinstance(mtype, str) and mtype:
        return mtype
    if "manifests" in doc:
        return mt.OCI_INDEX
    return mt.OCI_MANIFEST


def parse_any(raw: bytes, media_type: str | None = None) -> Manifest | Index:
    mtype = media_type or media_type_of(raw)
    if mt.is_index(mtype) or (mtype not in mt.MANIFEST_TYPES and b'"manifests"' in raw):
        return Index.parse(raw, mtype)
    return Manifest.parse(raw, mtype)


def parse_config(raw: bytes) -> dict[str, Any]:
    return _load(raw, "image config")

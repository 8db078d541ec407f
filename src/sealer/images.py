"""Image commands as library functions: list, inspect, tag, remove. The CLI renders what these return."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from sealer.errors import ImageNotFound, SealerError
from sealer.oci import labels
from sealer.oci.model import Index, Manifest, Platform, parse_any, parse_config
from sealer.reference import parse as parse_ref
from sealer.store import Store, StoredRef


@dataclass(frozen=True)
class ImageSummary:
    name: str
    repository: str
    tag: str
    digest: str
    image_id: str
    created: str
    size: int
    platforms: list[str]
    build_type: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _manifests(store: Store, r: StoredRef) -> list[tuple[Manifest, Platform | None]]:
    doc = parse_any(store.read_blob(r.descriptor.digest), r.descriptor.media_type)
    if isinstance(doc, Index):
        return [(Manifest.parse(store.read_blob(d.digest), d.media_type), d.platform) for d in doc.manifests]
    return [(doc, None)]


def image_id(r: StoredRef) -> str:
    """IMAGE ID, one definition everywhere: the first 12 hex digits of the stored manifest's (or, for a
    multi-platform image, the index's) digest: what build, push and pull print, and what NAME@DIGEST names."""
    return r.descriptor.digest.hex[:12]


def list_images(store: Store, problems: list[str] | None = None) -> list[ImageSummary]:
    """Every image; one whose manifest or config cannot be read is left out and, when ``problems`` is given,
    described there (``NAME: why``)."""
    out = []
    for r in sorted(store.refs(), key=lambda x: x.name):
        ref = parse_ref(r.name)
        try:
            mans = _manifests(store, r)
            if not mans:
                raise SealerError("the image index lists no manifests")
            m0 = mans[0][0]
            cfg = parse_config(store.read_blob(m0.config.digest))
        except SealerError as e:
            if problems is not None:
                problems.append(f"{r.name}: unreadable: {e}")
            continue
        plats = [str(p) if p else f"{cfg.get('os', 'linux')}/{cfg.get('architecture', '?')}" for _, p in mans]
        size = sum({layer.digest: layer.size for m, _ in mans for layer in m.layers}.values())
        out.append(ImageSummary(
            name=r.name, repository=ref.repository, tag=ref.tag or "<none>", digest=str(r.descriptor.digest),
            image_id=image_id(r), created=str(cfg.get("created", "")), size=size,
            platforms=plats, build_type=labels.of_config(cfg).get(labels.LABEL_BUILD_TYPE, ""),
        ))
    return out


def inspect_image(store: Store, ref: str, platform: Platform | None = None) -> dict[str, Any]:
    r = store.resolve(ref)
    img = store.image(r, platform)
    cfg = img.config
    lbls = labels.of_config(cfg)
    history = [h for h in cfg.get("history") or [] if not h.get("empty_layer")]
    layers = []
    for i, layer in enumerate(img.manifest.layers):
        by = history[i].get("created_by", "") if i < len(history) and len(history) == len(img.manifest.layers) else ""
        entry: dict[str, Any] = {"digest": str(layer.digest), "size": layer.size, "mediaType": layer.media_type,
                                 "instruction": by}
        if layer.annotations:
            entry["annotations"] = dict(layer.annotations)
        layers.append(entry)
    fmt = "sealer-py"
    info_extra: dict[str, Any] = {}
    from sealer.interop import detect  # inspect only: `sealer images` does not load the interop readers

    info = detect(img.manifest, cfg)
    fmt = str(info.format)
    if info.clusterfile:
        info_extra["clusterfile"] = info.clusterfile
    cmds = labels.cmds(cfg) or list(info.cmds)
    doc: dict[str, Any] = {
        "name": r.name,
        "digest": str(r.descriptor.digest),
        "mediaType": r.descriptor.media_type,
        "imageId": str(r.descriptor.digest),
        "configDigest": str(img.manifest.config.digest),
        "format": fmt,
        "platform": f"{cfg.get('os', 'linux')}/{cfg.get('architecture', '?')}"
        + (f"/{cfg['variant']}" if cfg.get("variant") else ""),
        "created": cfg.get("created"),
        "buildType": lbls.get(labels.LABEL_BUILD_TYPE, ""),
        "baseFormat": lbls.get(labels.LABEL_BASE_FORMAT),
        "baseImage": lbls.get(labels.LABEL_BASE_IMAGE),
        "kubernetesVersion": lbls.get(labels.LABEL_KUBE_VERSION),
        "cmds": cmds,
        "layers": layers,
        "cachedImages": labels.cached_images(cfg),
        "kubefile": lbls.get(labels.LABEL_KUBEFILE, ""),
        "labels": {k: v for k, v in lbls.items() if k not in (labels.LABEL_KUBEFILE, labels.LABEL_IMAGES)},
        "annotations": dict(img.manifest.annotations or {}),
        "history": cfg.get("history") or [],
        "manifest": img.manifest.to_json(),
        **info_extra,
    }
    with contextlib.suppress(ImportError):   # sealer v0.9 applications and launch plan (kubefile branch)
        from sealer.apps import inspect_fields

        doc.update(inspect_fields(img.manifest.annotations or {}))
    # -- basereg: images in registry/ and the Kubernetes version, for images without our labels
    from sealer.carried.show import show

    shown = show(store, img)
    doc.update({"cachedImages": shown.images, "cachedImagesFrom": shown.images_from,
                "kubernetesVersion": shown.kube_version, "kubernetesVersionFrom": shown.kube_version_from})
    if shown.notes:
        doc["notes"] = shown.notes
    if img.index_descriptor is not None:
        idx = parse_any(store.read_blob(img.index_descriptor.digest), img.index_descriptor.media_type)
        assert isinstance(idx, Index)
        doc["platforms"] = [str(d.platform) for d in idx.manifests if d.platform]
    return doc


def tag(store: Store, src: str, dst: str) -> str:
    r = store.resolve(src)
    store.set_ref(dst, r.descriptor)
    return Store.normalize(dst)


def remove(store: Store, refs: list[str], prune: bool = False) -> tuple[list[str], int, int]:
    """Untag each ref, then free blobs nothing references. Returns (removed names, blobs freed, bytes)."""
    removed = []
    for ref in refs:
        try:
            r = store.resolve(ref)
        except ImageNotFound:
            raise
        store.remove_ref(r.name)
        removed.append(r.name)
    n, freed = store.gc()
    if prune:
        import shutil

        for sub in ("build", "registry-blobs", "registry-layers", "diffids", "carried", "context-stat"):
            shutil.rmtree(store.root / "cache" / sub, ignore_errors=True)
        (store.root / "cache" / "build").mkdir(parents=True, exist_ok=True)
    return removed, n, freed


__all__ = ["ImageSummary", "image_id", "inspect_image", "list_images", "remove", "tag"]

"""The lite backend's last stage: discover the images the rootfs needs and cache them as layers.

No cluster is started. ``CMD kubectl apply``/``helm install`` stay recorded for delivery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sealer.build import apps
from sealer.build.cache import BuildCache, chain
from sealer.build.options import BuildOptions
from sealer.build.records import LayerRecord
from sealer.build.rootfs import WorkingRootfs
from sealer.oci import labels
from sealer.oci.labels import ImageRecord
from sealer.oci.model import Platform
from sealer.progress import BuildReporter
from sealer.store import Store, StoredImage

if TYPE_CHECKING:
    from sealer.imagecache.model import ServedImage

# Discovery, the image cache, the registry client (httpx) and the YAML readers are imported once the stage's
# cache lookup missed: a rebuild whose stage is cached (the common no-op rebuild) never loads them.


@dataclass
class StageResult:
    layers: list[LayerRecord] = field(default_factory=list)
    images: list[ImageRecord] = field(default_factory=list)
    kube_version: str | None = None
    kube_installer: bool = False
    cached: bool = False
    registry_config: dict[str, Any] | None = None


def cache_stage(opts: BuildOptions, store: Store, rootfs: WorkingRootfs, cache: BuildCache, key: str,
                platforms: list[Platform], kube_version: str | None, rep: BuildReporter,
                base: StoredImage | None, extra: list[tuple[str, str]] | None = None) -> StageResult:
    """``extra``: ``(reference, source)`` of images found outside the rootfs (what a build cluster pulled)."""
    extra = list(extra or [])
    key = chain(key, "CACHE-IMAGES", json.dumps({
        "deep": opts.deep, "ignore": sorted(opts.ignore_images), "platforms": [str(p) for p in platforms],
        **({"strict": True} if opts.strict else {}),
        **({"extra": sorted(extra)} if extra else {}),
        **({"lists": apps.image_list_key(opts)} if opts.image_list or opts.ignored_image_list else {})}))
    rep.say("STEP: discover and cache container images")
    hit = None if opts.no_cache else cache.get(key)
    if hit is not None:
        rep.say(f"  --> CACHED ({len(hit.extra.get('images') or [])} images)")
        return StageResult(
            layers=[LayerRecord(d, i, c, {labels.LAYER_ANNOTATION_IMAGES: a} if (a := _ann(hit.extra, n)) else {})
                    for n, (d, i, c) in enumerate(hit.layers)],
            images=list(hit.extra.get("images") or []),
            kube_version=hit.extra.get("kube_version"),
            kube_installer=bool(hit.extra.get("kube_installer")),
            cached=True,
            registry_config=hit.extra.get("registry_config"),
        )
    from sealer.discover import discover
    from sealer.imagecache.cache import cache_images
    from sealer.interop import is_kube_installer, read_metadata
    from sealer.registry import RegistryClient

    root = rootfs.ensure_for_discovery()
    meta = read_metadata(root)
    kv = (meta.version if meta else None) or kube_version
    found = discover(root, deep=opts.deep, kube_version=kv, ignore=opts.ignore_images,
                     parallel=max(1, min(4, opts.max_parallel)), strict=opts.strict)
    found = apps.with_image_lists(found, opts)   # kubefile hook: --image-list / --ignored-image-list
    if extra:
        _add_extra(found, extra)
    for warning in found.warnings:
        rep.warn(warning)
    if any(f.extended for f in found.images):  # --deep candidates: cached only when their manifest resolves
        from dataclasses import replace as _replace

        from sealer.discover.resolve import confirm_extended
        from sealer.registry import RegistryOptions

        with RegistryClient(_replace(opts.registry() or RegistryOptions(), retries=2)) as checker:
            for warning in confirm_extended(found, checker, parallel=opts.max_parallel):
                rep.warn(warning)
    for img in found.images:
        srcs = ", ".join(str(s) for s in img.sources[:3])
        rep.say(f"  found {img.reference}  <- {srcs}")
    for img in found.ignored:
        rep.say(f"  ignored {img.reference}")
    result = StageResult(kube_version=kv, kube_installer=is_kube_installer(root),
                         registry_config=_registry_config(root, rep))
    reuse = [root / "registry"] if (root / "registry").is_dir() else []
    archives = _archives(root)
    if found.images or archives:
        client = None
        if found.images:
            client = RegistryClient(opts.registry())
        cres = cache_images(found.images, store=store, client=client, platforms=platforms,
                            workdir=rootfs.path.parent, reuse_dirs=reuse, archives=archives,
                            max_parallel=opts.max_parallel, progress=rep.cache_progress())
        for cl in cres.layers:
            ann = {labels.LAYER_ANNOTATION_IMAGES: ",".join(cl.images)} if cl.images else {}
            result.layers.append(LayerRecord(cl.descriptor, cl.diff_id, cl.created_by, ann))
        result.images = [_image_dict(ci) for ci in cres.images]
        rep.say(f"  --> cached {len(cres.images)} images in {len(cres.layers)} layers "
                f"({cres.fetched_bytes} bytes fetched, {cres.reused_bytes} reused)")
    else:
        rep.say("  --> no images to cache")
    # -- basereg: record the union with what registry/ already holds (the base's images, a Kubefile step's)
    from sealer.carried.build import carried_union

    result.images = cast(list[ImageRecord], carried_union(
        cast(list[dict[str, Any]], result.images), root / "registry", store, base,
        base.name if base is not None else None, rep.warn))
    if (n := len(result.images)) and not result.layers:
        rep.say(f"  --> {n} images already in registry/")
    cache.put(key, [(r.descriptor, r.diff_id, r.created_by) for r in result.layers],
              {"images": result.images, "kube_version": kv, "kube_installer": result.kube_installer,
               "registry_config": result.registry_config,
               "annotations": [r.annotations.get(labels.LAYER_ANNOTATION_IMAGES, "") for r in result.layers]})
    return result


def _add_extra(found: Any, extra: list[tuple[str, str]]) -> None:
    """Merge images found outside the rootfs into a discovery result, each with where it came from."""
    from sealer.discover.model import FoundImage, ImageSource
    from sealer.reference import parse as parse_ref

    by_ref = {str(f.reference): f for f in found.images}
    for raw, source in extra:
        ref = parse_ref(raw)
        src = ImageSource(file="build cluster", line=None, detail=source)
        if str(ref) in by_ref:
            by_ref[str(ref)].sources.append(src)
        else:
            by_ref[str(ref)] = FoundImage(ref, raw, [src], False)
    found.images = sorted(by_ref.values(), key=lambda f: str(f.reference))


def _registry_config(root: Path, rep: BuildReporter) -> dict[str, Any] | None:
    """Validate ``etc/registry_config.yaml`` (a bad one fails the build) and return its redacted view."""
    path = root / "etc" / "registry_config.yaml"
    if not path.is_file():
        return None
    from sealer.cluster import parse_registry_config

    cfg = parse_registry_config(path.read_text(encoding="utf-8"), "etc/registry_config.yaml", base=path.parent)
    warning = cfg.credentials_warning()
    if warning:
        rep.warn(warning)
    return cfg.redacted()


def _ann(extra: dict[str, Any], n: int) -> str:
    anns = extra.get("annotations") or []
    return str(anns[n]) if n < len(anns) else ""


def _image_dict(ci: ServedImage) -> ImageRecord:
    return {"reference": ci.reference, "digest": str(ci.digest), "mediaType": ci.media_type,
            "platforms": list(ci.platforms), "size": ci.size, "sources": list(ci.sources)}


def _archives(root: Path) -> list[Path]:
    """Offline image sources: docker-save tarballs and OCI archives under ``image-archives/``."""
    from sealer.imagecache.archives import find_archives

    return list(find_archives(root))

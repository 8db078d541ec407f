"""The record of carried images: the ``io.sealer.images`` label (ours) or the ``sealer.image.container.images``
annotation (sealer v0.9), and the union a build writes: images cached by this build, plus every image the
rootfs's ``registry/`` already holds (the base image's, or added by a Kubefile step), each with its source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sealer import reference
from sealer.digest import Digest, is_digest
from sealer.errors import ReferenceError_
from sealer.interop import keys
from sealer.interop.base_registry import CarriedImage
from sealer.interop.extension import parse_container_images
from sealer.oci import labels as imagemeta
from sealer.oci.model import ManifestError

SOURCE_ROOTFS = "registry/ in the rootfs (added by a Kubefile step)"


def base_source(base: str) -> str:
    return f"base image {base}"


@dataclass(frozen=True)
class Recorded:
    """One recorded image: where it sits in the registry and what it should serve."""

    reference: str
    repository: str
    tag: str | None
    digest: Digest | None
    platforms: tuple[str, ...]
    sources: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return self.repository, self.tag or str(self.digest)


def _where(ref_text: str, repository: Any = None, tag: Any = None) -> tuple[str, str | None, Digest | None]:
    ref = reference.parse(ref_text)
    repo = str(repository) if repository else ref.path
    t = str(tag) if tag else ref.tag
    return repo, t, ref.digest


def read_record(config: Mapping[str, Any], annotations: Mapping[str, str] | None) -> tuple[str, list[Recorded]] | None:
    """``(what, entries)`` from our label, else from sealer v0.9's annotation; None when the image records
    nothing (sealer v0.5-v0.8, v0.9 without the annotation). A malformed record raises ``ManifestError``."""
    labels = imagemeta.of_config(dict(config))
    if imagemeta.LABEL_IMAGES in labels:
        doc = imagemeta.json_label(dict(config), imagemeta.LABEL_IMAGES)
        if not isinstance(doc, list):
            raise ManifestError(f"label {imagemeta.LABEL_IMAGES}: not a JSON list")
        out = []
        for i, x in enumerate(doc):
            try:
                repo, tag, rdig = _where(str(x["reference"]), x.get("repository"), x.get("tag"))
                dig = Digest(str(x["digest"])) if is_digest(str(x.get("digest"))) else rdig
            except (KeyError, TypeError, ReferenceError_) as e:
                raise ManifestError(f"label {imagemeta.LABEL_IMAGES}: item {i}: {e}") from None
            out.append(Recorded(str(x["reference"]), repo, tag, dig, tuple(str(p) for p in x.get("platforms") or ()),
                                tuple(str(s) for s in x.get("sources") or ())))
        return f"label {imagemeta.LABEL_IMAGES}", out
    text = (annotations or {}).get(keys.CONTAINER_IMAGES_ANNOTATION)
    if text is None:
        return None
    merged: dict[tuple[str, str], Recorded] = {}
    for c in parse_container_images(text):
        try:
            repo, tag, dig = _where(c.image)
        except ReferenceError_ as e:
            raise ManifestError(f"annotation {keys.CONTAINER_IMAGES_ANNOTATION}: {e}") from None
        r = Recorded(c.image, repo, tag or (None if dig else "latest"), dig,
                     (str(c.platform),) if c.platform else ())
        old = merged.get(r.key)
        merged[r.key] = r if old is None else Recorded(old.reference, repo, old.tag, dig,
                                                        tuple(dict.fromkeys(old.platforms + r.platforms)))
    return f"annotation {keys.CONTAINER_IMAGES_ANNOTATION}", list(merged.values())


def name_of(img: CarriedImage, known: Iterable[Recorded] = ()) -> str:
    """The reference to show for an image found in a registry tree: a recorded reference naming the same
    repository and tag (or digest) when there is one, else ``repository:tag`` (the registry keeps no host)."""
    for r in known:
        if r.repository == img.repository and ((img.tag and r.tag == img.tag) or r.digest == img.digest):
            return r.reference
    text = img.name
    try:
        if reference.parse(text).path != img.repository:   # a first component that looks like a host
            text = f"{reference.DEFAULT_DOMAIN}/{text}"
    except ReferenceError_:
        pass
    return text


def entry(img: CarriedImage, ref: str, sources: Sequence[str], origin: str) -> dict[str, Any]:
    """An ``io.sealer.images`` entry for an image already in ``registry/`` (same keys as a cached one, plus
    where it sits)."""
    return {"reference": ref, "digest": str(img.digest), "mediaType": img.media_type,
            "platforms": list(img.platforms), "size": img.size, "sources": list(sources),
            "repository": img.repository, "tag": img.tag, "origin": origin}


def _key_of(e: Mapping[str, Any]) -> tuple[str, str] | None:
    try:
        repo, tag, dig = _where(str(e["reference"]), e.get("repository"), e.get("tag"))
    except (KeyError, ReferenceError_):
        return None
    return repo, tag or str(e.get("digest") or dig)


def union(cached: list[dict[str, Any]], present: Sequence[CarriedImage], base: str | None,
          in_base: Sequence[CarriedImage], known: Sequence[Recorded] = ()) -> tuple[list[dict[str, Any]], list[str]]:
    """Images cached by this build (``cached``, as the cache stage records them) plus every image ``present``
    in the rootfs's ``registry/`` before they were added. An image the base carries is sourced
    ``base image BASE``; anything else in ``registry/`` was added by a Kubefile step. Returns the entries
    sorted by reference and warnings about incomplete images."""
    out = [dict(e) for e in cached]
    index = {k: e for e in out if (k := _key_of(e)) is not None}
    base_keys = {(i.repository, i.tag or str(i.digest), str(i.digest)) for i in in_base}
    warnings: list[str] = []
    for img in present:
        from_base = base is not None and (img.repository, img.tag or str(img.digest), str(img.digest)) in base_keys
        src = base_source(base) if from_base and base else SOURCE_ROOTFS
        got = index.get((img.repository, img.tag or str(img.digest)))
        if got is not None:
            if str(got.get("digest")) == str(img.digest) and src not in got.setdefault("sources", []):
                got["sources"].append(src)
            continue
        if img.problems:
            warnings.append(f"{src}: {img.name} is incomplete: " + "; ".join(img.problems[:3]))
        e = entry(img, name_of(img, known), [src], "base" if from_base else "rootfs")
        index[(img.repository, img.tag or str(img.digest))] = e
        out.append(e)
    return sorted(out, key=lambda e: str(e.get("reference"))), warnings

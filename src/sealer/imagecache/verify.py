"""Check that cached images are complete: links, manifests, configs and every layer present with the right
digest and size. Works on a registry directory (:func:`verify_registry`) and on any view of one (a stored
cluster image's layers, streamed: :mod:`sealer.carried.verify`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sealer import reference
from sealer.digest import Digest, sha256_file
from sealer.distlayout.layout import (
    RegistryDir,
    layer_link_path,
    revision_link_path,
    tag_current_path,
)
from sealer.errors import ReferenceError_, SealerError
from sealer.imagecache.model import ServedImage
from sealer.imagecache.resolve import platform_of_config, repository_name
from sealer.oci.labels import RecordedImage
from sealer.oci.model import Descriptor, Index, Manifest, ManifestError, parse_any

MAX_DOC = 16 << 20


class View(Protocol):
    def link(self, rel: str) -> Digest | None: ...
    def doc(self, digest: Digest) -> bytes | None: ...
    def blob_state(self, digest: Digest) -> tuple[bool, int, bool]: ...   # present, size, content matches


@dataclass
class ImageCheck:
    reference: str
    digest: Digest | None = None
    media_type: str = ""
    platforms: list[str] = field(default_factory=list)
    size: int = 0
    problems: list[str] = field(default_factory=list)
    source: str = ""          # where the image comes from (recorded sources, or where registry/ holds it)


def check_image(view: View, name: str, repo: str, tag: str | None, want: Digest | None,
                want_platforms: Sequence[str] | None = None) -> ImageCheck:
    """Check one image served by ``repo`` for ``tag`` (or ``want`` when pinned); problems name ``name``.

    With ``want_platforms``, an index child of another platform whose manifest is absent is a platform the
    registry does not carry (sealer v0.8's cache keeps one child of a manifest list), not a problem."""
    out = ImageCheck(name)
    p = out.problems
    top = view.link(tag_current_path(repo, tag)) if tag else want
    if top is None:
        p.append(f"{name}: tag link {repo}:{tag} is missing")
        return out
    if want is not None and top != want:
        p.append(f"{name}: tag {repo}:{tag} points at {top}, recorded {want}")
    out.digest = top

    def manifest(d: Digest, what: str) -> bytes | None:
        if view.link(revision_link_path(repo, d)) != d:
            p.append(f"{name}: {what} {d} has no revision link in {repo}")
        raw = view.doc(d)
        if raw is None:
            p.append(f"{name}: {what} {d} is missing")
            return None
        if Digest.of_bytes(raw) != d:
            p.append(f"{name}: {what} {d} is corrupt (content digest {Digest.of_bytes(raw)})")
            return None
        out.size += len(raw)
        return raw

    def blob(desc: Descriptor, what: str) -> None:
        if view.link(layer_link_path(repo, desc.digest)) != desc.digest:
            p.append(f"{name}: {what} {desc.digest} has no _layers link in {repo}")
        present, size, ok = view.blob_state(desc.digest)
        if not present:
            p.append(f"{name}: {what} {desc.digest} is missing")
        elif size != desc.size:
            p.append(f"{name}: {what} {desc.digest} has {size} bytes, want {desc.size}")
        elif not ok:
            p.append(f"{name}: {what} {desc.digest} is corrupt (content does not match its digest)")
        out.size += desc.size

    def image_manifest(raw: bytes, media_type: str | None, what: str) -> None:
        try:
            m = Manifest.parse(raw, media_type)
        except ManifestError as e:
            p.append(f"{name}: {what}: {e}")
            return
        blob(m.config, "config")
        for i, layer in enumerate(m.layers):
            if layer.urls and "foreign" in layer.media_type:
                continue
            blob(layer, f"layer {i}")
        if what == "manifest":
            cfg = view.doc(m.config.digest)
            plat = platform_of_config(cfg) if cfg else None
            if plat and plat not in out.platforms:
                out.platforms.append(plat)

    raw = manifest(top, "manifest")
    if raw is None:
        return out
    try:
        doc = parse_any(raw)
    except ManifestError as e:
        p.append(f"{name}: manifest {top}: {e}")
        return out
    out.media_type = doc.media_type
    if isinstance(doc, Index):
        for child in doc.manifests:
            # -- basereg: children of platforms not wanted and not present are not carried
            if want_platforms is not None and child.platform and not _matches(str(child.platform), want_platforms) \
                    and view.doc(child.digest) is None and not view.blob_state(child.digest)[0]:
                continue
            craw = manifest(child.digest, f"child manifest ({child.platform or 'no platform'})")
            if child.platform and str(child.platform) not in out.platforms:
                out.platforms.append(str(child.platform))
            if craw is not None:
                image_manifest(craw, child.media_type or None, "child manifest")
        p += [f"{name}: no manifest for platform {w} in index {top}" for w in want_platforms or ()
              if not _matches(w, out.platforms)]
    else:
        image_manifest(raw, doc.media_type, "manifest")
    return out


def _matches(platform: str, others: Sequence[str]) -> bool:
    """os/arch equal (a variant on one side only still matches: linux/arm64 and linux/arm64/v8)."""
    a = platform.split("/")
    return any(a[:2] == b.split("/")[:2] and (len(a) < 3 or len(b.split("/")) < 3 or a == b.split("/"))
               for b in others)


# ---- a registry directory ----------------------------------------------------------------------------------
class DirView:
    def __init__(self, root: Path) -> None:
        self.reg = RegistryDir(root)
        self._states: dict[Digest, tuple[bool, int, bool]] = {}

    def link(self, rel: str) -> Digest | None:
        return self.reg._link(rel)

    def doc(self, digest: Digest) -> bytes | None:
        return self.reg.read_blob(digest, MAX_DOC)

    def blob_state(self, digest: Digest) -> tuple[bool, int, bool]:
        if digest not in self._states:
            path = self.reg.blob_path(digest)
            if not path.is_file():
                self._states[digest] = (False, 0, False)
            else:
                got, n = sha256_file(str(path))
                self._states[digest] = (True, n, got == digest)
        return self._states[digest]


def _target(img: ServedImage | RecordedImage) -> tuple[str, str, str | None, Digest]:
    try:
        ref = reference.parse(img.reference)
    except ReferenceError_:
        raise SealerError(f"verify {img.reference}: not a valid image reference") from None
    repo: str = getattr(img, "repository", "") or repository_name(ref)
    tag: str | None = getattr(img, "tag", None) or ref.tag
    return img.reference, repo, tag, img.digest


def verify_registry(root: Path, images: Sequence[ServedImage] | None = None) -> list[str]:
    """Problems found in the registry storage root ``root`` ([] = every image complete). Without ``images``
    every tag of every repository is checked."""
    view = DirView(Path(root))
    problems: list[str] = []
    if images is None:
        for r in view.reg.repositories():
            for t in view.reg.tags(r):
                problems += check_image(view, f"{r}:{t}", r, t, None).problems
        return problems
    for img in images:
        name, repo, tag, digest = _target(img)
        problems += check_image(view, name, repo, tag, digest).problems
    return problems


def inspect_dir_image(root: Path, name: str, repo: str, tag: str | None, want: Digest | None,
                      rehash: bool = False, want_platforms: Sequence[str] | None = None) -> ImageCheck:
    """Check an image in a registry directory (used for base images' ``registry/``); without ``rehash`` blobs
    are checked by presence and size only (the base image was verified when it was built)."""
    view = DirView(root) if rehash else _SizeOnlyDirView(root)
    return check_image(view, name, repo, tag, want, want_platforms)


class _SizeOnlyDirView(DirView):
    def blob_state(self, digest: Digest) -> tuple[bool, int, bool]:
        path = self.reg.blob_path(digest)
        return (True, path.stat().st_size, True) if path.is_file() else (False, 0, False)


# ---- the report of `sealer verify` -------------------------------------------------------------------
@dataclass
class VerifyReport:
    """What ``sealer verify`` found (built by :func:`sealer.carried.verify.verify_image`)."""

    image: str
    images: list[ImageCheck]
    problems: list[str]
    blobs: int = 0
    bytes: int = 0
    record: str = ""                                        # where the cached images are recorded, or "none"
    unrecorded: list[str] = field(default_factory=list)     # present in registry/, missing from the record
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {"image": self.image, "ok": self.ok, "problems": self.problems, "blobs": self.blobs,
                "bytes": self.bytes, "record": self.record, "unrecorded": self.unrecorded, "notes": self.notes,
                "images": [{"reference": c.reference, "digest": str(c.digest) if c.digest else None,
                            "platforms": c.platforms, "size": c.size, "ok": not c.problems, "source": c.source}
                           for c in self.images]}

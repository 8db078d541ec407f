"""Check that cached images are complete: links, manifests, configs and every layer present with the right
digest and size. Works on a registry directory (:func:`verify_registry`) and on a stored cluster image,
streaming its layers without unpacking them (:func:`verify_image`)."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from sealer import reference
from sealer.compression import decompressed
from sealer.digest import CHUNK, Digest, is_digest, sha256_file
from sealer.distlayout.layout import (
    LAYER_PREFIX,
    V2,
    RegistryDir,
    layer_link_path,
    revision_link_path,
    tag_current_path,
)
from sealer.errors import ArchiveError, ReferenceError_, SealerError
from sealer.imagecache.model import ServedImage
from sealer.imagecache.resolve import platform_of_config, repository_name
from sealer.oci import labels
from sealer.oci.labels import RecordedImage, parse_images_label
from sealer.oci.model import Descriptor, Index, Manifest, ManifestError, parse_any
from sealer.store import Store

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


def check_image(view: View, name: str, repo: str, tag: str | None, want: Digest | None) -> ImageCheck:
    """Check one image served by ``repo`` for ``tag`` (or ``want`` when pinned); problems name ``name``."""
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
            craw = manifest(child.digest, f"child manifest ({child.platform or 'no platform'})")
            if child.platform and str(child.platform) not in out.platforms:
                out.platforms.append(str(child.platform))
            if craw is not None:
                image_manifest(craw, child.media_type or None, "child manifest")
    else:
        image_manifest(raw, doc.media_type, "manifest")
    return out


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
                      rehash: bool = False) -> ImageCheck:
    """Check an image in a registry directory (used for base images' ``registry/``); without ``rehash`` blobs
    are checked by presence and size only (the base image was verified when it was built)."""
    view = DirView(root) if rehash else _SizeOnlyDirView(root)
    return check_image(view, name, repo, tag, want)


class _SizeOnlyDirView(DirView):
    def blob_state(self, digest: Digest) -> tuple[bool, int, bool]:
        path = self.reg.blob_path(digest)
        return (True, path.stat().st_size, True) if path.is_file() else (False, 0, False)


# ---- a stored cluster image, streamed --------------------------------------------------------------------
class StreamView:
    """What the registry tree of an image's layers holds, gathered by streaming every layer once."""

    def __init__(self) -> None:
        self.links: dict[str, Digest | None] = {}
        self.blobs: dict[Digest, tuple[int, bool]] = {}
        self.docs: dict[Digest, bytes] = {}
        self.bytes = 0

    def link(self, rel: str) -> Digest | None:
        return self.links.get(rel)

    def doc(self, digest: Digest) -> bytes | None:
        return self.docs.get(digest)

    def blob_state(self, digest: Digest) -> tuple[bool, int, bool]:
        s = self.blobs.get(digest)
        return (False, 0, False) if s is None else (True, s[0], s[1])

    def _remove(self, prefix: str) -> None:
        for k in [k for k in self.links if k == prefix or k.startswith(prefix + "/")]:
            del self.links[k]
        if prefix == V2 or prefix.startswith(f"{V2}/blobs"):
            for d in list(self.blobs):
                if f"{V2}/blobs/sha256/{d.hex[:2]}/{d.hex}".startswith(prefix):
                    self.blobs.pop(d, None)
                    self.docs.pop(d, None)

    def scan(self, fp: IO[bytes]) -> None:
        try:
            with tarfile.open(fileobj=fp, mode="r|") as tf:
                self._scan(tf)
        except tarfile.TarError as e:
            raise ArchiveError(f"verify: layer is not a tar stream or is corrupt: {e}") from None

    def _scan(self, tf: tarfile.TarFile) -> None:
        base = f"{LAYER_PREFIX}/"
        for m in tf:
            name = m.name.lstrip("./")
            if not name.startswith(base):
                continue
            rel = name[len(base):]
            leaf = rel.rsplit("/", 1)[-1]
            if leaf.startswith(".wh."):
                parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
                self._remove(parent if leaf == ".wh..wh..opq" else f"{parent}/{leaf[4:]}".lstrip("/"))
                continue
            if not m.isreg():
                continue
            src = tf.extractfile(m)
            assert src is not None
            if leaf == "link":
                text = src.read(200).decode(errors="replace").strip()
                self.links[rel] = Digest(text) if is_digest(text) else None
            elif leaf == "data" and rel.startswith(f"{V2}/blobs/sha256/"):
                hexpart = rel.split("/")[-2]
                if not is_digest("sha256:" + hexpart):
                    continue
                want = Digest.from_hex(hexpart)
                h = hashlib.sha256()
                small = m.size <= 4 << 20
                buf = bytearray()
                while b := src.read(CHUNK):
                    h.update(b)
                    if small:
                        buf += b
                ok = Digest.from_hex(h.hexdigest()) == want
                self.blobs[want] = (m.size, ok)
                self.bytes += m.size
                if small and ok:
                    self.docs[want] = bytes(buf)


@dataclass
class VerifyReport:
    image: str
    images: list[ImageCheck]
    problems: list[str]
    blobs: int = 0
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {"image": self.image, "ok": self.ok, "problems": self.problems, "blobs": self.blobs,
                "bytes": self.bytes,
                "images": [{"reference": c.reference, "digest": str(c.digest) if c.digest else None,
                            "platforms": c.platforms, "size": c.size, "ok": not c.problems} for c in self.images]}


def verify_image(store: Store, ref: str) -> VerifyReport:
    """Check every image recorded in the cluster image's ``io.sealer.images`` label against the registry tree
    its layers build (all platforms of a multi-arch cluster image)."""
    stored = store.resolve(ref)
    raw = store.read_blob(stored.descriptor.digest)
    doc = parse_any(raw, stored.descriptor.media_type)
    manifests = [(c.digest, c.media_type, str(c.platform or "")) for c in doc.manifests] \
        if isinstance(doc, Index) else [(stored.descriptor.digest, doc.media_type, "")]
    report = VerifyReport(stored.name, [], [])
    for digest, media_type, plat in manifests:
        m = Manifest.parse(store.read_blob(digest), media_type or None)
        config = store.read_blob(m.config.digest)
        found = labels.of_config(json.loads(config))
        recorded = parse_images_label(found[labels.LABEL_IMAGES]) if labels.LABEL_IMAGES in found else []
        view = StreamView()
        for layer in m.layers:
            if not store.has_blob(layer.digest):
                report.problems.append(f"{stored.name}: layer {layer.digest} is missing from the store")
                continue
            with decompressed(store.open_blob(layer.digest), layer.media_type) as fp:
                view.scan(fp)
        report.blobs += len(view.blobs)
        report.bytes += view.bytes
        suffix = f" [{plat}]" if plat else ""
        for img in recorded:
            name, repo, tag, want = _target(img)
            c = check_image(view, name + suffix, repo, tag, want)
            report.images.append(c)
            report.problems += c.problems
    return report

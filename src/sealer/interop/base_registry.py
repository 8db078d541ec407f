"""What a cluster image's ``registry/`` holds, read from its layers as tar streams (nothing is unpacked).

Whatever built the image (sealer v0.5-v0.8's ``BASE rootfs cache`` layer, a v0.9 ``COPY registry``, our own
cache layers), the images it carries are the tags (and untagged top-level manifests) of the docker-distribution
tree under ``registry/`` once every layer is applied in order. Layers are applied as an overlay would: a
whiteout (``.wh.NAME``) or an opaque marker (``.wh..wh..opq``) hides entries of *lower* layers only, a file
replaces a lower directory of the same name and its whole subtree.

    tree = RegistryTree()
    for n, fp in enumerate(layer_streams):        # uncompressed tar streams, bottom layer first
        tree.add_layer(fp, n)
    for img in tree.images():                     # CarriedImage(repository, tag, digest, platforms, ...)
        ...
    tree.metadata                                 # the rootfs ``Metadata`` file's bytes, if any

``RegistryTree`` also answers the ``link``/``doc``/``blob_state`` questions of the cached-image checker, so the
same streamed view is verified blob by blob (``hash_blobs=True`` hashes every blob's content while streaming).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sealer.digest import CHUNK, Digest, is_digest
from sealer.errors import ArchiveError
from sealer.interop import keys
from sealer.oci.model import Platform

if TYPE_CHECKING:
    import tarfile  # imported in add_layer: reading a memo or a directory needs no tar code

V2 = "docker/registry/v2"
_PREFIX = keys.REGISTRY_DIR + "/"
_WH = ".wh."
_OPAQUE = ".wh..wh..opq"
MAX_DOC = 4 << 20            # manifests and configs larger than this are not kept in memory
MAX_DOCS_TOTAL = 256 << 20   # all kept documents together
_INDEX_TYPES = ("application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.oci.image.index.v1+json")


@dataclass(frozen=True)
class _Blob:
    digest: Digest
    size: int
    ok: bool          # content hashes to its digest (True when not hashed and not a document)
    layer: int


@dataclass(frozen=True)
class _Link:
    digest: Digest | None   # None: the file does not hold a digest
    layer: int


@dataclass(frozen=True)
class _File:
    layer: int        # some other file (or symlink) under registry/


_Entry = _Blob | _Link | _File | int   # int: a directory (the layer index that wrote it)


@dataclass
class CarriedImage:
    """One image the registry tree serves: a tag, or an untagged manifest that no other manifest lists."""

    repository: str                   # path in the registry, e.g. library/busybox
    tag: str | None
    digest: Digest                    # of what the tag points at
    media_type: str = ""
    platforms: list[str] = field(default_factory=list)   # platforms whose manifest is present
    absent_platforms: list[str] = field(default_factory=list)   # listed by an index, manifest not carried
    size: int = 0                     # manifests + present blobs, in bytes
    layer: int = -1                   # index of the layer that wrote its tag (or revision) link
    problems: list[str] = field(default_factory=list)    # incomplete: what is missing

    @property
    def name(self) -> str:
        return f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"

    def to_json(self) -> dict[str, Any]:
        return {"repository": self.repository, "tag": self.tag, "digest": str(self.digest),
                "mediaType": self.media_type, "platforms": list(self.platforms),
                "absentPlatforms": list(self.absent_platforms), "size": self.size, "layer": self.layer,
                "problems": list(self.problems)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CarriedImage:
        return cls(str(d["repository"]), d.get("tag"), Digest(str(d["digest"])), str(d.get("mediaType") or ""),
                   [str(p) for p in d.get("platforms") or []], [str(p) for p in d.get("absentPlatforms") or []],
                   int(d.get("size") or 0), int(d.get("layer", -1)), [str(p) for p in d.get("problems") or []])


def _norm(name: str) -> str | None:
    """A tar member name as a rootfs-relative path, or None when it is not one we can place."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts) or "\x00" in name:
        return None
    return "/".join(parts)


class RegistryTree:
    """The ``registry/`` tree (and the ``Metadata`` file) of a stack of layers. Paths are relative to the
    registry root (``docker/registry/v2/...``), as in :mod:`sealer.distlayout.layout`."""

    def __init__(self, *, hash_blobs: bool = False) -> None:
        self.hash_blobs = hash_blobs
        self.entries: dict[str, _Entry] = {}        # registry-root-relative path -> entry
        self.docs: dict[Digest, bytes] = {}
        self._docs_total = 0
        self.metadata: bytes | None = None
        self._metadata_layer = -1
        self.hashed_bytes = 0
        self.hashed_blobs = 0
        self.layers = 0
        self.notes: list[str] = []

    # ---- reading layers ------------------------------------------------------------------------------------
    def add_layer(self, fp: IO[bytes], index: int | None = None) -> None:
        """Apply one uncompressed layer tar stream on top of what was applied so far."""
        n = self.layers if index is None else index
        self.layers += 1
        new: dict[str, _Entry] = {}
        hidden: set[str] = set()        # exact paths (and their subtrees) hidden in lower layers
        replaced: set[str] = set()      # lower files replaced by a directory (the path only)
        opaque: set[str] = set()        # directories whose lower content is hidden ("" = rootfs root)
        new_meta: bytes | None = None
        meta_hidden = False
        import tarfile

        try:
            with tarfile.open(fileobj=fp, mode="r|", bufsize=CHUNK) as tf:
                for m in tf:
                    rel = _norm(m.name)
                    if rel is None:
                        continue
                    parent, _, leaf = rel.rpartition("/")
                    if leaf == _OPAQUE:
                        opaque.add(parent)
                        continue
                    if leaf.startswith(_WH):
                        target = f"{parent}/{leaf[len(_WH):]}" if parent else leaf[len(_WH):]
                        hidden.add(target)
                        continue
                    if rel == keys.METADATA_FILE:
                        if m.isreg() and m.size <= MAX_DOC:
                            src = tf.extractfile(m)
                            new_meta = src.read() if src is not None else None
                        else:
                            meta_hidden = True
                        continue
                    if rel == keys.REGISTRY_DIR:
                        if not m.isdir():        # registry itself replaced by a file or symlink
                            hidden.add(rel)
                            self.notes.append(f"layer {n}: registry is a {'symlink' if m.issym() else 'file'}")
                        continue
                    if not rel.startswith(_PREFIX):
                        continue
                    path = rel[len(_PREFIX):]
                    if m.isdir():
                        if not isinstance(self.entries.get(path, 0), int):
                            replaced.add(path)   # a directory replaces a lower file of the same name
                        new.setdefault(path, n)
                        continue
                    hidden.add(rel)              # a non-directory replaces whatever lower tree sat here
                    new[path] = self._read_member(tf, m, path, n, new)
        except (tarfile.TarError, OSError, EOFError) as e:
            raise ArchiveError(f"read layer {n}: not a tar stream or corrupt: {e}") from None
        for path in replaced:
            self.entries.pop(path, None)
        self._hide(hidden, opaque)
        if new_meta is not None:
            self.metadata, self._metadata_layer = new_meta, n
        elif meta_hidden or keys.METADATA_FILE in hidden or "" in opaque:
            self.metadata = None
        self.entries.update(new)

    def _read_member(self, tf: tarfile.TarFile, m: tarfile.TarInfo, path: str, n: int,
                     same_layer: dict[str, _Entry]) -> _Entry:
        leaf = path.rsplit("/", 1)[-1]
        if m.islnk():                     # hard link: the same content as an earlier member of this layer
            target = _norm(m.linkname)
            if target and target.startswith(_PREFIX):
                got = same_layer.get(target[len(_PREFIX):], self.entries.get(target[len(_PREFIX):]))
                if isinstance(got, _Blob) and leaf == "data":
                    return _Blob(self._blob_digest(path) or got.digest, got.size,
                                 got.ok and self._blob_digest(path) == got.digest, n)
                if isinstance(got, _Link):
                    return _Link(got.digest, n)
            return _File(n)
        if not m.isreg():
            return _File(n)
        src = tf.extractfile(m)
        assert src is not None
        if leaf == "link":
            text = src.read(200).decode(errors="replace").strip()
            return _Link(Digest(text) if is_digest(text) else None, n)
        want = self._blob_digest(path)
        if leaf != "data" or want is None:
            return _File(n)
        keep = m.size <= MAX_DOC and self._docs_total + m.size <= MAX_DOCS_TOTAL
        first = src.read(min(CHUNK, m.size)) if m.size else b""
        keep = keep and first[:1] == b"{"           # manifests and configs are JSON; layers are not
        if not (self.hash_blobs or keep):
            return _Blob(want, m.size, True, n)
        h = hashlib.sha256(first)
        buf = bytearray(first) if keep else None
        while b := src.read(CHUNK):
            h.update(b)
            if buf is not None:
                buf += b
        ok = Digest.from_hex(h.hexdigest()) == want
        self.hashed_bytes += m.size
        self.hashed_blobs += 1
        if buf is not None and ok:
            self.docs[want] = bytes(buf)
            self._docs_total += len(buf)
        return _Blob(want, m.size, ok, n)

    @staticmethod
    def _blob_digest(path: str) -> Digest | None:
        parts = path.split("/")
        # docker/registry/v2/blobs/sha256/<2>/<hex>/data
        if len(parts) == 8 and "/".join(parts[:4]) == f"{V2}/blobs" and parts[7] == "data":
            text = f"{parts[4]}:{parts[6]}"
            if is_digest(text) and parts[5] == parts[6][:2]:
                return Digest(text)
        return None

    def _hide(self, hidden: set[str], opaque: set[str]) -> None:
        """Drop lower entries hidden by this layer's whiteouts, opaque markers and replacing files."""
        if not hidden and not opaque:
            return
        if "" in opaque or keys.REGISTRY_DIR in hidden or keys.REGISTRY_DIR in opaque:
            gone = list(self.entries)
        else:
            h = {p[len(_PREFIX):] for p in hidden if p.startswith(_PREFIX)}
            o = {p[len(_PREFIX):] for p in opaque if p.startswith(_PREFIX)}
            gone = [p for p in self.entries if _covered(p, h, o)]
        for p in gone:
            entry = self.entries.pop(p)
            if isinstance(entry, _Blob):
                self.docs.pop(entry.digest, None)

    @classmethod
    def from_dir(cls, root: Path) -> RegistryTree:
        """The same view of a registry directory on disk (already merged: no whiteouts). Blob content is not
        hashed (sizes come from the file system; large blobs may be sparse placeholders), documents are read."""
        tree = cls()
        base = Path(root)
        if not base.is_dir():
            return tree
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to(base).as_posix()
            for name in sorted(filenames):
                full = Path(dirpath) / name
                path = name if rel_dir == "." else f"{rel_dir}/{name}"
                try:
                    st = full.lstat()
                    if not stat.S_ISREG(st.st_mode):
                        tree.entries[path] = _File(0)
                    elif name == "link":
                        text = full.read_bytes()[:200].decode(errors="replace").strip()
                        tree.entries[path] = _Link(Digest(text) if is_digest(text) else None, 0)
                    elif (want := cls._blob_digest(path)) is not None:
                        ok = True
                        if st.st_size <= MAX_DOC:
                            with open(full, "rb") as f:
                                head = f.read(1)
                                if head == b"{":
                                    raw = head + f.read()
                                    ok = Digest.of_bytes(raw) == want
                                    if ok:
                                        tree.docs[want] = raw
                        tree.entries[path] = _Blob(want, st.st_size, ok, 0)
                    else:
                        tree.entries[path] = _File(0)
                except OSError as e:
                    tree.notes.append(f"registry/{path}: {e.strerror}")
        return tree

    # ---- the checker's view -------------------------------------------------------------------------------
    def link(self, rel: str) -> Digest | None:
        e = self.entries.get(rel)
        return e.digest if isinstance(e, _Link) else None

    def doc(self, digest: Digest) -> bytes | None:
        return self.docs.get(digest)

    def blob_state(self, digest: Digest) -> tuple[bool, int, bool]:
        e = self.entries.get(f"{V2}/blobs/sha256/{digest.hex[:2]}/{digest.hex}/data")
        return (True, e.size, e.ok) if isinstance(e, _Blob) else (False, 0, False)

    # ---- what it holds ------------------------------------------------------------------------------------
    @property
    def file_count(self) -> int:
        """Files (not directories) under ``registry/``: content whether or not it forms an image."""
        return sum(1 for e in self.entries.values() if not isinstance(e, int))

    def blob_count(self) -> int:
        return sum(1 for e in self.entries.values() if isinstance(e, _Blob))

    def images(self) -> list[CarriedImage]:
        """Every tag of every repository, and every untagged top-level manifest, sorted by name."""
        tags: dict[tuple[str, str], _Link] = {}
        revisions: dict[str, dict[Digest, int]] = {}
        for path, e in self.entries.items():
            if not isinstance(e, _Link) or not path.startswith(f"{V2}/repositories/"):
                continue
            rest = path[len(f"{V2}/repositories/"):]
            repo, sep, tail = rest.partition("/_manifests/")
            if not sep:
                continue
            parts = tail.split("/")
            if len(parts) == 4 and parts[0] == "tags" and parts[2:] == ["current", "link"]:
                tags[(repo, parts[1])] = e
            elif len(parts) == 4 and parts[0] == "revisions" and parts[3] == "link" and e.digest is not None:
                revisions.setdefault(repo, {})[e.digest] = e.layer
        out: list[CarriedImage] = []
        reachable: dict[str, set[Digest]] = {}
        for (repo, tag), e in sorted(tags.items()):
            if e.digest is None:
                out.append(CarriedImage(repo, tag, Digest.from_hex("0" * 64), layer=e.layer,
                                        problems=[f"{repo}:{tag}: tag link does not hold a digest"]))
                continue
            img = self._describe(repo, tag, e.digest, e.layer)
            reachable.setdefault(repo, set()).update(self._children(e.digest) | {e.digest})
            out.append(img)
        for repo, revs in sorted(revisions.items()):
            children = set().union(*(self._children(d) for d in revs)) if revs else set()
            for d, layer in sorted(revs.items(), key=lambda x: str(x[0])):
                if d in reachable.get(repo, set()) or d in children:
                    continue
                out.append(self._describe(repo, None, d, layer))
        return sorted(out, key=lambda i: (i.repository, i.tag or "", str(i.digest)))

    def _children(self, d: Digest) -> set[Digest]:
        raw = self.docs.get(d)
        doc = _json(raw) if raw else None
        if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
            return set()
        return {Digest(str(c["digest"])) for c in doc["manifests"]
                if isinstance(c, dict) and is_digest(str(c.get("digest")))}

    def _describe(self, repo: str, tag: str | None, top: Digest, layer: int) -> CarriedImage:
        img = CarriedImage(repo, tag, top, layer=layer)
        name = img.name
        present, size, ok = self.blob_state(top)
        raw = self.docs.get(top)
        if not present:
            img.problems.append(f"{name}: manifest {top} is missing")
            return img
        if raw is None:
            img.problems.append(f"{name}: manifest {top} is unreadable (corrupt or not JSON)")
            return img
        img.size += size
        doc = _json(raw)
        if not isinstance(doc, dict):
            img.problems.append(f"{name}: manifest {top} is not a JSON object")
            return img
        img.media_type = str(doc.get("mediaType") or "")
        if isinstance(doc.get("manifests"), list):
            img.media_type = img.media_type or _INDEX_TYPES[1]
            for c in doc["manifests"]:
                if not isinstance(c, dict) or not is_digest(str(c.get("digest"))):
                    continue
                plat = _platform(c.get("platform"))
                cd = Digest(str(c["digest"]))
                cpresent, csize, _ = self.blob_state(cd)
                craw = self.docs.get(cd)
                if not cpresent:
                    img.absent_platforms.append(plat or str(cd))
                    continue
                img.size += csize
                if craw is not None:
                    self._describe_manifest(img, name, cd, _json(craw))
                if plat and plat not in img.platforms:
                    img.platforms.append(plat)
            if not img.platforms:
                img.problems.append(f"{name}: index {top} lists no manifest that is present")
        else:
            plat = self._describe_manifest(img, name, top, doc)
            if plat:
                img.platforms.append(plat)
        return img

    def _describe_manifest(self, img: CarriedImage, name: str, digest: Digest, doc: Any) -> str | None:
        if not isinstance(doc, dict):
            img.problems.append(f"{name}: manifest {digest} is not a JSON object")
            return None
        descs = [doc.get("config")] + list(doc.get("layers") or [])
        for d in descs:
            if not isinstance(d, dict) or not is_digest(str(d.get("digest"))):
                continue
            bd = Digest(str(d["digest"]))
            present, size, _ = self.blob_state(bd)
            if present:
                img.size += size
            elif not d.get("urls"):
                img.problems.append(f"{name}: blob {bd} is missing")
        cfg = doc.get("config")
        if isinstance(cfg, dict) and is_digest(str(cfg.get("digest"))):
            c = _json(self.docs.get(Digest(str(cfg["digest"]))) or b"")
            if isinstance(c, dict):
                return _platform({"os": c.get("os") or "linux", "architecture": c.get("architecture") or "amd64",
                                  "variant": c.get("variant")})
        return None


def _covered(path: str, hidden: set[str], opaque: set[str]) -> bool:
    """Is ``path`` (or a directory above it) whited out, or strictly under an opaque directory?"""
    cur = path
    while cur:
        if cur in hidden:
            return True
        cur = cur.rpartition("/")[0]
        if cur in opaque:
            return True
    return False


def _platform(p: Any) -> str | None:
    if not isinstance(p, dict):
        return None
    try:
        return str(Platform.from_json(p))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None

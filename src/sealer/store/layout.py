"""OCI image layout at the store root.

Layout::

    ROOT/oci-layout            {"imageLayoutVersion": "1.0.0"}
    ROOT/index.json            refs: manifests annotated with org.opencontainers.image.ref.name
    ROOT/blobs/sha256/<hex>    content-addressed blobs
    ROOT/ingest/               temp files of blobs being written (resumable partial downloads)
    ROOT/leases/               one file per running operation naming blobs gc must keep
    ROOT/cache/                build cache records
    ROOT/index.lock            file lock taken for every index.json change and for gc

Visibility rule: blobs first, ``index.json`` last (atomically, under the lock). A crash at any point leaves
the store valid: unreferenced blobs and ingest files are garbage, never corruption.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sealer import reference
from sealer.digest import Digest
from sealer.errors import DigestError, ImageNotFound, ReferenceError_, StoreError
from sealer.oci import mediatypes as mt
from sealer.oci.model import (
    Descriptor,
    Index,
    Manifest,
    ManifestError,
    Platform,
    host_platform,
    parse_any,
    parse_config,
)
from sealer.store.fsutil import atomic_write, force_rmtree, fsync_dir
from sealer.store.ingest import IngestWriter

if TYPE_CHECKING:
    from filelock import FileLock

# filelock, the progress reporter, the decompressors and the tar extractor are imported where used: a read-only
# command (`sealer images`, `sealer inspect`) reads index.json and a few blobs and needs none of them.

MAX_DOC = 16 << 20
LOCK_QUIET_WAIT = 1.0  # seconds before "waiting for the store lock" is reported
INDEX_BACKUP = "index.json.prev"  # the previous good index.json  # manifests and configs larger than this are refused


@dataclass(frozen=True)
class StoredRef:
    name: str               # fully normalised reference, e.g. docker.io/library/my-cluster:v1
    descriptor: Descriptor  # of the manifest or index


@dataclass(frozen=True)
class StoredImage:
    name: str | None
    descriptor: Descriptor       # of the manifest chosen (after platform selection)
    manifest: Manifest
    config: dict[str, Any]
    index_descriptor: Descriptor | None = None


class _StoreLock:
    """The store's inter-process file lock behind an in-process lock: threads of one process queue on the
    thread lock instead of polling the file lock (filelock retries every 50 ms), so a commit never waits
    on another thread's poll interval. Reentrant, like the file lock."""

    def __init__(self, path: str) -> None:
        self._threads = threading.RLock()
        self._path = path
        self._file: FileLock | None = None  # made on first use (under the thread lock)

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            from filelock import FileLock, Timeout

            if self._file is None:
                self._file = FileLock(self._path, timeout=600)
            try:
                self._file.acquire(timeout=LOCK_QUIET_WAIT)
            except Timeout:
                from sealer.progress import task

                with task("waiting for the store lock"):
                    self._file.acquire()
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._file is not None:
                self._file.release()
        finally:
            self._threads.release()


class BlobWriter(IngestWriter):
    """Streams one blob into ``ingest/``; ``commit`` verifies, fsyncs and publishes it under the store lock,
    pinned in the open leases so a concurrent gc keeps it."""

    def __init__(self, store: Store, name: str, resume: bool = False) -> None:
        def publish(digest: Digest, install: Callable[[], None]) -> None:
            with store.locked():
                store._pin(digest)
                install()

        super().__init__(store.root / "ingest" / name, store.blob_path, resume=resume, publish=publish)


class Lease:
    """Blobs an in-flight operation relies on; gc keeps them while the owning process lives."""

    def __init__(self, store: Store) -> None:
        self.path = store.root / "leases" / f"{os.getpid()}-{uuid.uuid4().hex}.lease"
        self._fp = open(self.path, "a")  # noqa: SIM115 - closed in release
        self._mutex = threading.Lock()
        self._seen: set[Digest] = set()

    def add(self, digest: Digest) -> None:
        with self._mutex:
            if digest in self._seen:
                return
            self._seen.add(digest)
            self._fp.write(str(digest) + "\n")
            self._fp.flush()

    def release(self) -> None:
        self._fp.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class Store:
    def __init__(self, root: str | os.PathLike[str], create: bool = True) -> None:
        """``create=False`` (read-only commands): a root that holds no store is read as an empty store and
        nothing is created there."""
        self.root = Path(root)
        self._lock = _StoreLock(str(self.root / "index.lock"))
        self._leases: list[Lease] = []
        if create or (self.root / "oci-layout").exists() or (self.root / "index.json").exists():
            self._init()

    # ---- layout -------------------------------------------------------------------------------------
    def _init(self) -> None:
        for d in ("blobs/sha256", "ingest", "leases", "cache"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        layout = self.root / "oci-layout"
        if not layout.exists():
            atomic_write(layout, json.dumps({"imageLayoutVersion": mt.OCI_LAYOUT_VERSION}).encode())
        if not (self.root / "index.json").exists():
            with self._lock:
                # a store that holds blobs but lost its index is left as it is: `fsck --repair` restores it
                if not (self.root / "index.json").exists() and not self._has_blobs():
                    self._write_index([])

    def _has_blobs(self) -> bool:
        with os.scandir(self.root / "blobs" / "sha256") as it:
            return any(not e.name.startswith(".") for e in it)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    # ---- blobs --------------------------------------------------------------------------------------
    def blob_path(self, digest: Digest) -> Path:
        return self.root / "blobs" / "sha256" / digest.hex

    def has_blob(self, digest: Digest) -> bool:
        return self.blob_path(digest).is_file()

    def blob_size(self, digest: Digest) -> int:
        try:
            return self.blob_path(digest).stat().st_size
        except FileNotFoundError:
            raise StoreError(f"read blob {digest}: not in the store") from None

    def open_blob(self, digest: Digest) -> IO[bytes]:
        try:
            return open(self.blob_path(digest), "rb")
        except FileNotFoundError:
            raise StoreError(f"read blob {digest}: not in the store") from None

    def read_blob(self, digest: Digest, limit: int = MAX_DOC) -> bytes:
        with self.open_blob(digest) as fp:
            data = fp.read(limit + 1)
        if len(data) > limit:
            raise StoreError(f"read blob {digest}: larger than {limit} bytes")
        if Digest.of_bytes(data) != digest:
            raise DigestError(f"read blob {digest}: content does not match its digest (store corrupt; run fsck)")
        return data

    def writer(self, key: str | None = None, resume: bool = False) -> BlobWriter:
        """A BlobWriter in ingest/. ``key`` names a resumable ingest (e.g. the expected digest hex)."""
        name = key or f"w-{os.getpid()}-{uuid.uuid4().hex}"
        return BlobWriter(self, name, resume=resume)

    def put_blob(self, chunks: Iterable[bytes], expected: Digest | None = None,
                 size: int | None = None) -> tuple[Digest, int]:
        if expected is not None and self.adopt(expected):
            return expected, self.blob_size(expected)
        with self.writer() as w:
            for c in chunks:
                w.write(c)
            n = w.size
            return w.commit(expected, size), n

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> Digest:
        d = Digest.of_bytes(data)
        if expected is not None and d != expected:
            raise DigestError(f"write blob: digest is {d}, want {expected}")
        if not self.adopt(d):
            self.put_blob([data], d, len(data))
        return d

    @contextlib.contextmanager
    def lease(self) -> Iterator[Lease]:
        """Pin blobs for the duration of an operation: every blob this Store commits (or adopts) while the
        lease is open is kept by gc, even before a ref reaches it."""
        lease = Lease(self)
        self._leases.append(lease)
        try:
            yield lease
        finally:
            self._leases.remove(lease)
            lease.release()

    def _pin(self, digest: Digest) -> None:
        for lease in list(self._leases):
            lease.add(digest)

    def install_verified(self, path: str | os.PathLike[str], digest: Digest) -> None:
        """Move a file whose digest the caller has verified into blobs/ (pinned; no copy when present)."""
        with self._lock:
            self._pin(digest)
            if self.has_blob(digest):
                os.unlink(path)
            else:
                os.replace(path, self.blob_path(digest))
                fsync_dir(self.blob_path(digest).parent)

    def adopt(self, digest: Digest) -> bool:
        """Pin an existing blob in the open leases; True when it is present (safe against a concurrent gc)."""
        with self._lock:
            self._pin(digest)
            return self.has_blob(digest)

    # ---- refs ---------------------------------------------------------------------------------------
    def _read_index(self) -> Index:
        path = self.root / "index.json"
        hint = "run `sealer fsck --repair` to restore it"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            if not (self.root / "blobs" / "sha256").is_dir() or not self._has_blobs():
                return Index((), mt.OCI_INDEX)  # no store here (yet): nothing in it
            raise StoreError(f"read {path}: missing, but the store holds blobs; {hint}") from None
        try:
            return Index.parse(raw, mt.OCI_INDEX)
        except ManifestError as e:
            raise StoreError(f"read {path}: {e}; {hint}") from None

    def _write_index(self, manifests: list[Descriptor]) -> None:
        """Replace index.json atomically; the version it replaces, when readable, is kept as index.json.prev
        (what ``fsck --repair`` restores from if index.json is ever damaged)."""
        doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [d.to_json() for d in manifests]}
        path = self.root / "index.json"
        with contextlib.suppress(OSError, ManifestError):
            raw = path.read_bytes()
            Index.parse(raw, mt.OCI_INDEX)
            atomic_write(self.root / INDEX_BACKUP, raw)
        atomic_write(path, json.dumps(doc, indent=2).encode() + b"\n")

    def refs(self) -> list[StoredRef]:
        out = []
        for d in self._read_index().manifests:
            name = (d.annotations or {}).get(mt.ANNOTATION_REF_NAME)
            if name:
                out.append(StoredRef(name, d))
        return out

    @staticmethod
    def normalize(ref: str) -> str:
        return str(reference.parse(ref))

    def set_ref(self, ref: str, desc: Descriptor) -> None:
        """Point ``ref`` at ``desc`` (which must already be stored); atomic, under the lock.

        A digest in ``ref`` must be the image's own (``name:tag@sha256:…`` naming another digest is refused);
        it is then dropped from the stored name, which the digest would only repeat."""
        parsed = reference.parse(ref)
        if parsed.digest is not None:
            if parsed.digest != desc.digest:
                raise StoreError(f"tag {ref}: the digest does not match the image (its digest is {desc.digest})")
            if parsed.tag:
                ref = str(dataclasses.replace(parsed, digest=None))
        name = self.normalize(ref)
        if not self.has_blob(desc.digest):
            raise StoreError(f"tag {name}: manifest {desc.digest} is not in the store")
        with self._lock:
            kept = [d for d in self._read_index().manifests
                    if (d.annotations or {}).get(mt.ANNOTATION_REF_NAME) != name]
            ann = dict(desc.annotations or {})
            ann[mt.ANNOTATION_REF_NAME] = name
            kept.append(Descriptor(desc.media_type, desc.digest, desc.size, ann, desc.platform))
            self._write_index(kept)

    def remove_ref(self, ref: str) -> Descriptor:
        name = self.normalize(ref)
        with self._lock:
            manifests = list(self._read_index().manifests)
            hit = [d for d in manifests if (d.annotations or {}).get(mt.ANNOTATION_REF_NAME) == name]
            if not hit:
                raise ImageNotFound(f"remove {ref}: no such image in {self.root}")
            self._write_index([d for d in manifests if d not in hit])
            return hit[0]

    def resolve(self, ref: str) -> StoredRef:
        """Find a stored image by name, by full digest or by an image-id prefix (≥ 4 hex)."""
        refs = self.refs()
        try:
            parsed: reference.Reference | None = reference.parse(ref)
            name = str(parsed)
        except ReferenceError_:
            parsed, name = None, None
        if name:
            for r in refs:
                if r.name == name:
                    return r
        if parsed is not None and parsed.digest is not None:
            return self._resolve_digest(ref, parsed, refs)
        key = ref.removeprefix("sha256:")
        if len(key) >= 4 and all(c in "0123456789abcdef" for c in key):
            hits = {r.descriptor.digest: r for r in refs if r.descriptor.digest.hex.startswith(key)}
            for r in refs:
                with contextlib.suppress(StoreError, ManifestError):
                    if self.image_id(r.descriptor).hex.startswith(key):
                        hits.setdefault(r.descriptor.digest, r)
            if len(hits) == 1:
                return next(iter(hits.values()))
            if len(hits) > 1:
                raise StoreError(f"resolve {ref}: ambiguous image id prefix")
        raise ImageNotFound(f"resolve {ref}: no such image in {self.root} (see `sealer images`)")

    def _resolve_digest(self, ref: str, parsed: reference.Reference, refs: list[StoredRef]) -> StoredRef:
        """``NAME[:TAG]@DIGEST``: an image stored under that repository (and tag) with that manifest digest."""
        same_repo = [r for r in refs if reference.parse(r.name).repository == parsed.repository]
        if parsed.tag:
            tagged = [r for r in same_repo if reference.parse(r.name).tag == parsed.tag]
            if tagged and tagged[0].descriptor.digest != parsed.digest:
                raise StoreError(f"resolve {ref}: {parsed.repository}:{parsed.tag} is {tagged[0].descriptor.digest}, "
                                 f"not {parsed.digest}")
            same_repo = tagged
        for r in same_repo:
            if r.descriptor.digest == parsed.digest:
                return r
        raise ImageNotFound(f"resolve {ref}: no such image in {self.root} (see `sealer images`)")

    def image_id(self, desc: Descriptor) -> Digest:
        """Docker-style image id: the config digest (of the first manifest for an index)."""
        doc = parse_any(self.read_blob(desc.digest), desc.media_type)
        if isinstance(doc, Index):
            if not doc.manifests:
                return desc.digest
            doc = Manifest.parse(self.read_blob(doc.manifests[0].digest))
        return doc.config.digest

    def image(self, ref: str | StoredRef, platform: Platform | None = None) -> StoredImage:
        r = ref if isinstance(ref, StoredRef) else self.resolve(ref)
        return self.image_at(r.descriptor, r.name, platform)

    def image_at(self, desc: Descriptor, name: str | None = None, platform: Platform | None = None) -> StoredImage:
        doc = parse_any(self.read_blob(desc.digest), desc.media_type)
        index_desc = None
        if isinstance(doc, Index):
            index_desc = desc
            if platform is None:
                platform = host_platform()
            try:
                child = doc.select(platform)
            except ManifestError:
                if len(doc.manifests) == 1:
                    child = doc.manifests[0]
                else:
                    have = ", ".join(str(d.platform) for d in doc.manifests if d.platform) or "none"
                    raise StoreError(f"{name or desc.digest}: no {platform} image; it has {have} "
                                     "(choose one with --platform)") from None
            desc = child
            doc = Manifest.parse(self.read_blob(child.digest), child.media_type)
        config = parse_config(self.read_blob(doc.config.digest))
        return StoredImage(name, desc, doc, config, index_desc)

    def export_rootfs(self, ref: str, dest: str | os.PathLike[str], platform: Platform | None = None) -> StoredImage:
        """Apply the image's layers in order (whiteouts honoured, extraction contained) into ``dest``."""
        from sealer.compression import decompressed
        from sealer.progress import task
        from sealer.tario.extract import extract_layer

        img = self.image(ref, platform)
        Path(dest).mkdir(parents=True, exist_ok=True)
        with task("exporting", sum(layer.size for layer in img.manifest.layers)) as rep:
            for layer in img.manifest.layers:
                with decompressed(self.open_blob(layer.digest), layer.media_type) as fp:
                    extract_layer(fp, dest)
                rep.advance(layer.size)
        return img

    # ---- reachability / gc --------------------------------------------------------------------------
    def referenced_blobs(self, roots: Iterable[Descriptor] | None = None) -> set[Digest]:
        seen: set[Digest] = set()
        stack = list(roots if roots is not None else self._read_index().manifests)
        while stack:
            d = stack.pop()
            if d.digest in seen:
                continue
            seen.add(d.digest)
            if not (mt.is_index(d.media_type) or mt.is_manifest(d.media_type)):
                continue
            if not self.has_blob(d.digest):
                continue
            try:
                doc = parse_any(self.read_blob(d.digest), d.media_type)
            except (ManifestError, StoreError):
                continue
            if isinstance(doc, Index):
                stack.extend(doc.manifests)
            else:
                seen.add(doc.config.digest)
                stack.extend(doc.layers)
        return seen

    def _leased(self) -> set[Digest]:
        keep: set[Digest] = set()
        for f in (self.root / "leases").glob("*.lease"):
            pid = int(f.name.split("-", 1)[0]) if f.name.split("-", 1)[0].isdigit() else -1
            if pid > 0 and _pid_alive(pid):
                for line in f.read_text().splitlines():
                    with contextlib.suppress(Exception):
                        keep.add(Digest(line.strip()))
            else:
                with contextlib.suppress(FileNotFoundError):
                    f.unlink()
        return keep

    def gc(self, ingest_grace: float = 3600.0) -> tuple[int, int]:
        """Remove blobs no ref (nor a live lease) reaches, and stale ingest files.
        Returns (blobs removed, bytes freed)."""
        removed = freed = 0
        with self._lock:
            listing = list((self.root / "blobs" / "sha256").iterdir())
            keep = self.referenced_blobs() | self._leased()
            for p in listing:
                try:
                    d = Digest.from_hex(p.name)
                except Exception:  # noqa: BLE001 - foreign file
                    continue
                if d not in keep:
                    freed += p.stat().st_size
                    p.unlink()
                    removed += 1
            now = time.time()
            for p in (self.root / "ingest").iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if now - p.stat().st_mtime > ingest_grace and not _owner_alive(p.name):
                        if p.is_dir() and not p.is_symlink():
                            force_rmtree(p)
                        else:
                            p.unlink()
        return removed, freed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_alive(name: str) -> bool:
    """Ingest entries are named KIND-PID-...; an entry whose process is gone is garbage."""
    parts = name.split("-")
    if len(parts) >= 2 and parts[1].isdigit():
        return _pid_alive(int(parts[1]))
    return False

"""``save``/``load``: one tar holding an OCI image layout with one or more images.

``load`` streams the archive into the store's ingest area, verifies every blob's digest and every image's
completeness, and only then makes blobs and refs visible. A corrupt, truncated or hostile archive changes
nothing in the store.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sealer.digest import Digest
from sealer.errors import ArchiveError, DigestError, StoreError
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor, Index, Manifest, ManifestError, parse_any
from sealer.oserrors import WRITE_SIDE, describe
from sealer.progress import CountingReader, TaskReporter, task
from sealer.store.layout import Store
from sealer.tario.extract import clean_member_name

_BLOB_RE = re.compile(r"^blobs/sha256/([a-f0-9]{64})$")
MAX_ENTRIES = 1_000_000
MAX_BYTES = 1 << 42          # 4 TiB of blob content
MAX_DOC = 16 << 20


@dataclass(frozen=True)
class LoadLimits:
    """Tar-bomb limits for ``load`` (the CLI sets them from ``SEALER_LOAD_MAX_ENTRIES`` / ``SEALER_LOAD_MAX_BYTES``)."""

    max_entries: int = MAX_ENTRIES
    max_bytes: int = MAX_BYTES


def save(store: Store, refs: Sequence[str], out: IO[bytes]) -> list[str]:
    """Write the images named by ``refs`` as one OCI-layout tar to ``out``. Returns the saved names."""
    chosen = [store.resolve(r) for r in refs]
    descs = []
    for r in chosen:
        ann = dict(r.descriptor.annotations or {})
        ann[mt.ANNOTATION_REF_NAME] = r.name
        descs.append(r.descriptor.with_annotations(ann))
    blobs = sorted(store.referenced_blobs([r.descriptor for r in chosen]), key=str)
    sizes = {d: store.blob_path(d).stat().st_size for d in blobs}
    tf = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - closed in finally
    try:
        _add_bytes(tf, "oci-layout", json.dumps({"imageLayoutVersion": mt.OCI_LAYOUT_VERSION}).encode())
        index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [d.to_json() for d in descs]}
        _add_bytes(tf, "index.json", json.dumps(index, indent=2).encode())
        with task("saving", sum(sizes.values())) as rep:
            for d in blobs:
                path = store.blob_path(d)
                ti = tarfile.TarInfo(f"blobs/sha256/{d.hex}")
                ti.size = sizes[d]
                ti.mode = 0o644
                with open(path, "rb") as fp:
                    tf.addfile(ti, CountingReader(fp, rep))
    finally:
        tf.close()
    return [r.name for r in chosen]


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    tf.addfile(ti, io.BytesIO(data))


def load(store: Store, src: IO[bytes], limits: LoadLimits | None = None) -> list[str]:
    """Load every image of an OCI-layout tar into the store. Returns the names loaded.

    ``limits`` defaults to :class:`LoadLimits`'s."""
    limits = limits or LoadLimits()
    tmp = Path(tempfile.mkdtemp(prefix=f"load-{os.getpid()}-", dir=store.root / "ingest"))
    try:
        with task("loading", _file_size(src)) as rep:
            index_raw, blobs = _unpack(src, tmp, limits, rep)
        try:
            index = Index.parse(index_raw, mt.OCI_INDEX)
        except ManifestError as e:
            raise ArchiveError(f"load: index.json: {e}") from None
        named: list[tuple[str, Descriptor]] = []
        for d in index.manifests:
            name = (d.annotations or {}).get(mt.ANNOTATION_REF_NAME)
            if not name:
                raise ArchiveError(f"load: image {d.digest} in index.json has no {mt.ANNOTATION_REF_NAME}")
            try:
                name = Store.normalize(name)
            except Exception as e:  # noqa: BLE001 - any bad name is an archive error
                raise ArchiveError(f"load: image name {name!r}: {e}") from None
            named.append((name, d))
        if not named:
            raise ArchiveError("load: the archive holds no image")
        _check_complete(tmp, blobs, [d for _, d in named])
        with store.lease():
            for hexd in sorted(blobs):
                store.install_verified(tmp / hexd, Digest.from_hex(hexd))
            for name, d in named:
                store.set_ref(name, d)
        return [n for n, _ in named]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _file_size(src: IO[bytes]) -> int | None:
    """The size of a regular file being read (for a progress total); None for a pipe or a socket."""
    try:
        st = os.fstat(src.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _unpack(src: IO[bytes], tmp: Path, limits: LoadLimits, rep: TaskReporter) -> tuple[bytes, set[str]]:
    index_raw: bytes | None = None
    blobs: set[str] = set()
    count = 0
    total = 0
    try:
        tf = tarfile.open(fileobj=CountingReader(src, rep), mode="r|*")  # type: ignore[call-overload]  # noqa: SIM115
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ArchiveError(f"load: not a tar archive: {e}") from None
    try:
        for m in tf:
            count += 1
            if count > limits.max_entries:
                raise ArchiveError(f"load: more than {limits.max_entries} entries in the archive (tar bomb?)")
            name = clean_member_name(m.name)
            if m.isdir() or name in ("", "blobs", "blobs/sha256"):
                continue
            if not m.isreg():
                raise ArchiveError(f"load: entry {m.name!r} is not a regular file (links and devices are refused)")
            total += m.size
            if total > limits.max_bytes:
                raise ArchiveError(f"load: more than {limits.max_bytes} bytes of content in the archive (tar bomb?)")
            f = tf.extractfile(m)
            assert f is not None
            if name == "oci-layout":
                f.read(4096)
                continue
            if name == "index.json":
                if index_raw is not None:
                    raise ArchiveError("load: duplicate index.json in the archive")
                if m.size > MAX_DOC:
                    raise ArchiveError("load: index.json too large")
                index_raw = f.read()
                continue
            mm = _BLOB_RE.match(name)
            if not mm:
                raise ArchiveError(f"load: unexpected entry {m.name!r} (an OCI layout holds oci-layout, index.json, blobs/sha256/*)")
            hexd = mm.group(1)
            if hexd in blobs:
                raise ArchiveError(f"load: duplicate entry {m.name!r}")
            _write_verified(f, tmp / hexd, Digest.from_hex(hexd), m.size)
            blobs.add(hexd)
    except tarfile.TarError as e:
        raise ArchiveError(f"load: corrupt or truncated archive: {e}") from None
    except (EOFError, OSError) as e:
        if isinstance(e, ArchiveError):
            raise
        if isinstance(e, OSError) and e.errno in WRITE_SIDE:  # our disk, not the archive
            raise StoreError(describe(e, "load: write", e.filename or tmp)) from None
        raise ArchiveError(f"load: corrupt or truncated archive: {e}") from None
    finally:
        tf.close()
    if index_raw is None:
        raise ArchiveError("load: the archive has no index.json (is it an OCI layout saved by `sealer save`?)")
    return index_raw, blobs


def _write_verified(f: IO[bytes], dst: Path, expected: Digest, size: int) -> None:
    h = hashlib.sha256()
    n = 0
    with open(dst, "wb") as out:
        while b := f.read(1 << 20):
            h.update(b)
            n += len(b)
            out.write(b)
        out.flush()
        os.fsync(out.fileno())
    if n != size:
        raise ArchiveError(f"load: blob {expected} is truncated ({n} of {size} bytes)")
    got = Digest.from_hex(h.hexdigest())
    if got != expected:
        raise DigestError(f"load: blob {expected} has digest {got}; the archive is corrupt")


def _check_complete(tmp: Path, blobs: set[str], roots: list[Descriptor]) -> None:
    stack = list(roots)
    seen: set[str] = set()
    while stack:
        d = stack.pop()
        if d.digest.hex in seen:
            continue
        seen.add(d.digest.hex)
        if d.digest.hex not in blobs:
            raise ArchiveError(f"load: blob {d.digest} ({d.media_type or 'unknown type'}) is missing from the archive")
        size = (tmp / d.digest.hex).stat().st_size
        if size != d.size:
            raise ArchiveError(f"load: blob {d.digest} is {size} bytes, its descriptor says {d.size}")
        if mt.is_index(d.media_type) or mt.is_manifest(d.media_type):
            raw = (tmp / d.digest.hex).read_bytes()
            try:
                doc = parse_any(raw, d.media_type)
            except ManifestError as e:
                raise ArchiveError(f"load: {d.digest}: {e}") from None
            if isinstance(doc, Manifest):
                stack.append(doc.config)
                stack.extend(doc.layers)
            else:
                stack.extend(doc.manifests)

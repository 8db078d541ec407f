"""Independent oracles over an OCI image layout, written from the OCI image spec, not from sealer's code.

Nothing here imports ``sealer``: the layout is read with ``json``/``hashlib``/``tarfile`` (and the zstandard
module only for zstd layers), so a bug in the store, the layer writer or the extractor cannot hide itself.

- :func:`check_layout` walks ``index.json`` → manifests/indexes → config and layers, recomputing every blob's
  sha256 and size, and returns the problems found (``[]`` = consistent).
- :func:`flatten_rootfs` applies an image's layers in order, honouring OCI whiteouts (``.wh.NAME`` and the
  opaque ``.wh..wh..opq``), and returns ``{path: TarInfo}`` of the final filesystem (contents via ``read``).
- :func:`umoci_unpack` unpacks with umoci (another independent implementation) into a directory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REF_NAME = "org.opencontainers.image.ref.name"
INDEX_TYPES = {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}


def blob_path(layout: Path, digest: str) -> Path:
    algo, _, hexpart = digest.partition(":")
    assert algo == "sha256" and len(hexpart) == 64, f"unexpected digest {digest!r}"
    return layout / "blobs" / algo / hexpart


def _sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    return "sha256:" + h.hexdigest(), n


def check_layout(layout: Path) -> list[str]:
    """Problems of an OCI layout: every blob's sha256 recomputed, every descriptor reachable from index.json
    present with the right size and digest, every JSON document parseable."""
    problems: list[str] = []
    layout = Path(layout)
    for name in os.listdir(layout / "blobs" / "sha256"):
        got, _ = _sha256_file(layout / "blobs" / "sha256" / name)
        if got != f"sha256:{name}":
            problems.append(f"blob {name}: content hashes to {got}")
    try:
        index = json.loads((layout / "index.json").read_bytes())
    except (OSError, ValueError) as e:
        return [*problems, f"index.json unreadable: {e}"]
    if index.get("schemaVersion") != 2:
        problems.append("index.json: schemaVersion is not 2")
    json.loads((layout / "oci-layout").read_bytes())

    def desc(d: dict[str, Any], where: str) -> bytes | None:
        p = blob_path(layout, d["digest"])
        if not p.is_file():
            problems.append(f"{where}: blob {d['digest']} missing")
            return None
        got, size = _sha256_file(p)
        if got != d["digest"]:
            problems.append(f"{where}: blob {d['digest']} hashes to {got}")
        if size != d["size"]:
            problems.append(f"{where}: blob {d['digest']} has {size} bytes, descriptor says {d['size']}")
        mt = d.get("mediaType", "")
        return p.read_bytes() if mt.endswith("json") else b""

    def manifest(d: dict[str, Any], where: str) -> None:
        raw = desc(d, where)
        if raw is None:
            return
        doc = json.loads(raw)
        if d.get("mediaType") in INDEX_TYPES or "manifests" in doc:
            for i, child in enumerate(doc.get("manifests", [])):
                manifest(child, f"{where} > manifest {i}")
            return
        desc(doc["config"], f"{where} > config")
        json.loads(blob_path(layout, doc["config"]["digest"]).read_bytes())
        for i, layer in enumerate(doc.get("layers", [])):
            desc(layer, f"{where} > layer {i}")

    for i, d in enumerate(index.get("manifests", [])):
        manifest(d, (d.get("annotations") or {}).get(REF_NAME, f"index entry {i}"))
    return problems


def ref_names(layout: Path) -> list[str]:
    index = json.loads((Path(layout) / "index.json").read_bytes())
    return [(d.get("annotations") or {}).get(REF_NAME, "") for d in index.get("manifests", [])]


def image_manifest(layout: Path, ref_name: str) -> dict[str, Any]:
    """The image manifest tagged ``ref_name`` (the first child of an index, if the tag names an index)."""
    index = json.loads((Path(layout) / "index.json").read_bytes())
    hits = [d for d in index["manifests"] if (d.get("annotations") or {}).get(REF_NAME) == ref_name]
    assert len(hits) == 1, f"{ref_name!r}: {len(hits)} entries in index.json ({ref_names(layout)})"
    doc: dict[str, Any] = json.loads(blob_path(layout, hits[0]["digest"]).read_bytes())
    while "manifests" in doc:
        doc = json.loads(blob_path(layout, doc["manifests"][0]["digest"]).read_bytes())
    return doc


def open_layer(layout: Path, layer: dict[str, Any]) -> io.BufferedIOBase | Any:
    raw = open(blob_path(layout, layer["digest"]), "rb")  # noqa: SIM115 - wrapped and closed by the caller
    mt = layer["mediaType"]
    if mt.endswith("gzip"):
        return gzip.GzipFile(fileobj=raw)
    if mt.endswith("zstd"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw)
    return raw


@dataclass
class Entry:
    info: tarfile.TarInfo
    data: bytes | None = None   # regular files only


@dataclass
class Rootfs:
    entries: dict[str, Entry] = field(default_factory=dict)

    def __contains__(self, path: str) -> bool:
        return path.strip("/") in self.entries

    def read(self, path: str) -> bytes:
        e = self.entries[path.strip("/")]
        assert e.data is not None, f"{path} is not a regular file"
        return e.data

    def under(self, path: str) -> list[str]:
        p = path.strip("/") + "/"
        return sorted(k for k in self.entries if k.startswith(p))


def _norm(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    assert ".." not in parts, f"layer entry {name!r} leaves the rootfs"
    return "/".join(parts)


def flatten_rootfs(layout: Path, ref_name: str) -> Rootfs:
    """The image's final filesystem, by applying each layer's tar stream in order with the OCI whiteout rules."""
    fs = Rootfs()
    for layer in image_manifest(layout, ref_name)["layers"]:
        with open_layer(layout, layer) as fp, tarfile.open(fileobj=fp, mode="r|") as tf:
            added: set[str] = set()
            for m in tf:
                name = _norm(m.name)
                if not name:
                    continue
                parent, _, base = name.rpartition("/")
                if base == ".wh..wh..opq":
                    prefix = parent + "/" if parent else ""
                    for k in [k for k in fs.entries if k.startswith(prefix) and k not in added]:
                        del fs.entries[k]
                    continue
                if base.startswith(".wh."):
                    gone = f"{parent}/{base[4:]}" if parent else base[4:]
                    for k in [k for k in fs.entries if k == gone or k.startswith(gone + "/")]:
                        del fs.entries[k]
                    continue
                old = fs.entries.get(name)
                if old is not None and old.info.isdir() and not m.isdir():
                    for k in [k for k in fs.entries if k.startswith(name + "/")]:
                        del fs.entries[k]
                data = None
                if m.isreg():
                    f = tf.extractfile(m)
                    assert f is not None
                    data = f.read()
                fs.entries[name] = Entry(m, data)
                added.add(name)
    return fs


def umoci_unpack(layout: Path, ref_name: str, bundle: Path) -> Path:
    """Unpack with umoci (rootless, so no ownership games) and return the rootfs directory. umoci refuses tag
    names with '/', so the image is copied under a plain tag into a scratch layout with skopeo first."""
    work = bundle.parent / (bundle.name + "-layout")
    subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}:{ref_name}", f"oci:{work}:img"], check=True,
                   capture_output=True, text=True)
    try:
        subprocess.run(["umoci", "unpack", "--rootless", "--image", f"{work}:img", str(bundle)], check=True,
                       capture_output=True, text=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return bundle / "rootfs"

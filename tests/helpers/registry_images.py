"""Generate test images as OCI image layouts in Python (no sealer code involved: an independent oracle).

``write_oci_layout(dir, "v1", [1 << 20, 4096])`` writes one image with two gzip tar layers of random bytes;
``platforms=["linux/amd64", "linux/arm64"]`` writes one manifest per platform under an index;
``docker_types=True`` uses docker schema 2 media types (manifest list + v2 manifest) instead of OCI.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass
class ImageManifest:
    platform: str            # os/arch[/variant]
    digest: str              # sha256:...
    raw: bytes
    config_digest: str
    layer_digests: list[str]
    layer_sizes: list[int]   # blob sizes (compressed)


@dataclass
class TestImage:
    layout: Path
    tag: str
    digest: str              # top-level digest (index when multi-arch, else manifest)
    media_type: str
    raw: bytes
    manifests: list[ImageManifest] = field(default_factory=list)

    @property
    def is_index(self) -> bool:
        return self.media_type in (OCI_INDEX, DOCKER_LIST)

    @property
    def oci_ref(self) -> str:
        return f"oci:{self.layout}:{self.tag}"

    @property
    def total_size(self) -> int:
        return sum(sum(m.layer_sizes) for m in self.manifests)

    def for_platform(self, platform: str) -> ImageManifest:
        for m in self.manifests:
            if m.platform == platform:
                return m
        raise KeyError(platform)


class _RandomReader:
    """A file-like object yielding ``size`` pseudo-random bytes (fast: Random.randbytes)."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.left = size
        self.rng = rng

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self.left:
            n = self.left
        self.left -= n
        return self.rng.randbytes(n) if n else b""


class _Hasher:
    """Writes through to ``fp`` while hashing and counting."""

    def __init__(self, fp: BinaryIO | Any) -> None:
        self.fp = fp
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, b: bytes) -> int:
        self.h.update(b)
        self.n += len(b)
        self.fp.write(b)
        return len(b)

    def flush(self) -> None:
        self.fp.flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self.h.hexdigest()


def _put_blob(blobs: Path, data: bytes) -> tuple[str, int]:
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    (blobs / d[7:]).write_bytes(data)
    return d, len(data)


def _write_layer(blobs: Path, size: int, rng: random.Random, name: str) -> tuple[str, int, str]:
    """A gzip tar layer holding one file of ``size`` random bytes; returns (digest, blob size, diff_id)."""
    tmp = blobs / f".tmp-{os.getpid()}-{rng.getrandbits(64):x}"
    with open(tmp, "wb") as raw:
        outer = _Hasher(raw)
        gz = gzip.GzipFile(fileobj=outer, mode="wb", compresslevel=0, mtime=0)  # stored blocks: random data does not compress
        inner = _Hasher(gz)
        with tarfile.open(fileobj=inner, mode="w|", format=tarfile.PAX_FORMAT) as tf:  # type: ignore[call-overload]
            ti = tarfile.TarInfo(f"data/{name}")
            ti.size = size
            ti.mode = 0o644
            ti.mtime = 0
            tf.addfile(ti, _RandomReader(size, rng))
        gz.close()
    digest = outer.digest
    os.replace(tmp, blobs / digest[7:])
    return digest, outer.n, inner.digest


def _desc(media_type: str, digest: str, size: int, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest, "size": size, **extra}


def _platform_json(p: str) -> dict[str, str]:
    parts = p.split("/")
    d = {"architecture": parts[1], "os": parts[0]}
    if len(parts) > 2:
        d["variant"] = parts[2]
    return d


def write_oci_layout(layout: Path, tag: str, layer_sizes: list[int], *, platforms: list[str] | None = None,
                     seed: int | None = None, docker_types: bool = False,
                     labels: dict[str, str] | None = None) -> TestImage:
    """Write (or add to) an OCI image layout at ``layout`` and tag the new image ``tag``."""
    rng = random.Random(seed if seed is not None else os.urandom(8))
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    man_type, cfg_type, layer_type = ((DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER) if docker_types
                                      else (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER_GZIP))
    mans: list[ImageManifest] = []
    for plat in platforms or ["linux/amd64"]:
        layers, diff_ids = [], []
        for i, size in enumerate(layer_sizes):
            d, n, diff = _write_layer(blobs, size, rng, f"{plat.replace('/', '-')}-{i}")
            layers.append(_desc(layer_type, d, n))
            diff_ids.append(diff)
        pj = _platform_json(plat)
        config = {**pj, "created": "2024-01-01T00:00:00Z",
                  "config": {"Labels": dict(labels or {}), "Env": ["PATH=/usr/bin:/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"test layer {i}"}
                              for i in range(len(layer_sizes))]}
        cfg_d, cfg_n = _put_blob(blobs, json.dumps(config, sort_keys=True).encode())
        manifest = {"schemaVersion": 2, "mediaType": man_type, "config": _desc(cfg_type, cfg_d, cfg_n),
                    "layers": layers}
        raw = json.dumps(manifest, indent=2).encode()
        md, _ = _put_blob(blobs, raw)
        mans.append(ImageManifest(plat, md, raw, cfg_d, [x["digest"] for x in layers],
                                  [x["size"] for x in layers]))
    if platforms:
        index = {"schemaVersion": 2, "mediaType": DOCKER_LIST if docker_types else OCI_INDEX,
                 "manifests": [_desc(man_type, m.digest, len(m.raw), platform=_platform_json(m.platform))
                               for m in mans]}
        raw_top = json.dumps(index, indent=2).encode()
        top_type = index["mediaType"]
    else:
        raw_top, top_type = mans[0].raw, man_type
    top_d, top_n = _put_blob(blobs, raw_top)
    idx_path = layout / "index.json"
    entries = json.loads(idx_path.read_text())["manifests"] if idx_path.exists() else []
    entries = [e for e in entries if e.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    entries.append(_desc(str(top_type), top_d, top_n, annotations={"org.opencontainers.image.ref.name": tag}))
    buf = io.StringIO()
    json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, buf, indent=2)
    idx_path.write_text(buf.getvalue())
    return TestImage(layout, tag, top_d, str(top_type), raw_top, mans)

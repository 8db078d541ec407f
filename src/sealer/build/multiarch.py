"""Multi-platform builds whose Kubefile names ``$ARCH``/``${ARCH}`` in a COPY source.

sealer builds such a Kubefile once per platform (``COPY ${ARCH}/bin bin`` becomes ``COPY amd64/bin bin`` for
linux/amd64 and ``COPY arm64/bin bin`` for linux/arm64) and joins the images in one manifest list. We do
the same: one single-platform build per platform under a temporary name, then one OCI index over their
manifests gets the requested tags; each platform's image carries only its own binaries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sealer.kubefile import Copy, parse_file
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor, Index, Manifest, Platform
from sealer.store import Store

if TYPE_CHECKING:
    from sealer.build.options import BuildOptions
    from sealer.build.records import BuildResult


def needs_split(kf_path: Path, opts: BuildOptions, platforms: list[Platform]) -> bool:
    """More than one platform, and a COPY source differs between two of them."""
    if len(platforms) < 2:
        return False

    def sources(arch: str) -> list[tuple[str, ...]]:
        kf = parse_file(kf_path, build_args=opts.build_args, arch=arch)
        return [i.sources for i in kf.instructions if isinstance(i, Copy)]
    first = sources(platforms[0].architecture)
    return any(sources(p.architecture) != first for p in platforms[1:])


def build_each(opts: BuildOptions, store: Store, platforms: list[Platform],
               build: Callable[[BuildOptions, Store], BuildResult]) -> BuildResult:
    t0 = time.monotonic()
    temp = [f"localhost/sealer-py-platform-build/{uuid.uuid4().hex}:{p.architecture}{p.variant or ''}"
            for p in platforms]
    results = []
    try:
        for p, tag in zip(platforms, temp, strict=True):
            results.append(build(dataclasses.replace(opts, platforms=[p], tags=[tag]), store))
        descs = []
        annotations: dict[str, str] | None = None
        with store.lease() as lease:
            for p, res in zip(platforms, results, strict=True):
                raw = store.read_blob(res.digest)
                manifest = Manifest.parse(raw)
                annotations = dict(manifest.annotations or {})
                lease.add(res.digest)
                descs.append(Descriptor(mt.OCI_MANIFEST, res.digest, len(raw), None, p))
            idx = Index(tuple(descs), annotations=annotations or None)
            raw_idx = idx.to_bytes()
            final = Descriptor(mt.OCI_INDEX, store.put_bytes(raw_idx), len(raw_idx))
            lease.add(final.digest)
            for t in opts.tags:
                store.set_ref(t, final)
    finally:
        for tag in temp:
            with contextlib.suppress(Exception):   # a platform build that failed left no tag
                store.remove_ref(tag)
    first = results[0]
    return dataclasses.replace(
        first, digest=final.digest, tags=[Store.normalize(t) for t in opts.tags],
        layers=[rec for r in results for rec in r.layers],
        cached_steps=sum(r.cached_steps for r in results), total_steps=sum(r.total_steps for r in results),
        images=[i for r in results for i in r.images], seconds=time.monotonic() - t0)

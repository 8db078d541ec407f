"""The lite stage's record: images cached by this build plus every image the rootfs's ``registry/`` already
holds, with its source (``base image X``, or a Kubefile step)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sealer.carried.record import Recorded, read_record, union
from sealer.carried.scan import carried
from sealer.interop.base_registry import CarriedImage, RegistryTree
from sealer.oci.model import ManifestError
from sealer.store import Store, StoredImage

log = logging.getLogger(__name__)


def carried_union(cached: list[dict[str, Any]], registry_dir: Path, store: Store, base: StoredImage | None,
                  base_name: str | None, warn: Callable[[str], None]) -> list[dict[str, Any]]:
    """``cached`` (this build's cached images) plus what ``registry_dir`` (the rootfs's ``registry/`` before
    this build's cache layers) holds. The base image's own listing (streamed from its layers, remembered per
    digest) tells which of those it carries."""
    present = RegistryTree.from_dir(registry_dir).images()
    in_base: list[CarriedImage] = []
    known: list[Recorded] = []
    if base is not None:
        name = base_name or base.name or str(base.descriptor.digest)
        try:
            rec = read_record(base.config, base.manifest.annotations)
        except ManifestError as e:
            log.debug("base image record unreadable: %s", e)
            rec = None
        known = rec[1] if rec else []
        by_label = _label_says(rec, present)
        # a base with our label that accounts for everything present needs no listing of its layers
        in_base = by_label if by_label is not None else carried(store, base.descriptor.digest, base.manifest,
                                                                 name).images
    entries, warnings = union(cached, present, base_name or (base.name if base else None), in_base, known)
    for w in warnings:
        warn(w)
    return entries


def _label_says(rec: tuple[str, list[Recorded]] | None, present: list[CarriedImage]) -> list[CarriedImage] | None:
    """The present images when the base's own ``io.sealer.images`` label records every one of them with the
    same digest (what a sealer-py build recorded from the truth); None when the layers must be read."""
    if rec is None or not rec[0].startswith("label"):
        return None
    recorded = {(r.repository, r.tag or str(r.digest), str(r.digest)) for r in rec[1]}
    if all((i.repository, i.tag or str(i.digest), str(i.digest)) in recorded for i in present):
        return list(present)
    return None

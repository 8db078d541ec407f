"""What ``sealer inspect`` shows of the images an image carries, and its Kubernetes version, for any format:
our labels when the image has them, else what its layers' ``registry/`` and ``Metadata`` hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sealer.carried.record import entry, name_of, read_record
from sealer.carried.scan import carried
from sealer.errors import SealerError
from sealer.oci import labels as imagemeta
from sealer.oci.model import ManifestError
from sealer.store import Store, StoredImage


@dataclass
class Shown:
    images: list[dict[str, Any]]
    images_from: str                      # "label io.sealer.images" | "registry/ in the layers"
    kube_version: str | None
    kube_version_from: str | None         # "label ..." | "rootfs Metadata" | None
    notes: list[str] = field(default_factory=list)


def show(store: Store, img: StoredImage) -> Shown:
    labels = imagemeta.of_config(img.config)
    kv = labels.get(imagemeta.LABEL_KUBE_VERSION)
    out = Shown(imagemeta.cached_images(img.config), f"label {imagemeta.LABEL_IMAGES}", kv,
                f"label {imagemeta.LABEL_KUBE_VERSION}" if kv else None)
    has_label = imagemeta.LABEL_IMAGES in labels
    if has_label and kv:
        return out
    try:
        scan = carried(store, img.descriptor.digest, img.manifest, img.name or str(img.descriptor.digest))
    except SealerError as e:      # a missing or corrupt layer: show the rest, say why the list is absent
        out.notes.append(f"registry/ not read: {e}")
        return out
    if not kv and scan.kube_version:
        out.kube_version, out.kube_version_from = scan.kube_version, "rootfs Metadata"
    if scan.metadata_error:
        out.notes.append(scan.metadata_error)
    if not has_label:
        try:
            rec = read_record(img.config, img.manifest.annotations)
        except ManifestError as e:
            out.notes.append(str(e))
            rec = None
        known = rec[1] if rec else []
        out.images = [entry(i, name_of(i, known), [f"registry/ (layer {i.layer})"], "registry")
                      | ({"absentPlatforms": i.absent_platforms} if i.absent_platforms else {})
                      | ({"problems": i.problems} if i.problems else {}) for i in scan.images]
        out.images_from = "registry/ in the layers"
        if scan.files and not scan.images:
            out.notes.append(f"registry/ holds {scan.files} files but no image (no tag or revision link)")
    return out

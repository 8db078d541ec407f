"""``sealer verify``: check every image a cluster image carries, by streaming its layers (nothing unpacked).

For each platform manifest: the layers' ``registry/`` tree is rebuilt (whiteouts applied) with every blob hashed;
each recorded image (``io.sealer.images``, or sealer v0.9's ``sealer.image.container.images``) is checked down to
every blob; every image present in ``registry/`` is checked too, and reported when the record misses it. An image
whose ``registry/`` has content is never "ok" after checking zero images."""

from __future__ import annotations

import json

from sealer.carried.record import Recorded, name_of, read_record
from sealer.carried.scan import scan_layers
from sealer.digest import Digest
from sealer.errors import SealerError
from sealer.imagecache.verify import ImageCheck, VerifyReport, check_image
from sealer.interop.base_registry import CarriedImage, RegistryTree
from sealer.oci.model import Index, Manifest, ManifestError, parse_any
from sealer.store import Store


def verify_image(store: Store, ref: str) -> VerifyReport:
    stored = store.resolve(ref)
    doc = parse_any(store.read_blob(stored.descriptor.digest), stored.descriptor.media_type)
    manifests = [(c.digest, c.media_type, str(c.platform or "")) for c in doc.manifests] \
        if isinstance(doc, Index) else [(stored.descriptor.digest, doc.media_type, "")]
    report = VerifyReport(stored.name, [], [])
    for digest, media_type, plat in manifests:
        m = Manifest.parse(store.read_blob(digest), media_type or None)
        _verify_manifest(store, report, m, plat, len(manifests) > 1)
    return report


def _verify_manifest(store: Store, report: VerifyReport, m: Manifest, plat: str, multi: bool) -> None:
    suffix = f" [{plat}]" if multi and plat else ""
    try:
        config = json.loads(store.read_blob(m.config.digest))
        record = read_record(config if isinstance(config, dict) else {}, m.annotations)
    except (ValueError, ManifestError) as e:
        report.problems.append(f"{report.image}{suffix}: cannot read its record of cached images: {e}")
        record = None
    except SealerError as e:
        report.problems.append(f"{report.image}{suffix}: config {m.config.digest}: {e}")
        return
    try:
        tree = scan_layers(store, m, hash_blobs=True, name=report.image)
    except SealerError as e:
        report.problems.append(str(e))
        return
    report.blobs += tree.hashed_blobs
    report.bytes += tree.hashed_bytes
    present = tree.images()
    what, recorded = record if record is not None else ("", [])
    report.record = what or "none"
    matched: set[tuple[str, str]] = set()
    for r in recorded:
        c = check_image(tree, r.reference + suffix, r.repository, r.tag, r.digest, r.platforms or None)
        c.source = ", ".join(r.sources) or what
        report.images.append(c)
        report.problems += c.problems
        matched.add(r.key)
        if c.digest is not None:
            matched.add((r.repository, str(c.digest)))
    for img in present:
        if (img.repository, img.tag or str(img.digest)) in matched:
            continue
        name = name_of(img, recorded)
        c = _check_present(tree, img, name + suffix)
        report.images.append(c)
        report.problems += c.problems
        if record is not None:
            msg = f"{name}{suffix}: in registry/ (layer {img.layer}) but not recorded in the {what}"
            report.problems.append(msg)
            report.unrecorded.append(name)
    if not present and tree.file_count:
        report.problems.append(f"{report.image}{suffix}: registry/ holds {tree.file_count} files but no image "
                               "(no tag or manifest revision link): nothing could be checked")
    report.notes += tree.notes
    if record is None and present:
        report.notes.append(f"{report.image}{suffix}: no record of cached images (sealer v0.5-v0.8 or v0.9 "
                            f"without {what or 'sealer.image.container.images'}): checked what registry/ holds")


def _check_present(tree: RegistryTree, img: CarriedImage, name: str) -> ImageCheck:
    want: Digest | None = None if img.tag else img.digest
    c = check_image(tree, name, img.repository, img.tag, want, img.platforms or None)
    c.source = f"registry/ (layer {img.layer})"
    return c


__all__ = ["Recorded", "verify_image"]

"""Scan a YAML stream (a manifest file, a rendered chart template) for image references."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from yaml.nodes import MappingNode, Node, SequenceNode

from sealer.discover.deep import DeepScanner, is_image_key, joined_reference, keyed_image
from sealer.discover.files import Warn
from sealer.discover.model import ImageSource
from sealer.discover.podspec import Hit, objects, pod_spec_images
from sealer.discover.safeyaml import (
    Budget,
    iter_documents,
    line_of,
    mapping_items,
    node_size,
    parse_document,
    scalar_str,
)
from sealer.discover.splitting import Piece, helm_documents, kubernetes_documents
from sealer.errors import DiscoveryError

ScanHit = tuple[Hit, int]  # hit, document number


def scan_pieces(pieces: Iterable[Piece], origin: str, *, deep: bool = False,
                warn: Warn | None = None) -> Iterator[ScanHit]:
    """Yield every candidate of every document, one document in memory at a time."""
    for piece in pieces:
        offset = piece.line - 1
        root = parse_document(piece.text, origin, line_offset=offset)
        if root is None:
            continue
        budget = Budget(origin, piece.number, node_size(root), offset)
        for obj in objects(root, budget):
            strict = pod_spec_images(obj, budget)
            for hit in strict:
                yield hit, piece.number
            if deep:
                seen = {(h.raw, h.line) for h in strict}
                scanner = DeepScanner(obj, budget, _embedded(origin, budget))
                for hit in scanner.run():
                    if (hit.raw, hit.line) not in seen:
                        yield hit, piece.number
        if warn is not None:
            for note in budget.notes:
                warn(note)


def scan_file(path: Path, origin: str, *, deep: bool = False, warn: Warn | None = None) -> Iterator[ScanHit]:
    """A manifest file, split into documents as ``kubectl apply`` does (apimachinery's YAML reader)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, generator keeps it open while streaming
    except OSError as e:
        raise DiscoveryError(f"read manifest: {e.strerror}", origin) from None
    with fh:
        yield from scan_pieces(kubernetes_documents(fh, origin), origin, deep=deep, warn=warn)


def scan_rendered(text: str, origin: str, *, deep: bool = False, warn: Warn | None = None) -> Iterator[ScanHit]:
    """A rendered chart template, split into documents as ``helm install`` does (``SplitManifests``)."""
    yield from scan_pieces(helm_documents(text), origin, deep=deep, warn=warn)


def images_from_yaml_text(text: str, origin: str, *, deep: bool = False) -> list[tuple[str, ImageSource, bool]]:
    """Candidate images of a YAML stream (split as ``kubectl apply`` does): ``(raw string, source, extended)``.

    Strict hits are pod-spec images of Kubernetes objects; with ``deep`` extended hits follow.
    ``helm.sh/hook: test`` objects are reported like the others (their detail says ``helm test``);
    :func:`sealer.discover.discover` keeps them apart. Strings are not validated here: callers
    parse them with :func:`sealer.reference.parse`.
    """
    out: list[tuple[str, ImageSource, bool]] = []
    pieces = kubernetes_documents(io.BytesIO(text.encode()), origin)
    for hit, number in scan_pieces(pieces, origin, deep=deep):
        detail = hit.detail + (" (helm test)" if hit.helm_test else "")
        out.append((hit.raw, ImageSource(origin, hit.line, detail, number), hit.extended))
    return out


def _embedded(origin: str, budget: Budget) -> _EmbeddedScanner:
    return _EmbeddedScanner(origin, budget)


class _EmbeddedScanner:
    """Scans a multi-line string value as YAML (a Pod template in a ConfigMap); invalid YAML is ignored."""

    def __init__(self, origin: str, budget: Budget) -> None:
        self.origin = origin
        self.budget = budget

    def __call__(self, text: str, where: str) -> list[Hit]:
        if ":" not in text:
            return []
        hits: list[Hit] = []
        try:
            for _number, root in iter_documents(text, self.origin):
                # The embedded walk spends the outer document's budget: nested bombs stay bounded.
                found_object = False
                for obj in objects(root, self.budget):
                    found_object = True
                    for h in pod_spec_images(obj, self.budget):
                        hits.append(Hit(h.raw, h.line, f"{where} -> {h.detail}", True, h.helm_test))
                if not found_object:
                    hits.extend(self._keyed(root, where, 0))
        except DiscoveryError as e:
            if "YAML bomb" in e.message or "nesting" in e.message:
                raise
            return []
        return hits

    def _keyed(self, node: Node, where: str, depth: int, parent_key: str = "") -> list[Hit]:
        """``image: x`` pairs (and joined ``repository`` + ``tag`` siblings) anywhere in a non-Kubernetes
        embedded document."""
        self.budget.tick(node)
        self.budget.depth(depth, node)
        hits: list[Hit] = []
        if isinstance(node, MappingNode):
            items = mapping_items(node)
            used: set[int] = set()
            joined = joined_reference(items, parent_key)
            if joined is not None:
                joined_text, base_key, base_node, used = joined
                hits.append(Hit(joined_text, line_of(base_node), f"{where} -> {base_key}", True, False))
            for k, v in items:
                if id(v) in used:
                    continue
                key = scalar_str(k)
                text = scalar_str(v)
                if key and text is not None and is_image_key(key) and keyed_image(text, key):
                    hits.append(Hit(text.strip(), line_of(v), f"{where} -> {key}", True, False))
                else:
                    hits.extend(self._keyed(v, where, depth + 1, key or ""))
        elif isinstance(node, SequenceNode):
            for v in node.value:
                hits.extend(self._keyed(v, where, depth + 1, parent_key))
        return hits

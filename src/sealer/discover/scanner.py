"""Scan a YAML stream (a manifest file, a rendered chart template) for image references."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from yaml.nodes import MappingNode, Node, SequenceNode

from sealer.discover.deep import DeepScanner, is_image_key, keyed_image
from sealer.discover.model import ImageSource
from sealer.discover.podspec import Hit, objects, pod_spec_images
from sealer.discover.safeyaml import Budget, iter_documents, line_of, mapping_items, node_size, scalar_str
from sealer.errors import DiscoveryError

ScanHit = tuple[Hit, int]  # hit, document number


def scan_stream(stream: IO[bytes] | IO[str] | str, origin: str, *, deep: bool = False) -> Iterator[ScanHit]:
    """Yield every candidate of every document, one document in memory at a time."""
    for number, root in iter_documents(stream, origin):
        budget = Budget(origin, number, node_size(root))
        for obj in objects(root, budget):
            strict = pod_spec_images(obj, budget)
            for hit in strict:
                yield hit, number
            if deep:
                seen = {(h.raw, h.line) for h in strict}
                scanner = DeepScanner(obj, budget, _embedded(origin, budget))
                for hit in scanner.run():
                    if (hit.raw, hit.line) not in seen:
                        yield hit, number


def scan_file(path: Path, origin: str, *, deep: bool = False) -> Iterator[ScanHit]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, generator keeps it open while streaming
    except OSError as e:
        raise DiscoveryError(f"read manifest: {e.strerror}", origin) from None
    with fh:
        yield from scan_stream(fh, origin, deep=deep)


def images_from_yaml_text(text: str, origin: str, *, deep: bool = False) -> list[tuple[str, ImageSource, bool]]:
    """Candidate images of a YAML stream: ``(raw string, source, extended)``.

    Strict hits are pod-spec images of Kubernetes objects; with ``deep`` extended hits follow.
    ``helm.sh/hook: test`` objects are reported like the others (their detail says ``helm test``);
    :func:`sealer.discover.discover` keeps them apart. Strings are not validated here: callers
    parse them with :func:`sealer.reference.parse`.
    """
    out: list[tuple[str, ImageSource, bool]] = []
    for hit, number in scan_stream(io.StringIO(text), origin, deep=deep):
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

    def _keyed(self, node: Node, where: str, depth: int) -> list[Hit]:
        """``image: x`` pairs anywhere in a non-Kubernetes embedded document."""
        self.budget.tick(node)
        self.budget.depth(depth, node)
        hits: list[Hit] = []
        if isinstance(node, MappingNode):
            for k, v in mapping_items(node):
                key = scalar_str(k)
                text = scalar_str(v)
                if key and text is not None and is_image_key(key) and keyed_image(text, key):
                    hits.append(Hit(text.strip(), line_of(v), f"{where} -> {key}", True, False))
                else:
                    hits.extend(self._keyed(v, where, depth + 1))
        elif isinstance(node, SequenceNode):
            for v in node.value:
                hits.extend(self._keyed(v, where, depth + 1))
        return hits

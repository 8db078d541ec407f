"""YAML documents that remember where each field came from.

Validation errors in a Clusterfile or ``registry_config.yaml`` name the field path
(``spec.hosts[1].ips[0]``) and the line it is on; this module keeps the
path → line table next to the plain Python data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from sealer.errors import ClusterConfigError, DiscoveryError
from sealer.yamlsafe import LAZY_TAG, MERGE_TAG, Budget, mapping_items, node_size, scalar_tag

try:  # the C loader is ~10x faster; fall back to pure Python where libyaml is missing
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


class _Constructor(yaml.constructor.SafeConstructor):
    """SafeConstructor usable on composed nodes without a reader."""


@dataclass
class Document:
    """One YAML document: its data, where it starts, and the line of each field path."""

    data: Any
    file: str
    start_line: int
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, path: str) -> int:
        """Line of ``path`` or of its nearest known parent (the document start otherwise)."""
        p = path
        while p:
            if p in self.lines:
                return self.lines[p]
            cut = max(p.rfind("."), p.rfind("["))
            p = p[:cut] if cut > 0 else ""
        return self.start_line

    def error(self, path: str, message: str) -> ClusterConfigError:
        return ClusterConfigError(f"{path}: {message}" if path else message, self.file, self.line_of(path))


def join_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def construct(node: yaml.Node, file: str, number: int = 1) -> tuple[Any, dict[str, int]]:
    """Plain data of a composed document and the line of each field path, walked under the YAML budget
    (:mod:`sealer.yamlsafe`): alias bombs and absurd nesting are refused, duplicate keys are errors."""
    budget = Budget(file, number, node_size(node))
    lines: dict[str, int] = {}
    try:
        data = _build(node, "", budget, 0, lines, file)
    except DiscoveryError as e:  # the budget's refusal, re-raised as this package's error
        raise ClusterConfigError(e.message, e.file, e.line) from None
    return data, lines


def _build(node: yaml.Node, path: str, budget: Budget, depth: int, lines: dict[str, int], file: str) -> Any:
    budget.tick(node)
    budget.depth(depth, node)
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for k, _ in node.value:
            if isinstance(k, yaml.ScalarNode) and scalar_tag(k) != MERGE_TAG:
                key = _scalar(k, file)
                if key in seen:
                    where = join_path(path, str(key))
                    raise ClusterConfigError(f"{where}: duplicate key {key!r} (first on line {seen[key]})", file,
                                             k.start_mark.line + 1)
                seen[key] = k.start_mark.line + 1
        out: dict[Any, Any] = {}
        for k, v in mapping_items(node):
            if not isinstance(k, yaml.ScalarNode):
                raise ClusterConfigError(f"{path or 'document'}: a mapping key must be a scalar", file,
                                         k.start_mark.line + 1)
            key = _scalar(k, file)
            child = join_path(path, str(key))
            lines[child] = k.start_mark.line + 1
            out[key] = _build(v, child, budget, depth + 1, lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, join_path(path, i), budget, depth + 1, lines, file) for i, item in enumerate(node.value)]
    return _scalar(node, file)


def _scalar(node: yaml.Node, file: str) -> Any:
    if isinstance(node, yaml.ScalarNode) and node.tag == LAZY_TAG:
        node = yaml.ScalarNode(scalar_tag(node), node.value, node.start_mark, node.end_mark, node.style)
    try:
        return _Constructor().construct_object(node, deep=True)
    except yaml.YAMLError as e:
        raise _yaml_error(e, file) from None


def _yaml_error(e: yaml.YAMLError, file: str) -> ClusterConfigError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    context = getattr(e, "context", None)
    msg = f"parse YAML: {context + ': ' if context else ''}{problem}"
    return ClusterConfigError(msg, file, mark.line + 1 if mark is not None else None)


def iter_documents(text: str, file: str) -> Iterator[Document]:
    """Parse every document of ``text``; empty documents are skipped."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as e:
        raise _yaml_error(e, file) from None
    number = 0
    for node in nodes:
        if node is None:
            continue
        number += 1
        data, lines = construct(node, file, number)
        yield Document(data=data, file=file, start_line=node.start_mark.line + 1, lines=lines)

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

from sealer.errors import ClusterConfigError

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


def _index(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                child = join_path(path, str(k.value))
                lines[child] = k.start_mark.line + 1
                _index(v, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, join_path(path, i), lines)


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
    for node in nodes:
        if node is None:
            continue
        try:
            data = _Constructor().construct_document(node)
        except yaml.YAMLError as e:
            raise _yaml_error(e, file) from None
        lines: dict[str, int] = {}
        _index(node, "", lines)
        yield Document(data=data, file=file, start_line=node.start_mark.line + 1, lines=lines)

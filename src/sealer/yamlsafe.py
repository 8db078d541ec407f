"""Safe, streaming YAML reading as *nodes* (never constructed objects).

- libyaml's C loader when available (``CSafeLoader``), else the pure-Python ``SafeLoader``;
- one document at a time, so a 100 MB multi-document file needs the memory of its largest document;
- walking a document is bounded: aliases are shared nodes, so a "billion laughs" document is small
  once composed but explodes when walked; :class:`Budget` counts every node visit and refuses the
  document once the visits exceed a multiple of its size;
- errors become :class:`~sealer.errors.DiscoveryError` with the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from sealer.errors import DiscoveryError

try:
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - libyaml is present in our environments
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: Any) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)

STR_TAG = "tag:yaml.org,2002:str"
_TYPED_FIRST = frozenset("-+.0123456789~nNtTfFyYoO<=")  # first chars of non-string implicit scalars
MERGE_TAG = "tag:yaml.org,2002:merge"
LAZY_TAG = "!sealer-plain"  # a plain scalar whose type is resolved only when asked (see scalar_str)
_RESOLVER = Resolver()


class _Loader(_Parser, SafeConstructor):
    """libyaml parser + composer with lazy implicit typing: resolving every plain scalar's tag with
    Python regexes cost a third of the time; we need the type of a handful of scalars only."""

    def __init__(self, stream: Any) -> None:
        _Parser.__init__(self, stream)
        SafeConstructor.__init__(self)

    def resolve(self, kind: type, value: object, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                return LAZY_TAG
            return STR_TAG
        return str(_RESOLVER.resolve(kind, value, implicit))  # type: ignore[no-untyped-call]

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def scalar_tag(node: ScalarNode) -> str:
    """The resolved tag of a scalar (plain scalars are typed on demand)."""
    if node.tag != LAZY_TAG:
        return str(node.tag)
    return str(_RESOLVER.resolve(ScalarNode, node.value, (True, False)))  # type: ignore[no-untyped-call]
MAX_DEPTH = 300
MIN_VISITS = 200_000
VISITS_PER_CHAR = 20


class Budget:
    """Counts node visits while walking one document; raises when the walk is out of proportion."""

    def __init__(self, origin: str, document: int, size: int, line_offset: int = 0) -> None:
        self.origin = origin
        self.document = document
        self.limit = max(MIN_VISITS, VISITS_PER_CHAR * size)
        self.visits = 0
        self.line_offset = line_offset  # lines of the stream before this document's text
        self.notes: list[str] = []      # warnings found while walking (duplicate keys...)

    def line(self, node: Node) -> int | None:
        """The line of ``node`` in the whole stream (not in its document)."""
        line = line_of(node)
        return None if line is None else line + self.line_offset

    def tick(self, node: Node, count: int = 1) -> None:
        self.visits += count
        if self.visits > self.limit:
            raise DiscoveryError(
                f"read YAML document {self.document}: refused, alias expansion exceeds "
                f"{self.limit} nodes (YAML bomb?)", self.origin, self.line(node))

    def depth(self, depth: int, node: Node) -> None:
        if depth > MAX_DEPTH:
            raise DiscoveryError(
                f"read YAML document {self.document}: nesting deeper than {MAX_DEPTH}",
                self.origin, self.line(node))


def line_of(node: Node) -> int | None:
    mark = getattr(node, "start_mark", None)
    return None if mark is None else int(mark.line) + 1


def node_size(node: Node) -> int:
    start, end = getattr(node, "start_mark", None), getattr(node, "end_mark", None)
    if start is None or end is None:
        return 0
    return max(0, int(end.index) - int(start.index))


def iter_documents(stream: IO[bytes] | IO[str] | str, origin: str) -> Iterator[tuple[int, Node]]:
    """Yield ``(document number from 1, root node)``; empty documents are skipped but counted."""
    loader = _Loader(stream)
    number = 0
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except yaml.MarkedYAMLError as e:
                mark = e.problem_mark or e.context_mark
                line = None if mark is None else int(mark.line) + 1
                problem = e.problem or e.context or "invalid YAML"
                raise DiscoveryError(f"parse YAML: {problem}", origin, line) from None
            except yaml.YAMLError as e:
                raise DiscoveryError(f"parse YAML: {e}", origin) from None
            except UnicodeDecodeError as e:
                raise DiscoveryError(f"parse YAML: not UTF-8 text ({e.reason})", origin) from None
            number += 1
            if node is not None:
                yield number, node
    finally:
        loader.dispose()


def parse_document(text: bytes | str, origin: str, *, line_offset: int = 0) -> Node | None:
    """The root node of the first YAML document of ``text`` (one document cut by :mod:`.splitting`), as
    ``sigs.k8s.io/yaml`` reads it; errors name the line in the whole stream (``line_offset`` lines before)."""
    loader = _Loader(text)
    try:
        if not loader.check_node():
            return None
        node: Node | None = loader.get_node()
        return node
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = None if mark is None else int(mark.line) + 1 + line_offset
        raise DiscoveryError(f"parse YAML: {e.problem or e.context or 'invalid YAML'}", origin, line) from None
    except yaml.YAMLError as e:
        raise DiscoveryError(f"parse YAML: {e}", origin) from None
    except UnicodeDecodeError as e:
        raise DiscoveryError(f"parse YAML: not UTF-8 text ({e.reason})", origin) from None
    finally:
        loader.dispose()


def scalar_str(node: Node | None) -> str | None:
    """The value of a plain/quoted *string* scalar, else None (ints, bools, nulls are not strings)."""
    if isinstance(node, ScalarNode):
        tag = node.tag
        if tag == LAZY_TAG:
            value = node.value
            # Plain scalars starting with a letter other than those of null/bool words are strings.
            if value and value[0] not in _TYPED_FIRST:
                return str(value)
            tag = scalar_tag(node)
        if tag == STR_TAG:
            value = node.value
            return value if isinstance(value, str) else None
    return None


def mapping_items(node: Node) -> list[tuple[Node, Node]]:
    """Pairs of a mapping as Kubernetes reads it: a key given twice keeps its last value (as
    ``sigs.k8s.io/yaml`` does); YAML merge keys (``<<``) flattened, explicit keys win."""
    if not isinstance(node, MappingNode):
        return []
    pairs: list[tuple[Node, Node]] = node.value
    if len(pairs) > 1:
        keys = [k.value if isinstance(k, ScalarNode) else id(k) for k, _ in pairs]
        if len(set(keys)) != len(keys):
            pairs = _last_wins(pairs)
    for k, _ in pairs:
        if k.value == "<<":
            break
    else:
        return pairs
    items: list[tuple[Node, Node]] = []
    merged: list[tuple[Node, Node]] = []
    for k, v in pairs:
        if isinstance(k, ScalarNode) and scalar_tag(k) == MERGE_TAG:
            sources = v.value if isinstance(v, SequenceNode) else [v]
            for src in sources:
                if isinstance(src, MappingNode):
                    merged.extend(mapping_items(src))
        else:
            items.append((k, v))
    if merged:
        seen = {k.value for k, _ in items if isinstance(k, ScalarNode)}
        items.extend((k, v) for k, v in _last_wins(merged) if not (isinstance(k, ScalarNode) and k.value in seen))
    return items


def _last_wins(pairs: list[tuple[Node, Node]]) -> list[tuple[Node, Node]]:
    seen: set[object] = set()
    out: list[tuple[Node, Node]] = []
    for k, v in reversed(pairs):
        key = k.value if isinstance(k, ScalarNode) else id(k)
        if key not in seen:
            seen.add(key)
            out.append((k, v))
    out.reverse()
    return out


def duplicate_keys(node: Node) -> list[str]:
    """Scalar keys given more than once in a mapping."""
    if not isinstance(node, MappingNode):
        return []
    counts: dict[str, int] = {}
    for k, _ in node.value:
        if isinstance(k, ScalarNode) and isinstance(k.value, str):
            counts[k.value] = counts.get(k.value, 0) + 1
    return [k for k, n in counts.items() if n > 1]


def get(node: Node, key: str) -> Node | None:
    """The value node of ``key`` in a mapping node (the last one when the key is repeated), else None."""
    if not isinstance(node, MappingNode):
        return None
    merge = False
    found: Node | None = None
    for k, v in node.value:
        kv = k.value
        if kv == key and isinstance(k, ScalarNode):
            found = v
        elif kv == "<<":
            merge = True
    if found is not None or not merge:
        return found
    for k, v in mapping_items(node):
        if isinstance(k, ScalarNode) and k.value == key:
            return v
    return None


def get_str(node: Node, *path: str) -> str | None:
    cur: Node | None = node
    for key in path:
        if cur is None:
            return None
        cur = get(cur, key)
    return scalar_str(cur)


def load_plain(text: str | IO[bytes], origin: str, *, max_size: int = 16 << 20) -> object:
    """Construct a small trusted-shape document (values overrides, images.lock, settings) safely.

    The node walk bounds alias expansion before construction, so a bomb is refused here too.
    """
    docs = list(iter_documents(text, origin))
    if not docs:
        return None
    if len(docs) > 1:
        raise DiscoveryError("read YAML: expected one document", origin, line_of(docs[1][1]))
    number, node = docs[0]
    budget = Budget(origin, number, min(node_size(node), max_size))
    return _construct(node, budget, 0)


def _construct(node: Node, budget: Budget, depth: int) -> object:
    budget.tick(node)
    budget.depth(depth, node)
    if isinstance(node, MappingNode):
        out: dict[object, object] = {}
        for k, v in mapping_items(node):
            key = _construct(k, budget, depth + 1)
            if isinstance(key, (dict, list)):
                raise DiscoveryError("read YAML: unhashable mapping key", budget.origin, line_of(k))
            out[key] = _construct(v, budget, depth + 1)
        return out
    if isinstance(node, SequenceNode):
        return [_construct(v, budget, depth + 1) for v in node.value]
    if isinstance(node, ScalarNode) and node.tag == LAZY_TAG:
        node = ScalarNode(scalar_tag(node), node.value, node.start_mark, node.end_mark, node.style)
    try:
        return SafeConstructor().construct_object(node, deep=True)
    except yaml.YAMLError as e:
        raise DiscoveryError(f"read YAML: {e}", budget.origin, line_of(node)) from None

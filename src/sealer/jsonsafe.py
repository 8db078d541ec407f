"""JSON from outside (index.json, manifests, configs, labels, registry answers) with a nesting limit.

``json.loads`` of ``[[[[…]]]]`` ten thousand levels deep raises RecursionError, which surfaced as an internal
error; a document nested deeper than :data:`MAX_DEPTH` is refused here with an error naming what was read.
Real OCI documents nest fewer than ten levels.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sealer.errors import SealerError

MAX_DEPTH = 64
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class JSONLimitError(SealerError):
    """A JSON document nested deeper than the limit."""


def depth(raw: bytes) -> int:
    """Maximum nesting of arrays/objects in ``raw`` (brackets inside strings ignored)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return raw.count(b"[") + raw.count(b"{")  # an upper bound small enough to need no scan
    level = deepest = 0
    for m in _TOKENS.finditer(raw):
        c = m.group(0)
        if c in (b"[", b"{"):
            level += 1
            if level > deepest:
                deepest = level
                if deepest > MAX_DEPTH:
                    return deepest
        elif c in (b"]", b"}"):
            level -= 1
    return deepest


def check_depth(raw: bytes | str, what: str) -> None:
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if depth(data) > MAX_DEPTH:
        raise JSONLimitError(f"parse {what}: JSON nested deeper than {MAX_DEPTH} levels (refused)")


def loads(raw: bytes | str, what: str) -> Any:
    """``json.loads`` after the nesting check; ValueError for malformed JSON as usual."""
    check_depth(raw, what)
    try:
        return json.loads(raw)
    except RecursionError:  # belt and braces: should not happen below MAX_DEPTH
        raise JSONLimitError(f"parse {what}: JSON nested too deeply (refused)") from None

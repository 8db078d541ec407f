"""JSON bytes exactly as Go's ``encoding/json.Marshal`` writes them.

Go writes compact JSON, struct fields in declaration order (callers build dicts in that order), map keys
sorted, non-ASCII as raw UTF-8, and escapes ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\uXXXX``
(HTML-safe). Those characters only occur inside JSON strings, so replacing them in Python's compact output
gives Go's bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def sorted_map(m: Mapping[str, Any]) -> dict[str, Any]:
    """A Go ``map[string]...`` is marshalled with its keys sorted (by bytes, as UTF-8)."""
    return {k: m[k] for k in sorted(m, key=lambda k: k.encode())}


def marshal(obj: Any) -> str:
    """Compact JSON text with Go's escaping. Dict order is kept: order struct fields as Go declares them
    and pass maps through :func:`sorted_map`."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in _GO_ESCAPES.items():
        if ch in text:
            text = text.replace(ch, esc)
    return text

"""Re-export of :mod:`sealer.yamlsafe` (the budgeted YAML loader lives there, below every package that reads
YAML from outside: discover, cluster, build)."""

from __future__ import annotations

from sealer.yamlsafe import (
    LAZY_TAG,
    MAX_DEPTH,
    MERGE_TAG,
    MIN_VISITS,
    STR_TAG,
    VISITS_PER_CHAR,
    Budget,
    duplicate_keys,
    get,
    get_str,
    iter_documents,
    line_of,
    load_plain,
    mapping_items,
    node_size,
    parse_document,
    scalar_str,
    scalar_tag,
)

__all__ = [
    "LAZY_TAG",
    "MAX_DEPTH",
    "MERGE_TAG",
    "MIN_VISITS",
    "STR_TAG",
    "VISITS_PER_CHAR",
    "Budget",
    "duplicate_keys",
    "get",
    "get_str",
    "iter_documents",
    "line_of",
    "load_plain",
    "mapping_items",
    "node_size",
    "parse_document",
    "scalar_str",
    "scalar_tag",
]

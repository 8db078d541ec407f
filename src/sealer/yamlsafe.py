"""The budgeted YAML loader, for every package (a thin re-export; the implementation lives in
:mod:`sealer.discover.safeyaml`, where manifests and charts first needed it).

Outside YAML (Clusterfiles, ``registry_config.yaml``, rendered templates, manifests, values) is walked with a
:class:`Budget`: alias expansion is counted and refused once it is out of proportion to the document's size
("billion laughs"), and nesting is limited to :data:`MAX_DEPTH`.
"""

from __future__ import annotations

from sealer.discover.safeyaml import (
    LAZY_TAG,
    MAX_DEPTH,
    MERGE_TAG,
    STR_TAG,
    Budget,
    iter_documents,
    line_of,
    load_plain,
    mapping_items,
    node_size,
    scalar_str,
    scalar_tag,
)

__all__ = [
    "LAZY_TAG", "MAX_DEPTH", "MERGE_TAG", "STR_TAG", "Budget", "iter_documents", "line_of", "load_plain",
    "mapping_items", "node_size", "scalar_str", "scalar_tag",
]

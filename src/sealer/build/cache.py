"""Build cache records: ``STORE/cache/build/<key>.json`` maps a step's cache key to the layer it made.

``key_i = sha256(key_{i-1} ‖ instruction text ‖ input digests)``; a record is used only when every blob it
names is still in the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sealer.digest import Digest
from sealer.oci.model import Descriptor
from sealer.store import Store
from sealer.store.fsutil import atomic_write


def chain(parent: str, *parts: str) -> str:
    h = hashlib.sha256(parent.encode())
    for p in parts:
        h.update(b"\0" + p.encode())
    return h.hexdigest()


@dataclass(frozen=True)
class CachedStep:
    layers: list[tuple[Descriptor, Digest, str]]   # (blob, diff_id, created_by)
    extra: dict[str, Any]


class BuildCache:
    def __init__(self, store: Store) -> None:
        self.dir = store.root / "cache" / "build"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.store = store

    def get(self, key: str) -> CachedStep | None:
        p = self.dir / f"{key}.json"
        try:
            doc = json.loads(p.read_text())
            layers = [(Descriptor.from_json(x["descriptor"]), Digest(x["diff_id"]), str(x["created_by"]))
                      for x in doc["layers"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        except Exception:  # noqa: BLE001 - a damaged record is a miss, never a failure
            return None
        if not all(self.store.adopt(d.digest) for d, _, _ in layers):
            return None
        return CachedStep(layers, dict(doc.get("extra") or {}))

    def put(self, key: str, layers: list[tuple[Descriptor, Digest, str]], extra: dict[str, Any] | None = None) -> None:
        doc = {"layers": [{"descriptor": d.to_json(), "diff_id": str(i), "created_by": c} for d, i, c in layers],
               "extra": extra or {}}
        with contextlib.suppress(OSError):
            atomic_write(self.dir / f"{key}.json", json.dumps(doc).encode())

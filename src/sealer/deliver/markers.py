"""Per-host phase markers: ``<cluster dir>/.sealer/phases.json`` maps each finished phase to the hash of its
inputs.

A phase whose marker holds the same hash is done and is skipped on a rerun; a phase writes its marker only
after it succeeded, so a rerun resumes at the first incomplete phase of each host. The engine reads it in the
connect round trip and the session that runs a phase rewrites it (atomically, after the phase's work) in the
same round trip; :func:`write_markers` is for a phase done outside a session.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sealer.infra import Host


def inputs_hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


async def read_markers(host: Host, path: str) -> dict[str, str]:
    return parse_markers(await host.read_file(path))


def parse_markers(data: bytes | None) -> dict[str, str]:
    if not data:
        return {}
    try:
        got = json.loads(data)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else {}


async def write_markers(host: Host, path: str, markers: dict[str, str]) -> None:
    await host.put_bytes(json.dumps(markers, indent=1, sort_keys=True).encode(), path, mode=0o600)

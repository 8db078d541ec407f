"""The ledger of cloud resources a build created, so that a crashed build's leftovers are found and deleted.

One JSON file per build in ``<state>/infra/<build-id>.json``, replaced atomically after every change and
removed when everything it lists is gone. A ledger whose process is no longer alive belongs to a build that
crashed (``kill -9``, power loss): the next build reports it and ``sealer infra delete BUILD_ID`` removes it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/PID/stat), to tell a live build from PID reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass
class LedgerRecord:
    build_id: str
    provider: str
    region: str
    pid: int
    pid_start: str | None
    started: float
    resources: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.pid_start is not None and _process_start(self.pid) == self.pid_start

    def to_json(self) -> dict[str, Any]:
        return {"buildId": self.build_id, "provider": self.provider, "region": self.region, "pid": self.pid,
                "pidStart": self.pid_start, "started": self.started, "resources": self.resources,
                "extra": self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerRecord:
        return cls(build_id=str(data["buildId"]), provider=str(data["provider"]), region=str(data["region"]),
                   pid=int(data["pid"]), pid_start=data.get("pidStart"), started=float(data["started"]),
                   resources=[{"kind": str(r["kind"]), "id": str(r["id"])} for r in data.get("resources", [])],
                   extra=dict(data.get("extra", {})))


class Ledger:
    """What one build created, kept on disk as it happens."""

    def __init__(self, directory: Path, build_id: str, provider: str, region: str) -> None:
        self.path = directory / f"{build_id}.json"
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.path.exists():
            self.record = LedgerRecord.from_json(json.loads(self.path.read_text()))
            self.record.pid, self.record.pid_start = os.getpid(), _process_start(os.getpid())
            self._write()  # this process owns the build now
        else:
            self.record = LedgerRecord(build_id, provider, region, os.getpid(), _process_start(os.getpid()),
                                       time.time())
            # nothing is written until the first resource exists

    def add(self, kind: str, rid: str) -> None:
        if {"kind": kind, "id": rid} not in self.record.resources:
            self.record.resources.append({"kind": kind, "id": rid})
            self._write()

    def remove(self, kind: str, rid: str) -> None:
        if {"kind": kind, "id": rid} in self.record.resources:
            self.record.resources = [r for r in self.record.resources if r != {"kind": kind, "id": rid}]
            self._write()

    def ids(self, kind: str) -> list[str]:
        return [r["id"] for r in self.record.resources if r["kind"] == kind]

    def close(self) -> None:
        """Forget the build once nothing it lists is left."""
        if not self.record.resources:
            self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger-")
        with os.fdopen(fd, "w") as f:
            json.dump(self.record.to_json(), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def read_ledgers(directory: Path) -> list[LedgerRecord]:
    out = []
    for p in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            out.append(LedgerRecord.from_json(json.loads(p.read_text())))
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("unreadable infra ledger %s: %s", p, e)
    return out


def stale_ledgers(directory: Path) -> list[LedgerRecord]:
    """Ledgers of builds that are not running any more but left resources behind."""
    return [r for r in read_ledgers(directory) if r.resources and not r.alive]

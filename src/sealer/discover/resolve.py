"""Confirm ``--deep`` candidates before they are cached: a manifest HEAD on their registry.

Deep discovery reads strings that only look like images; a build must not fail (or cache junk) because of
one. Every *extended* image (found by deep mode alone) is checked with ``HEAD /v2/NAME/manifests/REF``
(mirrors first, then the origin, with the registry client's credentials and TLS settings). One that does
not resolve — unknown manifest, access refused, registry unreachable — is removed from the result and
reported as a warning naming where it was found. Images from explicit sources (imageList, pod specs,
chart workloads) are not checked here: caching them fails the build as before.

    from sealer.discover.resolve import confirm_extended
    warnings = confirm_extended(result, RegistryClient(options))
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from sealer.discover.model import DiscoveryResult, FoundImage
from sealer.errors import RegistryError
from sealer.oci import mediatypes as mt
from sealer.reference import Reference

log = logging.getLogger(__name__)
MAX_SOURCES_SHOWN = 3


class _Response(Protocol):
    @property
    def status_code(self) -> int: ...  # pragma: no cover - protocol

    def close(self) -> None: ...


class _Source(Protocol):
    @property
    def ref(self) -> Reference: ...  # pragma: no cover - protocol


class ClientLike(Protocol):
    """What is needed of :class:`sealer.registry.RegistryClient`."""

    def sources(self, ref: Reference) -> Sequence[_Source]: ...  # pragma: no cover - protocol
    def request(self, method: str, ref: Reference, path: str, actions: str = "pull", *,
                what: str, headers: dict[str, str] | None = None) -> _Response: ...  # pragma: no cover


class _Checker:
    def __init__(self, client: ClientLike) -> None:
        self.client = client
        self.down: dict[str, str] = {}  # registry host -> why it cannot be reached
        self.lock = threading.Lock()

    def check(self, ref: Reference) -> str | None:
        """None when the manifest exists, else why not."""
        reason = "no source to ask"
        for src in self.client.sources(ref):
            host = src.ref.domain
            with self.lock:
                known = self.down.get(host)
            if known is not None:
                reason = known
                continue
            what = f"check {src.ref}"
            try:
                resp = self.client.request("HEAD", src.ref, f"manifests/{src.ref.identifier}", what=what,
                                           headers={"Accept": mt.ACCEPT_MANIFESTS})
            except RegistryError as e:
                reason = f"registry unreachable or failing ({e})"
                if "connect to" in str(e):
                    with self.lock:
                        self.down[host] = reason
                continue
            status = resp.status_code
            resp.close()
            if status == 200:
                return None
            if status == 404:
                reason = f"no such manifest at {src.ref.domain} (HTTP 404)"
            elif status in (401, 403):
                reason = (f"{src.ref.domain} refused access (HTTP {status}): the repository does not exist "
                          "or needs credentials")
            else:
                reason = f"{src.ref.domain} answered HTTP {status}"
        return reason


def confirm_extended(result: DiscoveryResult, client: ClientLike, *, parallel: int = 8) -> list[str]:
    """Drop extended images whose manifest does not resolve from ``result.images`` (moved to
    ``result.unresolved``); return one warning per dropped image."""
    todo = [f for f in result.images if f.extended]
    if not todo:
        return []
    checker = _Checker(client)
    with ThreadPoolExecutor(max(1, min(parallel, len(todo)))) as ex:
        reasons = list(ex.map(lambda f: checker.check(f.reference), todo))
    dropped: list[FoundImage] = []
    warnings: list[str] = []
    for found, reason in zip(todo, reasons, strict=True):
        if reason is None:
            continue
        dropped.append(found)
        where = "; ".join(str(s) for s in found.sources[:MAX_SOURCES_SHOWN])
        more = len(found.sources) - MAX_SOURCES_SHOWN
        if more > 0:
            where += f" (+{more} more)"
        message = f"not caching deep candidate {found.reference}: {reason}; found at {where}"
        log.info(message)
        warnings.append(message)
    gone = {id(f) for f in dropped}
    result.images = [f for f in result.images if id(f) not in gone]
    result.unresolved.extend(dropped)
    return warnings

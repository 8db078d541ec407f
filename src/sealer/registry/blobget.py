"""Blob download: streamed into a sink's writer while hashing, resumed with ``Range`` after a reset,
redirects followed by hand (credentials only to the registry host), committed only when size and digest match."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from sealer.digest import Digest
from sealer.errors import DigestError, RegistryError
from sealer.netguard import ProgressGuard
from sealer.oci.model import Descriptor
from sealer.reference import Reference
from sealer.registry.options import BlobSink, BlobWriterLike, ProgressLike, RegistryOptions
from sealer.registry.rawget import RAW_BODY
from sealer.registry.responses import api_host, raise_for_status

log = logging.getLogger(__name__)
READ_CHUNK = 1 << 20
MAX_REDIRECTS = 5


class RegistryClient(Protocol):
    """What a blob download needs of :class:`sealer.registry.client.RegistryClient` (which calls in here)."""

    options: RegistryOptions
    progress: ProgressLike

    def request(self, method: str, ref: Reference, path: str, actions: str = "pull", *, what: str,
                headers: dict[str, str] | None = None, stream: bool = False, raw_body: bool = False) -> httpx.Response: ...

    def _may_use_http(self, host: str) -> bool: ...

    def _http(self, host: str) -> httpx.Client: ...

    def _retrying(self, fn: Callable[[], httpx.Response], what: str) -> httpx.Response: ...


class _Interrupted(Exception):
    """The body stopped early (reset, truncated, 5xx on resume): try again from where we are."""


def download(client: RegistryClient, ref: Reference, desc: Descriptor, sink: BlobSink) -> Digest:
    key = str(desc.digest)
    what = f"get blob {desc.digest} from {ref.repository}"
    client.progress.start(key, f"pull {desc.digest.short}", desc.size)
    box: list[BlobWriterLike] = [sink.writer()]
    opts = client.options
    failures = 0
    try:
        while True:
            try:
                _one_pass(client, ref, desc, sink, box, what)
                break
            except _Interrupted as e:
                failures += 1
                if failures >= max(1, opts.retries):
                    raise RegistryError(f"{what}: {e} (gave up after {failures} attempts)") from None
                log.info("%s: %s; resuming (attempt %d)", what, e, failures + 1)
                time.sleep(min(opts.max_backoff, opts.backoff * (2 ** (failures - 1))))
    except BaseException:
        box[0].abort()
        raise
    digest = box[0].commit(desc.digest, desc.size)  # aborts and raises DigestError on mismatch
    client.progress.done(key)
    return digest


def open_following(client: RegistryClient, ref: Reference, path: str, what: str,
                   headers: dict[str, str], raw_body: bool = False) -> httpx.Response:
    """GET ``path`` of ``ref``'s repository (streamed), following redirects by hand: the registry host keeps
    its credentials, any other host gets none (no Authorization, no cookies). ``raw_body``: a blob, read through
    :mod:`sealer.registry.rawget`."""
    resp = client.request("GET", ref, path, what=what, headers=headers, stream=True, raw_body=raw_body)
    origin = urlsplit(str(resp.request.url))
    hops = 0
    while resp.status_code in (301, 302, 303, 307, 308):
        if hops == MAX_REDIRECTS:
            resp.close()
            raise RegistryError(f"{what}: too many redirects")
        hops += 1
        loc = resp.headers.get("Location")
        resp.close()
        if not loc:
            raise RegistryError(f"{what}: redirect without a Location")
        url = urljoin(str(resp.request.url), loc)
        target = urlsplit(url)
        if target.netloc == api_host(ref.domain) and target.scheme == origin.scheme:
            resp = client.request("GET", ref, url, what=what, headers=headers, stream=True, raw_body=raw_body)
            continue
        if target.scheme == "http" and not client._may_use_http(target.netloc):
            raise RegistryError(f"{what}: refusing redirect to plain HTTP {target.netloc}")
        if target.scheme not in ("http", "https"):
            raise RegistryError(f"{what}: refusing redirect to {target.scheme}: URL")
        # a different host: no Authorization, no cookies, only the Range we need
        resp = client._retrying(_plain_get(client._http(target.netloc), url, headers, raw_body), what)
    raise_for_status(resp, what)
    return resp


def _netloc(resp: httpx.Response, ref: Reference) -> str:
    """The host the bytes come from (a redirect target, or the registry itself)."""
    host = resp.url.host or ref.domain
    return f"{host}:{resp.url.port}" if resp.url.port else host


def _plain_get(http: httpx.Client, url: str, headers: dict[str, str],
               raw_body: bool = False) -> Callable[[], httpx.Response]:
    ext = {RAW_BODY: True} if raw_body else None
    return lambda: http.send(http.build_request("GET", url, headers=headers, extensions=ext), stream=True)


def _one_pass(client: RegistryClient, ref: Reference, desc: Descriptor, sink: BlobSink,
              box: list[BlobWriterLike], what: str) -> None:
    writer = box[0]
    headers = {"Range": f"bytes={writer.size}-"} if writer.size else {}
    resp = open_following(client, ref, f"blobs/{desc.digest}", what, headers, raw_body=True)
    try:
        if writer.size and resp.status_code == 200:  # range ignored: start over
            writer.abort()
            writer = box[0] = sink.writer()
        elif resp.status_code == 206:
            cr = resp.headers.get("Content-Range", "")
            if not cr.startswith(f"bytes {writer.size}-"):
                writer.abort()
                box[0] = sink.writer()
                raise _Interrupted(f"unexpected Content-Range {cr!r}")
        key = str(desc.digest)
        guard = ProgressGuard(what, _netloc(resp, ref))
        try:
            for chunk in resp.iter_raw():  # no re-chunking: bytes read are bytes kept
                guard.feed(len(chunk))
                if writer.size + len(chunk) > desc.size:
                    raise DigestError(f"{what}: more than the announced {desc.size} bytes")
                writer.write(chunk)
                client.progress.update(key, writer.size)
        except httpx.TransportError as e:
            raise _Interrupted(f"{type(e).__name__} at byte {writer.size}: {e}") from None
        if writer.size < desc.size:
            raise _Interrupted(f"body ended at byte {writer.size} of {desc.size}")
    finally:
        resp.close()

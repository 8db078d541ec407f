"""Distribution v2 client: one method per protocol step, on httpx, thread-safe.

Transport policy: HTTPS verified by default (system bundle, ``SSL_CERT_FILE``, ``--ca-cert``,
``certs.d/HOST/``). Hosts listed as insecure use HTTPS without verification or plain HTTP; loopback hosts may
use plain HTTP when they do not speak TLS, but a TLS loopback registry is still verified. Every request is
retried with backoff on connection errors, 5xx and 429 (honouring ``Retry-After``). Blob downloads resume
with ``Range`` after a reset; redirects are followed by hand and credentials go only to the registry host.

Cost: a host's TLS context (trust store) is made on its first HTTPS request and shared per process
(:mod:`sealer.registry.tls`); a loopback or insecure host is first probed with a bare TLS handshake, so a
plain-HTTP one never loads a trust store. Blob bodies are read through :mod:`sealer.registry.rawget`
(``http.client``, one copy per byte) under the same httpx request, auth and retry logic.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import tenacity

from sealer.digest import Digest
from sealer.errors import AuthError, DigestError, NotFoundError, RegistryError
from sealer.netguard import ProgressGuard
from sealer.oci import mediatypes as mt
from sealer.oci.model import (
    Descriptor,
    Index,
    Manifest,
    ManifestError,
    Platform,
    host_platform,
    media_type_of,
    parse_any,
)
from sealer.reference import Reference
from sealer.registry.auth import AuthState, Challenge, RegistryAuth, choose_challenge, parse_challenges
from sealer.registry.blobget import download, open_following
from sealer.registry.credentials import Credential, get_credential
from sealer.registry.mirrors import RegistriesConf, Source
from sealer.registry.options import BlobSink, NoProgress, ProgressLike, RegistryOptions
from sealer.registry.rawget import RAW_BODY, RawGetPool
from sealer.registry.responses import (
    DOCKER_HUB_API,
    RETRY_STATUS,
    Transient,
    api_host,
    error_text,
    raise_for_status,
    retry_after,
)
from sealer.registry.tls import no_trust_context, speaks_tls, ssl_context
from sealer.registry.tuning import use_large_http11_reads

MAX_MANIFEST = 16 << 20
log = logging.getLogger(__name__)

READ_CHUNK = 1 << 20


def by_digest(ref: Reference, digest: Digest) -> Reference:
    """The same repository, addressed by ``digest`` only."""
    return Reference(ref.domain, ref.path, None, digest)


def scope(ref: Reference, actions: str = "pull") -> str:
    return f"repository:{ref.path}:{actions}"


@dataclass(frozen=True)
class RemoteImage:
    """An image manifest as a registry serves it (after platform selection) plus its config bytes."""

    ref: Reference
    descriptor: Descriptor                    # of the chosen manifest
    manifest: Manifest
    config: bytes
    index: Index | None = None
    index_descriptor: Descriptor | None = None


def select_platform(index: Index, platform: Platform | None) -> Descriptor:
    """The child for ``platform`` (default: this host); a single-child index matches anything."""
    want = platform or host_platform()
    try:
        return index.select(want)
    except ManifestError:
        if platform is None and len(index.manifests) == 1:
            return index.manifests[0]
        raise RegistryError(f"select platform {want}: not in the image (it has "
                            f"{', '.join(str(d.platform) for d in index.manifests if d.platform) or 'none'})") from None


class _SchemeTransport(httpx.BaseTransport):
    """One connection pool per URL scheme, each made on first use: ``https`` with the host's TLS context (made
    then, so a plain-HTTP registry never loads a trust store), ``http`` with a context that trusts nothing; GETs
    marked :data:`~sealer.registry.rawget.RAW_BODY` (blob downloads) on the lighter ``http.client`` pool."""

    def __init__(self, make_tls: Callable[[], ssl.SSLContext], limits: httpx.Limits) -> None:
        self._make_tls = make_tls
        self._limits = limits
        self._pools: dict[str, httpx.HTTPTransport] = {}
        self._ctx: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._raw = RawGetPool(self._tls)

    def _tls_unlocked(self) -> ssl.SSLContext:
        if self._ctx is None:
            self._ctx = self._make_tls()
        return self._ctx

    def _pool(self, scheme: str) -> httpx.HTTPTransport:
        with self._lock:
            pool = self._pools.get(scheme)
            if pool is None:
                ctx = self._tls_unlocked() if scheme == "https" else no_trust_context()
                pool = self._pools[scheme] = httpx.HTTPTransport(verify=ctx, limits=self._limits, trust_env=False)
            return pool

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            return self._tls_unlocked()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.extensions.get(RAW_BODY):
            return self._raw.handle_request(request)
        return self._pool(request.url.scheme).handle_request(request)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for p in pools:
            p.close()
        self._raw.close()


class RegistryClient:
    """One per operation; safe to share across threads."""

    def __init__(self, options: RegistryOptions | None = None, progress: ProgressLike | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        """``transport`` replaces the network (every host), e.g. an ``httpx.MockTransport`` in tests."""
        self.options = options or RegistryOptions()
        self._transport = transport
        if self.options.large_reads and transport is None:
            use_large_http11_reads()
        self.progress: ProgressLike = progress or NoProgress()
        self.mirrors = RegistriesConf.load(self.options.registries_conf_path()) if self.options.use_mirrors \
            else RegistriesConf()
        self._insecure = set(self.options.insecure)
        for e in self.mirrors.registries:
            for m in e.mirrors:
                if m.insecure:
                    self._insecure.add(m.location.split("/", 1)[0])
            if e.insecure:
                self._insecure.add(e.location.split("/", 1)[0])
        self._clients: dict[tuple[str, bool], httpx.Client] = {}
        self._bases: dict[str, str] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.auth = AuthState(self._credential, self._fetch_token)

    # ---- lifecycle ----------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            c.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transport ----------------------------------------------------------------------------------
    def _is_insecure(self, host: str) -> bool:
        return host in self._insecure or host.split(":")[0] in self._insecure

    def _http(self, host: str) -> httpx.Client:
        verify = not self._is_insecure(host)
        key = (host, verify)
        with self._lock:
            c = self._clients.get(key)
            if c is None:
                n = max(4, self.options.max_parallel * 2)
                limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
                c = httpx.Client(
                    timeout=httpx.Timeout(self.options.timeout, connect=min(15.0, self.options.timeout)),
                    limits=limits, follow_redirects=False, trust_env=False, headers={"User-Agent": "sealer-py"},
                    transport=self._transport or _SchemeTransport(
                        lambda: ssl_context(host, self.options, verify=verify), limits),
                )
                self._clients[key] = c
            return c

    def _may_use_http(self, host: str) -> bool:
        return self._is_insecure(host) or self.options.may_use_http(host)

    def base_url(self, host: str) -> str:
        """``https://host`` or ``http://host``, decided once per host by pinging ``/v2/``."""
        with self._lock:
            if host in self._bases:
                return self._bases[host]
            lock = self._host_locks.setdefault(host, threading.Lock())
        with lock:
            if host not in self._bases:
                base = self._ping(host)
                with self._lock:
                    self._bases[host] = base
            return self._bases[host]

    def _ping(self, host: str) -> str:
        http = self._http(host)
        what = f"connect to {host}"
        resp: httpx.Response | None = None
        if self._transport is None and self._may_use_http(host) and \
                speaks_tls(host, min(15.0, self.options.timeout)) is False:
            # a plain-HTTP loopback/insecure registry: no TLS attempt, so no trust store is ever loaded
            resp = self._retrying(lambda: http.get(f"http://{host}/v2/"), what)
            base = f"http://{host}"
            if resp.status_code == 400:  # a TLS server after all (it refused plain HTTP): go on as below
                resp.close()
                resp = None
        if resp is None:
            resp, base = self._ping_tls_first(host, http, what)
        if resp.status_code in RETRY_STATUS:
            resp = self._retrying(lambda: http.get(f"{base}/v2/"), what)
        if resp.status_code == 401:
            ch = choose_challenge(parse_challenges(resp.headers.get_list("WWW-Authenticate")), host)
            if ch is not None:
                self.auth.set_challenge(host, ch)
        elif resp.status_code >= 400 and resp.status_code != 404:
            raise_for_status(resp, f"connect to {host}")
        return base

    def _ping_tls_first(self, host: str, http: httpx.Client, what: str) -> tuple[httpx.Response, str]:
        try:  # one quick TLS attempt first: a plain-HTTP server answers it with a protocol error at once
            resp = http.get(f"https://{host}/v2/")
            base = f"https://{host}"
        except httpx.ConnectError as e:
            msg = str(e)
            if "CERTIFICATE_VERIFY_FAILED" in msg or "certificate verify failed" in msg:
                raise RegistryError(
                    f"{what}: TLS certificate not trusted; give its CA with --ca-cert or "
                    f"/etc/docker/certs.d/{host}/ca.crt, or mark it --insecure-registry {host}") from None
            if self._may_use_http(host) and ("SSL" in msg or "ssl" in msg or "record layer" in msg):
                resp = self._retrying(lambda: http.get(f"http://{host}/v2/"), what)
                base = f"http://{host}"
            else:
                resp = self._retrying(lambda: http.get(f"https://{host}/v2/"), what)
                base = f"https://{host}"
        except httpx.TransportError:
            resp = self._retrying(lambda: http.get(f"https://{host}/v2/"), what)
            base = f"https://{host}"
        return resp, base

    def _retrying(self, fn: Callable[[], httpx.Response], what: str) -> httpx.Response:
        """Call ``fn`` with retries on connection errors, 5xx and 429; return the last response."""
        opts = self.options

        def attempt() -> httpx.Response:
            try:
                resp = fn()
            except httpx.TransportError as e:
                log.debug("%s: %s: %s (will retry)", what, type(e).__name__, e)
                raise Transient(f"{what}: {type(e).__name__}: {e}") from None
            log.debug("%s %s -> %d", resp.request.method, resp.request.url.copy_with(query=None), resp.status_code)
            if resp.status_code in RETRY_STATUS:
                ra = retry_after(resp)
                resp.close()
                raise Transient(f"{what}: HTTP {resp.status_code}: {resp.reason_phrase}", ra)
            return resp

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, Transient) and exc.retry_after is not None:
                return min(exc.retry_after, 60.0)
            return float(min(opts.max_backoff, opts.backoff * (2 ** (state.attempt_number - 1))))

        try:
            return tenacity.Retrying(retry=tenacity.retry_if_exception_type(Transient), wait=wait,
                                     stop=tenacity.stop_after_attempt(max(1, opts.retries)),
                                     reraise=True)(attempt)
        except Transient as e:
            raise RegistryError(f"{e} (after {opts.retries} attempts)") from None

    def request(self, method: str, ref: Reference, path: str, actions: str = "pull", *,
                what: str, headers: dict[str, str] | None = None, content: bytes | Callable[[], Iterator[bytes]] | None = None,
                extra_scopes: tuple[str, ...] = (), stream: bool = False, raw_body: bool = False) -> httpx.Response:
        """``METHOD /v2/<name>/<path>`` (``path`` may be an absolute URL on the same host), authenticated."""
        host = api_host(ref.domain)
        base = self.base_url(host)
        url = path if path.startswith(("http://", "https://")) else f"{base}/v2/{ref.path}/{path}"
        if urlsplit(url).netloc != host:
            raise RegistryError(f"{what}: registry sent us to another host ({urlsplit(url).netloc})")
        auth = RegistryAuth(self.auth, host, (scope(ref, actions), *extra_scopes))
        client = self._http(host)

        def send() -> httpx.Response:
            body = content() if callable(content) else content
            req = client.build_request(method, url, headers=headers, content=body,
                                       extensions={RAW_BODY: True} if raw_body else None)
            return client.send(req, auth=auth, stream=stream)

        return self._retrying(send, what)

    # ---- credentials and tokens ---------------------------------------------------------------------
    def _credential(self, host: str) -> Credential | None:
        domain = "docker.io" if host == DOCKER_HUB_API else host
        return get_credential(domain, self.options.auth_file)

    def _fetch_token(self, ch: Challenge, scopes: tuple[str, ...], cred: Credential | None) -> tuple[str, float]:
        realm = ch.realm
        if not realm:
            raise AuthError("authenticate: bearer challenge without a realm")
        u = urlsplit(realm)
        if u.scheme not in ("https", "http") or not u.netloc:
            raise AuthError(f"authenticate at {realm}: not an http(s) URL")
        if u.scheme == "http" and not self._may_use_http(u.netloc):
            raise AuthError(f"authenticate at {realm}: refusing to send credentials over plain HTTP "
                            f"(mark {u.netloc} --insecure-registry to allow)")
        params: list[tuple[str, str]] = []
        if ch.service:
            params.append(("service", ch.service))
        params += [("scope", s) for s in scopes]
        url = realm + ("&" if "?" in realm else "?") + urlencode(params)
        headers = {"Authorization": cred.basic_header()} if cred is not None and cred.password else {}
        client = self._http(u.netloc)
        resp = self._retrying(lambda: client.get(url, headers=headers), f"get token from {u.netloc}")
        if resp.status_code in (401, 403):
            who = f"user {cred.username!r}" if cred else "anonymous access"
            raise AuthError(f"authenticate at {u.netloc}: {who} refused ({error_text(resp)})")
        raise_for_status(resp, f"get token from {u.netloc}")
        try:
            doc = resp.json()
            token = str(doc.get("token") or doc.get("access_token") or "")
            expires = float(doc.get("expires_in") or 60)
        except (ValueError, AttributeError):
            raise AuthError(f"get token from {u.netloc}: answer is not JSON") from None
        if not token:
            raise AuthError(f"get token from {u.netloc}: answer has no token")
        return token, expires

    def check_login(self, host: str, cred: Credential) -> None:
        """Verify ``cred`` against ``host`` without storing anything; raise AuthError when refused."""
        host = api_host(host)
        base = self.base_url(host)
        ch = self.auth.challenge(host)
        if ch is None:
            return  # the registry needs no auth at all
        if ch.scheme == "bearer":
            self._fetch_token(ch, (), cred)
            return
        resp = self._retrying(lambda: self._http(host).get(f"{base}/v2/",
                                                           headers={"Authorization": cred.basic_header()}),
                              f"log in to {host}")
        if resp.status_code in (401, 403):
            raise AuthError(f"log in to {host}: user {cred.username!r} refused: {error_text(resp)}")
        raise_for_status(resp, f"log in to {host}")

    # ---- sources (mirrors then origin) --------------------------------------------------------------
    def sources(self, ref: Reference) -> list[Source]:
        return self.mirrors.sources(ref)

    def _each_source(self, ref: Reference, what: str) -> Iterator[Reference]:
        """Yield mirror/origin references in order; the caller breaks out on success."""
        yield from (s.ref for s in self.sources(ref))

    # ---- manifests ----------------------------------------------------------------------------------
    def get_manifest(self, ref: Reference, accept: str = mt.ACCEPT_MANIFESTS) -> tuple[bytes, str, Digest]:
        """Manifest bytes, media type and verified digest; mirrors first, then the origin."""
        last: RegistryError | None = None
        for src in self._each_source(ref, "pull"):
            try:
                return self._get_manifest_at(src, accept)
            except (NotFoundError, AuthError, RegistryError) as e:
                if isinstance(e, DigestError):
                    raise
                last = e
        assert last is not None
        raise last

    def _get_manifest_at(self, ref: Reference, accept: str) -> tuple[bytes, str, Digest]:
        what = f"get manifest {ref}"
        resp = open_following(self, ref, f"manifests/{ref.identifier}", what, {"Accept": accept})
        try:
            data = bytearray()
            guard = ProgressGuard(what, ref.domain)
            for chunk in resp.iter_bytes():
                guard.feed(len(chunk))
                data += chunk
                if len(data) > MAX_MANIFEST:
                    raise RegistryError(f"{what}: larger than {MAX_MANIFEST} bytes")
        except httpx.TransportError as e:
            raise RegistryError(f"{what}: {type(e).__name__}: {e}") from None
        finally:
            resp.close()
        raw = bytes(data)
        got = Digest.of_bytes(raw)
        if ref.digest is not None and got != ref.digest:
            raise DigestError(f"{what}: content digest is {got}")
        header = resp.headers.get("Docker-Content-Digest")
        if header and ref.digest is None and header != str(got):
            raise DigestError(f"{what}: registry says {header}, content is {got}")
        media = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if media not in mt.ALL_MANIFEST_TYPES:
            media = media_type_of(raw)
        return raw, media, got

    def resolve_image(self, ref: Reference, platform: Platform | None = None) -> RemoteImage:
        """Fetch the manifest (selecting ``platform`` from an index) and its config."""
        raw, media, digest = self.get_manifest(ref)
        top = Descriptor(media, digest, len(raw))
        try:
            doc = parse_any(raw, media)
            index = index_desc = None
            desc = top
            if isinstance(doc, Index):
                index, index_desc = doc, top
                desc = select_platform(doc, platform)
                raw, media, _ = self.get_manifest(by_digest(ref, desc.digest))
                doc = Manifest.parse(raw, desc.media_type or media)
        except ManifestError as e:
            raise RegistryError(f"pull {ref}: {e}") from None
        assert isinstance(doc, Manifest)
        config = self.get_blob_bytes(ref, doc.config)
        return RemoteImage(ref, desc, doc, config, index, index_desc)

    def put_manifest(self, ref: Reference, raw: bytes, media_type: str) -> Digest:
        what = f"put manifest {ref}"
        resp = self.request("PUT", ref, f"manifests/{ref.identifier}", "pull,push", what=what,
                            headers={"Content-Type": media_type}, content=raw)
        raise_for_status(resp, what)
        got = Digest.of_bytes(raw)
        header = resp.headers.get("Docker-Content-Digest")
        if header and header != str(got):
            raise DigestError(f"{what}: registry stored {header}, we sent {got}")
        return got

    # ---- blobs: read --------------------------------------------------------------------------------
    def get_blob_bytes(self, ref: Reference, desc: Descriptor, limit: int = MAX_MANIFEST) -> bytes:
        """A small blob (a config) in memory, verified."""
        if desc.size > limit:
            raise RegistryError(f"get blob {desc.digest} from {ref.repository}: {desc.size} bytes is too large")
        sink = _MemorySink()
        self.fetch_blob(ref, desc, sink)
        return sink.data

    def has_blob(self, ref: Reference, digest: Digest) -> bool:
        what = f"check blob {digest} in {ref.repository}"
        resp = self.request("HEAD", ref, f"blobs/{digest}", "pull,push", what=what)
        if resp.status_code == 404:
            return False
        if 300 <= resp.status_code < 400:
            return True
        raise_for_status(resp, what)
        return True

    def fetch_blob(self, ref: Reference, desc: Descriptor, sink: BlobSink) -> Digest:
        """Stream a blob into ``sink``, verified; resume with Range after resets; mirrors then origin."""
        if sink.has_blob(desc.digest):
            return desc.digest
        last: RegistryError | None = None
        for src in self._each_source(ref, "pull"):
            try:
                return self._fetch_blob_at(src, desc, sink)
            except DigestError:
                raise
            except RegistryError as e:
                last = e
        assert last is not None
        raise last

    def _fetch_blob_at(self, ref: Reference, desc: Descriptor, sink: BlobSink) -> Digest:
        return download(self, ref, desc, sink)

    # ---- blobs: write -------------------------------------------------------------------------------
    def mount_blob(self, ref: Reference, digest: Digest, from_repo: Reference) -> str | None:
        """Try a cross-repository mount; None when mounted, else the upload URL the registry opened."""
        what = f"mount blob {digest} into {ref.repository}"
        q = urlencode({"mount": str(digest), "from": from_repo.path})
        resp = self.request("POST", ref, f"blobs/uploads/?{q}", "pull,push", what=what,
                            extra_scopes=(scope(from_repo, "pull"),))
        if resp.status_code == 201:
            return None
        raise_for_status(resp, what)
        return self._location(ref, resp, what)

    def start_upload(self, ref: Reference) -> str:
        what = f"start upload to {ref.repository}"
        resp = self.request("POST", ref, "blobs/uploads/", "pull,push", what=what)
        raise_for_status(resp, what)
        return self._location(ref, resp, what)

    def _location(self, ref: Reference, resp: httpx.Response, what: str) -> str:
        loc = str(resp.headers.get("Location") or "")
        if not loc:
            raise RegistryError(f"{what}: registry gave no upload location")
        return urljoin(self.base_url(api_host(ref.domain)) + "/", loc)

    def upload_monolithic(self, ref: Reference, location: str, desc: Descriptor,
                          open_fn: Callable[[], IO[bytes]]) -> None:
        what = f"upload blob {desc.digest} to {ref.repository}"
        url = location + ("&" if "?" in location else "?") + urlencode({"digest": str(desc.digest)})
        resp = self.request("PUT", ref, url, "pull,push", what=what, content=lambda: _chunks(open_fn, self.progress, desc),
                            headers={"Content-Type": "application/octet-stream", "Content-Length": str(desc.size)})
        raise_for_status(resp, what)

    def upload_chunked(self, ref: Reference, location: str, desc: Descriptor,
                       open_fn: Callable[[], IO[bytes]]) -> None:
        what = f"upload blob {desc.digest} to {ref.repository}"
        step = self.options.chunk_size
        with open_fn() as fp:
            offset = 0
            while offset < desc.size:
                data = fp.read(min(step, desc.size - offset))
                if not data:
                    raise RegistryError(f"{what}: source ended at {offset} of {desc.size} bytes")
                end = offset + len(data) - 1
                resp = self.request("PATCH", ref, location, "pull,push", what=what, content=data,
                                    headers={"Content-Type": "application/octet-stream",
                                             "Content-Range": f"{offset}-{end}", "Content-Length": str(len(data))})
                raise_for_status(resp, what)
                location = self._location(ref, resp, what)
                offset = end + 1
                self.progress.update(str(desc.digest), offset)
        url = location + ("&" if "?" in location else "?") + urlencode({"digest": str(desc.digest)})
        resp = self.request("PUT", ref, url, "pull,push", what=what, content=b"",
                            headers={"Content-Length": "0"})
        raise_for_status(resp, what)

    def push_blob(self, ref: Reference, desc: Descriptor, open_fn: Callable[[], IO[bytes]],
                  mount_from: Reference | None = None) -> bool:
        """Upload a blob unless the registry has it. Returns True when bytes were sent."""
        if self.has_blob(ref, desc.digest):
            return False
        location = None
        if mount_from is not None and mount_from.repository != ref.repository \
                and api_host(mount_from.domain) == api_host(ref.domain):
            location = self.mount_blob(ref, desc.digest, mount_from)
            if location is None:
                return False
        location = location or self.start_upload(ref)
        key = str(desc.digest)
        self.progress.start(key, f"push {desc.digest.short}", desc.size)
        if desc.size > self.options.chunk_size:
            self.upload_chunked(ref, location, desc, open_fn)
        else:
            self.upload_monolithic(ref, location, desc, open_fn)
        self.progress.done(key)
        return True


def _chunks(open_fn: Callable[[], IO[bytes]], progress: ProgressLike, desc: Descriptor) -> Iterator[bytes]:
    sent = 0
    with open_fn() as fp:
        while True:
            b = fp.read(READ_CHUNK)
            if not b:
                break
            sent += len(b)
            progress.update(str(desc.digest), sent)
            yield b


class _MemorySink:
    """A BlobSink keeping one small blob in memory (configs)."""

    def __init__(self) -> None:
        self.data = b""

    def has_blob(self, digest: Digest) -> bool:
        return False

    def writer(self, key: str | None = None, resume: bool = False) -> _MemoryWriter:
        return _MemoryWriter(self)


class _MemoryWriter:
    def __init__(self, sink: _MemorySink) -> None:
        self._sink = sink
        self._buf = bytearray()

    @property
    def size(self) -> int:
        return len(self._buf)

    def write(self, data: bytes) -> int:
        self._buf += data
        return len(data)

    def commit(self, expected: Digest | None = None, size: int | None = None) -> Digest:
        got = Digest.of_bytes(bytes(self._buf))
        if size is not None and len(self._buf) != size:
            raise DigestError(f"write blob {expected or got}: got {len(self._buf)} bytes, want {size}")
        if expected is not None and got != expected:
            raise DigestError(f"write blob: digest is {got}, want {expected}")
        self._sink.data = bytes(self._buf)
        return got

    def abort(self, keep: bool = False) -> None:
        self._buf = bytearray()

"""Blob GETs on stdlib ``http.client`` connections, plugged in under httpx as a transport.

httpx's HTTP/1.1 stack (httpcore + h11) copies every body byte three more times in Python (h11's receive buffer,
its extracted slice, httpcore's ``bytes`` of it) and allocates fresh megabyte buffers for each: for a blob that
costs as much CPU as hashing it (measured: ~0.15 CPU-s per 200 MB against ~0.04 here). This transport answers the
requests marked :data:`RAW_BODY` (blob downloads) with an ``http.client`` response whose body is read with one
system call per chunk straight into the returned bytes (``read1``: as much as has arrived, up to 1 MiB, so the
caller's progress guard still sees a trickling server). Everything else — requests, auth, redirects, retries,
resume, the progress rule — stays where it was: the response is an ordinary ``httpx.Response`` and every error
is an ``httpx.TransportError``. Connections are kept alive per (scheme, host, port) and reused.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Callable, Iterator

import httpx

RAW_BODY = "sealer.raw_body"      # request extension: True to read this GET's body through this module
READ_CHUNK = 1 << 20
MAX_IDLE = 16                    # kept-alive connections per (scheme, host, port)

_Key = tuple[str, str, int]


def _timeouts(request: httpx.Request) -> tuple[float | None, float | None]:
    t = request.extensions.get("timeout") or {}
    return t.get("connect"), t.get("read")


class _Body(httpx.SyncByteStream):
    """The body of one response; the connection goes back to the pool only when the body was read whole."""

    def __init__(self, pool: RawGetPool, key: _Key, conn: http.client.HTTPConnection,
                 resp: http.client.HTTPResponse, url: str) -> None:
        self._pool = pool
        self._key = key
        self._conn: http.client.HTTPConnection | None = conn
        self._resp = resp
        self._url = url

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._resp.read1(READ_CHUNK)
            except TimeoutError as e:
                raise httpx.ReadTimeout(f"read {self._url}: {e}") from None
            except http.client.HTTPException as e:
                raise httpx.RemoteProtocolError(f"read {self._url}: {type(e).__name__}: {e}") from None
            except OSError as e:
                raise httpx.ReadError(f"read {self._url}: {e}") from None
            if not chunk:
                if self._resp.length:  # the server closed before Content-Length bytes
                    raise httpx.RemoteProtocolError(
                        f"read {self._url}: peer closed connection with {self._resp.length} bytes left")
                return
            yield chunk
            if self._resp.length == 0:
                return

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        whole = self._resp.length == 0 or self._resp.isclosed() and self._resp.length is None
        self._resp.close()
        if whole and not self._resp.will_close:
            self._pool.put_back(self._key, conn)
        else:
            conn.close()


class RawGetPool:
    """Kept-alive ``http.client`` connections for marked GETs (thread-safe). ``make_tls`` gives the host's TLS
    context for ``https`` (the same shared, verifying context httpx uses)."""

    def __init__(self, make_tls: Callable[[], ssl.SSLContext]) -> None:
        self._make_tls = make_tls
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def put_back(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns = [c for cs in self._idle.values() for c in cs]
            self._idle = {}
        for c in conns:
            c.close()

    def _take(self, key: _Key) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _connect(self, key: _Key, connect_timeout: float | None,
                 read_timeout: float | None) -> http.client.HTTPConnection:
        scheme, host, port = key
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self._make_tls())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            conn.connect()
        except TimeoutError as e:
            conn.close()
            raise httpx.ConnectTimeout(f"connect to {host}:{port}: {e}") from None
        except OSError as e:  # refused, unreachable, TLS handshake or certificate failure
            conn.close()
            raise httpx.ConnectError(f"connect to {host}:{port}: {e}") from None
        assert conn.sock is not None
        conn.sock.settimeout(read_timeout)
        return conn

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        key: _Key = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        connect_timeout, read_timeout = _timeouts(request)
        target = url.raw_path.decode("ascii")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                   if k.lower() != b"accept-encoding"]
        headers.append(("Accept-Encoding", "identity"))  # the bytes as stored: a blob is verified by its digest
        shown = str(url.copy_with(query=None))
        for attempt in (0, 1):
            conn = self._take(key) if attempt == 0 else None
            reused = conn is not None
            if conn is None:
                conn = self._connect(key, connect_timeout, read_timeout)
            try:
                conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders()
                resp = conn.getresponse()
            except TimeoutError as e:
                conn.close()
                raise httpx.ReadTimeout(f"{request.method} {shown}: {e}") from None
            except (http.client.HTTPException, OSError) as e:
                conn.close()
                if reused:  # a kept-alive connection the server had closed: once more on a new one
                    continue
                if isinstance(e, http.client.HTTPException):
                    raise httpx.RemoteProtocolError(f"{request.method} {shown}: {type(e).__name__}: {e}") from None
                raise httpx.ReadError(f"{request.method} {shown}: {e}") from None
            return httpx.Response(resp.status, headers=resp.getheaders(),
                                  stream=_Body(self, key, conn, resp, shown),
                                  extensions={"http_version": b"HTTP/1.1",
                                              "reason_phrase": resp.reason.encode("latin-1", "replace")})
        raise AssertionError("unreachable")  # pragma: no cover

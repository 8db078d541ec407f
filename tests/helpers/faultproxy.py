"""A loopback HTTP proxy in front of a real registry that injects faults.

    px = FaultProxy(reg)                         # http://127.0.0.1:<port> forwarding to reg (http or https)
    px.add(Fault("reset", after_bytes=65536))    # next blob GET: send headers + 64 KiB, then TCP RST
    px.add(Fault("status", status=429, retry_after="1", times=2))
    px.add(Fault("corrupt"))                     # flip one byte in the next blob body (same length)
    px.add(Fault("redirect"))                    # 307 to http://localhost:<port>/_redirected/<id>
    px.add(Fault("redirect", location="{path}?again=1", status=302))   # any Location ("" = none), any 3xx
    px.add(Fault("ignore-range"))                # forward the next blob GET without its Range: a 200, whole blob
    px.add(Fault("content-range", content_range="bytes 5-9/10"))       # that Content-Range on the answer instead
    px.add(Fault("truncate", after_bytes=1000))  # announce and send the first 1000 body bytes only, a clean end
    px.add(Fault("append", extra=b"xyz"))        # the whole body and then these bytes (Content-Length to match)
    ... use px.host as the registry host ...
    px.requests                                  # every request seen: (method, path, headers)
    px = FaultProxy(reg, rewrite_challenges=lambda vs: ["Negotiate", *vs])   # the WWW-Authenticate headers of
    px.challenges_sent                           # every answer rewritten; what was sent: (method, path, values)
    px.stop()

Faults match on method and a regex over the request path (default: blob GETs) and fire ``times`` times.
The redirect target is the same listener under another host name (``localhost``), so a client must treat it
as a different origin; what it sends there is recorded in ``px.redirected`` (headers per request).
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CHUNK = 64 * 1024
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization",
       "proxy-authenticate"}


@dataclass
class Fault:
    kind: str                          # "reset" | "status" | "corrupt" | "redirect" | "ignore-range" |
                                       # "content-range" | "truncate" | "append"
    path: str = r"/v2/.+/blobs/sha256:[0-9a-f]{64}$"
    method: str = "GET"
    times: int = 1                     # how many matching requests it affects; -1 = all
    after_bytes: int = 0               # reset, truncate: body bytes sent before the connection is reset / the end
    status: int = 500                  # status: the code to answer
    retry_after: str | None = None     # status: Retry-After header value
    location: str | None = None        # redirect: Location to send instead ({port} and {path} filled in; "" = no
                                       # Location header), with ``status`` when it is a 3xx (else 307)
    content_range: str | None = ""     # content-range: the Content-Range sent instead of the upstream's (None: none)
    extra: bytes = b""                 # append: bytes sent after the body
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times != -1 and self.fired >= self.times:
            return False
        return method == self.method and re.search(self.path, path.split("?", 1)[0]) is not None


@dataclass
class _Pending:
    path: str
    headers: dict[str, str]


@dataclass
class FaultProxy:
    upstream_url: str
    ssl_context: ssl.SSLContext | None = None
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    redirected: list[dict[str, str]] = field(default_factory=list)
    rewrite_challenges: Callable[[list[str]], list[str]] | None = None
    challenges_sent: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def __init__(self, upstream: Any, faults: list[Fault] | None = None,
                 rewrite_challenges: Callable[[list[str]], list[str]] | None = None) -> None:
        """``upstream``: a helpers.registry.Registry (or anything with ``url`` and ``ssl_context()``).
        ``rewrite_challenges``: maps the upstream's ``WWW-Authenticate`` values of an answer (when it has any) to
        the values sent on, one header each; what was sent is logged in ``challenges_sent``."""
        self.upstream_url = upstream.url
        self.ssl_context = upstream.ssl_context()
        self.faults = list(faults or [])
        self.requests = []
        self.redirected = []
        self.rewrite_challenges = rewrite_challenges
        self.challenges_sent = []
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                proxy._handle(self)

            do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- request handling ---------------------------------------------------------------------------
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.matches(method, path):
                    f.fired += 1
                    return f
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        headers = {k: v for k, v in h.headers.items()}
        method, path = h.command, h.path
        with self._lock:
            self.requests.append((method, path, headers))
        body = self._read_body(h)
        if path.startswith("/_redirected/"):
            with self._lock:
                self.redirected.append(headers)
                pending = self._pending.get(path.split("/")[2])
            if pending is None:
                self._send(h, 404, {}, b"unknown redirect")
                return
            self._forward(h, method, pending.path, pending.headers, b"", None)
            return
        fault = self._take_fault(method, path)
        if fault is not None and fault.kind == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._send(h, fault.status, extra, b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}')
            return
        if fault is not None and fault.kind == "redirect" and fault.location is not None:
            where = {"Location": fault.location.format(port=self.port, path=path)} if fault.location else {}
            self._send(h, fault.status if 300 <= fault.status < 400 else 307, where, b"")
            return
        if fault is not None and fault.kind == "redirect":
            rid = uuid.uuid4().hex
            with self._lock:
                self._pending[rid] = _Pending(path, headers)
            self._send(h, 307, {"Location": f"http://localhost:{self.port}/_redirected/{rid}"}, b"")
            return
        self._forward(h, method, path, headers, body, fault)

    @staticmethod
    def _read_body(h: BaseHTTPRequestHandler) -> bytes:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = h.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += h.rfile.read(n)
                h.rfile.readline()
        n = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(n) if n else b""

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def _forward(self, h: BaseHTTPRequestHandler, method: str, path: str, headers: dict[str, str], body: bytes,
                 fault: Fault | None) -> None:
        u = urlsplit(self.upstream_url)
        conn: http.client.HTTPConnection
        if u.scheme == "https":
            conn = http.client.HTTPSConnection(u.hostname or "127.0.0.1", u.port, context=self.ssl_context,
                                               timeout=60)
        else:
            conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=60)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                if k.lower() not in HOP and k.lower() != "content-length" and \
                        not (fault is not None and fault.kind == "ignore-range" and k.lower() == "range"):
                    conn.putheader(k, v)
            if body or method in ("PUT", "POST", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            h.send_response(resp.status)
            length = resp.getheader("Content-Length")
            kind = fault.kind if fault is not None else ""
            sent_length = length
            if length is not None and kind == "truncate":
                sent_length = str(min(int(length), fault.after_bytes if fault is not None else 0))
            elif length is not None and kind == "append":
                sent_length = str(int(length) + len(fault.extra if fault is not None else b""))
            challenges = [v for k, v in resp.getheaders() if k.lower() == "www-authenticate"]
            if challenges and self.rewrite_challenges is not None:
                challenges = self.rewrite_challenges(challenges)
                with self._lock:
                    self.challenges_sent.append((method, path, list(challenges)))
            for k, v in resp.getheaders():
                if k.lower() not in HOP and k.lower() not in ("content-length", "www-authenticate"):
                    if fault is not None and fault.kind == "content-range" and k.lower() == "content-range":
                        if fault.content_range is None:
                            continue
                        v = fault.content_range
                    h.send_header(k, v)
            for v in challenges:
                h.send_header("WWW-Authenticate", v)
            if method == "HEAD" or length is not None:
                if sent_length is not None:
                    h.send_header("Content-Length", sent_length)
                h.end_headers()
                if method != "HEAD":
                    self._stream(h, resp, int(length or 0), fault)
            else:
                data = resp.read()
                h.send_header("Content-Length", str(len(data)))
                h.end_headers()
                h.wfile.write(data)
        finally:
            conn.close()

    @staticmethod
    def _stream(h: BaseHTTPRequestHandler, resp: http.client.HTTPResponse, length: int, fault: Fault | None) -> None:
        sent = 0
        flip_at = length // 2
        while True:
            chunk = resp.read(CHUNK)
            if not chunk:
                break
            if fault is not None and fault.kind == "corrupt" and sent <= flip_at < sent + len(chunk):
                i = flip_at - sent
                chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1:]
            if fault is not None and fault.kind == "truncate" and sent + len(chunk) >= fault.after_bytes:
                h.wfile.write(chunk[: max(0, fault.after_bytes - sent)])
                h.wfile.flush()
                return
            if fault is not None and fault.kind == "reset" and sent + len(chunk) >= fault.after_bytes:
                h.wfile.write(chunk[: max(0, fault.after_bytes - sent)])
                h.wfile.flush()
                time.sleep(0.3)  # let the client read what was sent: a RST makes the kernel drop unread data
                _reset(h.connection)
                h.close_connection = True
                return
            h.wfile.write(chunk)
            sent += len(chunk)
        if fault is not None and fault.kind == "append":
            h.wfile.write(fault.extra)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # injected resets make the handler's final flush fail; that is the point


def _reset(sock: socket.socket) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0) instead of a clean FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()

"""A small Docker token server (https://distribution.github.io/distribution/spec/auth/token/).

``GET /token?service=S&scope=repository:NAME:pull,push`` with optional Basic credentials returns
``{"token", "access_token", "expires_in", "issued_at"}``: an RS256 JWT whose ``x5c`` header carries the
signing certificate, which the real registry verifies against its ``rootcertbundle``.
Anonymous callers get ``pull`` only (when ``allow_anonymous``); bad credentials get 401.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from helpers.registry_tls import CertPair, make_signing_cert

SERVICE = "sealer-test-registry"
ISSUER = "sealer-test-issuer"


class TokenServer:
    """Test stand-in for a registry token service (the Docker token-auth protocol), written for the tests:
    docker-registry is real and verifies the JWTs it signs, but this issuer is not a production service."""

    def __init__(self, workdir: Path, users: dict[str, str], *, allow_anonymous: bool = True,
                 expires_in: int = 300) -> None:
        self.users = dict(users)
        self.allow_anonymous = allow_anonymous
        self.expires_in = expires_in
        self.signer: CertPair = make_signing_cert(workdir)
        self._key = self.signer.key.read_bytes()
        self.requests: list[dict[str, Any]] = []  # one record per token request (user, scopes, status)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    # ---- protocol -----------------------------------------------------------------------------------
    def _user(self, h: BaseHTTPRequestHandler) -> tuple[str | None, bool]:
        auth = h.headers.get("Authorization")
        if not auth:
            return None, self.allow_anonymous
        if not auth.startswith("Basic "):
            return None, False
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, False
        return user, self.users.get(user) == pw

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        if url.path != "/token":
            h.send_error(404)
            return
        q = parse_qs(url.query)
        user, ok = self._user(h)
        scopes = q.get("scope", [])
        with self._lock:
            self.requests.append({"user": user, "scopes": scopes, "ok": ok,
                                  "service": q.get("service", [None])[0]})
        if not ok:
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
            h.send_response(401)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) < 3:
                continue
            typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            granted = [a for a in actions if user is not None or a == "pull"]
            access.append({"type": typ, "name": name, "actions": granted})
        token = self.sign(user or "", access)
        body = json.dumps({"token": token, "access_token": token, "expires_in": self.expires_in,
                           "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def sign(self, subject: str, access: list[dict[str, Any]]) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + self.expires_in,
                  "nbf": now - 1, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        headers = {"x5c": [base64.b64encode(self.signer.der).decode()]}
        return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

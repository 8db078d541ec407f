"""Protocol edge cases of the registry client against an in-process fake (``httpx.MockTransport``): retries with
Retry-After, redirects that must not carry credentials, the bearer-token flow, and the registry's error codes.
The same flows run against the real docker-registry in test_auth.py / test_faults.py."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sealer.digest import Digest
from sealer.errors import AuthError, NotFoundError, RegistryError
from sealer.oci import mediatypes as mt
from sealer.oci.model import Descriptor
from sealer.reference import parse
from sealer.registry import RegistryClient, RegistryOptions
from sealer.registry.credentials import Credential, store_credential

HOST = "reg.test"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                       "config": {"mediaType": mt.OCI_CONFIG, "digest": "sha256:" + "a" * 64, "size": 2},
                       "layers": []}).encode()
BLOB = b"layer bytes " * 1000
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, tmp_path: Path, **opts: object) -> tuple[RegistryClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return handler(req)

    options = RegistryOptions(retries=3, backoff=0.001, max_backoff=0.01, use_mirrors=False,
                              auth_file=tmp_path / "auth.json", **opts)  # type: ignore[arg-type]
    return RegistryClient(options, transport=httpx.MockTransport(record)), seen


def manifest_ok() -> httpx.Response:
    return httpx.Response(200, content=MANIFEST, headers={"Content-Type": mt.OCI_MANIFEST})


def test_retries_5xx_and_honours_retry_after(tmp_path: Path) -> None:
    answers = [httpx.Response(503, headers={"Retry-After": "0"}), httpx.Response(429, headers={"Retry-After": "0"})]

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/v2/":
            return httpx.Response(200)
        return answers.pop(0) if answers else manifest_ok()

    c, seen = client(handler, tmp_path)
    raw, media, digest = c.get_manifest(parse(f"{HOST}/app:v1"))
    assert raw == MANIFEST and media == mt.OCI_MANIFEST
    assert str(digest) == "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
    assert [r.url.path for r in seen].count("/v2/app/manifests/v1") == 3


def test_gives_up_after_the_configured_attempts(tmp_path: Path) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200) if req.url.path == "/v2/" else httpx.Response(502)

    c, seen = client(handler, tmp_path)
    with pytest.raises(RegistryError, match="502"):
        c.get_manifest(parse(f"{HOST}/app:v1"))
    assert [r.url.path for r in seen].count("/v2/app/manifests/v1") == 3


def test_error_codes_of_the_registry_are_in_the_error(tmp_path: Path) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/v2/":
            return httpx.Response(200)
        return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})

    c, _ = client(handler, tmp_path)
    with pytest.raises(NotFoundError, match="MANIFEST_UNKNOWN: manifest unknown"):
        c.get_manifest(parse(f"{HOST}/app:v1"))


def _bearer_registry(token_requests: list[httpx.Request]) -> Handler:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.host == "auth.test":
            token_requests.append(req)
            if req.headers.get("Authorization") != "Basic " + base64.b64encode(b"alice:pw").decode():
                return httpx.Response(401, json={"details": "bad credentials"})
            return httpx.Response(200, json={"token": "T0K3N", "expires_in": 300})
        if req.headers.get("Authorization") != "Bearer T0K3N":
            return httpx.Response(401, headers={
                "WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="reg.test",scope="repository:app:pull"'})
        if req.url.path == "/v2/app/manifests/v1":
            return manifest_ok()
        if req.url.path == f"/v2/app/blobs/{BLOB_DIGEST}":
            return httpx.Response(307, headers={"Location": "https://cdn.test/blob?sig=1"})
        return httpx.Response(404)
    return handler


def test_bearer_token_flow_with_stored_credentials(tmp_path: Path) -> None:
    store_credential(HOST, Credential("alice", "pw"), tmp_path / "auth.json")
    tokens: list[httpx.Request] = []
    c, seen = client(_bearer_registry(tokens), tmp_path)
    c.get_manifest(parse(f"{HOST}/app:v1"))
    assert tokens, "no token was asked for"
    q = tokens[-1].url.params
    assert q["service"] == "reg.test" and q["scope"] == "repository:app:pull"
    assert seen[-1].headers["Authorization"] == "Bearer T0K3N"


def test_refused_credentials_are_an_auth_error(tmp_path: Path) -> None:
    store_credential(HOST, Credential("alice", "wrong"), tmp_path / "auth.json")
    c, _ = client(_bearer_registry([]), tmp_path)
    with pytest.raises(AuthError, match="user 'alice' refused"):
        c.get_manifest(parse(f"{HOST}/app:v1"))


def test_redirected_blob_download_sends_no_credentials_to_the_other_host(tmp_path: Path) -> None:
    store_credential(HOST, Credential("alice", "pw"), tmp_path / "auth.json")
    inner = _bearer_registry([])

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.host == "cdn.test":
            assert "Authorization" not in req.headers and "Cookie" not in req.headers
            return httpx.Response(200, content=iter([BLOB[:5000], BLOB[5000:]]),  # streamed, as on the network
                                  headers={"Content-Length": str(len(BLOB))})
        return inner(req)

    c, seen = client(handler, tmp_path)
    desc = Descriptor(mt.OCI_LAYER, Digest(BLOB_DIGEST), len(BLOB))
    assert c.get_blob_bytes(parse(f"{HOST}/app:v1"), desc, limit=1 << 20) == BLOB
    assert any(r.url.host == "cdn.test" for r in seen)


def test_redirect_to_plain_http_elsewhere_is_refused(tmp_path: Path) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/v2/":
            return httpx.Response(200)
        return httpx.Response(302, headers={"Location": "http://evil.test/blob"})

    c, seen = client(handler, tmp_path)
    desc = Descriptor(mt.OCI_LAYER, Digest(BLOB_DIGEST), len(BLOB))
    with pytest.raises(RegistryError, match="refusing redirect to plain HTTP evil.test"):
        c.get_blob_bytes(parse(f"{HOST}/app:v1"), desc)
    assert not any(r.url.host == "evil.test" for r in seen)


def test_errors_carry_status_codes_and_a_separate_hint(tmp_path: Path) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/v2/":
            return httpx.Response(200)
        return httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})

    c, _ = client(handler, tmp_path)
    with pytest.raises(AuthError) as info:
        c.get_manifest(parse(f"{HOST}/app:v1"))
    e = info.value
    assert (e.status, e.codes, e.hint) == (401, ("UNAUTHORIZED",), "check `sealer login`")
    assert "sealer login" not in str(e) and "UNAUTHORIZED: authentication required" in str(e)

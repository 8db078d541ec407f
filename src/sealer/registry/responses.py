"""Reading a registry's HTTP answers: an error status as the matching typed error (with the registry's error
codes), ``Retry-After``, and which host serves the API of a reference's domain."""

from __future__ import annotations

import contextlib
import time
from email.utils import parsedate_to_datetime

import httpx

from sealer.errors import AuthError, NotFoundError, RegistryError

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
DOCKER_HUB_API = "registry-1.docker.io"


class Transient(Exception):
    """A failure worth retrying; carries the server's Retry-After (seconds) when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _errors(resp: httpx.Response) -> list[dict[str, object]]:
    try:
        errs = resp.json().get("errors") or []
    except Exception:  # noqa: BLE001 - any non-JSON body
        return []
    return [e for e in errs if isinstance(e, dict)] if isinstance(errs, list) else []


def error_codes(resp: httpx.Response) -> tuple[str, ...]:
    """The registry's error codes (distribution spec ``errors[].code``) of an error answer."""
    return tuple(str(e["code"]) for e in _errors(resp) if e.get("code"))


def error_text(resp: httpx.Response) -> str:
    parts = [f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in _errors(resp)]
    if parts:
        return "; ".join(parts)
    return resp.reason_phrase or f"HTTP {resp.status_code}"


def raise_for_status(resp: httpx.Response, what: str) -> None:
    """Turn an error response into the matching SealerError (``what`` = verb + subject), with the status, the
    registry's error codes and a hint."""
    code = resp.status_code
    if code < 400:
        return
    if not resp.is_stream_consumed:
        with contextlib.suppress(Exception):
            resp.read()
    text = error_text(resp)
    codes = error_codes(resp)
    if code == 401:
        raise AuthError(f"{what}: unauthorized: {text}", hint="check `sealer login`", status=code, codes=codes)
    if code == 403:
        raise AuthError(f"{what}: access denied: {text}", status=code, codes=codes)
    if code == 404:
        raise NotFoundError(f"{what}: not found: {text}", status=code, codes=codes)
    raise RegistryError(f"{what}: HTTP {code}: {text}", status=code, codes=codes)


def api_host(domain: str) -> str:
    """The host serving the API for a reference domain (docker.io is served by registry-1.docker.io)."""
    return DOCKER_HUB_API if domain == "docker.io" else domain

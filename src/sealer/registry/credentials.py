"""Docker-style credentials: ``config.json`` (``auths``, ``credsStore``, ``credHelpers``) and
``docker-credential-*`` helper programs. Secrets never appear in a repr, a log line or an error message."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealer.errors import RegistryError

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


@dataclass(frozen=True)
class Credential:
    username: str
    password: str = field(repr=False)
    identity_token: str | None = field(default=None, repr=False)  # docker "identitytoken" (OAuth refresh)

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, password=<redacted>)"

    __str__ = __repr__

    def basic_header(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def auth_file_path(explicit: Path | None = None) -> Path:
    """``explicit`` (the CLI resolves ``--authfile``, ``$REGISTRY_AUTH_FILE``, ``$DOCKER_CONFIG``), else
    ``~/.docker/config.json``."""
    if explicit is not None:
        return explicit
    return Path(os.path.expanduser("~")) / ".docker" / "config.json"


def config_key(host: str) -> str:
    """The key docker uses in ``auths`` for ``host``."""
    return DOCKER_HUB_KEY if host in _HUB_ALIASES else host


def _candidates(host: str) -> list[str]:
    if host in _HUB_ALIASES:
        return [DOCKER_HUB_KEY, "docker.io", "index.docker.io", "https://index.docker.io/v1",
                "registry-1.docker.io"]
    return [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise RegistryError(f"read auth file {path}: {e}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"read auth file {path}: not a JSON object")
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".json")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fp:
            json.dump(data, fp, indent="\t")
            fp.write("\n")
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _helper_for(data: dict[str, Any], host: str) -> str | None:
    helpers = data.get("credHelpers") or {}
    for k in _candidates(host):
        if isinstance(helpers, dict) and k in helpers:
            return str(helpers[k])
    store = data.get("credsStore")
    return str(store) if store else None


def _run_helper(name: str, action: str, payload: str) -> str:
    prog = f"docker-credential-{name}"
    try:
        p = subprocess.run([prog, action], input=payload, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise RegistryError(f"run credential helper {prog}: not found on PATH") from None
    except subprocess.TimeoutExpired:
        raise RegistryError(f"run credential helper {prog} {action}: timed out") from None
    if p.returncode != 0:
        msg = (p.stdout or p.stderr).strip()
        if action == "get" and "credentials not found" in msg.lower():
            return ""
        # the helper's output may echo what it was given; never show more than its first line
        raise RegistryError(f"run credential helper {prog} {action}: exit {p.returncode}: {msg.splitlines()[0][:200] if msg else ''}")
    return p.stdout


def _decode_auth(entry: dict[str, Any], host: str, path: Path) -> Credential | None:
    if entry.get("auth"):
        try:
            user, sep, pw = base64.b64decode(str(entry["auth"])).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise RegistryError(f"read auth file {path}: entry for {host} is not base64 user:password") from None
        if not sep:
            raise RegistryError(f"read auth file {path}: entry for {host} is not user:password")
        return Credential(user, pw, entry.get("identitytoken") or None)
    if entry.get("username"):
        return Credential(str(entry["username"]), str(entry.get("password", "")),
                          entry.get("identitytoken") or None)
    if entry.get("identitytoken"):
        return Credential("<token>", "", str(entry["identitytoken"]))
    return None


def get_credential(host: str, auth_file: Path | None = None) -> Credential | None:
    """Stored credentials for ``host`` (helper first when configured, then ``auths``), or None."""
    path = auth_file_path(auth_file)
    data = _read(path)
    helper = _helper_for(data, host)
    if helper:
        for key in _candidates(host)[:3]:
            out = _run_helper(helper, "get", key)
            if out.strip():
                try:
                    doc = json.loads(out)
                    user, secret = str(doc["Username"]), str(doc["Secret"])
                except (ValueError, KeyError, TypeError):
                    raise RegistryError(f"run credential helper docker-credential-{helper} get: bad JSON") from None
                if user == "<token>":
                    return Credential(user, "", secret)
                return Credential(user, secret)
    auths = data.get("auths") or {}
    for key in _candidates(host):
        entry = auths.get(key) if isinstance(auths, dict) else None
        if isinstance(entry, dict):
            cred = _decode_auth(entry, host, path)
            if cred is not None:
                return cred
    return None


def store_credential(host: str, cred: Credential, auth_file: Path | None = None) -> Path:
    """Save ``cred`` for ``host``: through the configured helper, else base64 in ``auths`` (file mode 0600)."""
    path = auth_file_path(auth_file)
    data = _read(path)
    key = config_key(host)
    helper = _helper_for(data, host)
    auths = data.setdefault("auths", {})
    if helper:
        _run_helper(helper, "store", json.dumps({"ServerURL": key, "Username": cred.username,
                                                 "Secret": cred.password}))
        auths[key] = {}
    else:
        auths[key] = {"auth": base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()}
    _write(path, data)
    return path


def erase_credential(host: str, auth_file: Path | None = None) -> bool:
    """Forget ``host``. Returns False when nothing was stored."""
    path = auth_file_path(auth_file)
    data = _read(path)
    found = False
    helper = _helper_for(data, host)
    if helper:
        for key in _candidates(host)[:3]:
            try:
                _run_helper(helper, "erase", key)
                found = True
            except RegistryError:
                continue
    auths = data.get("auths") or {}
    for key in _candidates(host):
        if isinstance(auths, dict) and key in auths:
            del auths[key]
            found = True
    if found and path.exists():
        _write(path, data)
    return found

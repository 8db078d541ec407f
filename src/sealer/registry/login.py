"""``sealer login`` / ``logout``: check credentials against the registry, then store them docker-style."""

from __future__ import annotations

from pathlib import Path

from sealer.errors import AuthError, RegistryError
from sealer.registry.client import RegistryClient
from sealer.registry.credentials import Credential, erase_credential, store_credential
from sealer.registry.options import RegistryOptions

_HUB = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


def normalize_host(host: str) -> str:
    """``https://Reg.example:5000/`` → ``reg.example:5000``; docker hub aliases → ``docker.io``."""
    h = host.strip()
    for p in ("https://", "http://"):
        if h.startswith(p):
            h = h[len(p):]
    h = h.split("/", 1)[0].lower()
    if not h:
        raise RegistryError(f"log in to {host!r}: not a registry host")
    return "docker.io" if h in _HUB else h


def login(host: str, username: str, password: str, options: RegistryOptions | None = None) -> Path:
    """Verify the credentials against ``host`` and store them only when accepted. Returns the auth file."""
    options = options or RegistryOptions()
    h = normalize_host(host)
    if not username:
        raise AuthError(f"log in to {h}: a username is required")
    if not password:
        raise AuthError(f"log in to {h}: a password is required")
    cred = Credential(username, password)
    with RegistryClient(options) as client:
        client.check_login(h, cred)
    return store_credential(h, cred, options.auth_file)


def logout(host: str, options: RegistryOptions | None = None) -> bool:
    """Forget the credentials of ``host``; False when there were none."""
    options = options or RegistryOptions()
    return erase_credential(normalize_host(host), options.auth_file)

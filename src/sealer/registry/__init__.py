"""The distribution API client: requests, blob transfer, auth, credentials, TLS, mirrors, login; pull and push.
Must not import imagecache/, distlayout/, build/ or cli/ (they build on it).

    from sealer.registry import RegistryClient, RegistryOptions, pull, push, login, logout

The names below load on first use (PEP 562): importing ``sealer.registry.options`` (the sink protocols the image
cache and archive readers type against) does not load httpx; the client does, when a command needs it.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

# httpx imports its command-line tool (``httpx._main``: click, rich's console and progress, pygments) whenever
# those are installed, as click and rich are here, inside ``try: ... except ImportError`` with a stub in its
# place. We never run it; it cost ~50 ms of every command that talks to a registry (0.13 s -> 0.08 s for
# ``import httpx`` alone). Marked absent before httpx is first imported, httpx takes its own fallback.
# ``tests/registry/test_httpx_import.py`` fails if a future httpx stops tolerating it.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    from sealer.registry.client import RegistryClient, RemoteImage, by_digest, select_platform
    from sealer.registry.credentials import Credential, auth_file_path, get_credential
    from sealer.registry.login import login, logout, normalize_host
    from sealer.registry.mirrors import RegistriesConf, Source
    from sealer.registry.options import BlobSink, BlobWriterLike, NoProgress, ProgressLike, RegistryOptions
    from sealer.registry.transfer import pull, push

_WHERE = {
    "client": ("RegistryClient", "RemoteImage", "by_digest", "select_platform"),
    "credentials": ("Credential", "auth_file_path", "get_credential"),
    "login": ("login", "logout", "normalize_host"),
    "mirrors": ("RegistriesConf", "Source"),
    "options": ("BlobSink", "BlobWriterLike", "NoProgress", "ProgressLike", "RegistryOptions"),
    "transfer": ("pull", "push"),
}
_MODULE_OF = {name: mod for mod, names in _WHERE.items() for name in names}

__all__ = [
    "BlobSink", "BlobWriterLike", "Credential", "NoProgress", "ProgressLike", "RegistriesConf", "RegistryClient",
    "RegistryOptions", "RemoteImage", "Source", "auth_file_path", "by_digest", "get_credential", "login",
    "logout", "normalize_host", "pull", "push", "select_platform",
]


def __getattr__(name: str) -> Any:
    mod = _MODULE_OF.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

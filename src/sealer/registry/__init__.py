"""The distribution API client: requests, blob transfer, auth, credentials, TLS, mirrors, login; pull and push.
Must not import imagecache/, distlayout/, build/ or cli/ (they build on it).

    from sealer.registry import RegistryClient, RegistryOptions, pull, push, login, logout
"""

from __future__ import annotations

from sealer.registry.client import RegistryClient, RemoteImage, by_digest, select_platform
from sealer.registry.credentials import Credential, auth_file_path, get_credential
from sealer.registry.login import login, logout, normalize_host
from sealer.registry.mirrors import RegistriesConf, Source
from sealer.registry.options import BlobSink, BlobWriterLike, NoProgress, ProgressLike, RegistryOptions
from sealer.registry.transfer import pull, push

__all__ = [
    "BlobSink", "BlobWriterLike", "Credential", "NoProgress", "ProgressLike", "RegistriesConf", "RegistryClient",
    "RegistryOptions", "RemoteImage", "Source", "auth_file_path", "by_digest", "get_credential", "login",
    "logout", "normalize_host", "pull", "push", "select_platform",
]

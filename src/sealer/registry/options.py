"""Options shared by every registry operation, and the small protocols the client writes through."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sealer.digest import Digest

DEFAULT_CERTS_DIRS = (Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d"))
DEFAULT_REGISTRIES_CONF = Path("/etc/containers/registries.conf")


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries.

    ``insecure``: hosts (``host[:port]``) reachable over plain HTTP or HTTPS without verification, as docker's
    ``--insecure-registry``. Loopback hosts may fall back to plain HTTP, but their certificates are still
    verified when they speak TLS. ``ca_cert`` is trusted for every host, on top of the system bundle
    (``SSL_CERT_FILE`` honoured) and ``certs_dirs/HOST/*.crt``.
    """

    insecure: frozenset[str] = frozenset()
    ca_cert: Path | None = None
    auth_file: Path | None = None
    registries_conf: Path | None = None
    max_parallel: int = 8
    timeout: float = 60
    retries: int = 5                       # attempts per request on 5xx / 429 / connection errors
    backoff: float = 0.25                  # first retry delay (seconds), doubled each attempt, capped
    max_backoff: float = 10.0
    chunk_size: int = 32 << 20             # uploads larger than this go in PATCH chunks of this size
    certs_dirs: tuple[Path, ...] = field(default=DEFAULT_CERTS_DIRS)
    use_mirrors: bool = True
    large_reads: bool = True               # 1 MiB HTTP/1.1 body reads (process-wide; see registry.tuning)

    def is_insecure(self, host: str) -> bool:
        return host in self.insecure or host.split(":")[0] in self.insecure

    def may_use_http(self, host: str) -> bool:
        return self.is_insecure(host) or is_loopback(host)

    def registries_conf_path(self) -> Path | None:
        """The mirrors file: ``registries_conf`` when given, else the system's when it exists (the CLI resolves
        ``$SEALER_REGISTRIES_CONF``; the library reads no environment variable)."""
        if self.registries_conf is not None:
            return self.registries_conf
        return DEFAULT_REGISTRIES_CONF if DEFAULT_REGISTRIES_CONF.is_file() else None


def split_host(host: str) -> str:
    """The host name of ``host[:port]`` (IPv6 brackets removed)."""
    if host.startswith("["):
        return host[1:host.index("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    name = split_host(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class BlobWriterLike(Protocol):
    @property
    def size(self) -> int: ...
    def write(self, data: bytes) -> int: ...
    def commit(self, expected: Digest | None = None, size: int | None = None) -> Digest: ...
    def abort(self, keep: bool = False) -> None: ...


class BlobSink(Protocol):
    """Where pulled blobs go: the local Store satisfies it, so does the registry-layout cache writer."""

    def has_blob(self, digest: Digest) -> bool: ...
    def writer(self, key: str | None = None, resume: bool = False) -> BlobWriterLike: ...


class ProgressLike(Protocol):
    """Transfer progress: one task per blob, keyed by digest."""

    def start(self, key: str, description: str, total: int | None) -> None: ...
    def update(self, key: str, completed: int) -> None: ...
    def done(self, key: str) -> None: ...


class NoProgress:
    def start(self, key: str, description: str, total: int | None) -> None:
        pass

    def update(self, key: str, completed: int) -> None:
        pass

    def done(self, key: str) -> None:
        pass

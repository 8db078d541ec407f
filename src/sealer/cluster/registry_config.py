"""``etc/registry_config.yaml``: the upstream registries the built-in registry proxies.

Follows sealer's ``proxy.remoteregistries`` design (url, username, password per
upstream), plus an optional ``domain`` (the image domain clients ask for) and
``tls.ca``. A plain docker-distribution config (``proxy: {remoteurl, ...}``) is read
as one upstream; its other top-level sections are accepted and ignored, because
the generator writes each proxy's config itself (sealer.cluster.registry_proxy).

```yaml
proxy:
  remoteregistries:
    - url: https://registry-1.docker.io      # required, http or https, no path
      domain: docker.io                      # optional: default is the URL's host[:port]
      username: robot                        # optional, together with password
      password: s3cret
      tls:
        ca: certs/quay-ca.crt                # optional PEM bundle; relative to this file
```
Credentials never appear in ``repr``, logs or ``inspect`` output (:meth:`RegistryConfig.redacted`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sealer.cluster.yamlsrc import Document, iter_documents, join_path
from sealer.errors import ClusterConfigError

FILE_NAME = "registry_config.yaml"
REDACTED = "<redacted>"
_DOMAIN = re.compile(r"^(?=.{1,253}(:|$))[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?$")
_DISTRIBUTION_SECTIONS = {"version", "log", "storage", "http", "health", "notifications", "auth", "redis",
                          "validation", "compatibility", "middleware", "loglevel", "reporting"}
# docker.io images are served by registry-1.docker.io
_DOMAIN_ALIASES = {"registry-1.docker.io": "docker.io", "index.docker.io": "docker.io"}


@dataclass(frozen=True)
class Upstream:
    """One upstream registry. ``repr`` never shows the credentials."""

    domain: str
    url: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None

    @property
    def has_credentials(self) -> bool:
        return self.username is not None

    def redacted(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "url": self.url,
            "username": REDACTED if self.username is not None else None,
            "password": REDACTED if self.password is not None else None,
            "tls": {"ca": str(self.ca_file)} if self.ca_file else None,
        }


@dataclass(frozen=True)
class RegistryConfig:
    upstreams: tuple[Upstream, ...]
    file: str

    @property
    def has_credentials(self) -> bool:
        return any(u.has_credentials for u in self.upstreams)

    def upstream(self, domain: str) -> Upstream:
        for u in self.upstreams:
            if u.domain == domain:
                return u
        raise KeyError(domain)

    def redacted(self) -> dict[str, Any]:
        """A JSON-able view for ``inspect`` and logs, credentials replaced by ``<redacted>``."""
        return {"file": self.file, "upstreams": [u.redacted() for u in self.upstreams]}

    def credentials_warning(self) -> str | None:
        """The warning a build prints when this file carries credentials into the image."""
        domains = [u.domain for u in self.upstreams if u.has_credentials]
        if not domains:
            return None
        return (f"{self.file} holds credentials for {', '.join(domains)}; they are stored in the image in clear "
                "text and anyone who can pull the image can read them")


def _str(doc: Document, m: dict[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
    value = m.get(key)
    p = join_path(path, key)
    if value is None:
        if required:
            raise doc.error(p, "required")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and key == "password":
        value = str(value)
    if not isinstance(value, str) or not value:
        raise doc.error(p, "expected a non-empty string")
    return value


def _map(doc: Document, value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(path, "expected a mapping")
    return value


def _check_keys(doc: Document, m: dict[str, Any], path: str, known: set[str]) -> None:
    for k in m:
        if k not in known:
            raise doc.error(join_path(path, str(k)), f"unknown field (known: {', '.join(sorted(known))})")


def _parse_upstream(doc: Document, m: dict[str, Any], path: str, base: Path) -> Upstream:
    _check_keys(doc, m, path, {"url", "domain", "username", "password", "tls", "remoteurl"})
    url_key = "url" if "url" in m or "remoteurl" not in m else "remoteurl"
    url = _str(doc, m, url_key, path, required=True)
    assert url is not None
    url_path = join_path(path, url_key)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise doc.error(url_path, f"expected an http:// or https:// URL, got {url!r}")
    if parts.username or parts.password:
        raise doc.error(url_path, "credentials in the URL are not allowed; use username and password")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise doc.error(url_path, "the URL must be the registry root (no path, query or fragment)")
    try:
        port = parts.port
    except ValueError:
        raise doc.error(url_path, f"invalid port in {url!r}") from None
    netloc = parts.hostname + (f":{port}" if port else "")
    domain = _str(doc, m, "domain", path) or _DOMAIN_ALIASES.get(netloc, netloc)
    if not _DOMAIN.match(domain):
        raise doc.error(join_path(path, "domain"), f"not a registry domain: {domain!r}")
    username = _str(doc, m, "username", path)
    password = _str(doc, m, "password", path)
    if (username is None) != (password is None):
        missing = "password" if password is None else "username"
        raise doc.error(join_path(path, missing), "required when the other credential is given")
    tls = _map(doc, m.get("tls"), join_path(path, "tls"))
    _check_keys(doc, tls, join_path(path, "tls"), {"ca", "insecureSkipVerify"})
    if tls.get("insecureSkipVerify"):
        raise doc.error(join_path(path, "tls.insecureSkipVerify"),
                        "the stock registry's proxy cannot skip TLS verification; give tls.ca instead")
    ca = _str(doc, tls, "ca", join_path(path, "tls"))
    ca_file = None
    if ca is not None:
        ca_file = (base / ca).resolve() if not Path(ca).is_absolute() else Path(ca)
        if not ca_file.is_file():
            raise doc.error(join_path(path, "tls.ca"), f"no such file: {ca_file}")
    return Upstream(domain=domain, url=f"{parts.scheme}://{netloc}", username=username, password=password,
                    ca_file=ca_file)


def parse_registry_config(text: str, file: str = FILE_NAME, *, base: Path | None = None) -> RegistryConfig:
    """Validate ``registry_config.yaml`` text; relative ``tls.ca`` paths resolve against ``base``."""
    base = base if base is not None else Path(file).parent
    docs = list(iter_documents(text, file))
    if len(docs) != 1:
        raise ClusterConfigError(f"expected one YAML document, found {len(docs)}", file)
    doc = docs[0]
    top = _map(doc, doc.data, "")
    _check_keys(doc, top, "", {"proxy"} | _DISTRIBUTION_SECTIONS)
    proxy = _map(doc, top.get("proxy"), "proxy")
    if not proxy:
        raise doc.error("proxy", "required: proxy.remoteregistries lists the upstream registries")
    _check_keys(doc, proxy, "proxy", {"remoteregistries", "remoteurl", "username", "password", "ttl"})
    entries: list[tuple[dict[str, Any], str]] = []
    if "remoteurl" in proxy:
        single: dict[str, Any] = {k: proxy[k] for k in ("remoteurl", "username", "password") if k in proxy}
        entries.append((single, "proxy"))
    remotes = proxy.get("remoteregistries")
    if remotes is not None:
        if not isinstance(remotes, list):
            raise doc.error("proxy.remoteregistries", "expected a list")
        for i, item in enumerate(remotes):
            p = join_path("proxy.remoteregistries", i)
            entries.append((_map(doc, item, p), p))
    if not entries:
        raise doc.error("proxy.remoteregistries", "at least one upstream registry is required")
    upstreams: list[Upstream] = []
    seen: dict[str, str] = {}
    for m, p in entries:
        u = _parse_upstream(doc, m, p, base)
        if u.domain in seen:
            raise doc.error(join_path(p, "domain"), f"domain {u.domain} is already proxied by {seen[u.domain]}")
        seen[u.domain] = p
        upstreams.append(u)
    return RegistryConfig(tuple(upstreams), file)


def load_registry_config(path: Path) -> RegistryConfig:
    """Read and validate ``path`` (typically ``ROOTFS/etc/registry_config.yaml``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ClusterConfigError(f"read registry config: {e}", str(path)) from None
    return parse_registry_config(text, str(path), base=path.parent)

"""Generate what delivery runs from ``registry_config.yaml``, with stock parts only.

* one docker-distribution (``docker-registry serve``) pull-through cache per upstream,
  on ``base_port + i`` in upstream order, storing under ``storage_root/<domain>``;
* one containerd ``hosts.toml`` per domain (``/etc/containerd/certs.d/<domain>/hosts.toml``)
  pointing at that proxy, the upstream kept as ``server`` fallback.

Limits of the stock registry (docs/cluster-config.md): one upstream per process; it
authenticates to token-auth upstreams only (distribution 2.8 keys proxy credentials
by token realm, so a Basic-auth upstream gets no credentials); it cannot skip TLS
verification — an upstream CA is trusted through ``SSL_CERT_FILE`` in the ``env`` file.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import yaml

from sealer.cluster.registry_config import RegistryConfig, Upstream

DEFAULT_PROXY_BASE_PORT = 5001


def _dir_name(domain: str) -> str:
    return domain.replace(":", "_")


def proxy_endpoints(cfg: RegistryConfig, host: str, base_port: int = DEFAULT_PROXY_BASE_PORT) -> dict[str, str]:
    """``domain -> host:port`` of the proxy serving it."""
    return {u.domain: f"{host}:{base_port + i}" for i, u in enumerate(cfg.upstreams)}


def distribution_config(u: Upstream, storage: str, addr: str, *, log_level: str = "warn",
                        htpasswd: str | None = None, tls: tuple[str, str] | None = None) -> str:
    """docker-distribution config of a pull-through cache for ``u``. Holds the credentials: write it 0600.

    ``htpasswd`` (a file path) makes the proxy ask its clients for Basic credentials, ``tls`` (certificate,
    key paths) makes it serve HTTPS; the upstream credentials (``proxy.username/password``) stay as they are."""
    proxy: dict[str, str] = {"remoteurl": u.url}
    if u.username is not None and u.password is not None:
        proxy["username"] = u.username
        proxy["password"] = u.password
    cfg = {
        "version": 0.1,
        "log": {"level": log_level},
        "storage": {"filesystem": {"rootdirectory": storage}, "delete": {"enabled": True}},
        "http": {"addr": addr, **({"tls": {"certificate": tls[0], "key": tls[1]}} if tls else {})},
        **({"auth": {"htpasswd": {"realm": "sealer-registry", "path": htpasswd}}} if htpasswd else {}),
        "proxy": proxy,
    }
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=False)


def render_distribution_configs(
    cfg: RegistryConfig,
    storage_root: Path | str,
    base_port: int = DEFAULT_PROXY_BASE_PORT,
    *,
    listen_host: str = "0.0.0.0",
    log_level: str = "warn",
    htpasswd: str | None = None,
    tls: tuple[str, str] | None = None,
) -> dict[str, str]:
    """``relative path -> content``: ``<domain>/config.yml`` per upstream (+ ``<domain>/env`` with
    ``SSL_CERT_FILE=...`` when the upstream has ``tls.ca``). Start each with
    ``env $(cat env) docker-registry serve config.yml``. ``htpasswd``/``tls``: as the local registry is
    protected (delivery with ``spec.registry.localRegistry`` credentials / HTTPS), see :func:`distribution_config`."""
    out: dict[str, str] = {}
    root = PurePosixPath(str(storage_root))
    for i, u in enumerate(cfg.upstreams):
        d = _dir_name(u.domain)
        out[f"{d}/config.yml"] = distribution_config(u, str(root / d), f"{listen_host}:{base_port + i}",
                                                     log_level=log_level, htpasswd=htpasswd, tls=tls)
        if u.ca_file is not None:
            out[f"{d}/env"] = f"SSL_CERT_FILE={u.ca_file}\n"
    return out


def _toml(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string for URLs and host names


def render_containerd_hosts(
    cfg: RegistryConfig,
    local_endpoint: str,
    base_port: int = DEFAULT_PROXY_BASE_PORT,
    *,
    scheme: str = "http",
) -> dict[str, str]:
    """``<domain>/hosts.toml -> content`` for containerd's ``config_path`` (``/etc/containerd/certs.d``).

    ``local_endpoint`` is the host the proxies listen on (e.g. ``sea.hub``); the proxy
    of upstream ``i`` is ``local_endpoint:base_port+i``, as in :func:`render_distribution_configs`.
    """
    out: dict[str, str] = {}
    for domain, endpoint in proxy_endpoints(cfg, local_endpoint, base_port).items():
        u = cfg.upstream(domain)
        server = "https://registry-1.docker.io" if domain == "docker.io" else u.url
        out[f"{domain}/hosts.toml"] = (
            f"server = {_toml(server)}\n"
            "\n"
            f"[host.{_toml(f'{scheme}://{endpoint}')}]\n"
            '  capabilities = ["pull", "resolve"]\n'
        )
    return out

"""registry_config.yaml → real docker-registry pull-through caches → images of both domains pulled with skopeo.

Upstream 1: plain registry, anonymous pulls. Upstream 2: token auth, anonymous pulls refused, so its proxy
must log in with the credentials from registry_config.yaml (the stock proxy authenticates to token-auth
upstreams only — see docs/cluster-config.md).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helpers.registry import Registry, free_port, push_test_image, skopeo, start_registry, stop_process

from sealer.cluster import load_registry_config, render_containerd_hosts, render_distribution_configs
from sealer.cluster.registry_proxy import proxy_endpoints


@contextlib.contextmanager
def serve(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as lf:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=lf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield proc
    finally:
        stop_process(proc, timeout=10)


def wait_ready(addr: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"proxy exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://{addr}/v2/", timeout=2)  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"proxy at {addr} not ready")


def two_free_ports() -> int:
    for _ in range(20):
        base = free_port()
        with contextlib.suppress(OSError):
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", base + 1))
            return base
    raise RuntimeError("no two consecutive free ports")


@pytest.fixture
def upstreams(tmp_path: Path) -> Iterator[tuple[Registry, Registry]]:
    with start_registry(tmp_path / "plain") as plain, \
            start_registry(tmp_path / "tok", token_users={"robot": "Tok-" + os.urandom(6).hex()},
                           token_anonymous_pull=False) as tok:
        yield plain, tok


def test_generated_proxies_pull_both_domains(tmp_path: Path, upstreams: tuple[Registry, Registry]) -> None:
    plain, tok = upstreams
    img_a = push_test_image(plain, "library/app:v1", [4096, 2048], seed=1)
    img_b = push_test_image(tok, "team/private:v2", [8192], platforms=["linux/amd64", "linux/arm64"], seed=2)
    # the private upstream really refuses anonymous pulls
    with pytest.raises(RuntimeError, match="unauthorized|authentication required|401"):
        skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{tok.ref('team/private:v2')}")

    etc = tmp_path / "rootfs" / "etc"
    etc.mkdir(parents=True)
    (etc / "registry_config.yaml").write_text(yaml.safe_dump({"proxy": {"remoteregistries": [
        {"url": plain.url, "domain": "quay.test"},
        {"url": tok.url, "domain": "private.test:8443", "username": tok.username, "password": tok.password},
    ]}}))
    cfg = load_registry_config(etc / "registry_config.yaml")
    assert tok.password not in repr(cfg) and tok.password not in str(cfg.redacted())
    warning = cfg.credentials_warning()
    assert warning is not None and "private.test:8443" in warning and tok.password not in warning

    base = two_free_ports()
    files = render_distribution_configs(cfg, tmp_path / "cache", base, listen_host="127.0.0.1")
    assert sorted(files) == ["private.test_8443/config.yml", "quay.test/config.yml"]
    hosts = render_containerd_hosts(cfg, "127.0.0.1", base)
    endpoints = proxy_endpoints(cfg, "127.0.0.1", base)
    for domain, endpoint in endpoints.items():
        toml = tomllib.loads(hosts[f"{domain}/hosts.toml"])
        assert toml["server"] == cfg.upstream(domain).url
        assert toml["host"] == {f"http://{endpoint}": {"capabilities": ["pull", "resolve"]}}

    with contextlib.ExitStack() as stack:
        for rel, content in files.items():
            path = tmp_path / "proxies" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            path.chmod(0o600)
            proc = stack.enter_context(serve(path, path.parent / "registry.log"))
            wait_ready(yaml.safe_load(content)["http"]["addr"], proc, path.parent / "registry.log")

        # pull each domain's image through its proxy, exactly as containerd's mirror entry would
        for domain, name, img in (("quay.test", "library/app:v1", img_a),
                                  ("private.test:8443", "team/private:v2", img_b)):
            ep = endpoints[domain]
            raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ep}/{name}").stdout.encode()
            assert raw == img.raw
            dest = tmp_path / "pulled" / domain.replace(":", "_")
            dest.parent.mkdir(exist_ok=True)
            skopeo("copy", "--quiet", "--all", "--preserve-digests", "--src-tls-verify=false",
                   f"docker://{ep}/{name}", f"oci:{dest}:pulled")
            blobs = dest / "blobs" / "sha256"
            for m in img.manifests:
                for d in [m.config_digest, *m.layer_digests]:
                    assert (blobs / d.removeprefix("sha256:")).is_file()

    # the proxy logged in to the token server as the configured user and cached what it fetched
    assert any(r["user"] == "robot" and r["ok"] for r in tok.token_server.requests)  # type: ignore[union-attr]
    cached = tmp_path / "cache" / "private.test_8443" / "docker" / "registry" / "v2" / "repositories" / "team"
    assert (cached / "private").is_dir()

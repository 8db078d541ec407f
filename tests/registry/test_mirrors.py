"""Mirrors from registries.conf against real registries, including a pull-through cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.registry import ProxyPair, Registry, free_port, push_test_image

from sealer.registry import RegistryOptions, pull
from sealer.store.layout import Store


def test_docker_io_name_served_by_local_mirror(registry: Registry, tmp_path: Path) -> None:
    img = push_test_image(registry, "hub/library/busybox:1.36", [20_000])
    conf = tmp_path / "registries.conf"
    dead = f"127.0.0.1:{free_port()}"
    conf.write_text(f"""
[[registry]]
prefix = "docker.io"
location = "docker.io"
  [[registry.mirror]]
  location = "{dead}/nothing"
  [[registry.mirror]]
  location = "{registry.host}/hub"
  insecure = true
""")
    store = Store(tmp_path / "s")
    stored = pull(store, "busybox:1.36", RegistryOptions(registries_conf=conf, retries=1))
    assert stored.name == "docker.io/library/busybox:1.36"
    assert str(stored.descriptor.digest) == img.digest


def test_mirror_missing_image_falls_back_to_origin(tmp_path: Path, registry: Registry) -> None:
    from helpers.registry import start_registry

    with start_registry(tmp_path / "empty") as empty:
        img = push_test_image(registry, "o/app:v1", [1000])
        conf = tmp_path / "registries.conf"
        conf.write_text(f'[[registry]]\nlocation = "{registry.host}"\n[[registry.mirror]]\nlocation = "{empty.host}"\n')
        stored = pull(Store(tmp_path / "s"), registry.ref("o/app:v1"), RegistryOptions(registries_conf=conf))
        assert str(stored.descriptor.digest) == img.digest


def test_pull_through_cache_as_mirror(proxy_registry: ProxyPair, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    up, px = proxy_registry.upstream, proxy_registry.proxy
    img = push_test_image(up, "cached/app:v1", [30_000], platforms=["linux/amd64", "linux/arm64"])
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nprefix = "mirror.example"\nlocation = "{up.host}"\n'
                    f'[[registry.mirror]]\nlocation = "{px.host}"\n')
    stored = pull(Store(tmp_path / "s"), "mirror.example/cached/app:v1", RegistryOptions(registries_conf=conf),
                  all_platforms=True)
    assert str(stored.descriptor.digest) == img.digest
    # the cache now holds the blobs itself
    layer = img.manifests[0].layer_digests[0]
    assert (px.storage / "docker/registry/v2/blobs/sha256" / layer[7:9] / layer[7:] / "data").is_file()

"""Blob bodies through the http.client pool (registry/rawget.py) against a real registry: kept-alive
connections are reused, a connection the server dropped is replaced, and what arrives is verified as before."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from helpers.faultproxy import Fault, FaultProxy
from helpers.registry import Registry, push_test_image

from sealer import reference
from sealer.digest import Digest
from sealer.errors import DigestError
from sealer.imagecache.fetch import BlobCache
from sealer.oci.model import Descriptor, Manifest
from sealer.registry import RegistryClient, RegistryOptions
from sealer.registry.client import _SchemeTransport


def _layers(client: RegistryClient, ref: str) -> list[Descriptor]:
    raw, media, _ = client.get_manifest(reference.parse(ref))
    return list(Manifest.parse(raw, media).layers)


def _raw_idle(client: RegistryClient, host: str) -> list[object]:
    transport = client._http(host)._transport
    assert isinstance(transport, _SchemeTransport)
    return [c for conns in transport._raw._idle.values() for c in conns]


def test_blob_connections_kept_alive_and_replaced_when_dropped(registry: Registry, tmp_path: Path) -> None:
    push_test_image(registry, "raw/app:v1", [300_000, 200_000, 100_000], seed=11)
    cache = BlobCache(tmp_path / "c")
    with RegistryClient(RegistryOptions(use_mirrors=False)) as client:
        ref = reference.parse(registry.ref("raw/app:v1"))
        layers = _layers(client, registry.ref("raw/app:v1"))
        client.fetch_blob(ref, layers[0], cache)
        idle = _raw_idle(client, registry.host)
        assert len(idle) == 1  # body read whole: the connection went back to the pool
        first = idle[0]
        client.fetch_blob(ref, layers[1], cache)
        assert _raw_idle(client, registry.host) == [first]  # and was used again
        # the server side drops it while idle: the next GET goes out on a new connection, once
        sock = first.sock  # type: ignore[attr-defined]
        sock.shutdown(socket.SHUT_RDWR)
        client.fetch_blob(ref, layers[2], cache)
        again = _raw_idle(client, registry.host)
        assert len(again) == 1 and again[0] is not first
    for d in layers:
        assert Digest.of_bytes(cache.blob_path(d.digest).read_bytes()) == d.digest


def test_body_cut_short_is_resumed_and_corruption_refused(registry: Registry, tmp_path: Path) -> None:
    push_test_image(registry, "raw/cut:v1", [1 << 20], seed=12)
    with FaultProxy(registry) as px, RegistryClient(RegistryOptions(use_mirrors=False, backoff=0.05)) as client:
        ref = reference.parse(f"{px.host}/raw/cut:v1")
        layer = _layers(client, f"{px.host}/raw/cut:v1")[0]
        px.add(Fault("reset", after_bytes=300_000))
        cache = BlobCache(tmp_path / "c")
        client.fetch_blob(ref, layer, cache)
        ranges = [h.get("Range") for m, p, h in px.requests if m == "GET" and "/blobs/" in p]
        assert ranges[-1] and ranges[-1].startswith("bytes=") and ranges[-1] != "bytes=0-", ranges
        assert Digest.of_bytes(cache.blob_path(layer.digest).read_bytes()) == layer.digest
        px.add(Fault("corrupt"))
        bad = BlobCache(tmp_path / "bad")
        with pytest.raises(DigestError):
            client.fetch_blob(ref, layer, bad)
        assert not bad.has_blob(layer.digest)

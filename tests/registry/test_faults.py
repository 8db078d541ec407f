"""Faults injected by a loopback proxy in front of the real registry."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from helpers.faultproxy import Fault, FaultProxy
from helpers.registry import Registry, push_test_image, write_auth_file

from sealer.digest import Digest
from sealer.errors import DigestError, RegistryError
from sealer.registry import RegistryOptions, pull
from sealer.store.layout import Store

FAST = RegistryOptions(backoff=0.05, max_backoff=0.5)


def _store_is_clean(store: Store) -> None:
    """Every blob in the store matches its name; nothing is left in ingest."""
    for p in (store.root / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name
    assert list((store.root / "ingest").iterdir()) == []


@pytest.fixture
def image(registry: Registry) -> tuple[Registry, str, list[str]]:
    img = push_test_image(registry, "f/app:v1", [2 << 20, 600_000])
    return registry, img.digest, img.manifests[0].layer_digests


def test_reset_mid_blob_resumes_with_range(image: tuple[Registry, str, list[str]], tmp_path: Path) -> None:
    reg, digest, layers = image
    with FaultProxy(reg) as px:
        px.add(Fault("reset", path=layers[0][7:], after_bytes=700_000, times=2))
        store = Store(tmp_path / "s")
        stored = pull(store, f"{px.host}/f/app:v1", FAST)
        ranges = [h.get("Range") for m, p, h in px.requests if m == "GET" and "/blobs/" in p]
    assert str(stored.descriptor.digest) == digest
    assert "bytes=700000-" in ranges, ranges  # resumed where the reset cut it, not from zero
    for d in layers:
        assert store.has_blob(Digest(d))
    _store_is_clean(store)


@pytest.mark.parametrize("status,retry_after", [(500, None), (503, None), (429, "1")])
def test_server_errors_are_retried(image: tuple[Registry, str, list[str]], tmp_path: Path, status: int,
                                   retry_after: str | None) -> None:
    import time

    reg, digest, _ = image
    with FaultProxy(reg) as px:
        px.add(Fault("status", status=status, retry_after=retry_after, times=2))
        px.add(Fault("status", path=r"/manifests/", status=status, retry_after=retry_after, times=1))
        t0 = time.monotonic()
        stored = pull(Store(tmp_path / "s"), f"{px.host}/f/app:v1", FAST)
        took = time.monotonic() - t0
    assert str(stored.descriptor.digest) == digest
    if retry_after:
        assert took >= 1.0  # Retry-After honoured
    _store_is_clean(Store(tmp_path / "s"))


def test_persistent_500_fails_with_clear_error(image: tuple[Registry, str, list[str]], tmp_path: Path) -> None:
    reg, _, _ = image
    with FaultProxy(reg) as px:
        px.add(Fault("status", status=500, times=-1))
        store = Store(tmp_path / "s")
        with pytest.raises(RegistryError, match=r"HTTP 500.*after 5 attempts"):
            pull(store, f"{px.host}/f/app:v1", FAST)
    assert store.refs() == []
    _store_is_clean(store)


def test_wrong_digest_fails_cleanly(image: tuple[Registry, str, list[str]], tmp_path: Path) -> None:
    reg, _, layers = image
    with FaultProxy(reg) as px:
        px.add(Fault("corrupt", times=-1))
        store = Store(tmp_path / "s")
        with pytest.raises(DigestError, match="digest is sha256:.*want"):
            pull(store, f"{px.host}/f/app:v1", FAST)
    assert store.refs() == []
    for d in layers:
        assert not store.has_blob(Digest(d))
    _store_is_clean(store)


def test_redirect_to_other_host_gets_no_credentials(tls_registry: Registry, tmp_path: Path) -> None:
    reg = tls_registry
    img = push_test_image(reg, "rd/app:v1", [300_000])
    with FaultProxy(reg) as px:
        px.add(Fault("redirect", times=-1))
        auth = write_auth_file(tmp_path / "auth.json", px.host, "alice", reg.password or "")
        store = Store(tmp_path / "s")
        stored = pull(store, f"{px.host}/rd/app:v1", RegistryOptions(auth_file=auth))
        blob_gets = [h for m, p, h in px.requests if m == "GET" and "/blobs/" in p]
    assert str(stored.descriptor.digest) == img.digest
    assert blob_gets and all("Authorization" in h for h in blob_gets)  # the registry host gets them
    assert px.redirected and all("Authorization" not in h and "authorization" not in h for h in px.redirected)
    _store_is_clean(store)

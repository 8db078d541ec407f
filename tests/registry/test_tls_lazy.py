"""TLS set-up cost (issue 17): a plain-HTTP loopback registry never loads a trust store; a TLS one is still
verified; contexts are shared by the clients of a process; the scheme probe tells TLS from plain HTTP."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from helpers.registry import Registry, free_port, push_test_image, write_auth_file

from sealer import reference
from sealer.errors import RegistryError
from sealer.registry import RegistryClient, RegistryOptions, pull
from sealer.registry.tls import speaks_tls, ssl_context
from sealer.store.layout import Store


def _count_trust_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = ssl.SSLContext.load_default_certs

    def counting(self: ssl.SSLContext, *a: object, **k: object) -> None:
        calls[0] += 1
        real(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", counting)
    return calls


def test_plain_http_loopback_loads_no_trust_store(registry: Registry, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    img = push_test_image(registry, "plain/app:v1", [3000])
    calls = _count_trust_loads(monkeypatch)
    with RegistryClient(RegistryOptions(use_mirrors=False)) as client:
        assert client.base_url(registry.host) == f"http://{registry.host}"
        _, _, digest = client.get_manifest(reference.parse(registry.ref("plain/app:v1")))
    assert str(digest) == img.digest
    assert calls[0] == 0


def test_tls_loopback_still_verified_and_context_shared(tls_registry: Registry, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    reg = tls_registry
    assert reg.ca is not None
    push_test_image(reg, "x/y:1", [10])
    auth = write_auth_file(tmp_path / "auth.json", reg.host, "alice", reg.password or "")
    with pytest.raises(RegistryError, match="certificate not trusted"):  # loopback does not mean unverified
        pull(Store(tmp_path / "s0"), reg.ref("x/y:1"), RegistryOptions(auth_file=auth))
    calls = _count_trust_loads(monkeypatch)
    opts = RegistryOptions(auth_file=auth, ca_cert=reg.ca.cert)
    for i in range(3):  # three clients, one operation each: one trust store load for the process
        pull(Store(tmp_path / f"s{i + 1}"), reg.ref("x/y:1"), opts)
    assert calls[0] == 1
    assert ssl_context(reg.host, opts) is ssl_context(reg.host, opts)
    assert ssl_context(reg.host, opts) is not ssl_context(reg.host, RegistryOptions(auth_file=auth))
    assert ssl_context(reg.host, opts, verify=False) is not ssl_context(reg.host, opts)


def test_speaks_tls(registry: Registry, tls_registry: Registry) -> None:
    assert speaks_tls(tls_registry.host, 5) is True
    assert speaks_tls(registry.host, 5) is False
    assert speaks_tls(f"127.0.0.1:{free_port()}", 5) is None  # nothing listening: the caller's retries decide


def test_image_cache_and_registry_options_import_no_http_stack() -> None:
    """The image cache and the registry's sink protocols load without httpx/httpcore (a command that finds
    everything cached never pays for them); the client loads them on first use."""
    import subprocess
    import sys

    code = ("import sys, sealer.imagecache.cache, sealer.imagecache.verify, sealer.registry.options;"
            "print(sorted(m for m in ('httpx', 'httpcore', 'h11', 'certifi') if m in sys.modules));"
            "from sealer.registry import RegistryClient;"
            "print('httpx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True"
